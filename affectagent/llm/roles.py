"""The three AffectAgent roles as prompts to one shared ``LLMBackend`` (AffectAgent §3.1: the agents share one model).

Each role builds its messages (``prompts.py``), calls the backend once and parses the answer (``parsing.py``). It
returns the typed parse plus a ``RoleRecord`` (prompt size, raw output, parse, fallback reason, tokens, seconds) that
the loop puts in the prediction's trace.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .backend import ChatMessage, Completion, LLMBackend
from .cues import CueText
from .parsing import FilterParse, GenerationParse, PlanParse, parse_filter, parse_generation, parse_plan
from .prompts import (Candidate, filter_messages, generator_messages, planner_messages, prompt_chars)


@dataclass(frozen=True)
class Sampling:
    """Decoding settings shared by the roles. max_tokens: the role's output budget (tokens)."""

    max_tokens: int
    temperature: float = 0.0
    seed: int | None = 0

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.temperature < 0:
            raise ValueError("max_tokens must be >= 1 and temperature >= 0")


@dataclass
class RoleRecord:
    """One role call. prompt_chars: characters of all messages; tokens as counted by the backend."""

    role: str
    prompt_chars: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str
    raw: str
    parsed: dict[str, Any]
    fallback: str | None
    messages: list[dict[str, str]] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "messages" or v is not None}
        out["seconds"] = round(self.seconds, 3)
        return out


def _call(backend: LLMBackend, messages: Sequence[ChatMessage], sampling: Sampling) -> Completion:
    return backend.chat(messages, max_tokens=sampling.max_tokens, temperature=sampling.temperature,
                        seed=sampling.seed)


def _record(role: str, messages: Sequence[ChatMessage], out: Completion, parsed, keep_messages: bool) -> RoleRecord:
    return RoleRecord(role=role, prompt_chars=prompt_chars(messages), prompt_tokens=out.prompt_tokens,
                      completion_tokens=out.completion_tokens, seconds=out.seconds, finish_reason=out.finish_reason,
                      raw=out.text, parsed=parsed.to_dict(), fallback=parsed.fallback,
                      messages=[m.to_dict() for m in messages] if keep_messages else None)


@dataclass
class LLMPlanner:
    """Query planner: cues + label set -> supportive label, confusable label, counter sentiment."""

    backend: LLMBackend
    sampling: Sampling = Sampling(max_tokens=32)
    keep_messages: bool = False

    def __call__(self, *, cues: CueText, labels: Sequence[str]) -> tuple[PlanParse, RoleRecord]:
        msgs = planner_messages(cues=cues, labels=labels)
        out = _call(self.backend, msgs, self.sampling)
        parsed = parse_plan(out.text, allowed=labels, truncated=out.finish_reason == "length")
        return parsed, _record("planner", msgs, out, parsed, self.keep_messages)


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
        out = _call(self.backend, msgs, self.budget(len(candidates)))
        parsed = parse_filter(out.text, n=len(candidates), truncated=out.finish_reason == "length")
        return parsed, _record("filter", msgs, out, parsed, self.keep_messages)


@dataclass
class LLMGenerator:
    """Emotion generator: cues + kept evidence + label set -> label, open-vocabulary words, sentiment, rationale."""

    backend: LLMBackend
    sampling: Sampling = Sampling(max_tokens=80)
    max_words: int = 3
    keep_messages: bool = False

    def __call__(self, *, cues: CueText, labels: Sequence[str], evidence: Sequence[Candidate],
                 default_label: str | None = None) -> tuple[GenerationParse, RoleRecord]:
        msgs = generator_messages(cues=cues, labels=labels, evidence=evidence)
        out = _call(self.backend, msgs, self.sampling)
        parsed = parse_generation(out.text, allowed=labels, default_label=default_label,
                                  truncated=out.finish_reason == "length", max_words=self.max_words)
        return parsed, _record("generator", msgs, out, parsed, self.keep_messages)
