"""Temporal query pooling (Nano-EmoX "Temporal Modeling"): learnable queries cross-attend to a frame sequence.

Shape legend: B batch · T frames · Q queries · D width
    x (B, T, D), mask (B, T) -> (B, Q, D); rows with no valid frame give the (learned) queries themselves.
"""
from __future__ import annotations

import torch
from torch import nn

from .masked import cross_attend


class TemporalQueryPool(nn.Module):
    def __init__(self, *, dim: int, queries: int = 4, heads: int = 4) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(queries, dim) * 0.02)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, *, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        q = self.queries.unsqueeze(0).expand(b, -1, -1)
        out = q.clone()
        has = mask.any(dim=1)
        if has.any():
            kv = self.norm(x[has])
            att, _ = cross_attend(self.attn, q[has], kv, ~mask[has], need_weights=False)
            out[has] = q[has] + att
        return out
