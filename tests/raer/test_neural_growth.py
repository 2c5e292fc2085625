"""RAER on the neural agents (tiny real checkpoint): Algorithm 1's control flow, the growth gate, both protocols,
the leakage guard and resume."""
import json

import numpy as np
import pytest

from affectagent import datasets
from affectagent.api import AffectAgent
from affectagent.errors import InputError
from affectagent.kb import KBEntry, KnowledgeBase
from affectagent.raer.config import RAERConfig
from affectagent.raer.config import GrowthConfig
from affectagent.raer.growth import LeakageGuard, partition_by_group, unlabelled
from affectagent.raer.neural import NeuralRAER
from affectagent.raer.runner import corpus_encoder, run_raer
from affectagent.train.sft import run_inference


@pytest.fixture(scope="module")
def agent(tiny_checkpoint):
    return AffectAgent.load(tiny_checkpoint, log=lambda m: None)


@pytest.fixture(scope="module")
def dev(agent):
    samples = datasets.load("meld", "dev", limit=40)
    return samples, corpus_encoder(agent, "meld", "dev")(samples)


def test_steps_evidence_and_gate(agent, dev):
    samples, inputs = dev
    outs = NeuralRAER(pipeline=agent.pipeline, config=RAERConfig(epsilon=1.0)).reason(inputs)
    assert len(outs) == len(inputs)
    for x, o in zip(inputs, outs):
        assert [s.kind for s in o.steps] == ["hypothesis", "evidence", "conclusion"]
        assert len(o.steps[0].evidence) == 5                       # top-K = 5 neighbours of the input
        assert all(e.id not in x.exclude for s in o.steps for e in s.evidence)
        assert o.gated and 0.0 <= o.uncertainty <= 1.0             # ε = 1 gates everything
        assert o.uncertainty == pytest.approx(1 - max(o.prediction.probs.values()))
        assert o.steps[-1].emotion == o.prediction.label
        assert o.prediction.trace["raer"]["kb_would_grow"] is True
        assert o.prediction.rationale.startswith("Reasoning: 1. hypothesis:")
    strict = NeuralRAER(pipeline=agent.pipeline, config=RAERConfig(epsilon=0.0)).reason(inputs)
    assert not any(o.gated for o in strict if o.uncertainty > 0)


def test_ambiguity_controls_regeneration(agent, dev):
    _, inputs = dev
    plain = run_inference(agent.pipeline, inputs, progress=False)
    never = NeuralRAER(pipeline=agent.pipeline,
                       config=RAERConfig(min_agreement=0.0, min_similarity=-1.0)).reason(inputs)
    assert not any(o.regenerated for o in never)              # nothing ambiguous: RAER = the plain pass
    assert [o.prediction.label for o in never] == [p.label for p in plain]
    always = NeuralRAER(pipeline=agent.pipeline, config=RAERConfig(min_agreement=1.0)).reason(inputs)
    flagged = [o for o in always if any(s.ambiguous for s in o.steps)]
    assert flagged and all(o.regenerated for o in flagged)     # every ambiguous sample's conclusion was re-run
    for o in flagged:
        last = o.steps[-1]
        assert last.original is not None and last.regenerated and o.prediction.trace["raer"]["regenerated_steps"] == [2]


def test_partition_keeps_dialogues_whole_and_unlabelled_strips_labels():
    samples = datasets.load("meld", "dev", limit=120)
    pool, scored = partition_by_group(samples, fraction=0.5, seed=0)
    dia = lambda s: s.id.rsplit("_", 1)[0]  # noqa: E731
    assert pool and scored and not ({dia(s) for s in pool} & {dia(s) for s in scored})
    assert len(pool) + len(scored) == len(samples)
    u = unlabelled(pool[0])
    assert u.label is None and u.raw_label is None and u.sentiment is None and u.text == pool[0].text


