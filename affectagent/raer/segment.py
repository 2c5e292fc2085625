"""Segment(f_Analyze(Y)) of Algorithm 1 for LLM backbones: the analysis output -> at most ``max_steps`` reasoning
steps, each with a kind (cues | hypothesis | conclusion) and the emotion it asserts. Pure text processing.

Accepted forms, tried in order (the first that yields a step wins; ``Segmentation.source`` names it):
  json       a JSON list (of objects or strings), ``{"steps": [...]}`` or ``{"cues": ..., "conclusion": ...}``,
             fenced or not; a list cut off by the token limit keeps its complete objects (reason ``truncated_json``)
  lines      numbered (``1.`` ``2)`` ``Step 3:``), bulleted (``-`` ``*`` ``•``) or kind-prefixed (``cues: ...``)
             lines; unmarked lines continue the step above
  sentences  prose split at sentence ends (the last resort; reason ``prose_split``)
  fallback   nothing usable (empty / no steps / only punctuation): the initial response Y as one conclusion step
             (reasons ``empty_output`` / ``no_steps``)
More than ``max_steps`` steps: the first ``max_steps − 1`` and the last are kept (reason ``steps_dropped:<n>``).
A step's kind comes from its field / prefix when it names one, else from its position (first = cues, last =
conclusion, between = hypothesis; a single step = conclusion). Its emotion: the JSON ``emotion`` field, else the first
label named in its text (``llm.parsing.first_label_in``), the allowed labels first, then any canonical emotion.
Every repair is recorded in ``fallback`` and logged (``llm.parsing.Issues``).

Also here: locating the answer's label in the final answer text and the generated tokens that spell it
(``answer_label_span``, ``token_char_offsets``, ``span_token_indices``) for the log-prob uncertainty.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from ..llm.parsing import Issues, first_label_in, normalise_label, strip_fences
from ..schema import CANONICAL_EMOTIONS

STEP_KINDS: tuple[str, ...] = ("cues", "hypothesis", "conclusion")
SOURCES: tuple[str, ...] = ("json", "lines", "sentences", "fallback")
NO_REASONING = "(the model gave no reasoning)"

# words models use for the step kinds (lower case)
KIND_ALIASES: dict[str, str] = {
    "cue": "cues", "cues": "cues", "cue reading": "cues", "reading": "cues", "observation": "cues",
    "observations": "cues", "perception": "cues", "evidence": "cues", "cues reading": "cues", "input": "cues",
    "hypothesis": "hypothesis", "emotion hypothesis": "hypothesis", "analysis": "hypothesis",
    "interpretation": "hypothesis", "inference": "hypothesis", "reasoning": "hypothesis",
    "conclusion": "conclusion", "answer": "conclusion", "final": "conclusion", "final answer": "conclusion",
    "decision": "conclusion", "result": "conclusion", "summary": "conclusion",
}
_TEXT_KEYS = ("text", "step", "content", "reasoning", "description", "statement", "thought", "value")
_KIND_KEYS = ("kind", "type", "name", "role", "stage", "category")
_EMOTION_KEYS = ("emotion", "label", "emotion_label")
_MARKER = re.compile(r"^\s*(?:\d{1,2}\s*[.):\]]|\(\d{1,2}\)|[-*•]|step\s*\d{1,2}\s*[.):\-]?)\s*(?P<rest>.*)$", re.I)
_KIND_PREFIX = re.compile(r"^[*_\"'\[]*(?P<kind>[A-Za-z][A-Za-z ]{1,24}?)[*_\"'\]]*\s*(?:\([^)]{0,30}\))?\s*"
                          r"[:\-–]\s*(?P<text>.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-z]{2,}")
_NO_EMOTION = frozenset({"null", "none", "n/a", "na", "-", "unknown", "no emotion"})


@dataclass(frozen=True)
class Step:
    """One segmented step: kind (one of ``STEP_KINDS``), text, emotion (canonical, or None)."""

    kind: str
    text: str
    emotion: str | None = None


@dataclass
class Segmentation:
    """The steps, which form they were read from (``SOURCES``) and the fallback reasons (None = read as given)."""

    steps: list[Step]
    source: str
    fallback: str | None = None
    raw: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [asdict(s) for s in self.steps], "source": self.source, "fallback": self.fallback}


def canon_kind(word: str | None) -> str | None:
    """The step kind a word names ("Cue reading" -> cues), else None."""
    if not word:
        return None
    w = re.sub(r"\s+", " ", re.sub(r"[^a-z ]", " ", str(word).lower())).strip()
    return KIND_ALIASES.get(w) or KIND_ALIASES.get(w.removeprefix("the ").removesuffix(" step"))


def step_emotion(text: str, allowed: Sequence[str], given: Any = None) -> str | None:
    """The emotion a step asserts: its explicit field (when it names one), else the first label named in the text —
    the allowed labels first, then any canonical emotion."""
    g = "" if given is None else str(given).strip()
    if g and g.lower() not in _NO_EMOTION:
        lab = (normalise_label(g, allowed) or normalise_label(g, CANONICAL_EMOTIONS) or first_label_in(g, allowed)
               or first_label_in(g, CANONICAL_EMOTIONS))
        if lab is not None:
            return lab
    return first_label_in(text, allowed) or first_label_in(text, CANONICAL_EMOTIONS)


def _clean(text: str) -> str:
    t = " ".join(str(text).split()).strip().strip("*_`\"'").strip()
    return t


def _usable(text: str) -> bool:
    return bool(_WORD.search(text or ""))


def _split_kind(text: str) -> tuple[str | None, str]:
    """("cues", rest) for "Cues: rest" / "**Cue reading** - rest"; (None, text) when the prefix names no kind."""
    m = _KIND_PREFIX.match(text)
    if m:
        kind = canon_kind(m.group("kind"))
        if kind is not None:
            return kind, m.group("text").strip()
    return None, text


# ---- the forms ---------------------------------------------------------------------------------------------------
def _first_json(body: str) -> tuple[Any, bool]:
    """(the first non-empty JSON list / object in ``body``, whether it starts at the first bracket) — False means
    the outer value was cut off and an inner one was decoded."""
    dec = json.JSONDecoder()
    for i, m in enumerate(re.finditer(r"[\[{]", body)):
        try:
            obj, _ = dec.raw_decode(body, m.start())
        except ValueError:
            continue
        if isinstance(obj, (list, dict)) and obj:
            return obj, i == 0
    return None, False


def _pick(obj: dict, keys: Sequence[str]) -> Any:
    low = {str(k).strip().lower(): v for k, v in obj.items()}
    for k in keys:
        if low.get(k) not in (None, ""):
            return low[k]
    return None


def _rows_from_json(obj: Any) -> list[tuple[str | None, str, Any]]:
    """(kind word, text, emotion field) rows from a decoded JSON value."""
    if isinstance(obj, dict):
        inner = _pick(obj, ("steps", "reasoning_steps", "reasoning", "analysis"))
        if isinstance(inner, list):
            return _rows_from_json(inner)
        text = _pick(obj, _TEXT_KEYS)
        if isinstance(text, str) and (canon_kind(_pick(obj, _KIND_KEYS)) or _pick(obj, _EMOTION_KEYS)):
            return [(_pick(obj, _KIND_KEYS), text, _pick(obj, _EMOTION_KEYS))]
        # {"cues": "...", "hypothesis": "...", "conclusion": "..."} or {"step 1": "...", ...}
        rows = []
        for k, v in obj.items():
            if isinstance(v, (str, int, float)) and str(v).strip():
                rows.append((str(k) if canon_kind(str(k)) else None, str(v), None))
            elif isinstance(v, dict):
                rows.extend(_rows_from_json(v))
        return rows
    rows = []
    for item in obj:
        if isinstance(item, dict):
            text = _pick(item, _TEXT_KEYS)
            if text is None:  # {"cues": "..."} items
                rows.extend(_rows_from_json(item))
                continue
            rows.append((_pick(item, _KIND_KEYS), str(text), _pick(item, _EMOTION_KEYS)))
        elif isinstance(item, (str, int, float)):
            rows.append((None, str(item), None))
    return rows


def _partial_json_rows(body: str) -> list[tuple[str | None, str, Any]]:
    """Complete ``{...}`` objects of a JSON list the token limit cut off."""
    rows = []
    for m in re.finditer(r"\{[^{}]*\}", body):
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            continue
        if isinstance(obj, dict):
            rows.extend(_rows_from_json([obj]))
    return rows


def _line_rows(body: str) -> list[tuple[str | None, str, Any]]:
    rows: list[list[Any]] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        m = _MARKER.match(line)
        rest = m.group("rest") if m else line.strip()
        kind, text = _split_kind(rest.strip())
        if m or kind is not None:
            rows.append([kind, text, None])
        elif rows:  # continuation of the step above
            rows[-1][1] = f"{rows[-1][1]} {line.strip()}"
    return [(k, t, e) for k, t, e in rows]


def _sentence_rows(body: str) -> list[tuple[str | None, str, Any]]:
    flat = " ".join(body.split())
    return [(None, s, None) for s in _SENTENCE_END.split(flat) if s.strip()]


def _positional(i: int, n: int) -> str:
    if n == 1 or i == n - 1:
        return "conclusion"
    return "cues" if i == 0 else "hypothesis"


def _steps(rows: Sequence[tuple[str | None, str, Any]], allowed: Sequence[str]) -> list[Step]:
    kept = []
    for kind, text, emo in rows:
        k, t = _split_kind(_clean(text))
        t = _clean(t)
        if _usable(t):
            kept.append((canon_kind(kind) or k, t, emo))
    return [Step(kind=k or _positional(i, len(kept)), text=t, emotion=step_emotion(t, allowed, emo))
            for i, (k, t, emo) in enumerate(kept)]


def segment(text: str, *, allowed: Sequence[str], max_steps: int, fallback_text: str | None = None) -> Segmentation:
    """The analysis output -> ``Segmentation`` (see module docstring). Never raises on model output."""
    if max_steps < 1:
        raise ValueError("max_steps must be >= 1")
    allowed = tuple(allowed)
    issues = Issues("analyze", text or "")
    body = strip_fences(text or "").strip()
    steps: list[Step] = []
    source = "fallback"
    if not body:
        issues.add("empty_output")
    else:
        obj, whole = _first_json(body)
        if obj is not None and whole:
            steps, source = _steps(_rows_from_json(obj), allowed), "json"
        if not steps and re.search(r"[\[{]", body):
            steps = _steps(_partial_json_rows(body), allowed)
            if steps:
                source = "json"
                issues.add("truncated_json")
        if not steps:
            steps, source = _steps(_line_rows(body), allowed), "lines"
        if not steps:
            steps, source = _steps(_sentence_rows(body), allowed), "sentences"
            if steps:
                issues.add("prose_split")
        if not steps:
            issues.add("no_steps")
    if not steps:
        source = "fallback"
        fb = _clean(fallback_text or "")
        fb = fb if _usable(fb) else NO_REASONING
        steps = [Step(kind="conclusion", text=fb, emotion=step_emotion(fb, allowed) if fb != NO_REASONING else None)]
        issues.add("initial_response_as_one_step" if fb != NO_REASONING else "no_reasoning")
    if len(steps) > max_steps:
        issues.add(f"steps_dropped:{len(steps) - max_steps}")
        steps = steps[:max_steps - 1] + [steps[-1]] if max_steps > 1 else [steps[-1]]
    return Segmentation(steps=steps, source=source, fallback=issues.close(), raw=text or "")


_ECHOED_EXAMPLE = re.compile(r"^\s*(?:\d{1,2}\s*[.)]\s*)?\[[^\]]*\]")
_REWRITE_PREFIX = re.compile(r"^\W*(?:(?:rewritten|revised|new|refined|your)\s+step|rewrite)\W*?[:\-]\s*", re.I)


def rewritten_step(text: str) -> str:
    """The step text of an f_CoT rewrite: the first usable line that is not an echoed example ("1. [label, 0.88]
    ..."), with "Rewritten step:" / list marker / kind prefix removed ("" when there is none)."""
    for line in strip_fences(text or "").splitlines():
        if _ECHOED_EXAMPLE.match(line):
            continue
        t = _clean(_REWRITE_PREFIX.sub("", line.strip()))
        m = _MARKER.match(t)
        t = _clean(_split_kind(_clean(m.group("rest") if m else t))[1])
        if _usable(t):
            return t
    return ""


_SPEAKER = re.compile(r"^\s*[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,2}\s*:\s*")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[\"'“”‘’`*]", "", str(text)).lower().split())


