"""Small building blocks shared by the Nano-EmoX branches: a zero-initialised tanh gate, a pre-LN GELU FFN, temporal
position embeddings and frame-count capping.

Shape legend: B batch · T frames · D width
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class TanhGate(nn.Module):
    """y = tanh(alpha) * x with a scalar alpha initialised to 0: the gated residual starts closed (torchtune TanhGate).

    Every gate of the package is this class, so the trainer can give gates their own learning rate
    (``gate_parameter_names``)."""

    def __init__(self) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.alpha) * x


def gate_parameter_names(module: nn.Module) -> set[str]:
    """Qualified names (as in ``module.named_parameters()``) of the ``alpha`` of every ``TanhGate`` inside ``module``."""
    return {f"{name}.alpha" if name else "alpha" for name, m in module.named_modules() if isinstance(m, TanhGate)}


class FeedForward(nn.Module):
    """Pre-LN GELU FFN: x (..., D) -> (..., D) (the caller adds the residual)."""

    def __init__(self, *, dim: int, mult: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, mult * dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mult * dim, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def cap_frames(x: torch.Tensor, mask: torch.Tensor, *, max_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, D), (B, T) -> at most ``max_frames`` frames: longer inputs are average-pooled over equal time bins
    (valid frames only; a bin with no valid frame is masked)."""
    b, t, d = x.shape
    if t <= max_frames:
        return x, mask
    factor = -(-t // max_frames)
    pad = factor * max_frames - t
    xm = x * mask.unsqueeze(-1).to(x.dtype)
    if pad:
        xm = F.pad(xm, (0, 0, 0, pad))
        mask = F.pad(mask, (0, pad), value=False)
    xm = rearrange(xm, "b (n f) d -> b n f d", f=factor)
    m = rearrange(mask, "b (n f) -> b n f", f=factor).to(x.dtype)
    count = m.sum(-1)
    pooled = xm.sum(2) / count.clamp_min(1.0).unsqueeze(-1)
    return pooled, count > 0


class TemporalPosition(nn.Module):
    """Learned temporal position embeddings added to a frame sequence: x (B, T, D) -> (B, T, D), T <= max_frames."""

    def __init__(self, *, dim: int, max_frames: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(max_frames, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        if t > self.table.shape[0]:
            raise ValueError(f"{t} frames exceed the {self.table.shape[0]} temporal positions; cap_frames first")
        return x + self.table[:t].unsqueeze(0)


__all__ = ["FeedForward", "TanhGate", "TemporalPosition", "cap_frames", "gate_parameter_names"]
