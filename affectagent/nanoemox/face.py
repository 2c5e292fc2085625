"""Enhanced face modelling (Nano-EmoX §3.1, appendix C.1): multi-scale per-frame face features -> MLP fusion ->
Temporal Modeling -> face tokens (the 2-layer GELU MLP to the LM width is the face adapter, ``adapters.py``).

  1. align:      each level l (our FER2013 CNN's stage l, global-average-pooled) -> LayerNorm -> Linear(d_l, D)
  2. MLP fusion: h = a_L + g * MLP([a_1; ...; a_L]), g = tanh(alpha), alpha = 0 at init: the branch starts from the
                 global (last-stage) features alone and learns how much of the finer stages to mix in
  3. TM (Eq. 1): learned temporal query tokens cross-attend to the frame sequence (+ learned temporal positions);
                 ``affectagent.fusion.temporal.TemporalQueryPool`` (the project's one implementation of it)

Shape legend: B batch · T frames · L levels · d_l level width · D width · Q face tokens (4)
    levels  L tensors (B, T, d_l), mask (B, T) True = frame with a face  ->  tokens (B, Q, D)
A single image (FER2013) is a track of one frame.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..fusion.temporal import TemporalQueryPool
from .config import FaceBranchConfig
from .layers import TanhGate, TemporalPosition, cap_frames


class FaceBranch(nn.Module):
    def __init__(self, *, config: FaceBranchConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.align = nn.ModuleList(nn.Sequential(nn.LayerNorm(d), nn.Linear(d, c.dim)) for d in c.level_dims)
        n = len(c.level_dims)
        self.mlp_fusion = nn.Sequential(nn.Linear(n * c.dim, c.dim), nn.GELU(), nn.Dropout(c.dropout),
                                        nn.Linear(c.dim, c.dim))
        self.fusion_gate = TanhGate()
        self.position = TemporalPosition(dim=c.dim, max_frames=c.max_frames)
        self.temporal = TemporalQueryPool(dim=c.dim, queries=c.queries, heads=c.heads)

    def forward(self, *, levels: Sequence[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        if len(levels) != len(self.align):
            raise ValueError(f"face branch expects {len(self.align)} feature levels, got {len(levels)}")
        capped = [cap_frames(x, mask, max_frames=self.config.max_frames) for x in levels]
        mask = capped[0][1]
        aligned = [proj(x) for proj, (x, _) in zip(self.align, capped)]  # L x (B, T, D)
        h = aligned[-1] + self.fusion_gate(self.mlp_fusion(torch.cat(aligned, dim=-1)))
        return self.temporal(x=self.position(h), mask=mask)  # (B, Q, D)


__all__ = ["FaceBranch"]
