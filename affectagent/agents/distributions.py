"""Action-distribution helpers shared by the three role heads (masking constant, categorical entropy)."""
from __future__ import annotations

import torch

NEG_INF = -1e9  # logit of a masked-out choice (a label outside the candidate set, a padded evidence slot)


def categorical_entropy(logp: torch.Tensor) -> torch.Tensor:
    """H = −Σ p·log p over the last axis, with masked (−inf-like) log-probs contributing 0."""
    p = logp.exp()
    return -(p * logp.clamp_min(-1e4)).sum(-1)
