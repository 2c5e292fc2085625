"""Algorithm 1 around the neural agents. Their "steps" are the structured trace of one pass:

  y_1 hypothesis : the planner's supportive label h            R(y_0) = the input's K nearest KB entries
  y_2 evidence   : the evidence the filter kept for h's groups   R(y_1) = the support / confusion / counter groups of h
                   (asserts h; checked against what was kept)
  y_3 conclusion : the generator's label y                       R(y_2) = kept evidence ∪ the input's neighbours
Detect (``detect.py``) measures each step against its evidence. When a step is ambiguous the conclusion is
regenerated — the generator is re-run with the retrieved evidence (kept evidence ∪ neighbours, filter bypassed) —
and its answer replaces the first one. Uncertainty = ``config.uncertainty`` (max_prob or entropy) of the final label
distribution; the sample is gated for knowledge-base growth when it is ≤ ε.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import torch

from ..errors import InputError
from ..kb.retrieval import Retriever
from ..kb.vectors import query_vector
from ..pipeline import AffectAgentPipeline, BatchRun
from ..schema import EncodedInput, Evidence, Prediction, Sample
from .config import RAERConfig
from .detect import detect, label_distribution
from .steps import RAEROutcome, ReasoningStep
from .uncertainty import entropy_uncertainty, max_prob_uncertainty

NEURAL_UNCERTAINTY = ("max_prob", "entropy")


def merge_evidence(*groups: Sequence[Evidence]) -> list[Evidence]:
    """Union by id, first occurrence kept, order preserved."""
    seen: set[str] = set()
    out = []
    for g in groups:
        for e in g:
            if e.id not in seen:
                seen.add(e.id)
                out.append(e)
    return out


class NeuralRAER:
    """RAER over an ``AffectAgentPipeline`` whose source is a ``Retriever`` (the KB that grows)."""

    name = "neural"

    def __init__(self, *, pipeline: AffectAgentPipeline, config: RAERConfig = RAERConfig()) -> None:
        if not isinstance(pipeline.source, Retriever):
            raise InputError("RAER needs the agents' evidence knowledge base (a Retriever source)")
        config = config.for_backbone("neural")
        if config.uncertainty not in NEURAL_UNCERTAINTY:
            raise InputError(f"the neural agents measure uncertainty by {' or '.join(NEURAL_UNCERTAINTY)}, "
                             f"not {config.uncertainty!r}")
        self.pipeline = pipeline
        self.config = config

    @property
    def retriever(self) -> Retriever:
        return self.pipeline.source  # type: ignore[return-value]

    def with_retriever(self, retriever: Retriever) -> "NeuralRAER":
        return NeuralRAER(pipeline=replace(self.pipeline, source=retriever), config=self.config)

    def _detect(self, emotion: str | None, evidence: Sequence[Evidence]):
        c = self.config
        return detect(emotion, evidence, min_agreement=c.min_agreement, min_similarity=c.min_similarity,
                      temperature=c.vote_temperature)

    def _uncertainty(self, probs: dict[str, float]) -> float:
        return (max_prob_uncertainty(probs) if self.config.uncertainty == "max_prob"
                else entropy_uncertainty(probs))

    def _steps(self, x: EncodedInput, i: int, run: BatchRun, pred: Prediction) -> tuple[list[ReasoningStep], list[Evidence]]:
        k = self.config.top_k
        q, modality = query_vector(x.features)
        neighbours = (self.retriever.nearest(query=q, modality=modality, k=k, exclude=x.exclude)
                      if q is not None else [])
        plan = run.plans[i]
        keep = run.filt.keep[i] if run.filt is not None else run.ev.mask[i]
        candidates = run.evidence[i]
        kept = [e for j, e in enumerate(candidates) if bool(keep[j])]
        h = plan.support if not plan.plain else None
        hp = pred.trace["planner"]["probs"].get(h, 0.0) if h and pred.trace and pred.trace.get("planner") else None
        near = label_distribution(neighbours, temperature=self.config.vote_temperature)
        near_top = max(near, key=near.get) if near else None
        s1 = ReasoningStep(kind="hypothesis", emotion=h, evidence=tuple(neighbours), text=(
            f"the input suggests {h}" + (f" (planner p={hp:.2f})" if hp is not None else "")
            + (f"; its {len(neighbours)} nearest KB entries mostly say {near_top}" if near_top else "")
            if h else "no hypothesis (plain retrieval)"))
        s1.detection = self._detect(h, neighbours)
        by_kind = {kind: sum(1 for e in kept if e.kind == kind) for kind in ("support", "confusion", "counter", "plain")}
        kept_dist = label_distribution(kept, temperature=self.config.vote_temperature)
        kept_top = max(kept_dist, key=kept_dist.get) if kept_dist else None
        s2 = ReasoningStep(kind="evidence", emotion=h, evidence=tuple(kept), text=(
            f"kept {len(kept)} of {len(candidates)} retrieved items ("
            + ", ".join(f"{n} {kind}" for kind, n in by_kind.items() if n) + ")"
            + (f"; the kept evidence favours {kept_top}" if kept_top else "")))
        s2.detection = self._detect(h, kept) if kept else None
        pooled = merge_evidence(kept, neighbours)
        s3 = ReasoningStep(kind="conclusion", emotion=pred.label, evidence=tuple(pooled),
                           text=f"{pred.label} (p={pred.probs.get(pred.label, 0.0):.2f})")
        s3.detection = self._detect(pred.label, pooled)
        return [s1, s2, s3], pooled

    def reason(self, inputs: Sequence[EncodedInput], samples: Sequence[Sample] | None = None) -> list[RAEROutcome]:
        """One RAER pass over a batch (``samples`` unused; the LLM reasoner needs them)."""
        if not inputs:
            return []
        pipe = self.pipeline
        with torch.no_grad():
            run = pipe.run(inputs)
        preds = pipe.predictions(inputs, run, with_trace=True)
        steps, pooled = zip(*[self._steps(x, i, run, p) for i, (x, p) in enumerate(zip(inputs, preds))])
        redo = [i for i, st in enumerate(steps) if any(s.ambiguous for s in st) and pooled[i]]
        if redo:
            regen = pipe.with_config(replace(pipe.config, use_filter=False))
            sub = [inputs[i] for i in redo]
            with torch.no_grad():
                run2 = regen.run(sub, plans_override=[run.plans[i] for i in redo],
                                 evidence_override=[pooled[i] for i in redo],
                                 perceptual_override=[run.perceptual[i] for i in redo])
            for i, p2 in zip(redo, regen.predictions(sub, run2, with_trace=True)):
                s3 = steps[i][-1]
                s3.original, s3.regenerated = s3.text, True
                s3.text = (f"{p2.label} (p={p2.probs.get(p2.label, 0.0):.2f}) after re-reading "
                           f"{len(pooled[i])} retrieved items; first answer {s3.emotion}")
                s3.emotion = p2.label
                p2.trace = {**(p2.trace or {}), "first_pass": preds[i].trace}
                preds[i] = p2
        out = []
        for pred, st in zip(preds, steps):
            u = self._uncertainty(pred.probs)
            o = RAEROutcome(prediction=pred, steps=list(st), uncertainty=u, uncertainty_method=self.config.uncertainty,
                            gated=u <= self.config.epsilon)
            pred.rationale = "Reasoning: " + o.rationale() + " Decision: " + pred.rationale
            pred.trace = {**(pred.trace or {}), "raer": o.trace()}
            out.append(o)
        return out
