"""Evidence Filter (AffectAgent §3.1): keep or drop each retrieved candidate, given the shared state, the candidate's
embedding / label / group and whether it agrees with the planner's hypothesis.

Action distribution: keep_i ~ Bernoulli(sigmoid(filter_logit_i)) independently for every valid candidate i;
log π(keep) = Σ_i log p(keep_i). ``sample=False`` keeps p > 0.5; passing ``actions`` re-evaluates stored actions.
Shapes: B batch · N candidates · D width.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from ..schema import Evidence
from .distributions import NEG_INF
from .layers import mlp
from .observation import EvidenceBatch


class FilterHead(nn.Module):
    """[state; candidate token; state ⊙ token; label embedding; similarity; agrees-with-hypothesis] → (B, N) logits."""

    def __init__(self, *, dim: int, dropout: float) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.LayerNorm(4 * dim + 2), mlp(4 * dim + 2, dim, 1, dropout))

    def forward(self, h: torch.Tensor, tokens: torch.Tensor, label_tokens: torch.Tensor, ev: EvidenceBatch,
                support: torch.Tensor) -> torch.Tensor:
        """h (B, D); tokens / label_tokens (B, N, D); support (B,) the planner's hypothesis label index."""
        hh = h.unsqueeze(1).expand_as(tokens)
        agrees = (ev.label == support.unsqueeze(1)).float().unsqueeze(-1)
        x = torch.cat([hh, tokens, hh * tokens, label_tokens, ev.score.unsqueeze(-1), agrees], dim=-1)
        return self.mlp(x).squeeze(-1).masked_fill(~ev.mask, NEG_INF)


class FilterAction(NamedTuple):
    keep: torch.Tensor  # (B, N) bool
    log_prob: torch.Tensor  # (B,)
    entropy: torch.Tensor  # (B,)
    probs: torch.Tensor  # (B, N)


def filter_action(logits: torch.Tensor, mask: torch.Tensor, *, sample: bool, actions: torch.Tensor | None = None,
                  generator: torch.Generator | None = None) -> FilterAction:
    p = torch.sigmoid(logits) * mask
    if actions is not None:
        keep = actions
    elif sample:
        keep = torch.bernoulli(p, generator=generator).bool()
    else:
        keep = p > 0.5
    keep = keep & mask
    logsig = torch.nn.functional.logsigmoid(logits)
    lognot = torch.nn.functional.logsigmoid(-logits)
    lp = (torch.where(keep, logsig, lognot) * mask).sum(-1)
    ent = (-(p * logsig + (1 - p) * lognot) * mask).sum(-1)
    return FilterAction(keep=keep, log_prob=lp, entropy=ent, probs=p)


def explain_filter(evidence: list[Evidence], keep: torch.Tensor, probs: torch.Tensor | None) -> list[dict[str, Any]]:
    """Trace record of one sample: every candidate with its group, label, similarity and keep decision
    (``keep`` (N,) bool and ``probs`` (N,) keep probabilities: the sample's rows; probs None = filter bypassed)."""
    return [{"id": e.id, "kind": e.kind, "label": e.label, "score": round(float(e.score), 4), "keep": bool(keep[j]),
             "keep_prob": None if probs is None else round(float(probs[j]), 4), "text": e.text}
            for j, e in enumerate(evidence)]
