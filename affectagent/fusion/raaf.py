"""RAAF — Retrieval-Augmented Adaptive Fusion (AffectAgent §3.3, Eq. 5–6).

For modality m ∈ {audio, visual}, with input tokens X_m and the retrieved support sample's tokens R_m:
    C_m  = CrossAttention(query=X_m, key=value=R_m)              (Eq. 5)
    g_m  = sigmoid(W_m [X_m ; C_m] + b_m)                         (Eq. 6)
    X'_m = X_m + g_m ⊙ C_m
Missing modality (present[b] is False): X_m is filled from R_m (plus a learned "filled" marker) and goes through the same gate.
The attention output projection is zero-initialised, so a new block is exactly the identity on present modalities.

Shape legend:
    B batch · T input tokens · K retrieved tokens · D width · H heads
    x        (B, T, D)   input tokens (rows of a missing sample are ignored)
    x_mask   (B, T)      True = valid input token
    r        (B, K, D)   retrieved support tokens
    r_mask   (B, K)      True = valid retrieved token
    present  (B,)        True = the modality is present in the input
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .masked import cross_attend, masked_mean


@dataclass
class RAAFOutput:
    """x: (B, T', D) fused tokens; mask: (B, T') valid tokens; gate: (B,) mean gate value per sample (for plots);
    filled: (B,) True where the modality was missing and filled from retrieval."""

    x: torch.Tensor
    mask: torch.Tensor
    gate: torch.Tensor
    filled: torch.Tensor


class RAAF(nn.Module):
    def __init__(self, *, dim: int, heads: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} must be divisible by heads {heads}")
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        nn.init.zeros_(self.attn.out_proj.weight)
        nn.init.zeros_(self.attn.out_proj.bias)
        self.gate = nn.Linear(2 * dim, dim)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)
        self.filled_marker = nn.Parameter(torch.zeros(dim))
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)

    def forward(
        self,
        *,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        r: torch.Tensor,
        r_mask: torch.Tensor,
        present: torch.Tensor,
        use_retrieval: bool = True,
    ) -> RAAFOutput:
        b, t, d = x.shape
        k = r.shape[1]
        has_r = r_mask.any(dim=1)  # (B,)
        filled = (~present) & has_r & use_retrieval
        # Stand-in tokens for missing inputs: the retrieved tokens (+ marker). Pad both to a common length.
        length = max(t, k)
        x_pad = x.new_zeros(b, length, d)
        m_pad = torch.zeros(b, length, dtype=torch.bool, device=x.device)
        x_pad[:, :t] = x
        m_pad[:, :t] = x_mask & present.unsqueeze(1)
        if filled.any():
            fill = r + self.filled_marker
            x_pad[filled, :k] = fill[filled]
            m_pad[filled] = False
            m_pad[filled, :k] = r_mask[filled]
        if not use_retrieval:
            return RAAFOutput(x=x_pad * m_pad.unsqueeze(-1), mask=m_pad, gate=x.new_zeros(b), filled=filled)
        attend = has_r  # samples with something to attend to
        c = torch.zeros_like(x_pad)
        if attend.any():
            q = self.norm_q(x_pad[attend])
            kv = self.norm_kv(r[attend])
            out, _ = cross_attend(self.attn, q, kv, ~r_mask[attend], need_weights=False)
            c[attend] = out
        g = torch.sigmoid(self.gate(torch.cat([x_pad, c], dim=-1)))  # Eq. 6
        fused = x_pad + g * c
        fused = fused * m_pad.unsqueeze(-1)
        gate_mean = masked_mean(g, m_pad).mean(dim=-1) * attend.to(g.dtype)
        return RAAFOutput(x=fused, mask=m_pad, gate=gate_mean, filled=filled)
