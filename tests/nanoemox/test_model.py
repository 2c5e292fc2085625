import torch

from affectagent.nanoemox.inputs import SampleInputs, StreamInputs
from affectagent.nanoemox.model import GROUPS, PHASE_GROUPS, load_nanoemox
from affectagent.nanoemox.tasks import TaskAnswer

from .conftest import make_streams


def test_stream_tokens_per_sample_in_order(tiny_model, rng):
    h = tiny_model.lm.hidden_size
    streams = [make_streams(rng), make_streams(rng, face=False, scene=False), StreamInputs(),
               make_streams(rng, speech=False)]
    tokens, weights = tiny_model.stream_tokens(streams)
    q = tiny_model.config.visual.qformer.queries  # 4 in the tiny config (32 by default)
    f = tiny_model.config.face.queries
    assert [t.shape[0] for t in tokens] == [q + f + q + 1, q, 0, q + f]
    assert all(t.shape[1] == h for t in tokens)
    assert weights.shape == (1, 3) and torch.allclose(weights.sum(-1), torch.ones(1))


def test_loss_on_answer_tokens_and_backward_reaches_the_branches(tiny_model, rng):
    tiny_model.set_trainable(PHASE_GROUPS["3"])
    exs = [tiny_model.encode_example(prompt="[Recognition] Which emotion?", streams=make_streams(rng), target="happy"),
           tiny_model.encode_example(prompt="[Intent] Why?", streams=StreamInputs(), target="Thank")]
    out = tiny_model.loss(exs)
    assert torch.isfinite(out.loss) and out.tokens == sum(len(e.target) for e in exs)
    out.loss.backward()
    reached = {g: any(p.grad is not None and bool(p.grad.abs().sum() > 0) for _, p in params)
               for g, params in tiny_model.parameter_groups().items()}
    assert all(reached.values()), reached


def test_answer_is_a_string_and_predict_a_typed_answer(tiny_model, rng):
    inputs = SampleInputs(streams=make_streams(rng), text="I can't believe we won!", speaker="A")
    assert isinstance(tiny_model.answer(inputs, "mer", max_new_tokens=3), str)
    parsed = tiny_model.predict(SampleInputs(text="hello"), "erg", max_new_tokens=3)
    assert isinstance(parsed, TaskAnswer) and parsed.task == "erg"  # random tiny LM: a fallback, never an error


def test_save_and_load_round_trip_trainable_parts_only(tiny_model, tmp_path):
    with torch.no_grad():
        for _, p in tiny_model.parameter_groups()["fusion"]:
            p.add_(0.01)
    path = tiny_model.save(tmp_path / "model", meta={"step": 3})
    assert (path / "weights.pt").stat().st_size < 2_000_000  # no base LM inside
    loaded = load_nanoemox(path)
    a, b = tiny_model.trainable_state(), loaded.trainable_state()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_phase_groups_nest():
    assert set(PHASE_GROUPS["1"]) < set(PHASE_GROUPS["2"]) < set(PHASE_GROUPS["3"]) == set(GROUPS)
    assert "fusion" not in PHASE_GROUPS["1"] and "lora" not in PHASE_GROUPS["2"]
