"""Small layer builders shared by the actor trunk and the role heads."""
from __future__ import annotations

import torch
from torch import nn


def mlp(i: int, h: int, o: int, p: float) -> nn.Sequential:
    """Linear → GELU → Dropout → Linear."""
    return nn.Sequential(nn.Linear(i, h), nn.GELU(), nn.Dropout(p), nn.Linear(h, o))


def branch_term(gain: torch.Tensor, branch: torch.Tensor | None) -> torch.Tensor | float:
    """Σ_m gain_m · branch[:, m, :] -> (B, C): the unimodal branches' log-linear vote (a product of experts with
    learned weights ``gain`` (M,)); 0 without branch input."""
    if branch is None:
        return 0.0
    return torch.einsum("m,bmc->bc", gain, branch)
