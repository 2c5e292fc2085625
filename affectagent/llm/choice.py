"""Constrained choice: the model answers with exactly one of a few given strings (an emotion label, a judge verdict).

Two ways, one result type (``Choice``):
- a local transformers model (``HFBackend.choose``) scores every choice as the assistant's whole answer, the sum of
  its tokens' log-probabilities after the chat prompt (+ an optional answer prefix), and returns the best
  (``score_choices``; teacher-forced, one forward pass per choice, no sampling, no parse step);
- a server (``OpenAIBackend.choose``) is asked with vLLM's ``guided_choice`` (or the newer ``structured_outputs:
  {"choice": [...]}``, ``OpenAIConfig.choice_param``); ``affectagent llm-serve`` understands both and answers with
  ``score_choices`` on its model, so the same request runs against this project's server and a vLLM GPU box.
A backend that can do neither has no ``choose`` (``can_choose`` says which).

Scores are log-probabilities summed over a choice's tokens, so a longer choice is not favoured (each extra token
only lowers its score); ``Choice.logprobs`` has every choice's score where the backend reports them (a server gives
the chosen one only).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import InputError
from .backend import ChatMessage

MAX_CHOICES = 64


@dataclass(frozen=True)
class Choice:
    """The chosen string, and the log-probability of each scored choice (may be only the chosen one)."""

    choice: str
    logprobs: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def check_choices(choices: Sequence[str]) -> tuple[str, ...]:
    """The choices as a tuple: 1..MAX_CHOICES distinct non-empty strings (``InputError`` otherwise)."""
    out = tuple(choices) if not isinstance(choices, str) else (choices,)
    if not out or len(out) > MAX_CHOICES:
        raise InputError(f"give 1..{MAX_CHOICES} choices; got {len(out)}")
    if any(not isinstance(c, str) or not c.strip() for c in out):
        raise InputError("every choice must be a non-empty string")
    if len(set(out)) != len(out):
        raise InputError("choices must be distinct")
    return out


def can_choose(backend: Any) -> bool:
    """Whether ``backend`` answers constrained choices (``backend.choose``)."""
    return callable(getattr(backend, "choose", None))


def score_choices(backend: Any, messages: Sequence[ChatMessage], choices: Sequence[str], *,
                  prefix: str = "") -> dict[str, float]:
    """Sum of token log-probabilities of each choice as the assistant's answer (after ``prefix``), for a local
    transformers backend (``encode_chat``, ``model``, ``tokenizer``; ``llm.hf.HFBackend``)."""
    import torch

    choices = check_choices(choices)
    tok = backend.tokenizer
    prompt = list(backend.encode_chat(messages)) + (list(tok(prefix, add_special_tokens=False)["input_ids"])
                                                      if prefix else [])
    scores: dict[str, float] = {}
    lock = getattr(backend, "_lock", None)
    with (lock if lock is not None else contextlib.nullcontext()), torch.inference_mode():
        for c in choices:
            ids = list(tok(c, add_special_tokens=False)["input_ids"])
            if not ids:
                raise InputError(f"choice {c!r} has no tokens")
            x = torch.tensor([prompt + ids], dtype=torch.long, device=backend.model.device)
            logits = backend.model(input_ids=x).logits[0, len(prompt) - 1:-1].float()
            logp = torch.log_softmax(logits, dim=-1)
            scores[c] = float(logp[torch.arange(len(ids)), torch.tensor(ids)].sum())
    return scores


def best(scores: dict[str, float]) -> str:
    """The highest-scoring choice (the first listed on a tie)."""
    return max(scores, key=lambda c: scores[c])
