import torch

from affectagent.nanoemox.config import FusionConfig
from affectagent.nanoemox.fusion_experts import HierarchicalFusion

VIS = (64, 128, 256)


def _inputs(b=3, ta=9, tv=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    speech = torch.randn(b, ta, 384, generator=g)
    visual = [torch.randn(b, tv, d, generator=g) for d in VIS]
    return speech, torch.ones(b, ta, dtype=torch.bool), visual, torch.ones(b, tv, dtype=torch.bool)


def _fusion():
    torch.manual_seed(0)
    return HierarchicalFusion(config=FusionConfig(dim=16, heads=2, gate_hidden=8), visual_dims=VIS).eval()


def _open(f: HierarchicalFusion):
    with torch.no_grad():
        for e in f.experts:
            e.gate.alpha.fill_(1.0)
        torch.nn.init.normal_(f.gate[-1].weight, std=1.0)


def test_three_experts_one_embedding_and_weights_sum_to_one():
    f = _fusion()
    assert len(f.experts) == 3
    out = f(speech=_inputs()[0], speech_mask=_inputs()[1], visual=_inputs()[2], visual_mask=_inputs()[3])
    assert out.embedding.shape == (3, 16) and out.weights.shape == (3, 3) and out.experts.shape == (3, 3, 16)
    assert torch.allclose(out.weights.sum(-1), torch.ones(3))
    assert torch.allclose(out.weights, torch.full((3, 3), 1 / 3))  # zero-initialised last gate layer: uniform


def test_gate_mixes_the_three_experts():
    f = _fusion()
    _open(f)
    speech, smask, visual, vmask = _inputs()
    smask[1, 6:] = False
    out = f(speech=speech, speech_mask=smask, visual=visual, visual_mask=vmask)
    assert torch.allclose(out.weights.sum(-1), torch.ones(3), atol=1e-6)
    assert (out.weights.max(-1).values - out.weights.min(-1).values > 1e-3).all()  # not uniform any more
    # by hand: embedding = masked time-mean of sum_i w_i * expert_i(speech, visual_i)
    s = f.speech_proj(speech)
    outs = torch.stack([e(s=s, visual=v, visual_mask=vmask) for e, v in zip(f.experts, visual)], 1)  # (B,E,T,D)
    m = smask.float()[:, None, :, None]
    pooled = (outs * m).sum(2) / m.sum(2)
    assert torch.allclose(pooled, out.experts, atol=1e-5)
    expect = (out.weights[:, :, None] * pooled).sum(1)
    assert torch.allclose(out.embedding, expect, atol=1e-5)
    w = torch.softmax(f.gate(pooled.flatten(1)), -1)
    assert torch.allclose(w, out.weights, atol=1e-6)


def test_experts_start_as_speech_identity_and_each_reads_its_own_depth():
    f = _fusion()
    speech, smask, visual, vmask = _inputs()
    base = f(speech=speech, speech_mask=smask, visual=visual, visual_mask=vmask)
    moved = [torch.randn_like(v) for v in visual]
    assert torch.allclose(f(speech=speech, speech_mask=smask, visual=moved, visual_mask=vmask).embedding,
                          base.embedding, atol=1e-6)  # closed gates: visual does not matter yet
    _open(f)
    base = f(speech=speech, speech_mask=smask, visual=visual, visual_mask=vmask)
    for i in range(3):
        changed = list(visual)
        changed[i] = torch.randn_like(visual[i])
        out = f(speech=speech, speech_mask=smask, visual=changed, visual_mask=vmask)
        diff = (out.experts - base.experts).abs().sum(-1)  # (B, E)
        assert (diff[:, i] > 1e-4).all() and torch.allclose(diff[:, [j for j in range(3) if j != i]],
                                                             torch.zeros(3, 2), atol=1e-5)


def test_three_speech_depths_can_pair_with_three_visual_depths():
    f = _fusion()
    speech, smask, visual, vmask = _inputs()
    out = f(speech=[speech, speech * 0.5, speech * 2], speech_mask=smask, visual=visual, visual_mask=vmask)
    assert out.embedding.shape == (3, 16)
