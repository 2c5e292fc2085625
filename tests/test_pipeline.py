"""Pipeline logic over a tiny real KB behind the production retriever (``ListSource``; the KB itself is tested in
tests/kb)."""
import numpy as np
import torch

from affectagent.agents.actor import ActorConfig, SharedActor
from affectagent.pipeline import AffectAgentPipeline, PipelineConfig
from affectagent.schema import (
    EMOTION_SENTIMENT,
    SENTIMENT_SIGN,
    EncodedInput,
    FeatureNorm,
    Features,
    ModalityMask,
    Role,
    counter_sentiment,
)

from .agents.helpers import SPEC, ListSource, perceptual_vector

ITEM_LABELS = ["happy", "sad", "angry", "neutral"] * 3


def _items():
    rng = np.random.default_rng(0)
    return [(f"kb{i}", lab, rng.normal(size=8).astype(np.float32)) for i, lab in enumerate(ITEM_LABELS)]


def _pipeline(config=PipelineConfig(top_k=2)):
    torch.manual_seed(0)
    actor = SharedActor(spec=SPEC, config=ActorConfig(dim=16, heads=2, dropout=0.0)).eval()
    return AffectAgentPipeline(actor=actor, norm=FeatureNorm(), source=ListSource(_items()), config=config)


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def _exemplar_ids(label, k, dim, exclude):
    """Hand-rolled missing-modality completion: the label's stored vectors nearest to their normalised mean."""
    rows = [(i, _unit(perceptual_vector(i, lab, dim))) for i, lab, _ in _items() if lab == label]
    c = _unit(np.mean([v for _, v in rows], axis=0))
    ranked = sorted(((float(v @ c), i) for i, v in rows if i not in exclude), reverse=True)
    return [i for _, i in ranked[:k]]


def _inputs(n=2):
    rng = np.random.default_rng(1)
    return [EncodedInput(sample_id=f"s{i}", features=Features(text_emb=rng.normal(size=8).astype(np.float32),
                                                                 mask=ModalityMask(text=True)),
                         ctx_emb=None, label_set=("happy", "sad", "angry", "neutral"), exclude=frozenset({"kb0"}),
                         text="hello") for i in range(n)]


def test_counter_sentiment():
    assert counter_sentiment("happy") == "negative" and counter_sentiment("sad") == "positive"
    assert counter_sentiment("neutral") is None


def test_full_run_plans_retrieves_filters_and_cites_evidence():
    pipe = _pipeline()
    inputs = _inputs()
    with torch.no_grad():
        run = pipe.run(inputs)
    preds = pipe.predictions(inputs, run, with_trace=True)
    assert len(preds) == len(run.plans) == 2
    for p, plan, ev in zip(preds, run.plans, run.evidence):
        assert not plan.plain and plan.support in ("happy", "sad", "angry", "neutral")
        assert plan.counter_sentiment == counter_sentiment(plan.support)
        assert p.label in ("happy", "sad", "angry", "neutral")
        assert abs(sum(p.probs.values()) - 1) < 1e-5
        # the production groups, top_k = 2 each: support = label h; confusion = any other label; counter = the
        # opposite valence (both signs for a neutral h), never label h
        by_kind = {k: [e for e in ev if e.kind == k] for k in ("support", "confusion", "counter")}
        assert [c["kind"] for c in p.trace["candidates"]] == [e.kind for e in ev]
        assert len(by_kind["support"]) == len(by_kind["confusion"]) == len(by_kind["counter"]) == 2
        assert all(e.label == plan.support for e in by_kind["support"])
        assert all(e.label != plan.support for e in by_kind["confusion"] + by_kind["counter"])
        s = SENTIMENT_SIGN[EMOTION_SENTIMENT[plan.support]]
        want = {-s} if s else {-1, 1}
        assert all(SENTIMENT_SIGN[EMOTION_SENTIMENT[e.label]] in want for e in by_kind["counter"])
        assert all(c["id"] != "kb0" for c in p.trace["candidates"])  # excluded id never comes back
        kept = [c["id"] for c in p.trace["candidates"] if c["keep"]]
        assert [e.id for e in p.evidence] == kept   # the generator sees exactly what the filter kept
        assert f"Evidence kept {len(kept)}" in p.rationale if kept else "No retrieved evidence" in p.rationale
        # a text-only input without completion gets no perceptual neighbours, so nothing is filled
        assert p.trace["perceptual"] == {"audio": [], "visual": []}
        assert p.trace["filled"] == {"audio": False, "visual": False}
    assert pipe.source.perceptual_calls == [None, None]


