"""Parse the three LLM roles' outputs into typed results. Every repair is recorded in ``fallback`` AND logged.

The prompts (``prompts.py``) ask for one ``key: value`` per line. Small models also answer in JSON, inside code fences,
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
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from ..schema import CANONICAL_EMOTIONS, EMOTION_SENTIMENT, SENTIMENT_SIGN, SENTIMENTS, counter_sentiment

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
_SENTIMENT_WORDS: Mapping[str, str] = {
    "positive": "positive", "pos": "positive", "negative": "negative", "neg": "negative", "neutral": "neutral",
}
_COUNTER_ANY = frozenset({"neutral", "none", "any", "both", "either", "n/a", "mixed"})

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
_NO_WORDS = frozenset({"none", "nothing", "n/a", "na", "no emotion", "no emotions", "null"})
_WORD = re.compile(r"[a-z][a-z'-]*(?: [a-z][a-z'-]*)?")


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


@dataclass(frozen=True)
class FilterParse:
    """keep[i] for candidate i+1 as numbered in the prompt; ``decided`` = indices the model actually decided."""

    keep: tuple[bool, ...]
    decided: tuple[int, ...] = ()
    fallback: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


@dataclass
class _Issues:
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


def _as_list(value: Any) -> list[str]:
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


def _label_field(value: Any, allowed: Sequence[str], issues: _Issues, name: str) -> str | None:
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


def _check_allowed(allowed: Sequence[str]) -> tuple[str, ...]:
    allowed = tuple(allowed)
    bad = [a for a in allowed if a not in CANONICAL_EMOTIONS]
    if not allowed or bad:
        raise ValueError(f"allowed labels must be non-empty canonical emotions, got {allowed}")
    return allowed


# ---- role parsers --------------------------------------------------------------------------------------------------
def parse_plan(text: str, *, allowed: Sequence[str], truncated: bool = False) -> PlanParse:
    """Planner output -> ``PlanParse``. Missing support: scan the prose for an allowed label, else None."""
    allowed = _check_allowed(allowed)
    issues = _Issues("planner", text or "")
    if not (text or "").strip():
        issues.add("empty_output")
        return PlanParse(None, None, None, fallback=issues.close(), truncated=truncated)
    fields = extract_fields(text)
    if not fields:
        issues.add("no_fields")
    support = _label_field(fields.get("support"), allowed, issues, "support")
    if support is None and "support" not in fields:
        issues.add("missing:support")
        if not fields:  # unstructured prose: its first allowed label is the hypothesis
            support = first_label_in(text, allowed)
            if support is not None:
                issues.add(f"label_from_prose:{support}")
    if support is None:
        issues.add("no_hypothesis")
    confusion = _label_field(fields.get("confusion"), allowed, issues, "confusion")
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
        if head in _SENTIMENT_WORDS and _SENTIMENT_WORDS[head] != "neutral":
            counter = _SENTIMENT_WORDS[head]
        elif head in _COUNTER_ANY or not head:  # "any": both signs, which only a neutral-valence hypothesis has
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


_DECISION_WORDS: Mapping[str, bool] = {
    "keep": True, "kept": True, "yes": True, "retain": True, "relevant": True, "useful": True, "true": True,
    "drop": False, "dropped": False, "no": False, "discard": False, "remove": False, "irrelevant": False,
    "reject": False, "false": False,
}
_DECISION = "|".join(sorted(_DECISION_WORDS, key=len, reverse=True))
_NUM_DECISION = re.compile(rf"(?<![\d.])(\d{{1,3}})[\"'\]\s]*(?:[:.)=\-]|->|=>)?[\s\"'*]*({_DECISION})\b", re.I)
_KEEP_NONE = re.compile(r"\bkeep[\"'*]*\s*[:=]\s*(?:none|nothing|\[\s*\])", re.I)
_GROUP_DECISION = re.compile(rf"\b({_DECISION})[\"'*]*\s*[:=]\s*\[?\s*((?:\d{{1,3}}\s*(?:,|\band\b)?\s*)+)", re.I)


def parse_filter(text: str, *, n: int, truncated: bool = False) -> FilterParse:
    """Filter output -> keep flags for candidates 1..n.

    Two layouts: a keep list ("keep: 2, 5" or "keep: none"; every number not listed is dropped, as asked) or one
    decision per number ("1: keep", "2: drop"; undecided numbers are kept — the filter-bypass default — and recorded).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    issues = _Issues("filter", text or "")
    if n == 0:
        return FilterParse(keep=(), fallback=None, truncated=truncated)
    if not (text or "").strip():
        issues.add("empty_output")
        return FilterParse(keep=(True,) * n, fallback=issues.close(), truncated=truncated)
    body = strip_fences(text)
    decisions: dict[int, bool] = {}

    def put(i: int, keep: bool) -> None:
        if not 1 <= i <= n:
            issues.add(f"unknown_index:{i}")
        elif i in decisions and decisions[i] != keep:
            issues.add(f"conflicting:{i}")
        elif i not in decisions:
            decisions[i] = keep

    listed: set[bool] = set()
    for m in _GROUP_DECISION.finditer(body):
        flag = _DECISION_WORDS[m.group(1).lower()]
        listed.add(flag)
        for num in re.findall(r"\d{1,3}", m.group(2)):
            put(int(num), flag)
    keep_none = _KEEP_NONE.search(body) is not None
    if not decisions and not keep_none:
        for m in _NUM_DECISION.finditer(body):
            put(int(m.group(1)), _DECISION_WORDS[m.group(2).lower()])
    elif listed == {True} or keep_none:  # a keep list: the numbers it does not name are dropped
        for i in range(1, n + 1):
            decisions.setdefault(i, False)
        if truncated:  # the list may have been cut short
            issues.add("truncated")
    if not decisions:
        issues.add("no_fields")
    missing = [i for i in range(1, n + 1) if i not in decisions]
    if decisions and missing:
        issues.add("missing_decisions:" + ",".join(map(str, missing)))
        if truncated:
            issues.add("truncated")
    keep = tuple(decisions.get(i, True) for i in range(1, n + 1))
    return FilterParse(keep=keep, decided=tuple(sorted(decisions)), fallback=issues.close(), truncated=truncated)