def test_leakage_guard_refuses_scored_ids():
    guard = LeakageGuard(["meld/dev/dia1_utt0"])
    e = KBEntry(id="meld/dev/dia1_utt0", text="x", label="happy", text_emb=np.ones(4, np.float32))
    with pytest.raises(AssertionError, match="leakage guard"):
        guard.check([e])
    guard.check([KBEntry(id="other", text="x", text_emb=np.ones(4, np.float32))])


def _kb_ids(path):
    with KnowledgeBase.open(path, read_only=True) as kb:
        return len(kb), kb.info().sources


def test_honest_growth_resume_and_guard(agent, tmp_path):
    out = tmp_path / "run"
    n0, _ = _kb_ids(agent.kb_path)
    cfg = GrowthConfig(dataset="meld", split="dev", epochs=2, limit=80, raer=RAERConfig(epsilon=0.8), batch_size=32)
    res = run_raer(agent, cfg, out=out, progress=False, log=lambda m: None)
    assert [r["epoch"] for r in res.rows] == [0, 1, 2]
    assert res.rows[0]["added"] == 0 and sum(r["added"] for r in res.rows) > 0
    n1, sources = _kb_ids(res.kb_dir)
    assert n1 == n0 + sum(r["added"] for r in res.rows) and sources.get("raer/meld:half", 0) == n1 - n0
    assert _kb_ids(agent.kb_path)[0] == n0                      # the agent's own KB is untouched (a copy grows)
    summary = json.loads((out / "growth.json").read_text())
    scored_ids = set()
    samples = datasets.load("meld", "dev")
    pool, scored = partition_by_group(samples, fraction=0.5, seed=0)
    rng = np.random.default_rng(0)
    scored = [scored[i] for i in np.sort(rng.choice(len(scored), 80, replace=False))]
    scored_ids = {s.id for s in scored}
    with KnowledgeBase.open(res.kb_dir, read_only=True) as kb:
        assert not any(i in kb for i in scored_ids)             # no scored id ever entered
        added = [e for e in kb.get([s.id for s in pool]) if e.source == "raer"]
    assert added and all(e.meta["uncertainty"] <= 0.8 and json.loads(e.rationale)[0]["kind"] == "hypothesis"
                         for e in added)
    assert summary["baseline_without_raer"]["n"] == 80 and (out / "growth.png").stat().st_size > 0
    # resume: a finished run recomputes nothing; a lost last row is recomputed without adding twice
    state = json.loads((out / "state.json").read_text())
    state["rows"] = state["rows"][:2]
    (out / "state.json").write_text(json.dumps(state))
    logs = []
    again = run_raer(agent, cfg, out=out, progress=False, log=logs.append)
    assert any("resuming" in m for m in logs) and [r["epoch"] for r in again.rows] == [0, 1, 2]
    assert _kb_ids(res.kb_dir)[0] == n1 + again.rows[2]["added"]
    with pytest.raises(InputError, match="other settings"):
        run_raer(agent, GrowthConfig(dataset="meld", split="dev", epochs=3, limit=80), out=out, progress=False,
                 log=lambda m: None)


def test_paper_protocol_adds_only_correct_predictions(agent, tmp_path):
    cfg = GrowthConfig(dataset="meld", split="dev", epochs=1, limit=60, protocol="paper",
                       raer=RAERConfig(epsilon=1.0))
    res = run_raer(agent, cfg, out=tmp_path / "paper", progress=False, log=lambda m: None)
    with KnowledgeBase.open(res.kb_dir, read_only=True) as kb:
        rows = [e for e in kb.get([s.id for s in datasets.load("meld", "dev")]) if e.source == "raer"]
    gold = {s.id: s.label for s in datasets.load("meld", "dev")}
    assert rows and len(rows) == sum(r["added"] for r in res.rows) and all(e.label == gold[e.id] for e in rows)
    assert res.rows[0]["added"] > 0 and res.rows[1]["kb_size_before"] == res.rows[0]["kb_size_after"]