def test_missing_modality_completion_fills_from_the_planners_exemplars():
    pipe = _pipeline(PipelineConfig(top_k=2, perceptual_k=2, complete_missing=True))
    inputs = _inputs()
    with torch.no_grad():
        run = pipe.run(inputs)
    preds = pipe.predictions(inputs, run, with_trace=True)
    assert pipe.source.perceptual_calls == [plan.support for plan in run.plans]
    assert len(preds) == 2
    for i, (p, plan) in enumerate(zip(preds, run.plans)):
        want_a = _exemplar_ids(plan.support, 2, SPEC.audio_dim, exclude={"kb0"})
        want_v = _exemplar_ids(plan.support, 2, SPEC.face_dim, exclude={"kb0"})
        assert len(want_a) == 2
        assert [e["id"] for e in p.trace["perceptual"]["audio"]] == want_a
        assert [e["id"] for e in p.trace["perceptual"]["visual"]] == want_v
        assert {e["label"] for e in p.trace["perceptual"]["audio"]} == {plan.support}
        assert p.trace["filled"] == {"audio": True, "visual": True}
        # RAAF's neighbour tokens are the retrieved stored vectors (unit norm, scaled by sqrt(D))
        lab = dict((j, lab) for j, lab, _ in _items())
        expect = np.stack([_unit(perceptual_vector(j, lab[j], SPEC.audio_dim)) for j in want_a]) * np.sqrt(SPEC.audio_dim)
        np.testing.assert_allclose(run.perc.audio[i].numpy(), expect, rtol=1e-5, atol=1e-6)
        assert run.perc.audio_mask[i].tolist() == [True, True]
    assert run.fused.filled_audio.all() and run.fused.filled_visual.all()
    # the same run without completion: nothing retrieved, nothing filled
    off = pipe.with_config(PipelineConfig(top_k=2, perceptual_k=2))
    with torch.no_grad():
        run_off = off.run(inputs)
    assert not run_off.fused.filled_audio.any() and not run_off.fused.filled_visual.any()
    assert run_off.perceptual == [([], []), ([], [])]


def test_ablation_switches():
    inputs = _inputs()
    # No-RAG: the KB is never queried, so even with completion on nothing is filled
    no_rag = _pipeline(PipelineConfig(use_retrieval=False, complete_missing=True))
    with torch.no_grad():
        run = no_rag.run(inputs)
    assert all(len(e) == 0 for e in run.evidence) and run.filt is None and not run.fused.filled_audio.any()
    assert no_rag.source.calls == [] and no_rag.source.perceptual_calls == []
    naive = _pipeline(PipelineConfig(top_k=2, use_planner=False, use_filter=False))
    with torch.no_grad():
        run = naive.run(inputs)
    assert run.plan is None and run.filt is None
    assert all(p.plain for p in run.plans) and all(e.kind == "plain" for g in run.evidence for e in g)
    no_conf = _pipeline(PipelineConfig(top_k=2, use_confusion=False, use_counter=False))
    with torch.no_grad():
        run = no_conf.run(inputs)
    assert all(e.kind == "support" for g in run.evidence for e in g)
    assert [len(g) for g in run.evidence] == [2, 2]


def test_without_filter_every_candidate_is_kept_and_cited():
    pipe = _pipeline(PipelineConfig(top_k=2, use_filter=False))
    inputs = _inputs()
    with torch.no_grad():
        run = pipe.run(inputs)
    preds = pipe.predictions(inputs, run)
    assert run.filt is None and len(preds) == 2
    for p, ev in zip(preds, run.evidence):
        assert len(ev) == 6 and [e.id for e in p.evidence] == [e.id for e in ev]
        assert "Evidence kept 6 (dropped 0)" in p.rationale
        agree = [e for e in ev if e.label == p.label]
        cited = (agree + [e for e in ev if e.label != p.label])[:5]
        assert all(f"[{e.id}]" in p.rationale for e in cited)


def test_stored_actions_reproduce_log_probs():
    pipe = _pipeline()
    inputs = _inputs(3)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        run = pipe.run(inputs, sample=True, generator=g)
        again = pipe.run(inputs, plans_override=run.plans, evidence_override=run.evidence,
                         perceptual_override=run.perceptual,
                         actions={Role.PLANNER: (run.plan.support, run.plan.confusion), Role.FILTER: run.filt.keep,
                                  Role.GENERATOR: run.gen.label})
    assert torch.allclose(run.plan.log_prob, again.plan.log_prob)
    assert torch.allclose(run.filt.log_prob, again.filt.log_prob)
    assert torch.allclose(run.gen.log_prob, again.gen.log_prob)
