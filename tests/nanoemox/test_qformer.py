import torch

from affectagent.nanoemox.config import QFormerConfig
from affectagent.nanoemox.layers import TanhGate, cap_frames
from affectagent.nanoemox.qformer import QFormer


def _frames(b, t, f, seed=0):
    return torch.randn(b, t, f, generator=torch.Generator().manual_seed(seed))


def test_two_layers_deeper_cross_attention_gated_from_zero():
    q = QFormer(in_dim=13, config=QFormerConfig(queries=4, dim=16, heads=2))
    assert len(q.layers) == 2 and q.layers[0].gate is None and isinstance(q.layers[1].gate, TanhGate)
    assert float(q.layers[1].gate.alpha.detach()) == 0.0


def test_frames_reach_the_tokens_and_padding_does_not():
    torch.manual_seed(0)
    q = QFormer(in_dim=13, config=QFormerConfig(queries=4, dim=16, heads=2)).eval()
    x, mask = _frames(2, 6, 13), torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    base = q(frames=x, mask=mask)
    y = x.clone()
    y[0, 2] = torch.randn_like(y[0, 2]) * 3
    assert not torch.allclose(q(frames=y, mask=mask)[0], base[0], atol=1e-5)
    z = x.clone()
    z[1, 5] = torch.randn_like(z[1, 5]) * 3
    assert torch.allclose(q(frames=z, mask=mask), base, atol=1e-6)
    empty = q(frames=x, mask=torch.zeros(2, 6, dtype=torch.bool))
    assert torch.isfinite(empty).all()


def test_cap_frames_pools_valid_frames_in_time():
    x = torch.arange(10, dtype=torch.float32).view(1, 10, 1)
    mask = torch.ones(1, 10, dtype=torch.bool)
    mask[0, 9] = False
    y, m = cap_frames(x, mask, max_frames=4)  # bins of 3: [0,1,2] [3,4,5] [6,7,8] [9 masked + pad]
    assert y.shape == (1, 4, 1) and m.tolist() == [[True, True, True, False]]
    assert y[0, :3, 0].tolist() == [1.0, 4.0, 7.0]
