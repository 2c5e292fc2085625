"""What Nano-EmoX reads for one sample: the frozen encoders' per-frame features (``StreamInputs``) and the text
(``SampleInputs``). Pure data (NumPy), no torch.

Shapes (``None`` = the modality is absent; every array float32 or float16):
    face_levels  L arrays (T_f, d_l)   per face frame, our FER2013 CNN's L = 4 stages pooled (32, 64, 128, 256)
    scene        (T_v, 13)             per video frame (or the one image), scene statistics + motion
    speech       (T_a, 384)            Whisper tiny.en encoder states (25 or 50 per second, ``FeatureConfig``)
Streams injected into the LM, in this order: visual (scene), face, speech, fusion (speech and face both present).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..schema import Turn

STREAM_ORDER: tuple[str, ...] = ("visual", "face", "speech", "fusion")


@dataclass(frozen=True)
class StreamInputs:
    """One sample's encoder features (see module docstring)."""

    face_levels: tuple[np.ndarray, ...] | None = None
    scene: np.ndarray | None = None
    speech: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.face_levels is not None:
            levels = tuple(np.asarray(x) for x in self.face_levels)
            if not levels or len({len(x) for x in levels}) != 1 or any(x.ndim != 2 for x in levels):
                raise ValueError("face_levels must be non-empty (T, d_l) arrays with the same T")
            object.__setattr__(self, "face_levels", levels if len(levels[0]) else None)
        for name in ("scene", "speech"):
            value = getattr(self, name)
            if value is not None:
                arr = np.asarray(value)
                if arr.ndim != 2:
                    raise ValueError(f"{name} must be (T, D), got shape {arr.shape}")
                object.__setattr__(self, name, arr if len(arr) else None)

    @property
    def streams(self) -> tuple[str, ...]:
        """The streams this sample injects, in ``STREAM_ORDER``."""
        have = {"visual": self.scene is not None, "face": self.face_levels is not None,
                "speech": self.speech is not None}
        have["fusion"] = have["face"] and have["speech"]
        return tuple(s for s in STREAM_ORDER if have[s])

    @property
    def modalities(self) -> tuple[str, ...]:
        """Human words for the prompt: which signals the model receives."""
        words = {"visual": "scene", "face": "face", "speech": "voice"}
        return tuple(words[s] for s in self.streams if s in words)

    def merged(self, other: "StreamInputs") -> "StreamInputs":
        """Fields of ``self`` with the gaps filled from ``other`` (pairing a face sample with a speech sample)."""
        return StreamInputs(face_levels=self.face_levels if self.face_levels is not None else other.face_levels,
                            scene=self.scene if self.scene is not None else other.scene,
                            speech=self.speech if self.speech is not None else other.speech)

    def as_float16(self) -> "StreamInputs":
        f16 = (lambda a: None if a is None else np.asarray(a, np.float16))
        return StreamInputs(face_levels=None if self.face_levels is None else tuple(f16(x) for x in self.face_levels),
                            scene=f16(self.scene), speech=f16(self.speech))


NO_STREAMS = StreamInputs()


@dataclass(frozen=True)
class SampleInputs:
    """Everything ``NanoEmoX.answer`` reads for one sample: the streams and the text side (utterance, speaker and
    previous turns; a transcript stands in for the utterance when the input was speech)."""

    streams: StreamInputs = NO_STREAMS
    text: str | None = None
    context: tuple[Turn, ...] = ()
    speaker: str | None = None
    sample_id: str = "input"

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", tuple(self.context))


def merge_streams(parts: Sequence[StreamInputs]) -> StreamInputs:
    out = NO_STREAMS
    for p in parts:
        out = out.merged(p)
    return out


__all__ = ["NO_STREAMS", "STREAM_ORDER", "SampleInputs", "StreamInputs", "merge_streams"]
