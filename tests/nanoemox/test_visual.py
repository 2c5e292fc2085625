import torch

from affectagent.nanoemox.config import QFormerConfig, VisualBranchConfig
from affectagent.nanoemox.visual import VisualBranch


def _frames(b, t, f, seed=0):
    return torch.randn(b, t, f, generator=torch.Generator().manual_seed(seed))


def test_visual_branch_gives_32_tokens():
    torch.manual_seed(0)
    branch = VisualBranch(config=VisualBranchConfig(qformer=QFormerConfig(dim=32, heads=4))).eval()
    out = branch(frames=_frames(2, 7, 13), mask=torch.ones(2, 7, dtype=torch.bool))
    assert out.shape == (2, 32, 32) and torch.isfinite(out).all()
