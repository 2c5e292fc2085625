"""Encoder protocols and registries (one per modality). Implementations register themselves by name.

Shapes:
  TextEncoder.encode(texts)               -> (N, D_t) float32, rows L2-normalised
  AudioEncoder.encode(wave16k)            -> AudioEncoding(emb (D_a,), seq (T_a, D_as))
  FaceEncoder.encode_frames(frames)       -> FaceTrack(seq (T_f, D_f) for frames with a face, ...)
  FaceEncoder.encode_crops(crops)         -> (N, D_f) for already-cropped face images (e.g. FER2013 48×48)
  VisualEncoder.encode_frames(frames)     -> (D_v,) pooled scene descriptor
  ASR.transcribe(wave16k)                 -> Transcript(text, language, segments)
Heavy libraries are imported lazily inside the implementations, never at module import.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from ..registry import Registry


@dataclass(frozen=True)
class EncoderInfo:
    """Identity of an encoder; ``version`` is part of the feature-cache key (bump it when outputs change)."""

    name: str
    version: str
    modality: str
    dim: int


@dataclass
class AudioEncoding:
    """emb: (D_a,) utterance-level descriptor; seq: (T_a, D_as) frame sequence; stats: loudness, speech ratio, ..."""

    emb: np.ndarray
    seq: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaceTrack:
    """Per-frame face analysis of a clip.

    seq: (T_f, D_f) features of the frames where a face was found (expression probabilities ⊕ geometry ⊕ ...).
    found: (T,) bool over all sampled frames; expr: (T_f, 7) FER2013-order probabilities
    (angry, disgust, fear, happy, neutral, sad, surprise); geometry: (T_f, G) named by ``geometry_names``.
    """

    seq: np.ndarray
    found: np.ndarray
    expr: np.ndarray
    geometry: np.ndarray
    geometry_names: tuple[str, ...] = ()
    boxes: list[tuple[int, int, int, int] | None] = field(default_factory=list)


@dataclass
class Transcript:
    """text; language: the language decoded as; segments: (start_s, end_s, text); avg_logprob: the decoder's mean
    token log-probability over the segments, weighted by their duration (None when unknown): low values mean the
    ASR could not read the speech (e.g. English-only Whisper on German)."""

    text: str
    language: str | None = None
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    avg_logprob: float | None = None


@runtime_checkable
class TextEncoder(Protocol):
    info: EncoderInfo

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


@runtime_checkable
class AudioEncoder(Protocol):
    info: EncoderInfo

    def encode(self, wave: np.ndarray, sr: int = 16000) -> AudioEncoding: ...


@runtime_checkable
class FaceEncoder(Protocol):
    info: EncoderInfo

    def encode_frames(self, frames: Sequence[np.ndarray]) -> FaceTrack: ...

    def encode_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...


@runtime_checkable
class VisualEncoder(Protocol):
    info: EncoderInfo

    def encode_frames(self, frames: Sequence[np.ndarray]) -> np.ndarray: ...


@runtime_checkable
class ASR(Protocol):
    info: EncoderInfo

    def transcribe(self, wave: np.ndarray, sr: int = 16000) -> Transcript: ...


TEXT_ENCODERS: Registry = Registry("text encoder")
AUDIO_ENCODERS: Registry = Registry("audio encoder")
FACE_ENCODERS: Registry = Registry("face encoder")
VISUAL_ENCODERS: Registry = Registry("visual encoder")
ASR_BACKENDS: Registry = Registry("ASR backend")
