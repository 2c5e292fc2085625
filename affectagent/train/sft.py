"""SFT warm start of the shared actor (+ RAAF/MB-MoE) from labelled data (AffectAgent §3.5).

Three stages, so that training sees the same kind of retrieval as inference:
  A. out-of-fold planner: train the trunk + planner head on k−1 folds, predict the held-out fold (support = top-1,
     confusion = top-2 hypothesis). Training-set plans are therefore as fallible as test-time plans.
  B. retrieval cache: run the (fixed) retriever once per training sample with its out-of-fold plan; the sample itself and
     its own dialogue are excluded (``EncodedInput.exclude``).
  C. joint SFT of every role: planner (gold as support), filter (keep evidence that agrees with gold), generator (gold
     label + sentiment), MB-MoE load balance; the generator sees the filter's own keep decisions, as at inference.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..agents.actor import ActorConfig, SharedActor
from ..agents.observation import FeatureSpec
from ..pipeline import AffectAgentPipeline, PipelineConfig
from ..schema import (
    CANONICAL_EMOTIONS,
    EncodedInput,
    Evidence,
    EvidenceSource,
    FeatureNorm,
    QueryPlan,
    counter_sentiment,
)
from .sft_loss import SFTLossWeights, sft_loss


@dataclass
class EncodedCorpus:
    """Encoded, labelled training/evaluation items. gold: (N,) canonical label index; gold_sentiment: (N,) −1 = unknown."""

    inputs: list[EncodedInput]
    gold: np.ndarray
    gold_sentiment: np.ndarray
    source: list[str]

    def __len__(self) -> int:
        return len(self.inputs)

    def subset(self, idx: Sequence[int]) -> "EncodedCorpus":
        idx = list(idx)
        return EncodedCorpus(inputs=[self.inputs[i] for i in idx], gold=self.gold[idx],
                             gold_sentiment=self.gold_sentiment[idx], source=[self.source[i] for i in idx])

    @staticmethod
    def concat(parts: Sequence["EncodedCorpus"]) -> "EncodedCorpus":
        return EncodedCorpus(inputs=[x for p in parts for x in p.inputs], gold=np.concatenate([p.gold for p in parts]),
                             gold_sentiment=np.concatenate([p.gold_sentiment for p in parts]),
                             source=[s for p in parts for s in p.source])


@dataclass(frozen=True)
class SFTConfig:
    """SFT settings (``affectagent train sft`` options are the scalar fields).

    epochs: joint-stage (C) epochs.
    planner_epochs: stage-A epochs per fold.
    oof_folds: folds for out-of-fold plans (1 = use in-sample plans, faster but optimistic).
    batch_size: samples per step.
    lr: AdamW (peak one-cycle) learning rate.
    weight_decay: AdamW weight decay.
    seed: everything random.
    actor: the shared actor's architecture.
    pipeline: the pipeline variant trained.
    weights: the SFT loss weights.
    """

    epochs: int = 5
    planner_epochs: int = 3
    oof_folds: int = 2
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-2
    seed: int = 0
    actor: ActorConfig = field(default_factory=ActorConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    weights: SFTLossWeights = field(default_factory=SFTLossWeights)

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.planner_epochs < 0 or self.oof_folds < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs/planner_epochs >= 0, oof_folds >= 1, batch_size >= 1, lr > 0 required")


@dataclass
class RetrievalCache:
    plans: list[QueryPlan]
    evidence: list[list[Evidence]]
    perceptual: list[tuple[list[Evidence], list[Evidence]]]


def _batches(n: int, size: int, rng: np.random.Generator, shuffle: bool = True) -> list[np.ndarray]:
    order = rng.permutation(n) if shuffle else np.arange(n)
    return [order[i:i + size] for i in range(0, n, size)]


def _optimizer(actor: SharedActor, cfg: SFTConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(actor.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _train_planner(corpus: EncodedCorpus, *, spec: FeatureSpec, norm: FeatureNorm, cfg: SFTConfig,
                   rng: np.random.Generator, desc: str) -> AffectAgentPipeline:
    """Stage A: trunk + planner + generator without evidence (no retrieval)."""
    actor = SharedActor(spec=spec, config=cfg.actor)
    pipe = AffectAgentPipeline(actor=actor, norm=norm, source=None,
                               config=replace(cfg.pipeline, use_retrieval=False, use_filter=False))
    opt = _optimizer(actor, cfg)
    w = replace(cfg.weights, plan=1.0, filter=0.0)
    for _ in tqdm(range(cfg.planner_epochs), desc=desc, leave=False):
        actor.train()
        for idx in _batches(len(corpus), cfg.batch_size, rng):
            sub = [corpus.inputs[i] for i in idx]
            run = pipe.run(sub)
            loss = sft_loss(run, gold=torch.from_numpy(corpus.gold[idx]),
                            gold_sentiment=torch.from_numpy(corpus.gold_sentiment[idx]), weights=w)
            opt.zero_grad()
            loss.total.backward()
            opt.step()
    actor.eval()
    return pipe


@torch.no_grad()
def predict_plans(pipe: AffectAgentPipeline, inputs: Sequence[EncodedInput], batch_size: int = 256) -> list[QueryPlan]:
    out: list[QueryPlan] = []
    planner_pipe = pipe.with_config(replace(pipe.config, use_retrieval=False, use_planner=True))
    for i in range(0, len(inputs), batch_size):
        sub = inputs[i:i + batch_size]
        run = planner_pipe.run(sub)
        out.extend(pipe.plans_from(run.plan, len(sub)))
    return out


def out_of_fold_plans(corpus: EncodedCorpus, *, spec: FeatureSpec, norm: FeatureNorm, cfg: SFTConfig,
                      rng: np.random.Generator) -> list[QueryPlan]:
    n = len(corpus)
    if not cfg.pipeline.use_planner:
        return [QueryPlan(None, None, None, plain=True) for _ in range(n)]
    folds = np.array_split(rng.permutation(n), cfg.oof_folds) if cfg.oof_folds > 1 else [np.arange(n)]
    plans: list[QueryPlan | None] = [None] * n
    for f, held in enumerate(folds):
        train_idx = np.setdiff1d(np.arange(n), held) if cfg.oof_folds > 1 else held
        pipe = _train_planner(corpus.subset(train_idx), spec=spec, norm=norm, cfg=cfg, rng=rng,
                              desc=f"SFT stage A: planner fold {f + 1}/{len(folds)}")
        for i, plan in zip(held, predict_plans(pipe, [corpus.inputs[i] for i in held])):
            plans[i] = plan
    return [p for p in plans if p is not None]


def build_retrieval_cache(pipe: AffectAgentPipeline, corpus: EncodedCorpus, plans: Sequence[QueryPlan], *,
                          progress: bool = True, desc: str = "SFT stage B: retrieval") -> RetrievalCache:
    evidence: list[list[Evidence]] = []
    perceptual: list[tuple[list[Evidence], list[Evidence]]] = []
    step = 256
    for i in tqdm(range(0, len(corpus), step), desc=desc, disable=not progress, unit_scale=step):
        sub = corpus.inputs[i:i + step]
        evidence.extend(pipe.retrieve_cognitive(sub, plans[i:i + step]))
        perceptual.extend(pipe.retrieve_perceptual(sub, plans[i:i + step]))
    return RetrievalCache(plans=list(plans), evidence=evidence, perceptual=perceptual)


@dataclass
class SFTResult:
    actor: SharedActor
    history: list[dict[str, float]]


def train_sft(
    corpus: EncodedCorpus, *, source: EvidenceSource | None, spec: FeatureSpec, norm: FeatureNorm, config: SFTConfig,
    on_epoch: Callable[[int, AffectAgentPipeline], dict[str, float]] | None = None, progress: bool = True,
    init: SharedActor | None = None,
) -> SFTResult:
    """Runs stages A–C. ``on_epoch(epoch, pipeline)`` may evaluate on dev and returns metrics to log."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    cfg_pipe = config.pipeline
    plans = out_of_fold_plans(corpus, spec=spec, norm=norm, cfg=config, rng=rng)
    actor = init if init is not None else SharedActor(spec=spec, config=config.actor)
    pipe = AffectAgentPipeline(actor=actor, norm=norm, source=source, config=cfg_pipe)
    cache = build_retrieval_cache(pipe, corpus, plans, progress=progress)
    opt = _optimizer(actor, config)
    n_steps = max(1, config.epochs * math.ceil(len(corpus) / config.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=n_steps, pct_start=0.1)
    history: list[dict[str, float]] = []
    for epoch in range(config.epochs):
        actor.train()
        sums = {"loss": 0.0, "plan": 0.0, "filter": 0.0, "generate": 0.0, "sentiment": 0.0, "acc": 0.0}
        batches = _batches(len(corpus), config.batch_size, rng)
        bar = tqdm(batches, desc=f"SFT stage C: epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
        for idx in bar:
            sub = [corpus.inputs[i] for i in idx]
            run = pipe.run(sub, plans_override=[cache.plans[i] for i in idx],
                           evidence_override=[cache.evidence[i] for i in idx],
                           perceptual_override=[cache.perceptual[i] for i in idx])
            gold = torch.from_numpy(corpus.gold[idx])
            loss = sft_loss(run, gold=gold, gold_sentiment=torch.from_numpy(corpus.gold_sentiment[idx]),
                            weights=config.weights)
            opt.zero_grad()
            loss.total.backward()
            torch.nn.utils.clip_grad_norm_(actor.parameters(), 1.0)
            opt.step()
            sched.step()
            k = len(idx)
            sums["loss"] += float(loss.total.detach()) * k
            for name in ("plan", "filter", "generate", "sentiment"):
                sums[name] += float(getattr(loss, name).detach()) * k
            sums["acc"] += float((run.gen.probs.argmax(-1) == gold).float().sum())
            bar.set_postfix(loss=f"{float(loss.total.detach()):.3f}")
        row = {k: v / len(corpus) for k, v in sums.items()}
        row["epoch"] = epoch + 1
        actor.eval()
        if on_epoch is not None:
            row.update(on_epoch(epoch + 1, pipe))
        history.append(row)
    actor.eval()
    return SFTResult(actor=actor, history=history)


@torch.no_grad()
def run_inference(pipe: AffectAgentPipeline, inputs: Sequence[EncodedInput], *, batch_size: int = 128,
                  progress: bool = False, with_trace: bool = False, desc: str = "predict") -> list:
    """Predictions for encoded inputs, in batches, with live planning and retrieval."""
    pipe.actor.eval()
    preds = []
    for i in tqdm(range(0, len(inputs), batch_size), desc=desc, disable=not progress, unit_scale=batch_size):
        sub = list(inputs[i:i + batch_size])
        run = pipe.run(sub)
        preds.extend(pipe.predictions(sub, run, with_trace=with_trace))
    return preds


def canonical_index(labels: Sequence[str]) -> np.ndarray:
    return np.array([CANONICAL_EMOTIONS.index(x) for x in labels], np.int64)


__all__ = ["EncodedCorpus", "SFTConfig", "SFTResult", "train_sft", "run_inference", "counter_sentiment",
           "canonical_index", "RetrievalCache", "build_retrieval_cache", "out_of_fold_plans"]
