"""Query Planner (AffectAgent §3.1): from the shared state, a supportive hypothesis and a confusable label; the query
plan follows from them (support / confusion / counter groups, ``kb/retrieval.py``).

Action distribution: support s ~ Cat(softmax(plan_logits)) over the candidate labels; confusion c ~ Cat over the
candidates without s (c = −1 when the candidate set has a single label); log π(s, c) = log p(s) + log p(c | ¬s).
``sample=False`` takes the mode; passing ``actions`` re-evaluates stored actions (PPO).
Shapes: B batch · C canonical labels · D state width.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import nn

from ..schema import CANONICAL_EMOTIONS, QueryPlan, counter_sentiment
from .distributions import NEG_INF, categorical_entropy
from .layers import branch_term, initial_branch_gains


class PlannerHead(nn.Module):
    """(B, D) state → (B, C) hypothesis logits masked to the candidate labels."""

    def __init__(self, *, dim: int, labels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, labels)
        self.branch_gain, self.branch_gain_face = initial_branch_gains()  # as in GeneratorHead

    def forward(self, h: torch.Tensor, cand: torch.Tensor, branch: torch.Tensor | None = None,
                face: torch.Tensor | None = None) -> torch.Tensor:
        """branch (B, M, C): the unimodal branches' centred log-posteriors (``observation.branch_scores``); face (B,)
        bool: the input has a face (``layers.branch_term``)."""
        return (self.proj(h) + branch_term(self.branch_gain, self.branch_gain_face, branch, face)).masked_fill(
            ~cand, NEG_INF)


class PlanAction(NamedTuple):
    support: torch.Tensor  # (B,) label index
    confusion: torch.Tensor  # (B,) label index, −1 when the candidate set has a single label
    log_prob: torch.Tensor  # (B,)
    entropy: torch.Tensor  # (B,)
    probs: torch.Tensor  # (B, C)


def plan_action(logits: torch.Tensor, *, sample: bool, actions: tuple[torch.Tensor, torch.Tensor] | None = None,
                generator: torch.Generator | None = None) -> PlanAction:
    logp = logits.log_softmax(-1)
    if actions is not None:
        s, c = actions
    elif sample:
        s = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
    else:
        s = logits.argmax(-1)
    logits2 = logits.scatter(1, s.unsqueeze(1), NEG_INF)
    single = (logits2 > NEG_INF / 2).sum(-1) == 0
    logp2 = logits2.log_softmax(-1)
    if actions is None:
        if sample:
            probs2 = logp2.exp().masked_fill(single.unsqueeze(1), 1.0)
            c = torch.multinomial(probs2, 1, generator=generator).squeeze(1)
        else:
            c = logits2.argmax(-1)
        c = torch.where(single, torch.full_like(c, -1), c)
    lp = logp.gather(1, s.unsqueeze(1)).squeeze(1)
    lp2 = torch.where(single, torch.zeros_like(lp), logp2.gather(1, c.clamp_min(0).unsqueeze(1)).squeeze(1))
    ent = categorical_entropy(logp) + torch.where(single, torch.zeros_like(lp), categorical_entropy(logp2))
    return PlanAction(support=s, confusion=c, log_prob=lp + lp2, entropy=ent, probs=logp.exp())


def query_plans(plan: PlanAction | None, n: int) -> list[QueryPlan]:
    """The planner's actions as query plans; no planner (``None``) = ``n`` plain queries (naive RAG)."""
    if plan is None:
        return [QueryPlan.plain_query() for _ in range(n)]
    out = []
    for s, c in zip(plan.support.tolist(), plan.confusion.tolist()):
        sl = CANONICAL_EMOTIONS[s]
        out.append(QueryPlan(support=sl, confusion=CANONICAL_EMOTIONS[c] if c >= 0 else None,
                             counter_sentiment=counter_sentiment(sl)))
    return out


def explain_plan(plan: PlanAction | None, i: int) -> dict | None:
    """Trace record of sample ``i``: the planner's hypothesis distribution (labels with p > 1e-6)."""
    if plan is None:
        return None
    return {"probs": {CANONICAL_EMOTIONS[k]: round(float(p), 4) for k, p in enumerate(plan.probs[i].tolist())
                      if p > 1e-6}}


__all__: Sequence[str] = ["PlannerHead", "PlanAction", "plan_action", "query_plans", "explain_plan"]
