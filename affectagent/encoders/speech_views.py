"""Utterance-level views of speech that the speech-emotion branch classifies (``speech_emotion.py``).

Registered names (``SPEECH_VIEWS``), each ``view(wave16k) -> (dim,) float32``, deterministic:
  compare   openSMILE ComParE 2016 functionals (6,373-d; Schuller et al. 2016), through the project's C-API binding
            (``opensmile_backend.run_smile``). Licence: openSMILE is free for research / personal use only.
  whisper   Whisper tiny.en encoder states (``whisper_states.WhisperStates``, the clip's own frames, no 30-s
            padding) pooled over time: [mean ; std] (768-d). Licence: MIT (model and CTranslate2 runtime).
The speech-emotion model stores which views it was trained on, so a model that uses only ``whisper`` never imports
openSMILE (the freely licensed variant).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..registry import Registry

SAMPLE_RATE = 16000
COMPARE_DIM = 6373
WHISPER_POOLED_DIM = 768


@dataclass(frozen=True)
class SpeechView:
    """name / version (part of every cache key) / dim / licence of one view; ``fn(wave16k) -> (dim,)``."""

    name: str
    version: str
    dim: int
    licence: str
    fn: Callable[[np.ndarray], np.ndarray]

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        x = np.asarray(wave, np.float32).reshape(-1)
        out = np.nan_to_num(np.asarray(self.fn(x), np.float32).reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
        if out.shape != (self.dim,):
            raise ValueError(f"speech view {self.name} returned {out.shape}, expected ({self.dim},)")
        return out


SPEECH_VIEWS: Registry[Callable[[], SpeechView]] = Registry("speech view")


def pooled_states(states: np.ndarray) -> np.ndarray:
    """(T, D) frame states -> (2·D,) [mean over time ; std over time]."""
    s = np.asarray(states, np.float32).reshape(len(states), -1)
    return np.concatenate([s.mean(0), s.std(0)]).astype(np.float32)


@SPEECH_VIEWS.register("compare")
def compare_view() -> SpeechView:
    from .opensmile_backend import run_smile

    return SpeechView(name="compare", version="compare2016-os2.6", dim=COMPARE_DIM,
                      licence="openSMILE: research / personal use only",
                      fn=lambda x: run_smile(x, sr=SAMPLE_RATE, config="compare/ComParE_2016").func)


_whisper_lock = threading.Lock()
_whisper: list = []


def _whisper_states():
    """One encoder per process, sharing the tiny.en model the ASR backend loads (one copy in memory, one load)."""
    with _whisper_lock:
        if not _whisper:
            from .asr import WhisperTinyASR
            from .factory import get_asr
            from .whisper_states import WhisperStates

            asr = get_asr("whisper-tiny")
            model = asr.model if isinstance(asr, WhisperTinyASR) else None
            _whisper.append(WhisperStates(pad_to_window=False, cpu_threads=1, model=model))
        return _whisper[0]


@SPEECH_VIEWS.register("whisper")
def whisper_view() -> SpeechView:
    return SpeechView(name="whisper", version="whisper-tiny.en-ct2-int8-nopad-meanstd", dim=WHISPER_POOLED_DIM,
                      licence="MIT", fn=lambda x: pooled_states(_whisper_states()(x)))


_views: dict[str, SpeechView] = {}
_views_lock = threading.Lock()


def get_speech_view(name: str) -> SpeechView:
    """One shared instance per view name (the Whisper model loads once per process)."""
    with _views_lock:
        if name not in _views:
            _views[name] = SPEECH_VIEWS.get(name)()
        return _views[name]
