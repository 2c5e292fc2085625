"""Tiny SFT smoke run: all three stages execute, parameters change, and a learnable synthetic task is learned."""
import numpy as np
import torch

from affectagent.agents.actor import ActorConfig
from affectagent.pipeline import AffectAgentPipeline, PipelineConfig
from affectagent.schema import CANONICAL_EMOTIONS, EncodedInput, FeatureNorm, Features, ModalityMask
from affectagent.train.sft import EncodedCorpus, SFTConfig, run_inference, train_sft

from ..agents.helpers import SPEC, ListSource

LABELS = ("happy", "sad", "angry", "neutral")


def _corpus(n, seed):
    rng = np.random.default_rng(seed)
    centers = np.eye(8, dtype=np.float32)[:4] * 3
    gold = rng.integers(0, 4, n)
    inputs = [EncodedInput(sample_id=f"x{seed}_{i}",
                           features=Features(text_emb=(centers[g] + rng.normal(size=8)).astype(np.float32),
                                             mask=ModalityMask(text=True)),
                           ctx_emb=None, label_set=LABELS, exclude=frozenset({f"x{seed}_{i}"}))
              for i, g in enumerate(gold)]
    return EncodedCorpus(inputs=inputs, gold=np.array([CANONICAL_EMOTIONS.index(LABELS[g]) for g in gold]),
                         gold_sentiment=np.full(n, -1), source=["toy"] * n)


def test_sft_smoke_changes_parameters_and_learns():
    train = _corpus(160, 0)
    kb = ListSource([(x.sample_id, CANONICAL_EMOTIONS[g], x.features.text_emb / np.linalg.norm(x.features.text_emb))
                     for x, g in zip(train.inputs, train.gold)])
    cfg = SFTConfig(epochs=4, planner_epochs=2, oof_folds=2, batch_size=32, lr=3e-3,
                    actor=ActorConfig(dim=16, heads=2, dropout=0.0), pipeline=PipelineConfig(top_k=2, perceptual_k=0))
    torch.manual_seed(0)
    from affectagent.agents.actor import SharedActor
    init = SharedActor(spec=SPEC, config=cfg.actor)
    before = {k: v.clone() for k, v in init.state_dict().items()}
    res = train_sft(train, source=kb, spec=SPEC, norm=FeatureNorm(), config=cfg, progress=False, init=init)
    changed = [k for k, v in res.actor.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("planner.") for k in changed)
    assert any(k.startswith("evidence_filter.") for k in changed)
    assert any(k.startswith("generator.") for k in changed)
    assert res.history[-1]["loss"] < res.history[0]["loss"]
    dev = _corpus(80, 1)
    pipe = AffectAgentPipeline(actor=res.actor, norm=FeatureNorm(), source=kb, config=cfg.pipeline)
    preds = run_inference(pipe, dev.inputs)
    acc = np.mean([p.label == CANONICAL_EMOTIONS[g] for p, g in zip(preds, dev.gold)])
    assert acc > 0.6  # chance is 0.25
