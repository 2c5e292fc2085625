"""P2E trainer: each phase changes exactly the parameters it trains (everything else, the base LM included, stays
bit-identical), resuming continues the step count and the batches, and the CLI is built from the config."""
import argparse
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from affectagent.errors import DataNotFoundError, InputError
from affectagent.nanoemox.inputs import NO_STREAMS
from affectagent.nanoemox.model import GROUPS, PHASE_GROUPS, NanoEmoX
from affectagent.nanoemox.tasks import TaskAnswer, TaskExample
from affectagent.nanoemox.train import (MixtureConfig, TrainConfig, cli_spec, draw_batch, lr_factor, run_phase)
from affectagent.schema import Sample

from .conftest import make_streams


class DictBank:
    """Stands in for FeatureBank: synthetic streams per media sample id."""

    def __init__(self, streams):
        self.by_id = streams

    def streams(self, ex):
        out = NO_STREAMS
        for s in ex.media:
            out = out.merged(self.by_id[s.id])
        return out


def _pools(seed=0):
    rng = np.random.default_rng(seed)
    streams, pools = {}, {}

    def ex(source, i, media_kinds, target, task="mer"):
        media = []
        for kind in media_kinds:
            sid = f"{source}/{kind}{i}"
            streams[sid] = make_streams(rng, face=kind == "face", scene=kind == "face", speech=kind == "speech")
            media.append(Sample(id=sid))
        return TaskExample(task=task, source=source, sample_id=f"{source}{i}", prompt=f"[Recognition] item {i}",
                           target=target, gold=TaskAnswer(task, target), media=tuple(media))

    pools["mer/face"] = [ex("mer/face", i, ["face"], "happy") for i in range(4)]
    pools["mer/speech"] = [ex("mer/speech", i, ["speech"], "sad") for i in range(4)]
    pools["mer/paired"] = [ex("mer/paired", i, ["speech", "face"], "angry") for i in range(4)]
    pools["mer/meld"] = [ex("mer/meld", i, [], "neutral") for i in range(4)]
    pools["mir/mintrec"] = [ex("mir/mintrec", i, [], "Thank", task="mir") for i in range(4)]
    for name in ("ov/goemotions", "eri/reccon", "erg/reccon"):
        pools[name] = [ex(name, i, [], "joy, relief") for i in range(4)]
    return pools, DictBank(streams)


def _config(tiny_cfg, **kw):
    base = dict(steps=3, batch_size=4, warmup_steps=0, save_every=1, progress=False, model=tiny_cfg)
    base.update(kw)
    return TrainConfig(**base)


def _snapshot(model: NanoEmoX):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _run(tmp_path, cfg, *, init=None):
    pools, bank = _pools()
    weights = cfg.mixture.weights("3" if cfg.joint else cfg.phase_key)
    return run_phase(cfg, out=tmp_path, init=init, bank=bank, pools=({k: pools[k] for k in weights}, weights),
                     log=lambda *_: None)


