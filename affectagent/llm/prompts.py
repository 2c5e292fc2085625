"""Role prompts (system + user chat messages) for the three LLM agents of AffectAgent §3.1.

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
from .cues import CueText


@dataclass(frozen=True)
class Candidate:
    """One piece of evidence shown to the filter / generator (numbered by its position in the prompt, from 1)."""

    label: str | None
    text: str
    kind: str = "plain"
    score: float | None = None


def _labels(labels: Sequence[str]) -> str:
    if not labels:
        raise ValueError("the allowed label set is empty")
    return ", ".join(labels)


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def candidates_from(evidence: Sequence[Evidence], *, max_chars: int = 160) -> list[Candidate]:
    return [Candidate(label=e.label, text=_clip(e.text, max_chars), kind=e.kind, score=float(e.score))
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


def planner_messages(*, cues: CueText, labels: Sequence[str]) -> list[ChatMessage]:
    system = (
        "You plan evidence search for emotion recognition. "
        f"Allowed labels: {_labels(labels)}.\n"
        "Answer with exactly three lines:\n"
        "support: <the most likely label for the target utterance>\n"
        "confusion: <a different label it could be mistaken for>\n"
        "counter sentiment: <positive or negative, opposite to the support label's sentiment>"
    )
    return [ChatMessage("system", system), ChatMessage("user", cues.render())]


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


def generator_messages(*, cues: CueText, labels: Sequence[str], evidence: Sequence[Candidate]) -> list[ChatMessage]:
    system = (
        "You recognise the emotion of the target utterance in a conversation. "
        f"Allowed labels: {_labels(labels)}.\n"
        "Answer with exactly four lines:\n"
        "label: <one allowed label>\n"
        "emotions: <1 to 3 emotion words, comma-separated>\n"
        "sentiment: <positive, negative or neutral>\n"
        "rationale: <one sentence of at most 12 words>"
    )
    user = cues.render()
    if evidence:
        user += ("\n\nSimilar examples from other conversations [label, similarity] (they may or may not match):\n"
                 + render_candidates(evidence))
    return [ChatMessage("system", system), ChatMessage("user", user)]


def prompt_chars(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content) for m in messages)
