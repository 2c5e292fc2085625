"""Heterogeneous adapters (Nano-EmoX §3.1): one projection per stream from its branch width to the LM width.

    face    2-layer GELU MLP  Linear(D_f, H_f) -> GELU -> Dropout -> Linear(H_f, H)   (official face branch)
    visual  Linear(D_v, H)                                                           (per Q-Former token)
    speech  Linear(D_a, H)
    fusion  Linear(D_z, H)                                                           (the 1 fusion token)
Each ends in an RMS normalisation whose learned gain starts at the RMS of the LM's token-embedding table
(``AdapterConfig.match_embedding_scale``), so injected tokens start on the scale of text tokens.

Shape legend: B batch · N tokens of the stream · D_s stream width · H LM width
    adapters(stream, x (B, N, D_s) or (B, D_s))  ->  (B, N, H) or (B, H)
"""
from __future__ import annotations

import torch
from torch import nn

from .config import AdapterConfig

STREAMS: tuple[str, ...] = ("visual", "face", "speech", "fusion")


class EmbeddingScale(nn.Module):
    """x / rms(x) * gain, gain (H,) initialised to ``scale``."""

    def __init__(self, *, dim: int, scale: float, eps: float = 1e-6) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.full((dim,), float(scale)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.gain


class HeterogeneousAdapters(nn.Module):
    """``self.adapters[stream]`` maps that stream to the LM width; ``forward(stream=, x=)``."""

    def __init__(self, *, config: AdapterConfig, dims: dict[str, int], lm_width: int,
                 embedding_rms: float = 1.0) -> None:
        super().__init__()
        missing = [s for s in STREAMS if s not in dims]
        if missing:
            raise ValueError(f"adapter widths missing for {', '.join(missing)}")
        hidden = config.face_hidden or lm_width
        layers: dict[str, nn.Module] = {
            "visual": nn.Linear(dims["visual"], lm_width),
            "face": nn.Sequential(nn.Linear(dims["face"], hidden), nn.GELU(), nn.Dropout(config.dropout),
                                  nn.Linear(hidden, lm_width)),
            "speech": nn.Linear(dims["speech"], lm_width),
            "fusion": nn.Linear(dims["fusion"], lm_width),
        }
        if config.match_embedding_scale:
            layers = {k: nn.Sequential(v, EmbeddingScale(dim=lm_width, scale=embedding_rms)) for k, v in layers.items()}
        self.adapters = nn.ModuleDict(layers)
        self.lm_width = lm_width

    def forward(self, *, stream: str, x: torch.Tensor) -> torch.Tensor:
        return self.adapters[stream](x)


__all__ = ["EmbeddingScale", "HeterogeneousAdapters", "STREAMS"]
