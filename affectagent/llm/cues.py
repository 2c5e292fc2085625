"""A sample's multimodal cues as short text for the LLM roles: dialogue context, transcript, face and voice summaries
(from the encoders' features, the same wording as the neural rationale) and which modalities are missing.

Pure formatting: no model calls. Lengths are capped so prompts stay small on CPU.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..agents.generator import describe_face, describe_voice
from ..encoders.face_pooling import pooled_face
from ..schema import Features, Sample

_MODALITY_NAMES = {"text": "text", "audio": "audio", "visual": "video/face"}


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


@dataclass(frozen=True)
class CueText:
    """What the roles read about one input.

    context: previous turns as "Speaker: text" (oldest first). face / voice: one-line summaries or None.
    missing: modalities the input does not have (of text, audio, video/face).
    """

    transcript: str | None
    speaker: str | None
    context: tuple[str, ...]
    face: str | None
    voice: str | None
    missing: tuple[str, ...]

    def render(self) -> str:
        lines = []
        if self.context:
            lines.append("Dialogue so far:")
            lines.extend(self.context)
        who = f" ({self.speaker})" if self.speaker else ""
        lines.append(f'Target utterance{who}: "{self.transcript}"' if self.transcript
                     else "Target utterance: (no words available)")
        if self.face:
            lines.append(self.face[0].upper() + self.face[1:])
        if self.voice:
            lines.append(f"Voice: {self.voice.removeprefix('voice: ')}")
        if self.missing:
            lines.append("Not available: " + ", ".join(self.missing))
        return "\n".join(lines)


def render_cues(*, sample: Sample, features: Features, context_turns: int = 3, max_chars: int = 220) -> CueText:
    """Cues of one sample. ``features`` supplies the transcript (when the sample has no text), the face expression
    probabilities (``face_seq[:, :7]``, FER order, pooled over frames by ``face_pooling.pooled_face``) and the voice
    statistics (``info["audio_stats"]``)."""
    text = (sample.text or features.transcript or "").strip() or None
    turns = sample.context[-context_turns:] if context_turns > 0 else ()
    context = tuple(_clip(f"{t.speaker}: {t.text}" if t.speaker else t.text, max_chars) for t in turns)
    face = None
    if features.face_seq is not None and len(features.face_seq):
        expr = pooled_face(features.face_seq)[:7].tolist()
        face = describe_face(expr, len(features.face_seq))
    voice = describe_voice(features.info.get("audio_stats"))
    present = set(features.mask.present())
    if text:
        present.add("text")
    missing = tuple(_MODALITY_NAMES[m] for m in ("text", "audio", "visual") if m not in present)
    return CueText(transcript=_clip(text, 2 * max_chars) if text else None, speaker=sample.speaker, context=context,
                   face=face, voice=voice, missing=missing)
