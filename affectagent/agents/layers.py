"""Small layer builders shared by the actor trunk and the role heads."""
from __future__ import annotations

import torch
from torch import nn


def mlp(i: int, h: int, o: int, p: float) -> nn.Sequential:
    """Linear → GELU → Dropout → Linear."""
    return nn.Sequential(nn.Linear(i, h), nn.GELU(), nn.Dropout(p), nn.Linear(h, o))


def branch_weight(head: nn.Module, m: int, face: bool) -> float:
    """The weight ``branch_term`` gives branch ``m`` in ``head`` (planner / generator) for an input with or without a
    face."""
    return float((head.branch_gain_face if face else head.branch_gain)[m].detach())


def branch_term(gain: torch.Tensor, gain_face: torch.Tensor, branch: torch.Tensor | None,
                face: torch.Tensor | None = None) -> torch.Tensor | float:
    """Σ_m g_m · branch[:, m, :] -> (B, C): the unimodal branches' log-linear vote (a product of experts with learned
    weights), g = ``gain_face`` (M,) for rows with a face (``face`` (B,) bool), else ``gain`` (M,); 0 without branch
    input. Two weights because the speech corpora that teach the voice branch's weight have no faces: a clip with a
    face is a condition its weight was never fitted on, so it keeps its own (0 until a model trains on such data)."""
    if branch is None:
        return 0.0
    g = gain.unsqueeze(0).expand(branch.shape[0], -1)
    if face is not None:
        g = torch.where(face.unsqueeze(1), gain_face.unsqueeze(0), g)
    return torch.einsum("bm,bmc->bc", g, branch)