@pytest.mark.parametrize("phase", ["1", "2", "3", "joint"])
def test_each_phase_changes_exactly_what_it_trains(tmp_path, tiny_cfg, phase):
    torch.manual_seed(0)
    # phases 3 / Jo-T: a MER-heavy mixture so that 3 steps surely draw face, speech and paired examples (with the
    # paper's 18 % MER, 12 draws often miss one of them and its branch then rightly stays unchanged)
    mix = MixtureConfig(task_ratio=(60.0, 10.0, 10.0, 10.0, 10.0), mer_sources=(1.0, 2.0, 2.0, 3.0))
    cfg = _config(tiny_cfg, joint=phase == "joint", phase=None if phase == "joint" else int(phase), mixture=mix)
    init = None
    if phase in ("2", "3"):
        seed_model = NanoEmoX(config=tiny_cfg)
        init = seed_model.save(tmp_path / "init")
    reference = NanoEmoX(config=tiny_cfg)
    if init is not None:
        from affectagent.nanoemox.model import load_weights

        load_weights(reference, init)
    else:
        torch.manual_seed(0)
        reference = NanoEmoX(config=tiny_cfg)
    before = _snapshot(reference)
    torch.manual_seed(0)
    result = _run(tmp_path, cfg, init=init)
    assert result.steps == 3 and result.seconds_per_step is not None
    from affectagent.nanoemox.model import load_nanoemox

    after_model = load_nanoemox(result.model_dir)
    after = _snapshot(after_model)
    assert before.keys() == after.keys()
    groups = after_model.parameter_groups()
    trained = {n for g in PHASE_GROUPS[phase] for n, _ in groups[g]}
    for n in before:
        if n in trained:
            assert not torch.equal(before[n], after[n]), f"phase {phase} should have changed {n}"
        else:
            assert torch.equal(before[n], after[n]), f"phase {phase} must not change {n}"
    assert {n for g in set(GROUPS) - set(PHASE_GROUPS[phase]) for n, _ in groups[g]}.isdisjoint(trained)
    log = [json.loads(x) for x in (result.phase_dir / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3] and all(r["loss"] > 0 for r in log)


def test_resume_continues_the_step_count_and_the_run(tmp_path, tiny_cfg):
    torch.manual_seed(0)
    first = _run(tmp_path / "a", _config(tiny_cfg, phase=1, steps=2))
    assert (first.start_step, first.steps) == (0, 2)
    torch.manual_seed(0)
    resumed = _run(tmp_path / "a", _config(tiny_cfg, phase=1, steps=4))
    assert (resumed.start_step, resumed.steps) == (2, 4)
    log = [json.loads(x)["step"] for x in (resumed.phase_dir / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2, 3, 4]
    again = _run(tmp_path / "a", _config(tiny_cfg, phase=1, steps=4))
    assert again.start_step == 4 and again.seconds_per_step is None  # nothing left to do
    torch.manual_seed(0)
    straight = _run(tmp_path / "b", _config(tiny_cfg, phase=1, steps=4))
    from affectagent.nanoemox.model import load_nanoemox

    a = load_nanoemox(resumed.model_dir).trainable_state()
    b = load_nanoemox(straight.model_dir).trainable_state()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)  # same batches, same optimiser state
    with pytest.raises(InputError, match="different batch_size"):
        _run(tmp_path / "a", _config(tiny_cfg, phase=1, steps=5, batch_size=2))


def test_later_phase_needs_the_previous_model(tmp_path, tiny_cfg):
    with pytest.raises(DataNotFoundError, match="--phase 1"):
        _run(tmp_path, _config(tiny_cfg, phase=2))


def test_phase2_skips_text_only_examples_when_the_lm_is_frozen(tmp_path, tiny_cfg):
    seed_model = NanoEmoX(config=tiny_cfg).save(tmp_path / "init")
    cfg = _config(tiny_cfg, phase=2, mixture=MixtureConfig(phase2_sources=(1.0, 1.0)))
    result = _run(tmp_path, cfg, init=seed_model)
    log = [json.loads(x) for x in (result.phase_dir / "log.jsonl").read_text().splitlines()]
    assert sum(r["skipped"] for r in log) == sum(r["sources"].get("mir/mintrec", 0) for r in log) > 0


def test_mixture_ratios_and_draws():
    w = MixtureConfig().weights("3")
    assert w["ov/goemotions"] == 28 and w["eri/reccon"] == 31 and w["erg/reccon"] == 18 and w["mir/mintrec"] == 5
    assert sum(v for k, v in w.items() if k.startswith("mer/")) == pytest.approx(18)
    assert set(MixtureConfig().weights("2")) == {"mer/paired"}
    pools = {k: [k + str(i) for i in range(3)] for k in w}
    a = draw_batch(pools, w, n=2000, seed=1, step=5)
    assert a == draw_batch(pools, w, n=2000, seed=1, step=5) != draw_batch(pools, w, n=2000, seed=1, step=6)
    share = sum(x.startswith("eri/") for x in a) / len(a)
    assert abs(share - 0.31) < 0.04
    assert lr_factor(0, 10) == 0.1 and lr_factor(50, 10) == 1.0


def test_config_validation():
    with pytest.raises(ValueError, match="exactly one"):
        TrainConfig()
    with pytest.raises(ValueError, match="exactly one"):
        TrainConfig(phase=1, joint=True)
    assert TrainConfig(joint=True).total_steps == 2000 and TrainConfig(phase=2).learning_rate == 1e-4
    with pytest.raises(ValueError, match="task_ratio"):
        MixtureConfig(task_ratio=(1, 2))


def test_cli_is_built_from_the_config():
    spec = cli_spec()
    p = argparse.ArgumentParser()
    spec.add_to(p)
    args = p.parse_args(["--phase", "3", "--lm-lora-alpha", "64", "--visual-queries", "8", "--fer-limit", "10",
                         "--task-ratio", "1", "1", "1", "1", "1", "--no-feature-pad-to-window"])
    cfg = spec.build(args)
    assert cfg.phase == 3 and cfg.model.lm.lora_alpha == 64 and cfg.model.visual.qformer.queries == 8
    assert cfg.model.speech.qformer.queries == 32 and cfg.data.fer_limit == 10 and not cfg.features.pad_to_window
    assert cfg.mixture.task_ratio == (1.0,) * 5
    joint = spec.build(p.parse_args(["--joint"]))
    assert joint.joint and joint.phase is None and replace(joint, steps=5).total_steps == 5
