"""LLM Emotion Generator (AffectAgent §3.1): its prompt, its parser and the role.

The generator reads the cues and the kept evidence and answers one label from the allowed set, 1-3 open-vocabulary
emotion words, the sentiment and a one-sentence rationale. Parsed into ``GenerationParse``; repairs recorded in
``fallback``: label_not_allowed:<word>, label_from_prose:<label>, default_label:<label>, invalid_sentiment:<word>,
missing:<field>, truncated; and ``constrained_label:<label>`` when the label came from a constrained choice
(``constrained_label``: "repair" asks for one only when the parser had to repair the label, "always" for every
answer; ``llm.choice``: scored on a local model, ``guided_choice`` on a server).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Sequence

from ..errors import InputError
from ..schema import EMOTION_SENTIMENT, SENTIMENTS
from .backend import ChatMessage, LLMBackend
from .choice import can_choose
from .cues import CueText
from .parsing import (EMOTION_WORD, NO_WORDS, SENTIMENT_WORDS, Issues, as_list, check_allowed, extract_fields,
                      first_label_in, label_field)
from .prompts import Candidate, label_list, render_candidates
from .roles import RoleRecord, Sampling, call_role, role_record


def generator_messages(*, cues: CueText, labels: Sequence[str], evidence: Sequence[Candidate]) -> list[ChatMessage]:
    system = (
        "You recognise the emotion of the target utterance in a conversation. "
        f"Allowed labels: {label_list(labels)}.\n"
        "Answer with exactly four lines:\n"
        "label: <one allowed label>\n"
        "emotions: <1 to 3 emotion words, comma-separated>\n"
        "sentiment: <positive, negative or neutral>\n"
        "rationale: <one sentence of at most 12 words>"
    )
    user = cues.render()
    if evidence:
        user += ("\n\nSimilar examples from other conversations [label, similarity] (they may or may not match):\n"
                 + render_candidates(evidence))
    return [ChatMessage("system", system), ChatMessage("user", user)]


@dataclass(frozen=True)
class GenerationParse:
    """The generator's answer: one allowed label, open-vocabulary words, sentiment, rationale.

    ``label_given`` False = the label was not read from the model's label field (default or prose scan).
    """

    label: str
    ov_words: tuple[str, ...]
    sentiment: str
    rationale: str
    label_given: bool = True
    fallback: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)



def clean_emotion_words(words: Sequence[str], *, max_words: int) -> tuple[str, ...]:
    """Lower-cased emotion words (one or two words each, letters only), duplicates removed, at most ``max_words``."""
    out: list[str] = []
    for w in words:
        w = re.sub(r"\s+", " ", re.sub(r"[^a-z' -]", " ", str(w).lower())).strip(" -'")
        m = EMOTION_WORD.fullmatch(w) if w else None
        if m and w not in out and w not in NO_WORDS:
            out.append(w)
        if len(out) == max_words:
            break
    return tuple(out)


def parse_generation(text: str, *, allowed: Sequence[str], default_label: str | None = None,
                     truncated: bool = False, max_words: int = 3) -> GenerationParse:
    """Generator output -> ``GenerationParse``.

    Label fallbacks in order: synonym of an allowed label in the label field, an allowed label named in the label
    field, one named anywhere in the output, ``default_label`` (if allowed), "neutral" (if allowed), the first allowed.
    Missing sentiment -> the label's default valence; missing open-vocabulary words -> (label,).
    """
    allowed = check_allowed(allowed)
    issues = Issues("generator", text or "")
    fields: dict[str, Any] = {}
    if not (text or "").strip():
        issues.add("empty_output")
    else:
        fields = extract_fields(text)
        if not fields:
            issues.add("no_fields")
    label = label_field(fields.get("label"), allowed, issues, "label")
    given = label is not None and "label_not_allowed" not in " ".join(issues.reasons)
    if label is None:
        if fields and "label" not in fields:
            issues.add("missing:label")
        # where else the model named an allowed label: its emotion words, its rationale, then any prose
        # (field lines such as "sentiment: neutral" excluded)
        prose = "\n".join(ln for ln in (text or "").splitlines() if not re.match(r"\W*(sentiment|polarity)\W", ln, re.I))
        for src in (" ".join(as_list(fields["emotions"])) if "emotions" in fields else "",
                    str(fields.get("rationale", "")), prose):
            label = first_label_in(src, allowed)
            if label is not None:
                issues.add(f"label_from_prose:{label}")
                break
        else:
            label = next(x for x in (default_label, "neutral", allowed[0]) if x in allowed)
            issues.add(f"default_label:{label}")
    words: tuple[str, ...] = ()
    if "emotions" in fields:
        words = clean_emotion_words(as_list(fields["emotions"]), max_words=max_words)
    if not words:
        given = fields.get("emotions")
        said_none = given is not None and not clean_emotion_words(as_list(given), max_words=1) and not any(
            w.strip(" \"'") not in NO_WORDS for w in as_list(given) if w.strip(" \"'"))
        if fields and not (said_none and label == "neutral"):  # "emotions: none" is the answer for neutral
            issues.add("missing:emotions")
        words = (label,)
    sentiment = None
    if "sentiment" in fields:
        w = re.sub(r"[^a-z ]", "", str(fields["sentiment"]).lower()).split()
        sentiment = SENTIMENT_WORDS.get(w[0]) if w else None
        if sentiment is None:
            issues.add(f"invalid_sentiment:{str(fields['sentiment'])[:20]}")
    elif fields:
        issues.add("missing:sentiment")
    if sentiment is None:
        sentiment = EMOTION_SENTIMENT[label]
    assert sentiment in SENTIMENTS
    rationale = str(fields.get("rationale", "")).strip()
    if not rationale and fields:
        issues.add("missing:rationale")
    if truncated and any(r.startswith(("missing:", "default_label", "label_from_prose")) for r in issues.reasons):
        issues.add("truncated")
    return GenerationParse(label=label, ov_words=words, sentiment=sentiment, rationale=rationale, label_given=given,
                           fallback=issues.close(), truncated=truncated)


@dataclass
class LLMGenerator:
    """Emotion generator: cues + kept evidence + label set -> label, open-vocabulary words, sentiment, rationale."""

    backend: LLMBackend
    sampling: Sampling = Sampling(max_tokens=80)
    max_words: int = 3
    keep_messages: bool = False
    constrained_label: str = "off"

    def __post_init__(self) -> None:
        if self.constrained_label not in CONSTRAINED_LABEL_MODES:
            raise InputError(f"constrained_label must be one of {', '.join(CONSTRAINED_LABEL_MODES)}; got "
                             f"{self.constrained_label!r}")
        if self.constrained_label != "off" and not can_choose(self.backend):
            raise InputError(f"constrained labels need a backend with constrained choice (hf, or a server with "
                             f"guided_choice); {getattr(self.backend, 'name', 'this backend')} has none")

    def __call__(self, *, cues: CueText, labels: Sequence[str], evidence: Sequence[Candidate],
                 default_label: str | None = None) -> tuple[GenerationParse, RoleRecord]:
        msgs = generator_messages(cues=cues, labels=labels, evidence=evidence)
        out = call_role(self.backend, msgs, self.sampling)
        parsed = parse_generation(out.text, allowed=labels, default_label=default_label,
                                  truncated=out.finish_reason == "length", max_words=self.max_words)
        mode = self.constrained_label
        if mode == "always" or (mode == "repair" and label_repaired(parsed)):
            parsed = self._constrain(msgs, labels, parsed)
        return parsed, role_record("generator", msgs, out, parsed, self.keep_messages)

    def _constrain(self, msgs: list[ChatMessage], labels: Sequence[str], parsed: GenerationParse) -> GenerationParse:
        """The label line as a constrained choice among ``label: <allowed label>`` (``llm.choice``)."""
        picked = self.backend.choose(msgs, [f"{LABEL_LINE}{lab}" for lab in labels])
        label = picked.choice[len(LABEL_LINE):]
        note = f"constrained_label:{label}"
        return replace(parsed, label=label, label_given=True,
                       fallback=f"{parsed.fallback}; {note}" if parsed.fallback else note)


CONSTRAINED_LABEL_MODES = ("off", "repair", "always")
LABEL_LINE = "label: "


def label_repaired(parsed: GenerationParse) -> bool:
    """Whether the parser had to repair the label (not read as an allowed label from the label field)."""
    return not parsed.label_given or any(
        part.strip().startswith(("label_not_allowed", "label_from_prose", "default_label"))
        for part in (parsed.fallback or "").split(";"))