def clean_emotion_words(words: Sequence[str], *, max_words: int) -> tuple[str, ...]:
    """Lower-cased emotion words (one or two words each, letters only), duplicates removed, at most ``max_words``."""
    out: list[str] = []
    for w in words:
        w = re.sub(r"\s+", " ", re.sub(r"[^a-z' -]", " ", str(w).lower())).strip(" -'")
        m = _WORD.fullmatch(w) if w else None
        if m and w not in out and w not in _NO_WORDS:
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
    allowed = _check_allowed(allowed)
    issues = _Issues("generator", text or "")
    fields: dict[str, Any] = {}
    if not (text or "").strip():
        issues.add("empty_output")
    else:
        fields = extract_fields(text)
        if not fields:
            issues.add("no_fields")
    label = _label_field(fields.get("label"), allowed, issues, "label")
    given = label is not None and "label_not_allowed" not in " ".join(issues.reasons)
    if label is None:
        if fields and "label" not in fields:
            issues.add("missing:label")
        # where else the model named an allowed label: its emotion words, its rationale, then any prose
        # (field lines such as "sentiment: neutral" excluded)
        prose = "\n".join(ln for ln in (text or "").splitlines() if not re.match(r"\W*(sentiment|polarity)\W", ln, re.I))
        for src in (" ".join(_as_list(fields["emotions"])) if "emotions" in fields else "",
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
        words = clean_emotion_words(_as_list(fields["emotions"]), max_words=max_words)
    if not words:
        given = fields.get("emotions")
        said_none = given is not None and not clean_emotion_words(_as_list(given), max_words=1) and not any(
            w.strip(" \"'") not in _NO_WORDS for w in _as_list(given) if w.strip(" \"'"))
        if fields and not (said_none and label == "neutral"):  # "emotions: none" is the answer for neutral
            issues.add("missing:emotions")
        words = (label,)
    sentiment = None
    if "sentiment" in fields:
        w = re.sub(r"[^a-z ]", "", str(fields["sentiment"]).lower()).split()
        sentiment = _SENTIMENT_WORDS.get(w[0]) if w else None
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
