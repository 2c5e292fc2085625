"""The AffectAgent loop with LLM agents: plan -> retrieve (same KB source as the neural agents) -> filter -> generate.

Variants (the study's three rows; same backbone, same KB, same prompts for the generator):
  no_rag    : generator only (zero-shot on the cues).
  naive_rag : one plain similarity query, top 3·top_k candidates, no planner, no filter, then the generator.
  full      : planner (support / confusion / counter) -> three query groups of top_k, listed by rank across groups
              (``retrieval.interleave_groups``) -> filter -> generator.

Probabilities: an LLM answer is one label, so ``Prediction.probs`` is 1.0 on the parsed label and 0 elsewhere (not a
calibrated distribution). Every role's prompt size, raw output, parse, fallback reason, tokens and seconds are in
``Prediction.trace["roles"]``.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

from tqdm.auto import tqdm

from ..agents.generator import nothing_perceived_note
from ..encoders import FeatureCache
from ..encoders.inputs import EncodingConfig, encode_inputs
from ..errors import InputError
from ..kb.retrieval import Retriever
from ..kb.vectors import query_vector
from ..schema import CANONICAL_EMOTIONS, EncodedInput, Evidence, Prediction, QueryPlan, Sample
from .backend import LLMBackend
from .cues import CueText, render_cues
from .evidence_filter import LLMFilter
from .generator import GenerationParse, LLMGenerator
from .planner import LLMPlanner
from .prompts import candidates_from, interleave_groups
from .roles import RoleRecord, Sampling

LLM_VARIANTS: tuple[str, ...] = ("no_rag", "naive_rag", "full")


@dataclass(frozen=True)
class LLMAgentConfig:
    """variant: no_rag | naive_rag | full. top_k: candidates per query group (naive RAG takes 3·top_k plain ones).
    context_turns: previous dialogue turns shown to the roles. *_tokens: output budget of each role.
    temperature / seed: decoding (0 = greedy). max_words: open-vocabulary words kept. evidence_chars: characters of
    each candidate's text shown. keep_messages: also store the full prompts in the trace. constrained_label: off |
    repair | always: take the generator's label from a constrained choice among the allowed labels when the parser
    had to repair it, or always (``llm.choice``; needs hf or a server with guided_choice)."""

    variant: str = "full"
    top_k: int = 3
    context_turns: int = 3
    planner_tokens: int = 32
    filter_tokens: int = 48
    generator_tokens: int = 48
    temperature: float = 0.0
    seed: int | None = 0
    max_words: int = 3
    evidence_chars: int = 160
    keep_messages: bool = False
    constrained_label: str = "off"

    def __post_init__(self) -> None:
        if self.variant not in LLM_VARIANTS:
            raise InputError(f"unknown LLM agent variant {self.variant!r}; known: {', '.join(LLM_VARIANTS)}")
        if self.top_k < 1 or self.context_turns < 0 or self.max_words < 1:
            raise InputError("top_k and max_words must be >= 1, context_turns >= 0")
        if min(self.planner_tokens, self.filter_tokens, self.generator_tokens) < 1:
            raise InputError("every role needs a token budget >= 1")

    @property
    def uses_retrieval(self) -> bool:
        return self.variant != "no_rag"


@dataclass
class _Step:
    """What one sample's pass produced (before it becomes a Prediction)."""

    cues: CueText
    plan: QueryPlan | None = None
    evidence: list[Evidence] = field(default_factory=list)
    keep: tuple[bool, ...] = ()
    gen: GenerationParse | None = None
    records: dict[str, RoleRecord] = field(default_factory=dict)