def test_a_kill_between_the_add_and_the_state_write_resumes_without_double_adding(agent, tmp_path):
    """The add landed, the state was not written (pending set): the re-run scores that epoch without re-adding."""
    out = tmp_path / "killed"
    cfg = GrowthConfig(dataset="meld", split="dev", epochs=1, limit=40, raer=RAERConfig(epsilon=0.8))
    res = run_raer(agent, cfg, out=out, progress=False, log=lambda m: None)
    n_after = _kb_ids(res.kb_dir)[0]
    added = res.rows[1]["added"]
    assert added > 0
    state = json.loads((out / "state.json").read_text())
    with KnowledgeBase.open(res.kb_dir, read_only=True) as kb:
        ids = [e.id for e in kb.get([s.id for s in datasets.load("meld", "dev")]) if e.source == "raer"]
    state["rows"] = state["rows"][:1]
    state["pending"] = {"epoch": 1, "ids": ids, "row": None}
    (out / "state.json").write_text(json.dumps(state))
    again = run_raer(agent, cfg, out=out, progress=False, log=lambda m: None)
    assert _kb_ids(res.kb_dir)[0] == n_after and again.rows[1]["added"] == added
    assert again.rows[1]["war"] == res.rows[1]["war"]


def test_kb_from_another_encoder_is_refused(agent, tmp_path):
    import dataclasses

    other = tmp_path / "otherkb"
    with KnowledgeBase.create(other, text_dim=384, encoders={"text": "minilm"}) as kb:
        kb.add([KBEntry(id="x", text="x", label="happy", text_emb=np.ones(384, np.float32))])
    foreign = dataclasses.replace(agent, kb_path=other)
    with pytest.raises(InputError, match="text encoder 'minilm'"):
        run_raer(foreign, GrowthConfig(dataset="meld", epochs=0, limit=5), out=tmp_path / "o", progress=False,
                 log=lambda m: None)


def test_explicit_split_is_used_and_every_scored_pass_writes_its_predictions(agent, tmp_path):
    """An explicit (pool, scored) pair (e.g. a fold's held-out speakers): only those are scored, the pool grows the
    KB without its labels, and each pass's per-sample predictions land in OUT/predictions_<pass>.jsonl."""
    from affectagent.raer.growth import run_growth
    from affectagent.metrics.evaluate import score_predictions

    samples = datasets.load("meld", "dev", limit=60)
    pool, scored = partition_by_group(samples, fraction=0.5, seed=1)
    encode = corpus_encoder(agent, "meld", "dev")
    reasoner = NeuralRAER(pipeline=agent.pipeline, config=RAERConfig(epsilon=0.9))
    cfg = GrowthConfig(dataset="meld", split="dev", epochs=1, raer=RAERConfig(epsilon=0.9))
    res = run_growth(cfg, reasoner=reasoner, kb_src=agent.kb_path, norm=agent.checkpoint.norm, encode=encode,
                     score=lambda s, p: score_predictions(s, p, dataset="meld"), out=tmp_path / "split",
                     baseline=lambda x, s: run_inference(agent.pipeline, list(x), progress=False),
                     split=(pool, scored), progress=False, log=lambda m: None)
    assert res.baseline["n"] == len(scored) and all(r["n"] == len(scored) for r in res.rows)
    for tag in ("baseline", "epoch0", "epoch1"):
        rows = [json.loads(line) for line in (tmp_path / "split" / f"predictions_{tag}.jsonl").read_text().splitlines()]
        assert [r["id"] for r in rows] == [s.id for s in scored]
        assert [r["gold"] for r in rows] == [s.label for s in scored] and all(r["label"] for r in rows)
    with KnowledgeBase.open(res.kb_dir, read_only=True) as kb:
        grown = [e for e in kb.get([s.id for s in pool]) if e.source == "raer"]
        assert not any(s.id in kb for s in scored)
    assert len(grown) == res.rows[1]["added"] > 0
