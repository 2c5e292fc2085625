"""Masked pooling helpers shared by the fusion modules.

Shape legend: B batch, T tokens, D width.
"""
from __future__ import annotations

import torch


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over tokens. x: (B, T, D); mask: (B, T) bool, True = valid token (None = all valid). Rows with no valid token -> 0."""
    if mask is None:
        return x.mean(dim=1)
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)


def padding_bias(key_padding_mask: torch.Tensor, *, heads: int, queries: int, dtype: torch.dtype) -> torch.Tensor:
    """(B, S) bool, True = padding -> (B·heads, queries, S) additive attention mask (0 keep, -inf drop): the mask
    ``nn.MultiheadAttention`` builds from a ``key_padding_mask`` internally."""
    b, s = key_padding_mask.shape
    bias = torch.zeros(b, s, dtype=dtype, device=key_padding_mask.device).masked_fill_(key_padding_mask, float("-inf"))
    return bias.view(b, 1, 1, s).expand(b, heads, queries, s).reshape(b * heads, queries, s)


def cross_attend(attn: torch.nn.MultiheadAttention, q: torch.Tensor, kv: torch.Tensor, key_padding_mask: torch.Tensor,
                 *, need_weights: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``attn(q, kv, kv, key_padding_mask=key_padding_mask)`` (batch_first) with the padding given as the equivalent
    additive ``attn_mask`` instead: the same numbers, but torch checks a ``key_padding_mask`` with
    ``torch._check_with``, whose first call imports sympy (~1 s of a cold start). q (B, L, D), kv (B, S, D),
    key_padding_mask (B, S) bool True = padding."""
    bias = padding_bias(key_padding_mask, heads=attn.num_heads, queries=q.shape[1], dtype=q.dtype)
    return attn(q, kv, kv, attn_mask=bias, need_weights=need_weights)
