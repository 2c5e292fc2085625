"""Small layer builders shared by the actor trunk and the role heads."""
from __future__ import annotations

from torch import nn


def mlp(i: int, h: int, o: int, p: float) -> nn.Sequential:
    """Linear → GELU → Dropout → Linear."""
    return nn.Sequential(nn.Linear(i, h), nn.GELU(), nn.Dropout(p), nn.Linear(h, o))
