"""Pipeline logic with a small in-memory evidence source (the KB itself is tested in tests/kb)."""
import numpy as np
import torch

from affectagent.agents.actor import ActorConfig, SharedActor
from affectagent.pipeline import AffectAgentPipeline, PipelineConfig
from affectagent.schema import EncodedInput, FeatureNorm, Features, ModalityMask, Role, counter_sentiment

from .agents.helpers import SPEC, ListSource


def _pipeline(config=PipelineConfig(top_k=2)):
    rng = np.random.default_rng(0)
    items = [(f"kb{i}", lab, rng.normal(size=8).astype(np.float32))
             for i, lab in enumerate(["happy", "sad", "angry", "neutral"] * 3)]
    torch.manual_seed(0)
    actor = SharedActor(spec=SPEC, config=ActorConfig(dim=16, heads=2, dropout=0.0)).eval()
    return AffectAgentPipeline(actor=actor, norm=FeatureNorm(), source=ListSource(items), config=config)


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
    for p, plan in zip(preds, run.plans):
        assert not plan.plain and plan.support in ("happy", "sad", "angry", "neutral")
        assert p.label in ("happy", "sad", "angry", "neutral")
        assert abs(sum(p.probs.values()) - 1) < 1e-5
        kinds = {c["kind"] for c in p.trace["candidates"]}
        assert "support" in kinds and "confusion" in kinds
        assert all(c["id"] != "kb0" for c in p.trace["candidates"])  # excluded id never comes back
        assert all(e.id in p.rationale for e in p.evidence[:5])
        assert p.trace["filled"]["audio"] is True  # audio missing -> filled from the perceptual neighbour


def test_ablation_switches():
    inputs = _inputs()
    no_rag = _pipeline(PipelineConfig(use_retrieval=False))
    with torch.no_grad():
        run = no_rag.run(inputs)
    assert all(len(e) == 0 for e in run.evidence) and run.filt is None and not run.fused.filled_audio.any()
    naive = _pipeline(PipelineConfig(top_k=2, use_planner=False, use_filter=False))
    with torch.no_grad():
        run = naive.run(inputs)
    assert run.plan is None and run.filt is None
    assert all(p.plain for p in run.plans) and all(e.kind == "plain" for g in run.evidence for e in g)
    no_conf = _pipeline(PipelineConfig(top_k=2, use_confusion=False, use_counter=False))
    with torch.no_grad():
        run = no_conf.run(inputs)
    assert all(e.kind == "support" for g in run.evidence for e in g)


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
