"""``cross_attend`` (padding as an additive attn_mask) gives exactly what ``key_padding_mask`` gives, forward and
backward, so the agents' numbers do not change; it exists because torch's key_padding_mask check imports sympy."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from affectagent.fusion.masked import cross_attend, padding_bias


def test_padding_bias_shape_and_values():
    kpm = torch.tensor([[False, True, False], [True, False, False]])
    bias = padding_bias(kpm, heads=2, queries=4, dtype=torch.float32)
    assert bias.shape == (4, 4, 3)
    assert torch.equal(bias[0, 0], torch.tensor([0.0, float("-inf"), 0.0]))  # sample 0, head 0
    assert torch.equal(bias[1], bias[0]) and torch.equal(bias[2, 3], torch.tensor([float("-inf"), 0.0, 0.0]))


@pytest.mark.parametrize("b, l, s, heads, need_weights", [(3, 1, 15, 4, True), (4, 7, 5, 4, False),
                                                          (2, 4, 9, 2, True), (1, 1, 1, 1, False)])
def test_cross_attend_equals_key_padding_mask(b, l, s, heads, need_weights):
    g = torch.Generator().manual_seed(b * 100 + l * 10 + s)
    attn = nn.MultiheadAttention(32, heads, batch_first=True, dropout=0.0)
    q = torch.randn(b, l, 32, generator=g, requires_grad=True)
    kv = torch.randn(b, s, 32, generator=g)
    kpm = torch.rand(b, s, generator=g) < 0.4
    kpm[:, 0] = False  # every row keeps one key (a fully padded row is NaN either way)
    for training in (False, True):
        attn.train(training)
        want, want_w = attn(q, kv, kv, key_padding_mask=kpm, need_weights=need_weights)
        got, got_w = cross_attend(attn, q, kv, kpm, need_weights=need_weights)
        assert torch.equal(got, want)
        assert (got_w is None and want_w is None) or torch.equal(got_w, want_w)
        (gq,) = torch.autograd.grad(got.sum(), q)
        (wq,) = torch.autograd.grad(want.sum(), q)
        assert torch.equal(gq, wq)
