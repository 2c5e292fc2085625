"""Q-Former resampler (Nano-EmoX §3.1, after BLIP-2): a fixed number of learned query tokens read a variable-length
frame sequence. Used by the visual scene branch and the speech branch (``visual.py``, ``speech.py``).

Per layer l (pre-LN): q <- q + SelfAttn(q);  q <- q + g_l * CrossAttn(q, frames);  q <- q + FFN(q)
with g_1 = 1 (the frames must reach the queries) and g_l = tanh(alpha_l), alpha_l = 0 at init for l >= 2, so a deeper
layer starts as identity. Frames get a linear input projection (after LayerNorm, so encoder scale does not matter)
and learned temporal position embeddings; inputs longer than ``max_frames`` are average-pooled in time first.

Shape legend: B batch · T frames · F input width · Q queries · D width
    frames (B, T, F), mask (B, T) True = valid frame  ->  tokens (B, Q, D)
A row without any valid frame returns the queries processed without cross-attention (never NaN).
"""
from __future__ import annotations

import torch
from einops import repeat
from torch import nn

from .config import QFormerConfig
from .layers import FeedForward, TanhGate, TemporalPosition, cap_frames


class QFormerLayer(nn.Module):
    def __init__(self, *, dim: int, heads: int, ffn_mult: int, dropout: float, gated: bool) -> None:
        super().__init__()
        self.self_norm = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.cross_norm = nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.gate = TanhGate() if gated else None
        self.ffn = FeedForward(dim=dim, mult=ffn_mult, dropout=dropout)

    def forward(self, *, q: torch.Tensor, kv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.self_norm(q)
        q = q + self.self_attn(h, h, h, need_weights=False)[0]
        has = mask.any(dim=1)
        if has.any():
            h = self.cross_norm(q)
            # rows without frames attend to a dummy all-valid mask and are zeroed below (no NaN from an empty softmax)
            safe = torch.where(has.unsqueeze(1), mask, torch.ones_like(mask))
            c = self.cross_attn(h, kv, kv, key_padding_mask=~safe, need_weights=False)[0]
            c = c * has.to(c.dtype).view(-1, 1, 1)
            q = q + (self.gate(c) if self.gate is not None else c)
        return q + self.ffn(q)


class QFormer(nn.Module):
    """Learned queries cross-attending to frames; ``forward(frames=, mask=) -> (B, Q, D)``."""

    def __init__(self, *, in_dim: int, config: QFormerConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.queries = nn.Parameter(torch.randn(c.queries, c.dim) * 0.02)
        self.in_proj = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, c.dim))
        self.position = TemporalPosition(dim=c.dim, max_frames=c.max_frames)
        self.kv_norm = nn.LayerNorm(c.dim)
        self.layers = nn.ModuleList(
            QFormerLayer(dim=c.dim, heads=c.heads, ffn_mult=c.ffn_mult, dropout=c.dropout, gated=i > 0)
            for i in range(c.layers))
        self.out_norm = nn.LayerNorm(c.dim)

    def forward(self, *, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        frames, mask = cap_frames(frames, mask, max_frames=self.config.max_frames)
        kv = self.kv_norm(self.position(self.in_proj(frames)))
        q = repeat(self.queries, "q d -> b q d", b=frames.shape[0])
        for layer in self.layers:
            q = layer(q=q, kv=kv, mask=mask)
        return self.out_norm(q)


__all__ = ["QFormer", "QFormerLayer"]
