import torch

from affectagent.fusion import RAAF


def _inputs(b=3, t=5, k=4, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, d, generator=g)
    r = torch.randn(b, k, d, generator=g)
    return x, torch.ones(b, t, dtype=torch.bool), r, torch.ones(b, k, dtype=torch.bool)


def test_new_block_is_identity_on_present_modalities():
    x, xm, r, rm = _inputs()
    raaf = RAAF(dim=16, heads=4)
    out = raaf(x=x, x_mask=xm, r=r, r_mask=rm, present=torch.ones(3, dtype=torch.bool))
    assert torch.equal(out.x[:, :5], x)          # zero-initialised attention output: exactly the identity
    assert not out.filled.any()
    # the zero-initialised gate starts half open (sigmoid(0)) on every sample that has retrieved tokens ...
    assert torch.equal(out.gate, torch.full((3,), 0.5))
    # ... and reports 0 where nothing was retrieved
    rm[1] = False
    out = raaf(x=x, x_mask=xm, r=r, r_mask=rm, present=torch.ones(3, dtype=torch.bool))
    assert out.gate.tolist() == [0.5, 0.0, 0.5] and torch.equal(out.x[:, :5], x)


def test_after_training_step_retrieval_changes_output():
    x, xm, r, rm = _inputs()
    raaf = RAAF(dim=16, heads=4)
    opt = torch.optim.SGD(raaf.parameters(), lr=0.5)
    target = x + 1.0
    present = torch.ones(3, dtype=torch.bool)
    losses = []
    for _ in range(3):
        out = raaf(x=x, x_mask=xm, r=r, r_mask=rm, present=present)
        loss = ((out.x[:, :5] - target) ** 2).mean()
        losses.append(loss.item())
        opt.zero_grad(); loss.backward(); opt.step()
    out = raaf(x=x, x_mask=xm, r=r, r_mask=rm, present=present)
    assert not torch.allclose(out.x[:, :5], x)
    assert ((out.x[:, :5] - target) ** 2).mean().item() < losses[0]     # moved toward the target
    # the gate is trained too: its value left sigmoid(0) = 0.5
    assert not torch.allclose(out.gate, torch.full((3,), 0.5), atol=1e-4)
    assert raaf.gate.weight.abs().sum() > 0
    # the change comes from the retrieved tokens: other retrieved tokens give another output
    other = raaf(x=x, x_mask=xm, r=r.flip(0), r_mask=rm, present=present)
    assert not torch.allclose(other.x[:, :5], out.x[:, :5])
    # and without retrieval the trained block is still the identity on present inputs
    off = raaf(x=x, x_mask=xm, r=r, r_mask=rm, present=present, use_retrieval=False)
    assert torch.equal(off.x[:, :5], x) and torch.equal(off.gate, torch.zeros(3))


def test_missing_modality_is_filled_from_retrieval():
    x, xm, r, rm = _inputs(t=2, k=4)
    present = torch.tensor([True, False, False])
    rm[2] = False  # third sample: missing and nothing retrieved
    raaf = RAAF(dim=16, heads=4)
    out = raaf(x=x, x_mask=xm, r=r, r_mask=rm, present=present)
    assert out.filled.tolist() == [False, True, False]
    # identity block: the filled sample's tokens are the retrieved tokens (+ zero marker)
    assert torch.equal(out.x[1, :4], r[1])
    # with a learned marker the fill is the retrieved tokens plus the marker, and other neighbours fill differently
    with torch.no_grad():
        raaf.filled_marker.fill_(0.25)
    marked = raaf(x=x, x_mask=xm, r=r, r_mask=rm, present=present)
    assert torch.allclose(marked.x[1, :4], r[1] + 0.25)
    assert torch.allclose(raaf(x=x, x_mask=xm, r=r * 2, r_mask=rm, present=present).x[1, :4], 2 * r[1] + 0.25)
    assert out.mask[1].tolist() == [True] * 4
    assert not out.mask[2].any() and torch.all(out.x[2] == 0)
    # present sample keeps its own two tokens, padded to the common length
    assert out.mask[0].tolist() == [True, True, False, False]


def test_use_retrieval_false_never_fills():
    x, xm, r, rm = _inputs()
    raaf = RAAF(dim=16, heads=4)
    out = raaf(x=x, x_mask=xm, r=r, r_mask=rm, present=torch.tensor([True, False, True]), use_retrieval=False)
    assert not out.mask[1].any()
    assert torch.allclose(out.x[0, :5], x[0])
