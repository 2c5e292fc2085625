"""LLM Query Planner (AffectAgent §3.1): its prompt, its parser and the role.

The planner reads the cues, names a supportive hypothesis label, a confusable alternative label and the counter
sentiment — the three query groups the retriever runs (``kb/retrieval.py``). Its answer is parsed into ``PlanParse``;
every repair is recorded in ``fallback`` (see ``parsing.py``): missing/invalid fields, confusion_same_as_support,
counter_same_valence, counter_from_label:<label>, invalid_counter:<word>, no_hypothesis.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from ..schema import CANONICAL_EMOTIONS, EMOTION_SENTIMENT, SENTIMENT_SIGN, counter_sentiment
from .backend import ChatMessage, LLMBackend
from .cues import CueText
from .parsing import (COUNTER_ANY, SENTIMENT_WORDS, Issues, check_allowed, extract_fields, first_label_in,
                      label_field, normalise_label, valence)
from .prompts import label_list
from .roles import RoleRecord, Sampling, call_role, role_record


def planner_messages(*, cues: CueText, labels: Sequence[str]) -> list[ChatMessage]:
    system = (
        "You plan evidence search for emotion recognition. "
        f"Allowed labels: {label_list(labels)}.\n"
        "Answer with exactly three lines:\n"
        "support: <the most likely label for the target utterance>\n"
        "confusion: <a different label it could be mistaken for>\n"
        "counter sentiment: <positive or negative, opposite to the support label's sentiment>"
    )
    return [ChatMessage("system", system), ChatMessage("user", cues.render())]


@dataclass(frozen=True)
class PlanParse:
    """The planner's three query groups: supportive hypothesis, confusable label, counter sentiment.

    ``support`` None = no usable hypothesis (the loop then falls back to a plain similarity query).
    ``counter_sentiment`` None = any valence opposite to a neutral-valence hypothesis (both signs).
    """

    support: str | None
    confusion: str | None
    counter_sentiment: str | None
    fallback: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)



def parse_plan(text: str, *, allowed: Sequence[str], truncated: bool = False) -> PlanParse:
    """Planner output -> ``PlanParse``. Missing support: scan the prose for an allowed label, else None."""
    allowed = check_allowed(allowed)
    issues = Issues("planner", text or "")
    if not (text or "").strip():
        issues.add("empty_output")
        return PlanParse(None, None, None, fallback=issues.close(), truncated=truncated)
    fields = extract_fields(text)
    if not fields:
        issues.add("no_fields")
    support = label_field(fields.get("support"), allowed, issues, "support")
    if support is None and "support" not in fields:
        issues.add("missing:support")
        if not fields:  # unstructured prose: its first allowed label is the hypothesis
            support = first_label_in(text, allowed)
            if support is not None:
                issues.add(f"label_from_prose:{support}")
    if support is None:
        issues.add("no_hypothesis")
    confusion = label_field(fields.get("confusion"), allowed, issues, "confusion")
    if "confusion" not in fields:
        issues.add("missing:confusion")
    if confusion is not None and confusion == support:
        issues.add("confusion_same_as_support")
        confusion = None
    counter = None
    raw_counter = fields.get("counter")
    if raw_counter is None:
        issues.add("missing:counter")
        counter = counter_sentiment(support)
    else:
        w = str(raw_counter[0] if isinstance(raw_counter, list) and raw_counter else raw_counter).strip().lower()
        w = re.sub(r"[^a-z/ ]", "", w).strip()
        head = w.split()[0] if w.split() else ""
        if head in SENTIMENT_WORDS and SENTIMENT_WORDS[head] != "neutral":
            counter = SENTIMENT_WORDS[head]
        elif head in COUNTER_ANY or not head:  # "any": both signs, which only a neutral-valence hypothesis has
            counter = counter_sentiment(support)
            if counter is not None:
                issues.add(f"invalid_counter:{w[:20]}")
        elif normalise_label(head, CANONICAL_EMOTIONS) and valence(normalise_label(head, CANONICAL_EMOTIONS)):
            lab = normalise_label(head, CANONICAL_EMOTIONS)  # an emotion instead of a sentiment: use its valence
            issues.add(f"counter_from_label:{lab}")
            counter = EMOTION_SENTIMENT[lab]
        else:
            issues.add(f"invalid_counter:{w[:20]}")
            counter = counter_sentiment(support)
        if counter is not None and support is not None and SENTIMENT_SIGN[counter] == valence(support):
            issues.add("counter_same_valence")
            counter = counter_sentiment(support)
    if truncated and any(r.startswith("missing:") for r in issues.reasons):
        issues.add("truncated")
    return PlanParse(support, confusion, counter, fallback=issues.close(), truncated=truncated)




@dataclass
class LLMPlanner:
    """Query planner: cues + label set -> supportive label, confusable label, counter sentiment."""

    backend: LLMBackend
    sampling: Sampling = Sampling(max_tokens=32)
    keep_messages: bool = False

    def __call__(self, *, cues: CueText, labels: Sequence[str]) -> tuple[PlanParse, RoleRecord]:
        msgs = planner_messages(cues=cues, labels=labels)
        out = call_role(self.backend, msgs, self.sampling)
        parsed = parse_plan(out.text, allowed=labels, truncated=out.finish_reason == "length")
        return parsed, role_record("planner", msgs, out, parsed, self.keep_messages)