class LLMAffectAgent:
    """Three LLM roles sharing one backend, retrieving through ``source`` (a ``Retriever``)."""

    def __init__(self, *, backend: LLMBackend, source: Retriever | None, encoding: EncodingConfig,
                 config: LLMAgentConfig = LLMAgentConfig(), cache: FeatureCache | None = None,
                 default_labels: Sequence[str] = CANONICAL_EMOTIONS) -> None:
        if config.uses_retrieval and source is None:
            raise InputError(f"the {config.variant} variant needs an evidence knowledge base (none is loaded)")
        self.backend = backend
        self.source = source
        self.encoding = encoding
        self.config = config
        self.cache = cache
        self.default_labels = tuple(default_labels)
        s = dict(temperature=config.temperature, seed=config.seed)
        self.planner = LLMPlanner(backend, Sampling(config.planner_tokens, **s), keep_messages=config.keep_messages)
        self.filter = LLMFilter(backend, Sampling(config.filter_tokens, **s), keep_messages=config.keep_messages)
        self.generator = LLMGenerator(backend, Sampling(config.generator_tokens, **s), max_words=config.max_words,
                                      keep_messages=config.keep_messages, constrained_label=config.constrained_label)

    @classmethod
    def from_agent(cls, agent, *, backend: LLMBackend, config: LLMAgentConfig = LLMAgentConfig()) -> "LLMAffectAgent":
        """Share the KB source, encoders and feature cache of a loaded neural ``api.AffectAgent``."""
        return cls(backend=backend, source=agent.pipeline.source, encoding=agent.encoding, config=config,
                   cache=agent.cache, default_labels=agent.default_labels)

    def with_config(self, config: LLMAgentConfig) -> "LLMAffectAgent":
        return LLMAffectAgent(backend=self.backend, source=self.source, encoding=self.encoding, config=config,
                              cache=self.cache, default_labels=self.default_labels)

    # ---- entry points --------------------------------------------------------------------------------------------
    def encode(self, samples: Sequence[Sample], *, label_set: Sequence[str] | None = None,
               exclude_related: bool = False, transcribe: bool | None = None,
               progress: bool = False) -> list[EncodedInput]:
        """Features + KB exclusions (``exclude_related``: the leakage rule of ``encoding.leak_key``)."""
        labels = tuple(label_set) if label_set else self.default_labels
        bad = [x for x in labels if x not in CANONICAL_EMOTIONS]
        if bad:
            raise InputError(f"unknown labels {bad}; allowed: {', '.join(CANONICAL_EMOTIONS)}")
        ext = self.encoding.extract if transcribe is None else replace(self.encoding.extract, transcribe=transcribe)
        enc = replace(self.encoding, exclude_related=exclude_related, extract=ext)
        return encode_inputs(samples, label_sets=[labels] * len(samples), config=enc, cache=self.cache,
                             progress=progress)

    def predict(self, samples: Sequence[Sample], *, label_set: Sequence[str] | None = None,
                exclude_related: bool = False, transcribe: bool | None = None,
                progress: bool = False) -> list[Prediction]:
        inputs = self.encode(samples, label_set=label_set, exclude_related=exclude_related, transcribe=transcribe,
                             progress=progress)
        return self.predict_encoded(samples, inputs, progress=progress)

    def predict_encoded(self, samples: Sequence[Sample], inputs: Sequence[EncodedInput], *, progress: bool = False,
                        desc: str | None = None) -> list[Prediction]:
        if len(samples) != len(inputs):
            raise InputError("samples and encoded inputs differ in length")
        it = tqdm(list(zip(samples, inputs)), desc=desc or f"LLM agents ({self.config.variant})", disable=not progress,
                  unit="sample")
        return [self.run_one(s, x) for s, x in it]

    # ---- one sample ----------------------------------------------------------------------------------------------
    def run_one(self, sample: Sample, x: EncodedInput) -> Prediction:
        t0 = time.perf_counter()
        cfg = self.config
        labels = x.label_set
        step = _Step(cues=render_cues(sample=sample, features=x.features, context_turns=cfg.context_turns))
        if cfg.variant == "full":
            plan, rec = self.planner(cues=step.cues, labels=labels)
            step.records["planner"] = rec
            step.plan = QueryPlan(support=plan.support, confusion=plan.confusion,
                                  counter_sentiment=plan.counter_sentiment, plain=plan.support is None)
        elif cfg.variant == "naive_rag":
            step.plan = QueryPlan.plain_query()
        if step.plan is not None and self.source is not None:
            q, modality = query_vector(x.features)
            if q is not None:
                step.evidence = interleave_groups(self.source.cognitive(query=q, modality=modality, plan=step.plan,
                                                                        top_k=cfg.top_k, exclude=x.exclude))
        cands = candidates_from(step.evidence, max_chars=cfg.evidence_chars)
        step.keep = (True,) * len(cands)
        if cfg.variant == "full" and cands:
            filt, rec = self.filter(cues=step.cues, candidates=cands, hypothesis=step.plan.support)
            step.records["filter"] = rec
            step.keep = filt.keep
        kept = [c for c, k in zip(cands, step.keep) if k]
        hyp = step.plan.support if step.plan is not None else None
        step.gen, step.records["generator"] = self.generator(cues=step.cues, labels=labels, evidence=kept,
                                                             default_label=hyp)
        return self._prediction(x, step, seconds=time.perf_counter() - t0)

    def _prediction(self, x: EncodedInput, step: _Step, *, seconds: float) -> Prediction:
        gen = step.gen
        assert gen is not None
        kept = tuple(e for e, k in zip(step.evidence, step.keep) if k)
        rationale = gen.rationale or "(the model gave no rationale)"
        nothing = nothing_perceived_note(x.features, x.text or x.features.transcript)
        if nothing:
            rationale = f"{nothing} {rationale}"
        if step.evidence:
            cite = ", ".join(f"[{e.id}] {e.label}" for e in kept[:5])
            rationale += f" Evidence kept {len(kept)} of {len(step.evidence)}" + (f": {cite}." if cite else ".")
        pred = Prediction(sample_id=x.sample_id, label=gen.label,
                          probs={lab: float(lab == gen.label) for lab in x.label_set}, sentiment=gen.sentiment,
                          ov_set=gen.ov_words, rationale=rationale, evidence=kept)
        pred.trace = self._trace(x, step, seconds)
        return pred

    def _trace(self, x: EncodedInput, step: _Step, seconds: float) -> dict[str, Any]:
        recs = step.records
        present = list(x.features.mask.present())
        if step.cues.transcript and "text" not in present:
            present.insert(0, "text")
        return {
            "agents": "llm",
            "backend": getattr(self.backend, "name", type(self.backend).__name__),
            "variant": self.config.variant,
            "config": asdict(self.config),
            "cues": step.cues.render(),
            "modalities": present,
            "queries": asdict(step.plan) if step.plan is not None else None,
            "candidates": [{"id": e.id, "kind": e.kind, "label": e.label, "score": round(float(e.score), 4),
                            "keep": bool(k), "text": e.text} for e, k in zip(step.evidence, step.keep)],
            "roles": {name: r.to_dict() for name, r in recs.items()},
            "fallbacks": {name: r.fallback for name, r in recs.items() if r.fallback},
            "prompt_tokens": sum(r.prompt_tokens for r in recs.values()),
            "completion_tokens": sum(r.completion_tokens for r in recs.values()),
            "llm_seconds": round(sum(r.seconds for r in recs.values()), 3),
            "seconds": round(seconds, 3),
        }