def is_echo(text: str, sources: Sequence[str], *, min_chars: int = 12) -> bool:
    """True when ``text`` (a leading "Speaker:" removed) only copies a passage of one of ``sources`` (the examples
    or the cues shown): small models answer a rewrite request by repeating what they were shown."""
    t = _norm(_SPEAKER.sub("", text or "")).strip(" .!?")
    return len(t) >= min_chars and any(t in _norm(s) for s in sources)


# ---- the answer's label tokens (for the log-prob uncertainty) ----------------------------------------------------
_LABEL_LINE = re.compile(r"^[\W_]*(?:label|emotion|answer|final(?:[ _]label)?|prediction)[\W_]*\s*[:=]\s*(?P<v>.*)$",
                         re.I | re.M)
_SENTIMENT_LINE = re.compile(r"^\W*(?:sentiment|polarity|valence)\W", re.I)


def answer_label_span(text: str, label: str) -> tuple[int, int] | None:
    """Character span of the word that gave the answer's ``label``: the first word of the label field that names it
    (the label or a synonym), else its first mention outside sentiment lines; None when the text never names it
    (the label was a default)."""
    text = text or ""

    def first_word(start: int, end: int) -> tuple[int, int] | None:
        for w in re.finditer(r"[A-Za-z]+", text[start:end]):
            if normalise_label(w.group(0), (label,)) == label:
                return start + w.start(), start + w.end()
        return None

    for m in _LABEL_LINE.finditer(text):
        got = first_word(m.start("v"), m.end("v"))
        if got is not None:
            return got
    pos = 0
    for line in text.splitlines(keepends=True):
        if not _SENTIMENT_LINE.match(line):
            got = first_word(pos, pos + len(line))
            if got is not None:
                return got
        pos += len(line)
    return None


