"""Shared prompt pieces for the three LLM agents of AffectAgent §3.1 (each role's own messages live in its module:
``planner.planner_messages``, ``evidence_filter.filter_messages``, ``generator.generator_messages``).

* planner   : reads the cues, names a supportive hypothesis label, a confusable alternative label and the counter
              sentiment (the three query groups the retriever runs).
* filter    : reads the cues and numbered knowledge-base candidates (label + text), lists the numbers to keep (the
              others are dropped): one keep/drop decision per number.
* generator : reads the cues and the kept evidence, answers one label from the allowed set, 1-3 open-vocabulary
              emotion words, the sentiment and a one-sentence rationale.

Answers are asked for as ``key: value`` lines (parsed by ``parsing.py``, which also accepts JSON and prose). The
prompts are deliberately short: every token is CPU time for a local model. Label sets are always spelled out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..schema import QUERY_KINDS, Evidence
from .backend import ChatMessage


@dataclass(frozen=True)
class Candidate:
    """One piece of evidence shown to the filter / generator (numbered by its position in the prompt, from 1)."""

    label: str | None
    text: str
    kind: str = "plain"
    score: float | None = None


def label_list(labels: Sequence[str]) -> str:
    if not labels:
        raise ValueError("the allowed label set is empty")
    return ", ".join(labels)


def clip_text(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def candidates_from(evidence: Sequence[Evidence], *, max_chars: int = 160) -> list[Candidate]:
    return [Candidate(label=e.label, text=clip_text(e.text, max_chars), kind=e.kind, score=float(e.score))
            for e in evidence]


def interleave_groups(evidence: Sequence[Evidence]) -> list[Evidence]:
    """Order candidates by rank across the query groups (support 1, confusion 1, counter 1, support 2, ...), so that
    the first numbers a model reads are the best item of every group, not one whole group. Plain lists are unchanged."""
    groups = [[e for e in evidence if e.kind == k] for k in QUERY_KINDS]
    rest = [e for e in evidence if e.kind not in QUERY_KINDS]
    out = [g[i] for i in range(max((len(g) for g in groups), default=0)) for g in groups if i < len(g)]
    return out + rest


def render_candidates(cands: Sequence[Candidate]) -> str:
    """``N. [label, similarity] text`` lines numbered from 1 (similarity omitted when unknown)."""
    return "\n".join(f"{i}. [{c.label or 'unlabelled'}{'' if c.score is None else f', {c.score:.2f}'}] {c.text}"
                     for i, c in enumerate(cands, 1))


def prompt_chars(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content) for m in messages)
