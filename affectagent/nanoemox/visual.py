"""Scene visual perception branch (Nano-EmoX §3.1): per-frame scene features -> 2-layer Q-Former -> visual tokens.

The paper's visual encoder is CLIP-Large; no CLIP (nor any ImageNet network) is available offline here, so a frame is
described by the project's scene statistics (``encoders.visual``: brightness, contrast, colour, saturation,
colourfulness, edge density, face count / area / centre; 12 values) plus the luma motion to the previous frame = 13
(``nanoemox.features.scene_frames``). The Q-Former is the paper's; only the frame descriptor is weaker.

Shape legend: B batch · T frames · F frame width (13) · Q visual tokens (32) · D width
    frames (B, T, F), mask (B, T)  ->  tokens (B, Q, D)
"""
from __future__ import annotations

import torch
from torch import nn

from .config import VisualBranchConfig
from .qformer import QFormer


class VisualBranch(nn.Module):
    def __init__(self, *, config: VisualBranchConfig) -> None:
        super().__init__()
        self.config = config
        self.qformer = QFormer(in_dim=config.in_dim, config=config.qformer)

    def forward(self, *, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.qformer(frames=frames, mask=mask)


__all__ = ["VisualBranch"]
