"""Cognitive retrieval for the LLM loop, through the same ``KBEvidenceSource`` the neural agents use.

Query groups are those of ``affectagent/retriever.py`` (support / confusion / counter / plain). One difference: the
LLM planner states the counter sentiment itself, and the counter group honours it. For a hypothesis of non-neutral
valence the parser already forces it to the opposite valence (identical to the source's rule); for a neutral-valence
hypothesis (neutral, surprise, other) the planner may pick a side, e.g. "surprise, counter: negative".
"""
from __future__ import annotations

import numpy as np

from ..kb.filters import EntryFilter
from ..pipeline import QueryPlan, query_vector
from ..retriever import KBEvidenceSource, kb_vector
from ..schema import QUERY_KINDS, Evidence, Features, SENTIMENT_SIGN
from .parsing import default_counter


def retrieve_cognitive(source: KBEvidenceSource, *, features: Features, plan: QueryPlan, top_k: int,
                       exclude: frozenset[str]) -> list[Evidence]:
    """plain plan: top 3·top_k by similarity. Otherwise support (top_k) + confusion (top_k) + counter (top_k)."""
    q, modality = query_vector(features)
    if q is None:
        return []
    if plan.plain or plan.support is None or plan.counter_sentiment == default_counter(plan.support):
        return source.cognitive(query=q, modality=modality, plan=plan, top_k=top_k, use_confusion=True,
                                use_counter=True, exclude=exclude)
    out = source.cognitive(query=q, modality=modality, plan=plan, top_k=top_k, use_confusion=True,
                           use_counter=False, exclude=exclude)
    if modality not in source.dims or plan.counter_sentiment is None:
        return out
    where = EntryFilter(valence_signs=frozenset({SENTIMENT_SIGN[plan.counter_sentiment]}),
                        exclude_labels=frozenset({plan.support}))
    vec = kb_vector(modality, np.asarray(q, np.float32), source.norm)
    return out + source.kb.search(modality, vec, top_k, exclude_ids=exclude, where=where, kind="counter")[0]


def interleave_groups(evidence: list[Evidence]) -> list[Evidence]:
    """Order candidates by rank across the query groups (support 1, confusion 1, counter 1, support 2, ...), so that
    the first numbers a model reads are the best item of every group, not one whole group. Plain lists are unchanged."""
    groups = [[e for e in evidence if e.kind == k] for k in QUERY_KINDS]
    rest = [e for e in evidence if e.kind not in QUERY_KINDS]
    out = [g[i] for i in range(max((len(g) for g in groups), default=0)) for g in groups if i < len(g)]
    return out + rest
