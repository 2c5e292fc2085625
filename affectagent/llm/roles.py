"""What the three LLM roles share (AffectAgent §3.1: the agents share one model): decoding settings, the backend call
and the ``RoleRecord`` (prompt size, raw output, parse, fallback reason, tokens, seconds) the loop puts in the trace.

Each role (``planner.LLMPlanner``, ``evidence_filter.LLMFilter``, ``generator.LLMGenerator``) builds its messages,
calls the backend once through ``call_role`` and parses the answer with its own parser.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from .backend import ChatMessage, Completion, LLMBackend
from .prompts import prompt_chars


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


def call_role(backend: LLMBackend, messages: Sequence[ChatMessage], sampling: Sampling) -> Completion:
    return backend.chat(messages, max_tokens=sampling.max_tokens, temperature=sampling.temperature,
                        seed=sampling.seed)


def role_record(role: str, messages: Sequence[ChatMessage], out: Completion, parsed: "_Parsed", keep_messages: bool) -> RoleRecord:
    return RoleRecord(role=role, prompt_chars=prompt_chars(messages), prompt_tokens=out.prompt_tokens,
                      completion_tokens=out.completion_tokens, seconds=out.seconds, finish_reason=out.finish_reason,
                      raw=out.text, parsed=parsed.to_dict(), fallback=parsed.fallback,
                      messages=[m.to_dict() for m in messages] if keep_messages else None)


class _Parsed(Protocol):
    fallback: str | None

    def to_dict(self) -> dict[str, Any]: ...
