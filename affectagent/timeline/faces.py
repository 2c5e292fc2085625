"""The face-present track of a timeline: was a face detected at a grid of times, and in each segment.

The detector is the first stage of the project's face encoder (``encoders.face_mediapipe.MediaPipeFaceLandmarker``:
face mesh, then the full-range BlazeFace fallback, same confidence), run on its own so that the track costs ~15 ms a
frame and does not depend on which predictor answers the segments. Any callable ``frames -> [bool]`` can stand in
(``FaceDetector``), e.g. a scripted one in tests.

The pure part: ``face_grid`` (the times the track samples) and ``presence`` (a segment's share of those times with a
face).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from ..media.sampling import sample_times

DEFAULT_FACE_FPS = 2.0  # track samples per second (the same rate the encoders sample faces at by default)


class FaceDetector(Protocol):
    """Frames (list of (H, W, 3) uint8 RGB) -> one bool per frame: a face was found."""

    def __call__(self, frames: Sequence[np.ndarray]) -> Sequence[bool]: ...


@dataclass(frozen=True)
class FacePresence:
    """The face-present track: ``times`` (N,) seconds in the clip (increasing), ``found`` (N,) bool; ``detector``
    names what produced it."""

    times: np.ndarray
    found: np.ndarray
    detector: str = ""

    def presence(self, start: float, end: float) -> tuple[bool | None, float | None]:
        """(any face, share of samples with a face) over the samples in [start, end); (None, None) when none."""
        return presence(self.times, self.found, start, end)


def face_grid(duration: float, *, fps: float = DEFAULT_FACE_FPS) -> np.ndarray:
    """(N,) track times: the centres of equal slots of 1/fps s over the clip (``media.sampling.sample_times``)."""
    if fps <= 0:
        raise ValueError(f"face track fps must be > 0, got {fps}")
    return sample_times(duration, fps=fps, max_frames=max(1, int(math.ceil(duration * fps)) + 1))


def presence(times: np.ndarray, found: np.ndarray, start: float, end: float) -> tuple[bool | None, float | None]:
    """(any(found), mean(found)) over the samples whose time is in [start, end); (None, None) without samples."""
    t = np.asarray(times, np.float64)
    inside = (t >= start) & (t < end)
    if not inside.any():
        return None, None
    hits = np.asarray(found, bool)[inside]
    return bool(hits.any()), round(float(hits.mean()), 4)


class MediaPipeFaceDetector:
    """``FaceDetector`` over the face encoder's MediaPipe landmarker (not thread-safe: one per run; ``close()``)."""

    name = "mediapipe-face-mesh"

    def __init__(self, *, min_confidence: float = 0.5) -> None:
        from ..encoders.face_mediapipe import MediaPipeFaceLandmarker  # noqa: PLC0415 - mediapipe loads lazily

        self._landmarker = MediaPipeFaceLandmarker(min_confidence=min_confidence)

    def __call__(self, frames: Sequence[np.ndarray]) -> list[bool]:
        from ..encoders.face_mediapipe import as_rgb  # noqa: PLC0415

        return [self._landmarker.detect(as_rgb(f, index=i)) is not None for i, f in enumerate(frames)]

    def close(self) -> None:
        self._landmarker.close()
