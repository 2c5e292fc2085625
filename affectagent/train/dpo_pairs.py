"""Preference pairs for DPO: one JSON object a line, the keys TRL's DPOTrainer reads.

Standard form (what ``affectagent arena export`` writes)::

    {"prompt": "Stimulus (a short passage): ...\\n\\nTask: ...", "chosen": "...", "rejected": "...",
     "system": "You are ...", "round": 3, "stimulus": "gen-4", ...}

Conversational form (TRL's)::

    {"prompt": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}],
     "chosen": [{"role": "assistant", "content": "..."}], "rejected": [{"role": "assistant", "content": "..."}]}

``prompt``, ``chosen`` and ``rejected`` are required, non-empty; ``system`` (standard form only) is optional; every
other key is kept as metadata and ignored by training. A file that is missing, empty, not JSON on line N, or whose
line N lacks a field raises ``InputError`` with a one-line message naming the file and the line.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import InputError
from ..jsonlines import parse_json_lines
from ..llm.backend import ROLES, ChatMessage

REQUIRED: tuple[str, ...] = ("prompt", "chosen", "rejected")


@dataclass(frozen=True)
class DPOPair:
    """One preference pair. prompt: the conversation before the answer (an optional system turn, then user /
    assistant turns ending with a user turn). chosen / rejected: the preferred and the dispreferred answer.
    meta: anything else the line carried (round, stimulus, judge, ...)."""

    prompt: tuple[ChatMessage, ...]
    chosen: str
    rejected: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prompt", tuple(self.prompt))
        if not self.prompt or self.prompt[-1].role != "user":
            raise InputError("a preference pair's prompt must end with a user turn")
        if not self.chosen.strip() or not self.rejected.strip():
            raise InputError("a preference pair needs a non-empty chosen and rejected answer")

    @classmethod
    def of(cls, prompt: str, chosen: str, rejected: str, *, system: str | None = None, **meta: Any) -> "DPOPair":
        """A pair from a user prompt string (and an optional system prompt)."""
        turns = ([ChatMessage("system", system)] if system else []) + [ChatMessage("user", prompt)]
        return cls(prompt=tuple(turns), chosen=chosen, rejected=rejected, meta=dict(meta))

    def to_dict(self) -> dict[str, Any]:
        """The standard form when the prompt is [system?] + one user turn, else the conversational form."""
        turns = self.prompt
        if len(turns) == 1 or (len(turns) == 2 and turns[0].role == "system"):
            out: dict[str, Any] = {"prompt": turns[-1].content, "chosen": self.chosen, "rejected": self.rejected}
            if len(turns) == 2:
                out["system"] = turns[0].content
        else:
            out = {"prompt": [m.to_dict() for m in turns],
                   "chosen": [{"role": "assistant", "content": self.chosen}],
                   "rejected": [{"role": "assistant", "content": self.rejected}]}
        return {**out, **{k: v for k, v in self.meta.items() if k not in out}}


def _answer(value: Any, key: str, where: str) -> str:
    if isinstance(value, list):  # conversational: one assistant message
        if len(value) != 1 or not isinstance(value[0], Mapping) or value[0].get("role") != "assistant":
            raise InputError(f"{where}: {key!r} as a list must hold exactly one assistant message")
        value = value[0].get("content")
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {key!r} must be a non-empty string")
    return value


def _prompt(obj: Mapping[str, Any], where: str) -> tuple[ChatMessage, ...]:
    value, system = obj["prompt"], obj.get("system")
    if system is not None and not isinstance(system, str):
        raise InputError(f"{where}: 'system' must be a string")
    if isinstance(value, str):
        if not value.strip():
            raise InputError(f"{where}: 'prompt' must be a non-empty string")
        return tuple(([ChatMessage("system", system)] if system else []) + [ChatMessage("user", value)])
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: 'prompt' must be a string or a list of chat messages")
    if system is not None:
        raise InputError(f"{where}: 'system' goes with a string prompt; put it in the message list instead")
    turns = []
    for m in value:
        if not isinstance(m, Mapping) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise InputError(f"{where}: every prompt message needs a role ({', '.join(ROLES)}) and string content")
        turns.append(ChatMessage(m["role"], m["content"]))
    if turns[-1].role != "user":
        raise InputError(f"{where}: the prompt's last message must be a user turn")
    return tuple(turns)


def pair_from_dict(obj: Mapping[str, Any], *, where: str = "pair") -> DPOPair:
    """One pair from a parsed JSON object (either form); ``where`` names it in error messages."""
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise InputError(f"{where}: missing {', '.join(repr(k) for k in missing)} (a pair needs prompt, chosen and "
                         "rejected)")
    prompt = _prompt(obj, where)
    chosen, rejected = _answer(obj["chosen"], "chosen", where), _answer(obj["rejected"], "rejected", where)
    meta = {k: v for k, v in obj.items() if k not in (*REQUIRED, "system")}
    return DPOPair(prompt=prompt, chosen=chosen, rejected=rejected, meta=meta)


def read_pairs(path: str | os.PathLike[str]) -> list[DPOPair]:
    """Every pair of a JSONL file (see the module docstring); InputError on a missing, empty or malformed file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"pairs file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p} is not UTF-8 text (expected JSON lines)") from None
    rows = parse_json_lines(text, where=lambda n: f"{p} line {n}")
    if not rows:
        raise InputError(f"{p} holds no preference pairs (expected one JSON object a line with prompt, chosen and "
                         "rejected)")
    return [pair_from_dict(obj, where=f"{p} line {n}") for n, obj in rows]


def write_pairs(pairs: Iterable[DPOPair], path: str | os.PathLike[str]) -> Path:
    """Write pairs as JSON lines, atomically (a temporary file renamed into place)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for pair in pairs:
            fh.write(json.dumps(pair.to_dict(), ensure_ascii=False) + "\n")
    os.replace(tmp, p)
    return p


__all__ = ["DPOPair", "REQUIRED", "pair_from_dict", "read_pairs", "write_pairs"]
