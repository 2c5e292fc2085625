"""A scripted chat backend for the agents' unit tests: answers each role with given text (no model)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from affectagent.llm.backend import ChatMessage, Completion


def role_of(messages: Sequence[ChatMessage]) -> str:
    system = messages[0].content
    if system.startswith("You plan evidence search"):
        return "planner"
    if system.startswith("You check labelled examples"):
        return "filter"
    if system.startswith("You recognise the emotion"):
        return "generator"
    raise AssertionError(f"unknown role prompt: {system[:60]!r}")


@dataclass
class ScriptedBackend:
    """``answers``: role -> text, or a callable(messages) -> text. Records every call (role, messages, max_tokens).
    ``finish_reason`` per role lets a test simulate truncation."""

    answers: dict[str, str | Callable[[Sequence[ChatMessage]], str]]
    finish_reason: dict[str, str] = field(default_factory=dict)
    name: str = "scripted"
    calls: list[tuple[str, list[ChatMessage], int]] = field(default_factory=list)

    def chat(self, messages, *, max_tokens=256, temperature=0.0, seed=None, stop=None) -> Completion:
        role = role_of(messages)
        self.calls.append((role, list(messages), max_tokens))
        ans = self.answers[role]
        text = ans(messages) if callable(ans) else ans
        return Completion(text=text, prompt_tokens=sum(len(m.content.split()) for m in messages),
                          completion_tokens=len(text.split()), seconds=0.001,
                          finish_reason=self.finish_reason.get(role, "stop"))
