"""LLM Evidence Filter (AffectAgent §3.1): its prompt, its parser and the role.

The filter reads the cues and the numbered knowledge-base candidates ([label, similarity] text) and lists the numbers to
keep; every number it does not name is dropped (one keep/drop decision per candidate). Parsed into ``FilterParse``;
repairs recorded in ``fallback``: missing_decisions:<i,j>, unknown_index:<i>, conflicting:<i>, no_fields, truncated.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from .backend import ChatMessage, LLMBackend
from .cues import CueText
from .parsing import Issues, strip_fences
from .prompts import Candidate, render_candidates
from .roles import RoleRecord, Sampling, call_role, role_record


def filter_messages(*, cues: CueText, candidates: Sequence[Candidate], hypothesis: str | None) -> list[ChatMessage]:
    if not candidates:
        raise ValueError("the filter needs at least one candidate")
    system = (
        "You check labelled examples [label, similarity] retrieved for an emotion decision. Keep the examples "
        "that best help decide the target utterance's emotion (same kind of situation, or a close contrast); drop "
        "unrelated ones.\n"
        "Answer with one line:\nkeep: <numbers of the most useful examples, at most 4, comma-separated>"
    )
    hyp = f"\nCurrent hypothesis: {hypothesis}" if hypothesis else ""
    user = f"{cues.render()}{hyp}\n\nExamples:\n{render_candidates(candidates)}"
    return [ChatMessage("system", system), ChatMessage("user", user)]


@dataclass(frozen=True)
class FilterParse:
    """keep[i] for candidate i+1 as numbered in the prompt; ``decided`` = indices the model actually decided."""

    keep: tuple[bool, ...]
    decided: tuple[int, ...] = ()
    fallback: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)



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
    issues = Issues("filter", text or "")
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




@dataclass
class LLMFilter:
    """Evidence filter: cues + numbered candidates (+ the planner's hypothesis) -> keep/drop per candidate."""

    backend: LLMBackend
    sampling: Sampling = Sampling(max_tokens=64)
    keep_messages: bool = False

    def budget(self, n: int) -> Sampling:
        """About 4 tokens per "N: keep" line; never below the configured budget."""
        return Sampling(max_tokens=max(self.sampling.max_tokens, 4 * n + 8), temperature=self.sampling.temperature,
                        seed=self.sampling.seed)

    def __call__(self, *, cues: CueText, candidates: Sequence[Candidate],
                 hypothesis: str | None) -> tuple[FilterParse, RoleRecord]:
        msgs = filter_messages(cues=cues, candidates=candidates, hypothesis=hypothesis)
        out = call_role(self.backend, msgs, self.budget(len(candidates)))
        parsed = parse_filter(out.text, n=len(candidates), truncated=out.finish_reason == "length")
        return parsed, role_record("filter", msgs, out, parsed, self.keep_messages)