def token_char_offsets(text: str, n_tokens: int, *, tokenizer: Any = None) -> tuple[list[tuple[int, int]], str]:
    """(start, end) characters of each of the ``n_tokens`` generated tokens of ``text``, and how they were found:
    ``tokenizer`` (the backend's fast tokenizer re-tokenising the text gives n or n − 1 tokens — a final EOS has no
    characters), ``words`` (the backend counts whitespace words, n or n − 1 of them), else ``proportional`` (token i
    covers the i-th n-th of the characters: approximate)."""
    if n_tokens <= 0:
        return [], "none"
    if tokenizer is not None:
        try:
            enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            offs = [tuple(map(int, o)) for o in enc["offset_mapping"]]
        except (TypeError, ValueError, KeyError, NotImplementedError):
            offs = []
        if offs and len(offs) in (n_tokens, n_tokens - 1):
            return offs + [(len(text), len(text))] * (n_tokens - len(offs)), "tokenizer"
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    if words and len(words) in (n_tokens, n_tokens - 1):
        return words + [(len(text), len(text))] * (n_tokens - len(words)), "words"
    n_chars = len(text)
    return [(i * n_chars // n_tokens, (i + 1) * n_chars // n_tokens) for i in range(n_tokens)], "proportional"


def span_token_indices(offsets: Sequence[tuple[int, int]], span: tuple[int, int]) -> list[int]:
    """Indices of the tokens whose characters overlap ``span`` (a token with leading space counts)."""
    a, b = span
    return [i for i, (s, e) in enumerate(offsets) if s < b and e > a]
