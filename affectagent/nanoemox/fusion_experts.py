"""Cross-modal hierarchical expert fusion (Nano-EmoX §3.1 Eq. 2-3, appendix C.2): one expert per visual depth, speech
frames as queries, a 2-layer GELU gate mixing the experts -> 1 fusion token.

Expert i (visual depth i, low to high):
    s   = P_s(LN(speech))                         speech projection, shared by the experts (as in the official code)
    v_i = P_i(LN(visual_i))                       one projection per depth (the depths have different widths here)
    e_i = s + g_i * CrossAttn_i(LN(s), v_i)       g_i = tanh(alpha_i), alpha_i = 0: an expert starts as the speech
    e_i = e_i + FFN_i(e_i)                        pre-LN GELU FFN + residual (Eq. 3)
Gate (Eq. 2): w = softmax(W_2 GELU(W_1 [mean_t e_1; ...; mean_t e_E]))  (W_2 zero-initialised: w starts uniform)
Fusion embedding: z = mean_t sum_i w_i e_i, one vector per sample (the fusion adapter maps it to the LM width).

Depths: the paper pairs speech layers 16/18/22 of HuBERT with visual layers 12/16/22 of CLIP. Here the visual depths
are three encoder depths of a real network (stages 2, 3, 4 of our FER2013 CNN on the face crops, ``FusionConfig.
visual_levels``); the speech side is one depth, the Whisper encoder's output, because CTranslate2's ``encode``
exposes no intermediate layer: every expert reads the same speech queries against a different visual depth. Pass
``speech`` as a list of E tensors to pair E speech depths with the E visual ones when an encoder exposes them.

Shape legend: B batch · Ta speech frames · Tv visual frames · Fa speech width · F_i depth width · E experts · D width
    speech (B, Ta, Fa) or E of them, speech_mask (B, Ta); visual E x (B, Tv, F_i), visual_mask (B, Tv)
    -> FusionOutput(embedding (B, D), weights (B, E), experts (B, E, D))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..fusion.masked import masked_mean
from .config import FusionConfig
from .layers import FeedForward, TanhGate


@dataclass
class FusionOutput:
    """embedding: (B, D) fusion embedding; weights: (B, E) gate weights (each row sums to 1); experts: (B, E, D)
    time-mean of each expert's output (what the gate reads)."""

    embedding: torch.Tensor
    weights: torch.Tensor
    experts: torch.Tensor


class FusionExpert(nn.Module):
    """Speech queries cross-attend to one visual depth: (B, Ta, D), (B, Tv, D) -> (B, Ta, D)."""

    def __init__(self, *, visual_dim: int, dim: int, heads: int, ffn_mult: int, dropout: float) -> None:
        super().__init__()
        self.visual_proj = nn.Sequential(nn.LayerNorm(visual_dim), nn.Linear(visual_dim, dim))
        self.query_norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.gate = TanhGate()
        self.ffn = FeedForward(dim=dim, mult=ffn_mult, dropout=dropout)

    def forward(self, *, s: torch.Tensor, visual: torch.Tensor, visual_mask: torch.Tensor) -> torch.Tensor:
        v = self.visual_proj(visual)
        has = visual_mask.any(dim=1)
        safe = torch.where(has.unsqueeze(1), visual_mask, torch.ones_like(visual_mask))
        c = self.attn(self.query_norm(s), v, v, key_padding_mask=~safe, need_weights=False)[0]
        e = s + self.gate(c * has.to(c.dtype).view(-1, 1, 1))
        return e + self.ffn(e)


class HierarchicalFusion(nn.Module):
    def __init__(self, *, config: FusionConfig, visual_dims: Sequence[int]) -> None:
        super().__init__()
        c = config
        if len(visual_dims) != c.experts:
            raise ValueError(f"{c.experts} experts need {c.experts} visual depths, got {len(visual_dims)}")
        self.config = c
        self.speech_proj = nn.Sequential(nn.LayerNorm(c.speech_dim), nn.Linear(c.speech_dim, c.dim))
        self.experts = nn.ModuleList(
            FusionExpert(visual_dim=d, dim=c.dim, heads=c.heads, ffn_mult=c.ffn_mult, dropout=c.dropout)
            for d in visual_dims)
        self.gate = nn.Sequential(nn.Linear(c.experts * c.dim, c.gate_hidden), nn.GELU(), nn.Dropout(c.dropout),
                                  nn.Linear(c.gate_hidden, c.experts))
        nn.init.zeros_(self.gate[-1].weight)
        nn.init.zeros_(self.gate[-1].bias)

    def forward(self, *, speech: torch.Tensor | Sequence[torch.Tensor], speech_mask: torch.Tensor,
                visual: Sequence[torch.Tensor], visual_mask: torch.Tensor) -> FusionOutput:
        n = len(self.experts)
        if len(visual) != n:
            raise ValueError(f"expected {n} visual depths, got {len(visual)}")
        speech_levels = [speech] * n if isinstance(speech, torch.Tensor) else list(speech)
        if len(speech_levels) != n:
            raise ValueError(f"expected 1 or {n} speech depths, got {len(speech_levels)}")
        outs = [expert(s=self.speech_proj(a), visual=v, visual_mask=visual_mask)
                for expert, a, v in zip(self.experts, speech_levels, visual)]  # E x (B, Ta, D)
        pooled = torch.stack([masked_mean(e, speech_mask) for e in outs], dim=1)  # (B, E, D)
        weights = torch.softmax(self.gate(pooled.flatten(1)), dim=-1)  # (B, E)
        mixed = torch.einsum("be,betd->btd", weights, torch.stack(outs, dim=1))
        return FusionOutput(embedding=masked_mean(mixed, speech_mask), weights=weights, experts=pooled)


__all__ = ["FusionExpert", "FusionOutput", "HierarchicalFusion"]
