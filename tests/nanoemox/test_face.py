import torch

from affectagent.fusion.temporal import TemporalQueryPool
from affectagent.nanoemox.config import FaceBranchConfig
from affectagent.nanoemox.face import FaceBranch

DIMS = (32, 64, 128, 256)


def _levels(b=3, t=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, t, d, generator=g) for d in DIMS]


def _branch(**kw):
    torch.manual_seed(0)
    return FaceBranch(config=FaceBranchConfig(dim=16, heads=2, max_frames=8, **kw)).eval()


def test_shapes_four_face_tokens_and_reuses_the_temporal_pool():
    branch = _branch()
    assert isinstance(branch.temporal, TemporalQueryPool)
    mask = torch.ones(3, 6, dtype=torch.bool)
    out = branch(levels=_levels(), mask=mask)
    assert out.shape == (3, 4, 16) and torch.isfinite(out).all()
    one = branch(levels=[x[:, :1] for x in _levels()], mask=mask[:, :1])  # a FER2013 image = one frame
    assert one.shape == (3, 4, 16)
    long = branch(levels=_levels(t=20), mask=torch.ones(3, 20, dtype=torch.bool))  # > max_frames: pooled in time
    assert long.shape == (3, 4, 16)


def test_temporal_queries_attend_over_frames():
    branch = _branch()
    levels, mask = _levels(), torch.ones(3, 6, dtype=torch.bool)
    mask[2, 4:] = False
    base = branch(levels=levels, mask=mask)
    changed = [x.clone() for x in levels]
    for x in changed:
        x[0, 3] = torch.randn_like(x[0, 3]) * 3  # one valid frame of sample 0
    out = branch(levels=changed, mask=mask)
    assert not torch.allclose(out[0], base[0], atol=1e-5)
    assert torch.allclose(out[1:], base[1:], atol=1e-6)  # other samples untouched
    masked = [x.clone() for x in levels]
    for x in masked:
        x[2, 5] = torch.randn_like(x[2, 5]) * 3  # a padded frame of sample 2 is ignored
    assert torch.allclose(branch(levels=masked, mask=mask), base, atol=1e-6)


def test_frame_order_matters_through_temporal_positions():
    branch = _branch()
    levels, mask = _levels(b=1), torch.ones(1, 6, dtype=torch.bool)
    flipped = [x.flip(1) for x in levels]
    assert not torch.allclose(branch(levels=levels, mask=mask), branch(levels=flipped, mask=mask), atol=1e-5)


def test_mlp_fusion_gate_starts_closed_so_only_the_last_level_counts():
    branch = _branch()
    assert float(branch.fusion_gate.alpha.detach()) == 0.0
    levels, mask = _levels(), torch.ones(3, 6, dtype=torch.bool)
    base = branch(levels=levels, mask=mask)
    finer = [torch.randn_like(levels[0])] + levels[1:]
    assert torch.allclose(branch(levels=finer, mask=mask), base, atol=1e-6)
    with torch.no_grad():
        branch.fusion_gate.alpha.fill_(0.5)
    assert not torch.allclose(branch(levels=finer, mask=mask), branch(levels=levels, mask=mask), atol=1e-5)


def test_track_without_any_face_frame_gives_the_queries_not_nan():
    branch = _branch()
    mask = torch.zeros(2, 6, dtype=torch.bool)
    out = branch(levels=_levels(b=2), mask=mask)
    assert torch.isfinite(out).all() and torch.allclose(out[0], out[1])
