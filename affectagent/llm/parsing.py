"""Shared parsing of LLM role outputs: field extraction, label normalisation and the fallback record. The role parsers
themselves live next to their roles (``planner.parse_plan``, ``evidence_filter.parse_filter``,
``generator.parse_generation``); every repair is recorded in ``fallback`` AND logged.

The prompts ask for one ``key: value`` per line. Small models also answer in JSON, inside code fences,
with prose around the fields, with labels outside the allowed set, or stop early; all of these are accepted:

  * fields  : a JSON object anywhere in the text (fenced or not) or ``key: value`` lines (``**Label**: joy`` too);
              a JSON object cut off by the token limit falls back to the key/value scan.
  * labels  : lower-cased, then mapped through ``LABEL_SYNONYMS`` (joy -> happy, anger -> angry, ...); a label that is
              still outside the allowed set is replaced (first allowed label named in the value, else in the whole
              output, else the caller's default) and the reason recorded.

``fallback`` holds the reasons joined with "; " (``None`` = the output was used as given, up to synonym mapping):
  empty_output, no_fields, truncated (only when it cost a field), missing:<field>, label_not_allowed:<word>,
  label_from_prose:<label>, default_label:<label>, confusion_same_as_support, counter_same_valence,
  counter_from_label:<label>, invalid_counter:<word>,
  invalid_sentiment:<word>, missing_decisions:<i,j>, unknown_index:<i>, conflicting:<i>.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..schema import CANONICAL_EMOTIONS, EMOTION_SENTIMENT, SENTIMENT_SIGN

logger = logging.getLogger(__name__)

# Words small models use for the canonical labels (extends the canonical names; lower case).
LABEL_SYNONYMS: Mapping[str, str] = {
    "joy": "happy", "joyful": "happy", "happiness": "happy", "glad": "happy", "excited": "happy",
    "excitement": "happy", "cheerful": "happy", "delighted": "happy", "amused": "happy",
    "anger": "angry", "mad": "angry", "furious": "angry", "annoyed": "angry", "irritated": "angry",
    "frustrated": "angry", "frustration": "angry", "rage": "angry",
    "sadness": "sad", "unhappy": "sad", "sorrow": "sad", "upset": "sad", "depressed": "sad", "grief": "sad",
    "fearful": "fear", "scared": "fear", "afraid": "fear", "anxious": "fear", "anxiety": "fear", "nervous": "fear",
    "worried": "fear", "terrified": "fear",
    "disgusted": "disgust", "disgusting": "disgust", "revulsion": "disgust",
    "surprised": "surprise", "shocked": "surprise", "shock": "surprise", "amazed": "surprise",
    "astonished": "surprise", "astonishment": "surprise",
    "neutrality": "neutral", "none": "neutral", "no emotion": "neutral",
    "bored": "boredom", "contemptuous": "contempt", "ashamed": "shame", "guilty": "guilt",
    "peaceful": "calm", "relaxed": "calm",
}
SENTIMENT_WORDS: Mapping[str, str] = {
    "positive": "positive", "pos": "positive", "negative": "negative", "neg": "negative", "neutral": "neutral",
}
COUNTER_ANY = frozenset({"neutral", "none", "any", "both", "either", "n/a", "mixed"})

_KEY_ALIASES: Mapping[str, str] = {
    # planner
    "support": "support", "supportive": "support", "supporting": "support", "hypothesis": "support",
    "supportive_label": "support", "support_label": "support",
    "confusion": "confusion", "confusing": "confusion", "confusable": "confusion", "alternative": "confusion",
    "confusing_label": "confusion", "confusion_label": "confusion",
    "counter": "counter", "countering": "counter", "counter_sentiment": "counter", "opposite": "counter",
    "opposite_sentiment": "counter",
    # generator
    "label": "label", "emotion": "label", "answer": "label", "final": "label", "final_label": "label",
    "prediction": "label", "emotion_label": "label",
    "emotions": "emotions", "words": "emotions", "open_vocabulary": "emotions", "emotion_words": "emotions",
    "ov": "emotions", "ov_set": "emotions",
    "sentiment": "sentiment", "polarity": "sentiment", "valence": "sentiment",
    "rationale": "rationale", "reason": "rationale", "reasoning": "rationale", "explanation": "rationale",
    "because": "rationale",
}

_FENCE = re.compile(r"```[a-zA-Z]*")
_LINE_KV = re.compile(r"^[\s>*#\-\d.)]*[*_\"']*(?P<key>[A-Za-z][A-Za-z _-]{0,30}?)[*_\"']*\s*[:=]\s*(?P<value>.*)$")
_INLINE_KV = re.compile(r"[\"']?(?P<key>[A-Za-z][A-Za-z_ -]{0,30}?)[\"']?\s*:\s*"
                        r"(?P<value>\[[^\]]*\]?|\"[^\"\n]*\"?|'[^'\n]*'?|[^,\n}]*)")
NO_WORDS = frozenset({"none", "nothing", "n/a", "na", "no emotion", "no emotions", "null"})
EMOTION_WORD = re.compile(r"[a-z][a-z'-]*(?: [a-z][a-z'-]*)?")


@dataclass
class Issues:
    role: str
    raw: str
    reasons: list[str] = field(default_factory=list)

    def add(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def close(self) -> str | None:
        """The fallback string; logs a warning when there is one (never silent)."""
        if not self.reasons:
            return None
        reason = "; ".join(self.reasons)
        snippet = self.raw if len(self.raw) <= 200 else self.raw[:197] + "..."
        logger.warning("LLM %s output needed a fallback (%s); raw output: %r", self.role, reason, snippet)
        return reason


# ---- generic field extraction ----------------------------------------------------------------------------------
def strip_fences(text: str) -> str:
    return _FENCE.sub("", text or "")


def _canon_key(key: str) -> str | None:
    k = re.sub(r"[\s-]+", "_", key.strip().lower())
    return _KEY_ALIASES.get(k)


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` that decodes, else None."""
    dec = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = dec.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _clean_value(v: str) -> str:
    v = v.strip().rstrip(",").strip()
    if v.startswith("[") and not v.endswith("]"):
        v += "]"
    return v.strip("*_`").strip().strip("\"'").strip()


