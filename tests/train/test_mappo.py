"""MAPPO: rollouts through the real pipeline, counterfactual rewards kept out of the records, parameter updates,
resume after a kill, and the CLI recipe on a tiny real checkpoint."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from affectagent.agents.actor import ActorConfig, SharedActor
from affectagent.agents.critic import Critic
from affectagent.pipeline import AffectAgentPipeline, PipelineConfig
from affectagent.schema import CANONICAL_EMOTIONS, FeatureNorm, Role
from affectagent.train.mappo import MAPPOConfig, MAPPOState, collect_rollout, step_log_probs, train_mappo

from ..agents.helpers import SPEC, ListSource
from .test_sft import _corpus


def _setup(seed=0):
    corpus = _corpus(48, seed)
    kb = ListSource([(x.sample_id, CANONICAL_EMOTIONS[g], x.features.text_emb / np.linalg.norm(x.features.text_emb))
                     for x, g in zip(corpus.inputs, corpus.gold)])
    torch.manual_seed(0)
    actor = SharedActor(spec=SPEC, config=ActorConfig(dim=16, heads=2, dropout=0.0)).eval()
    pipe = AffectAgentPipeline(actor=actor, norm=FeatureNorm(), source=kb, config=PipelineConfig(top_k=2, perceptual_k=1, complete_missing=True))
    return corpus, kb, actor, pipe


def test_rollout_records_the_sampled_policy_only():
    corpus, kb, actor, pipe = _setup()
    idx = np.arange(12)
    sub = [corpus.inputs[i] for i in idx]
    ro, stats = collect_rollout(pipe=pipe, ref=actor, critic=Critic(dim=16), inputs=sub, gold=corpus.gold[idx],
                                index=idx, generator=torch.Generator().manual_seed(1), reward="sample")
    # the counterfactual (planner-bypass) run queried the KB with plain queries ...
    assert any(p.plain for p in kb.calls)
    # ... but the rollout keeps the planner's own plans and evidence
    assert not any(p.plain for p in ro.env["plans"])
    assert all(e.kind != "plain" for ev in ro.env["evidence"] for e in ev)
    # re-scoring the stored actions on the stored observations reproduces the rollout log-probs (ratio 1 at start)
    run = pipe.run(sub, plans_override=ro.env["plans"], evidence_override=ro.env["evidence"],
                   perceptual_override=ro.env["perceptual"], actions=ro.actions)
    assert torch.allclose(step_log_probs(run), ro.logp_old, atol=1e-5)
    # reference = current policy here, so the KL estimate is zero; rewards are per-sample F1 of the sampled answer
    assert torch.allclose(ro.logp_ref, ro.logp_old, atol=1e-5) and stats.kl_ref == pytest.approx(0.0, abs=1e-5)
    sampled = [CANONICAL_EMOTIONS[i] for i in ro.actions[Role.GENERATOR].tolist()]
    assert ro.task_reward.tolist() == [float(s == CANONICAL_EMOTIONS[g]) for s, g in zip(sampled, corpus.gold[idx])]
    assert ro.active[:, 0].all() and ro.active[:, 2].all()


def _cfg(steps, **kw):
    return MAPPOConfig(steps=steps, rollout_size=16, ppo_epochs=2, minibatch=8, lr=1e-3, eval_every=0, save_every=2,
                       pipeline=PipelineConfig(top_k=2, perceptual_k=1, complete_missing=True), **kw)


def test_twenty_steps_change_every_role_and_write_a_checkpoint(tmp_path):
    corpus, kb, actor, pipe = _setup()
    before = {k: v.clone() for k, v in actor.state_dict().items()}
    import copy

    init = copy.deepcopy(actor)
    rows = []
    res = train_mappo(corpus, init=init, pipe=pipe, config=_cfg(20), state_path=tmp_path / "state.pt",
                      log=rows.append, progress=False,
                      evaluate=lambda p, step: {"dev_acc": 0.0})
    assert res.steps_done == 20 and res.stopped == "steps"
    changed = {k.split(".")[0] for k, v in res.actor.state_dict().items() if not torch.equal(v, before[k])}
    # text-only inputs: RAAF gets audio / face input only through missing-modality completion (on here)
    assert {"planner", "evidence_filter", "generator", "raaf_audio", "raaf_visual", "moe"} <= changed
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert [r["step"] for r in train_rows] == list(range(1, 21))
    for key in ("task_reward", "kl_ref", "clip_fraction", "value_loss", "entropy", "approx_kl", "delta_planner"):
        assert all(np.isfinite(r[key]) for r in train_rows), key
    assert [r["step"] for r in rows if r["kind"] == "dev"] == [20]
    st = MAPPOState.load(tmp_path / "state.pt")
    assert st.step == 20 and len(st.history) == len(rows)
    # the frozen reference really stayed frozen: the KL estimate moves away from zero as the policy changes
    assert any(abs(r["kl_ref"]) > 0 for r in train_rows[1:])


class _Kill(Exception):
    pass


def test_kill_and_resume_matches_an_uninterrupted_run(tmp_path):
    import copy

    corpus, kb, actor, pipe = _setup()
    init = copy.deepcopy(actor)
    full = train_mappo(corpus, init=init, pipe=pipe, config=_cfg(5), state_path=tmp_path / "a.pt", progress=False)

    corpus, kb, actor, pipe = _setup()

    def killer(row):
        if row["step"] == 3:  # dies after step 3; the last checkpoint is step 2
            raise _Kill

    with pytest.raises(_Kill):
        train_mappo(corpus, init=init, pipe=pipe, config=_cfg(5), state_path=tmp_path / "b.pt", log=killer, progress=False)
    assert MAPPOState.load(tmp_path / "b.pt").step == 2
    corpus, kb, actor, pipe = _setup()
    resumed = train_mappo(corpus, init=init, pipe=pipe, config=_cfg(5), state_path=tmp_path / "b.pt", progress=False)
    assert resumed.steps_done == 5
    for (k, a), b in zip(full.actor.state_dict().items(), resumed.actor.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), k
    assert [r["step"] for r in resumed.history] == [r["step"] for r in full.history]


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        MAPPOConfig(clip_eps=1.5)
    with pytest.raises(ValueError):
        MAPPOConfig(reward="global")


def test_cli_recipe_on_a_tiny_real_checkpoint(tiny_checkpoint, tmp_path):
    out = tmp_path / "mappo"
    cmd = [sys.executable, "-m", "affectagent", "train", "mappo", "--init", str(tiny_checkpoint),
           "--dataset", "meld:train:64", "--steps", "20", "--rollout-size", "16", "--minibatch", "8", "--ppo-epochs", "1",
           "--dev", "meld:dev", "--dev-limit", "24", "--eval-every", "10", "--out", str(out), "--lr", "1e-3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in rows if x["kind"] == "train"] == list(range(1, 21))
    assert [x["step"] for x in rows if x["kind"] == "dev"] == [0, 10, 20]
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "tb").iterdir())
    from affectagent.agents.checkpoint import AgentCheckpoint
    from affectagent.api import AffectAgent

    new, old = AgentCheckpoint.load(out / "agents.pt"), AgentCheckpoint.load(tiny_checkpoint)
    assert new.provenance["recipe"] == "mappo" and new.critic_state
    assert any(not torch.equal(a, b) for a, b in zip(new.actor.state_dict().values(), old.actor.state_dict().values()))
    agent = AffectAgent.load(out / "agents.pt", log=lambda m: None)
    assert agent.kb_path == out / "kb"
    best = AgentCheckpoint.load(out / "best.pt")
    dev_rows = [x for x in rows if x["kind"] == "dev"]
    top = max(dev_rows, key=lambda x: x["dev_weighted_f1"])
    assert best.provenance["selected_step"] == top["step"]
    assert best.provenance["selected_value"] == top["dev_weighted_f1"]
    [pred] = agent.predict_texts(["I can't believe you did that to me!"], label_set=("angry", "happy", "neutral"))
    assert pred.label in ("angry", "happy", "neutral")
    # the same command again resumes (nothing left to do) and keeps the log consistent
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0 and "resuming from" in r2.stdout
    rows2 = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in rows2 if x["kind"] == "train"] == list(range(1, 21))


def test_cli_rejects_bad_options(tmp_path):
    r = subprocess.run([sys.executable, "-m", "affectagent", "train", "mappo", "--out", str(tmp_path), "--clip", "3"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "clip_eps" in r.stderr and "Traceback" not in r.stderr
