"""Whether a transcript may feed the text branch (pure rules; ``extract`` applies them).

The shipped ASR (Whisper tiny.en) and the text encoders read English only. Speech in another language is decoded by
tiny.en into confident-looking nonsense ("Der Lappen liegt auf dem Eisschrank" -> "Tell up and lick of him
ice-hunk."), which would then enter the text branch as if it were what was said. Two guards, each leaving a note in
the trace instead of a silent fallback:

- language: the user declares it (``ExtractConfig.language = "de"``) or asks for identification (``"auto"``: the
  multilingual Whisper base identifies it); speech that is not English gives no transcript to the text branch;
- confidence: an English decode whose duration-weighted mean token log-probability is below ``min_asr_logprob`` is
  dropped (kept in the trace as ``transcript_dropped``). The default threshold separates EmoDB (German) from RAVDESS
  (English) decodes by tiny.en (BENCHMARKS.md, "Speech language").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError
from .base import Transcript

TEXT_LANGUAGES: tuple[str, ...] = ("en",)   # what the text encoders and the English ASR read
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "ru": "Russian", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ar": "Arabic",
    "hi": "Hindi", "tr": "Turkish", "pl": "Polish", "sv": "Swedish", "el": "Greek", "fa": "Persian",
}
_CODE = re.compile(r"^[a-z]{2,3}$")


def check_language(setting: str) -> str:
    """``"auto"`` or a lower-case ISO 639-1/-3 code (``"en"``, ``"de"``); an InputError otherwise."""
    s = (setting or "").strip().lower()
    if s == "auto" or _CODE.match(s):
        return s
    raise InputError(f"speech language must be 'auto' or a language code such as en or de; got {setting!r}")


def language_name(code: str | None) -> str:
    return LANGUAGE_NAMES.get(code or "", code or "unknown")


@dataclass(frozen=True)
class TranscriptUse:
    """use: the transcript may feed the text branch; reason: why not (None when used); note: the trace line."""

    use: bool
    reason: str | None = None
    note: str | None = None


def language_use(spoken: str | None, *, probability: float | None = None, declared: bool) -> TranscriptUse:
    """The spoken language (declared by the user or identified, with its probability) against what the text branch
    reads. ``spoken=None`` (nothing identified) lets the confidence guard decide."""
    if spoken is None or spoken in TEXT_LANGUAGES:
        return TranscriptUse(use=True)
    how = "declared" if declared else f"identified, p {probability:.2f}" if probability is not None else "identified"
    return TranscriptUse(use=False, reason="language",
                         note=f"asr: the speech is {language_name(spoken)} ({how}); the ASR and the text branch read "
                              "English only, so no transcript feeds the text branch")


def confidence_use(transcript: Transcript, *, min_logprob: float | None) -> TranscriptUse:
    """An English decode below ``min_logprob`` (mean token log-probability) is not used; None disables the guard."""
    lp = transcript.avg_logprob
    if min_logprob is None or lp is None or not transcript.text or lp >= min_logprob:
        return TranscriptUse(use=True)
    return TranscriptUse(use=False, reason="low_confidence",
                         note=f"asr: low confidence (mean token log-prob {lp:.2f} < {min_logprob:.2f}; speech the "
                              "English ASR cannot read?), so the transcript does not feed the text branch")


__all__ = ["LANGUAGE_NAMES", "TEXT_LANGUAGES", "TranscriptUse", "check_language", "confidence_use", "language_name",
           "language_use"]