def extract_fields(text: str) -> dict[str, Any]:
    """Known fields (canonical names, see ``_KEY_ALIASES``) from JSON or ``key: value`` text; first occurrence wins.
    Values are strings, or lists when the model gave a JSON list."""
    body = strip_fences(text)
    out: dict[str, Any] = {}
    obj = _json_object(body)
    if obj is not None:
        for k, v in obj.items():
            ck = _canon_key(str(k))
            if ck and ck not in out and v is not None:
                out[ck] = [str(x) for x in v] if isinstance(v, list) else str(v)
        if out:
            return out
    json_like = "{" in body
    for line in body.splitlines():
        pairs = ([(m.group("key"), m.group("value")) for m in _INLINE_KV.finditer(line)] if json_like
                 else [(m.group("key"), m.group("value")) for m in [_LINE_KV.match(line)] if m])
        for key, value in pairs:
            ck = _canon_key(key)
            value = _clean_value(value)
            if ck and ck not in out and value:
                out[ck] = value
    return out


def as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(x) for x in value]
    s = str(value).strip()
    if s.startswith("["):
        try:
            got = json.loads(s)
            if isinstance(got, list):
                return [str(x) for x in got]
        except ValueError:
            s = s.strip("[]")
    return [p for p in re.split(r"[,;/|]| and ", s) if p.strip()]


# ---- labels --------------------------------------------------------------------------------------------------------
def normalise_label(word: str | None, allowed: Sequence[str]) -> str | None:
    """An allowed canonical label for ``word`` (exact or via ``LABEL_SYNONYMS``), else None."""
    if not word:
        return None
    w = re.sub(r"[^a-z /-]", "", str(word).strip().lower()).strip()
    w = re.sub(r"\s+", " ", w)
    for cand in (w, LABEL_SYNONYMS.get(w)):
        if cand and cand in allowed:
            return cand
    return None


def first_label_in(text: str, allowed: Sequence[str]) -> str | None:
    """The first allowed label (or synonym of one) named as a word in ``text``."""
    words = re.findall(r"[a-z]+", (text or "").lower())
    for w in words:
        lab = normalise_label(w, allowed)
        if lab is not None:
            return lab
    return None


def label_field(value: Any, allowed: Sequence[str], issues: Issues, name: str) -> str | None:
    """An allowed label from a field value: exact or synonym (no issue), else an allowed label named inside the
    value (recorded), else None (recorded)."""
    if value is None:
        return None
    raw = value[0] if isinstance(value, list) and value else str(value)
    lab = normalise_label(raw, allowed)
    if lab is not None:
        return lab
    issues.add(f"{name}_not_allowed:{str(raw).strip()[:30]}")
    lab = first_label_in(str(raw), allowed)
    if lab is not None:
        issues.add(f"{name}_from_value:{lab}")
    return lab


def valence(label: str) -> int:
    return SENTIMENT_SIGN[EMOTION_SENTIMENT[label]]


def check_allowed(allowed: Sequence[str]) -> tuple[str, ...]:
    allowed = tuple(allowed)
    bad = [a for a in allowed if a not in CANONICAL_EMOTIONS]
    if not allowed or bad:
        raise ValueError(f"allowed labels must be non-empty canonical emotions, got {allowed}")
    return allowed
