"""Look up and instantiate encoders by registry name; one shared instance per name per process.

Importing this module registers the built-in encoders (text, text_emotion, audio, ASR). The face and visual
encoders (``encoders/face.py``, ``encoders/visual.py``) are imported on first lookup when present, so a missing
or broken one becomes a note instead of an import error. No heavy library is imported here.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from . import asr as _asr  # noqa: F401  (registers whisper-tiny)
from . import audio as _audio  # noqa: F401  (registers egemaps)
from . import text as _text  # noqa: F401  (registers e5, minilm)
from . import text_emotion as _text_emotion  # noqa: F401  (registers minilm-emotion; torch loads lazily)
from ..errors import InputError
from ..registry import UnknownNameError
from .base import (
    ASR,
    ASR_BACKENDS,
    AUDIO_ENCODERS,
    FACE_ENCODERS,
    TEXT_ENCODERS,
    VISUAL_ENCODERS,
    AudioEncoder,
    FaceEncoder,
    TextEncoder,
    VisualEncoder,
)
from .config import DEFAULT_ASR, DEFAULT_AUDIO_ENCODER, DEFAULT_FACE_ENCODER, DEFAULT_TEXT_ENCODER, DEFAULT_VISUAL_ENCODER

# Modules of other components that register encoders, imported on demand; import failures are kept for messages.
OPTIONAL_ENCODER_MODULES: tuple[str, ...] = ("face", "visual")
_optional_errors: dict[str, str] = {}
_instances: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def load_optional_encoders() -> dict[str, str]:
    """Import ``encoders.face`` / ``encoders.visual`` if they exist; returns {module: import error} for failures."""
    for mod in OPTIONAL_ENCODER_MODULES:
        full = f"{__package__}.{mod}"
        if mod in _optional_errors or full in sys.modules:
            continue
        if importlib.util.find_spec(full) is None:
            _optional_errors[mod] = f"module affectagent.encoders.{mod} does not exist in this installation"
            continue
        try:
            importlib.import_module(full)
        except ImportError as exc:
            _optional_errors[mod] = f"affectagent.encoders.{mod} failed to import: {exc}"
    return dict(_optional_errors)


def _shared(kind: str, name: str, build: Callable[[], Any]) -> Any:
    with _lock:
        key = (kind, name)
        if key not in _instances:
            try:
                _instances[key] = build()
            except UnknownNameError as exc:
                raise InputError(str(exc)) from None
        return _instances[key]


def close_shared() -> None:
    """Close and forget the shared encoder instances that hold native resources (MediaPipe graphs), so their
    teardown happens now rather than at interpreter exit (the CLI does this before it stops filtering stderr)."""
    with _lock:
        items = list(_instances.items())
        for key, enc in items:
            if callable(getattr(enc, "close", None)):
                try:
                    enc.close()
                finally:
                    _instances.pop(key, None)


def get_text_encoder(name: str = DEFAULT_TEXT_ENCODER) -> TextEncoder:
    """Registered text encoder (``e5``, ``minilm``) or any local sentence-transformers path / cached HF id."""
    def build() -> TextEncoder:
        if name in TEXT_ENCODERS:
            return TEXT_ENCODERS.get(name)()
        if name.startswith((".", "/", "~")) and not Path(name).expanduser().is_dir():
            raise InputError(f"cannot load text encoder {name!r}: no such model directory "
                             f"(registered names: {', '.join(TEXT_ENCODERS.names())})")
        return _text.SentenceTransformerEncoder(str(Path(name).expanduser()) if name.startswith("~") else name)

    return _shared("text", name, build)


def get_audio_encoder(name: str = DEFAULT_AUDIO_ENCODER) -> AudioEncoder:
    return _shared("audio", name, lambda: AUDIO_ENCODERS.get(name)())


def get_asr(name: str = DEFAULT_ASR) -> ASR:
    return _shared("asr", name, lambda: ASR_BACKENDS.get(name)())


def get_speech_emotion(name: str = "default"):
    """The speech-emotion branch ``name`` (shipped "default" / "whisper" or a model file), loaded once per process."""
    from .speech_emotion import SpeechEmotionBranch

    return _shared("speech_emotion", name, lambda: SpeechEmotionBranch.load(name))


def get_face_encoder(name: str = DEFAULT_FACE_ENCODER) -> FaceEncoder:
    load_optional_encoders()
    return _shared("face", name, lambda: FACE_ENCODERS.get(name)())


def get_visual_encoder(name: str = DEFAULT_VISUAL_ENCODER) -> VisualEncoder:
    load_optional_encoders()
    return _shared("visual", name, lambda: VISUAL_ENCODERS.get(name)())


def optional_encoder_error(kind: str, name: str) -> str | None:
    """Why FACE_ENCODERS / VISUAL_ENCODERS has no ``name`` (``None`` if it is registered)."""
    errors = load_optional_encoders()
    registry = FACE_ENCODERS if kind == "face" else VISUAL_ENCODERS
    if name in registry:
        return None
    known = ", ".join(registry.names()) or "none"
    why = errors.get(kind, f"affectagent.encoders.{kind} does not register {name!r}")
    return f"no {kind} encoder {name!r} registered (known: {known}; {why})"
