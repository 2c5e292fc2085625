"""Small layer builders shared by the actor trunk and the role heads."""
from __future__ import annotations

import torch
from torch import nn


def mlp(i: int, h: int, o: int, p: float) -> nn.Sequential:
    """Linear → GELU → Dropout → Linear."""
    return nn.Sequential(nn.Linear(i, h), nn.GELU(), nn.Dropout(p), nn.Linear(h, o))


def initial_branch_gains() -> tuple[nn.Parameter, nn.Parameter]:
    """(gain, gain_face) parameters (M,) at their starting values: 1 where a branch's weight is fitted by SFT from a
    product of experts (the voice without a face; the face branch, which exists only with a face), 0 where no training
    data moves it (the voice with a face in view: the speech corpora have no faces). An optimiser step moves a gain by
    ~lr, so a start at 0 would stay near 0 for a short SFT."""
    from .observation import BRANCHES

    return (nn.Parameter(torch.tensor([1.0 if b == "audio" else 0.0 for b in BRANCHES])),
            nn.Parameter(torch.tensor([1.0 if b == "face" else 0.0 for b in BRANCHES])))


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
