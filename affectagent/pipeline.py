"""AffectAgent: plan → retrieve → filter → RAAF → MB-MoE → generate (AffectAgent §3, Fig. 2).

``AffectAgentPipeline.run(...)`` processes a batch of already-encoded samples and returns every intermediate artefact
(queries, candidates, keep decisions, routing weights, gates, log-probs) in a ``BatchRun``; SFT and MAPPO train on
those records, ``predict`` turns them into ``Prediction`` objects with a trace. The retriever is part of the environment
(``EvidenceSource``), never trained.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import torch

from .agents.actor import FusionOut, SharedActor
from .agents.evidence_filter import FilterAction, explain_filter, filter_action
from .agents.generator import (GenerateAction, describe_branch, describe_face, describe_voice, generate_action,
                               nothing_perceived_note, open_vocabulary_set, rationale, speech_note)
from .agents.layers import branch_weight
from .agents.observation import (
    BRANCHES,
    LABEL_INDEX,
    EvidenceBatch,
    Observation,
    PerceptualBatch,
    build_evidence_batch,
    build_observation,
    build_perceptual_batch,
    input_branch_probs,
)
from .agents.planner import PlanAction, explain_plan, plan_action, query_plans
from .encoders.face_pooling import pooled_face
from .kb.vectors import face_vector, query_vector
from .schema import (
    SENTIMENTS,
    EncodedInput,
    Evidence,
    EvidenceSource,
    FeatureNorm,
    Prediction,
    QueryPlan,
    Role,
)


@dataclass(frozen=True)
class PipelineConfig:
    """Switches and sizes of one AffectAgent run (also the ablation switches of the paper's Tables 4–5).

    top_k: evidence items per query group (paper: TopK per group). perceptual_k: audio-visual neighbours for RAAF.
    use_retrieval: False = No-RAG (the generator sees no evidence and RAAF gets no neighbours).
    use_planner: False = the planner is replaced by a plain similarity query (3·top_k items, kind "plain").
    use_filter: False = every candidate is passed on (filter bypassed).
    use_confusion / use_counter: include the confusion / counter query groups.
    use_raaf / use_moe: fusion modules on/off. context_turns: previous utterances used as dialogue context.
    complete_missing: RAAF's missing-modality completion — an absent audio / visual input is stood in for by the KB's
    exemplars of the planner's hypothesis (nearest entries to that label's centroid); off by default because a model
    must be trained with it (``bench/study.py`` does) to use the filled tokens well.
    """

    top_k: int = 5
    perceptual_k: int = 3
    use_retrieval: bool = True
    use_planner: bool = True
    use_filter: bool = True
    use_confusion: bool = True
    use_counter: bool = True
    use_raaf: bool = True
    use_moe: bool = True
    context_turns: int = 3
    complete_missing: bool = False

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.perceptual_k < 0 or self.context_turns < 0:
            raise ValueError("top_k must be >= 1; perceptual_k and context_turns >= 0")

    @staticmethod
    def variant(name: str) -> "PipelineConfig":
        """Named ablation settings used by bench/ablation.py and the study."""
        variants = {
            "full": PipelineConfig(),
            "no_rag": PipelineConfig(use_retrieval=False),
            "naive_rag": PipelineConfig(use_planner=False, use_filter=False),
            "no_planner": PipelineConfig(use_planner=False),
            "no_filter": PipelineConfig(use_filter=False),
            "no_confusion": PipelineConfig(use_confusion=False),
            "no_counter": PipelineConfig(use_counter=False),
            "no_raaf": PipelineConfig(use_raaf=False),
            "no_moe": PipelineConfig(use_moe=False),
        }
        if name not in variants:
            raise ValueError(f"unknown pipeline variant {name!r}; known: {', '.join(variants)}")
        return variants[name]


@dataclass
class BatchRun:
    """Everything one pass produced. Tensors are batch-first (B = len(inputs))."""

    obs: Observation
    plan: PlanAction | None
    plans: list[QueryPlan]
    evidence: list[list[Evidence]]
    ev: EvidenceBatch
    filt: FilterAction | None
    perc: PerceptualBatch
    perceptual: list[tuple[list[Evidence], list[Evidence]]]
    fused: FusionOut
    gen: GenerateAction
    sent_logits: torch.Tensor
    ev_attention: torch.Tensor
    state: torch.Tensor


@dataclass
class AffectAgentPipeline:
    actor: SharedActor
    norm: FeatureNorm
    source: EvidenceSource | None
    config: PipelineConfig = field(default_factory=PipelineConfig)

    def with_config(self, config: PipelineConfig) -> "AffectAgentPipeline":
        return replace(self, config=config)

    # ---- stages ------------------------------------------------------------------------------------------------
    def observe(self, inputs: Sequence[EncodedInput]) -> Observation:
        return build_observation([x.features for x in inputs], ctx_embs=[x.ctx_emb for x in inputs],
                                 label_sets=[x.label_set for x in inputs], spec=self.actor.spec, norm=self.norm)

    def retrieve_cognitive(self, inputs: Sequence[EncodedInput], plans: Sequence[QueryPlan]) -> list[list[Evidence]]:
        cfg = self.config
        if not cfg.use_retrieval or self.source is None:
            return [[] for _ in inputs]
        out = []
        for x, plan in zip(inputs, plans):
            q, modality = query_vector(x.features)
            if q is None:
                out.append([])
                continue
            out.append(self.source.cognitive(query=q, modality=modality, plan=plan, top_k=cfg.top_k,
                                             use_confusion=cfg.use_confusion, use_counter=cfg.use_counter,
                                             exclude=x.exclude))
        return out

    def retrieve_perceptual(self, inputs: Sequence[EncodedInput],
                            plans: Sequence[QueryPlan] | None = None) -> list[tuple[list[Evidence], list[Evidence]]]:
        cfg = self.config
        if not cfg.use_retrieval or self.source is None or cfg.perceptual_k == 0:
            return [([], []) for _ in inputs]
        out = []
        for i, x in enumerate(inputs):
            plan = plans[i] if plans is not None else None
            hint = plan.support if cfg.complete_missing and plan is not None and not plan.plain else None
            kw = {"complete": hint} if hint else {}
            out.append(self.source.perceptual(audio=x.features.audio_emb, visual=face_vector(x.features),
                                              k=cfg.perceptual_k, exclude=x.exclude, **kw))
        return out

    def plans_from(self, plan: PlanAction | None, n: int) -> list[QueryPlan]:
        return query_plans(plan if self.config.use_planner else None, n)

    # ---- one pass ----------------------------------------------------------------------------------------------
    def run(
        self, inputs: Sequence[EncodedInput], *, sample: bool = False, generator: torch.Generator | None = None,
        plans_override: Sequence[QueryPlan] | None = None, evidence_override: Sequence[Sequence[Evidence]] | None = None,
        perceptual_override: Sequence[tuple[list[Evidence], list[Evidence]]] | None = None,
        actions: dict[str, Any] | None = None,
    ) -> BatchRun:
        """``*_override`` inject precomputed retrieval (training caches it); ``actions`` re-evaluates stored actions (PPO)."""
        cfg = self.config
        obs = self.observe(inputs)
        h = self.actor.state(obs)
        face = obs.fseq_mask.any(1)  # selects the branch weights (``agents/layers.branch_term``)
        plan = None
        if cfg.use_planner:
            acts = None if actions is None else actions.get(Role.PLANNER)
            plan = plan_action(self.actor.plan_logits(h, obs.cand, obs.branch, face), sample=sample, actions=acts,
                               generator=generator)
        plans = list(plans_override) if plans_override is not None else self.plans_from(plan, len(inputs))
        evidence = ([list(e) for e in evidence_override] if evidence_override is not None
                    else self.retrieve_cognitive(inputs, plans))
        ev = build_evidence_batch(evidence, text_dim=self.actor.spec.text_dim)
        filt = None
        keep = ev.mask
        if cfg.use_filter and cfg.use_retrieval:
            support = (plan.support if plan is not None else
                       torch.tensor([LABEL_INDEX.get(p.support or "", -1) for p in plans]))
            acts = None if actions is None else actions.get(Role.FILTER)
            filt = filter_action(self.actor.filter_logits(h, ev, support), ev.mask, sample=sample, actions=acts,
                                 generator=generator)
            keep = filt.keep
        perceptual = (list(perceptual_override) if perceptual_override is not None
                      else self.retrieve_perceptual(inputs, plans))
        perc = build_perceptual_batch([[e.vector for e in a if e.vector is not None] for a, _ in perceptual],
                                      [[e.vector for e in v if e.vector is not None] for _, v in perceptual],
                                      spec=self.actor.spec, k=max(cfg.perceptual_k, 1))
        fused = self.actor.fuse(obs, perc, use_raaf=cfg.use_raaf and cfg.use_retrieval, use_moe=cfg.use_moe)
        gl, sl, attn = self.actor.generate_logits(h, ev, keep, fused, obs.cand, obs.branch, face)
        acts = None if actions is None else actions.get(Role.GENERATOR)
        gen = generate_action(gl, sample=sample, actions=acts, generator=generator)
        return BatchRun(obs=obs, plan=plan, plans=plans, evidence=evidence, ev=ev, filt=filt, perc=perc,
                        perceptual=perceptual, fused=fused, gen=gen, sent_logits=sl, ev_attention=attn, state=h)

    # ---- predictions -------------------------------------------------------------------------------------------
    def predictions(self, inputs: Sequence[EncodedInput], run: BatchRun, *, with_trace: bool = False) -> list[Prediction]:
        out = []
        keep = run.filt.keep if run.filt is not None else run.ev.mask
        sent_probs = run.sent_logits.softmax(-1)
        for i, x in enumerate(inputs):
            probs = {lab: float(run.gen.probs[i, LABEL_INDEX[lab]]) for lab in x.label_set}
            label = max(probs, key=probs.get)
            kept = [e for j, e in enumerate(run.evidence[i]) if bool(keep[i, j])]
            dropped = len(run.evidence[i]) - len(kept)
            f = x.features
            expr = (pooled_face(f.face_seq)[:7].tolist() if f.face_seq is not None and len(f.face_seq) else None)
            n_face = len(f.face_seq) if f.face_seq is not None else 0
            face = bool(run.obs.fseq_mask[i].any())
            voice_weight = branch_weight(self.actor.generator, BRANCHES.index("audio"), face)
            cues = [c for c in (describe_face(expr, n_face), describe_voice(f.info.get("audio_stats")),
                                describe_branch(f.branch_probs.get("audio"), x.label_set,
                                                weighed=voice_weight != 0)) if c]
            filled = [m for m, flag in (("audio", run.fused.filled_audio[i]), ("visual", run.fused.filled_visual[i])) if bool(flag)]
            routing = run.fused.routing[i].tolist() if self.config.use_moe else None
            text = x.text or f.transcript
            pred = Prediction(
                sample_id=x.sample_id, label=label, probs=probs,
                sentiment=SENTIMENTS[int(sent_probs[i].argmax())],
                ov_set=open_vocabulary_set(probs),
                rationale=rationale(label=label, probs=probs, text=text, cues=cues, kept=kept, dropped=dropped,
                                    routing=routing, filled=filled,
                                    notes=[n for n in (nothing_perceived_note(f, text), speech_note(f)) if n]),
                evidence=tuple(kept),
            )
            if with_trace:
                branch_probs = input_branch_probs(f)
                pred.trace = self.trace(i, run)
                pred.trace["transcript"] = f.transcript  # what ASR heard (None without speech or with a text given)
                pred.trace["branches"] = {m: {"probs": {k: round(v, 4) for k, v in p.items()},
                                              "gain": {role: round(branch_weight(head, j, face), 4)
                                                       for role, head in (("planner", self.actor.planner),
                                                                          ("generator", self.actor.generator))}}
                                          for j, m in enumerate(BRANCHES) if (p := branch_probs.get(m))}
                pred.trace["speech"] = {k: f.info[k] for k in ("speech_language", "transcript_skipped",
                                                               "transcript_dropped", "transcript_logprob",
                                                               "speaker_norm") if k in f.info}
            out.append(pred)
        return out

    def trace(self, i: int, run: BatchRun) -> dict[str, Any]:
        keep = run.filt.keep if run.filt is not None else run.ev.mask
        a, v = run.perceptual[i]
        return {
            "config": asdict(self.config),
            "planner": explain_plan(run.plan, i),
            "queries": asdict(run.plans[i]),
            "candidates": explain_filter(run.evidence[i], keep[i], None if run.filt is None else run.filt.probs[i]),
            "perceptual": {"audio": [{"id": e.id, "label": e.label, "score": round(float(e.score), 4)} for e in a],
                           "visual": [{"id": e.id, "label": e.label, "score": round(float(e.score), 4)} for e in v]},
            "routing_weights": [round(float(w), 4) for w in run.fused.routing[i].tolist()],
            "raaf_gate": {"audio": round(float(run.fused.gate_audio[i]), 4), "visual": round(float(run.fused.gate_visual[i]), 4)},
            "filled": {"audio": bool(run.fused.filled_audio[i]), "visual": bool(run.fused.filled_visual[i])},
            "modalities": [m for m, on in (("text", run.obs.text_on[i]), ("audio", run.obs.audio_on[i]),
                                           ("visual", run.obs.visual_on[i])) if bool(on)],
        }
