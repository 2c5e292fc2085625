"""Algorithm 1 (raer-sab.txt §3) around any ``LLMBackend``, over the agents' evidence knowledge base:

  1  Y = f(I, X)                   initial response: brief reasoning over the cues, then an allowed label
  2  {y_t} = Segment(f_Analyze(Y)) the model splits Y into ≤ T steps; ``segment.py`` parses them (logged fallbacks)
  3  for t = 1..T:
  4    R(y_{t-1})                  top-K nearest KB entries of y_{t-1}: y_0 = the input (its own feature query,
                                   ``kb.vectors.query_vector``, plus its audio / face neighbours); y_{t≥1} = the
                                   previous (refined) step's text, embedded with the KB's text encoder
  5    Detect(y_t, R(y_{t-1}))     measured by ``detect.detect`` (never asked of the model)
  6    y_t = f_CoT(y_t, R)         ambiguous steps are rewritten, shown the top-K of R(y_{t-1}) ∪ R(y_t) as
                                   "[label, similarity] text" (``ReasoningStep.original`` keeps the first text)
     final answer                  the generator's prompt + the refined steps -> label / open-vocabulary words /
                                   sentiment (``llm.generator.parse_generation``)
  9  Uncertainty(y) ≤ ε            logprob: 1 − p(the answer's label tokens) from the answer's token log-probs
                                   (backends without log-probs: agreement instead, said in ``notes``);
                                   agreement: 1 − share of k answers sampled at ``sample_temperature`` (seeded)
                                   that agree with the answer. ``gated`` = the KB may grow with the sample.

Calls per sample: 2 + (#ambiguous steps with evidence) + 1, plus k sampled answers for the agreement uncertainty.
``baseline`` is the same backbone answering zero-shot (the LLM agents' ``no_rag`` variant: one call).
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..encoders import FeatureCache, encode_texts
from ..encoders.inputs import EncodingConfig
from ..errors import InputError
from ..kb.retrieval import Retriever
from ..kb.vectors import face_vector, query_vector
from ..llm.backend import ChatMessage, Completion, LLMBackend
from ..llm.cues import CueText, render_cues
from ..llm.generator import GenerationParse, parse_generation
from ..llm.loop import LLMAffectAgent, LLMAgentConfig
from ..llm.parsing import Issues, extract_fields, first_label_in, label_field
from ..llm.prompts import candidates_from
from ..llm.roles import RoleRecord, Sampling, call_role, role_record
from ..schema import CANONICAL_EMOTIONS, EncodedInput, Evidence, Prediction, Sample
from .config import RAERConfig
from .detect import Detection, detect
from .neural import merge_evidence
from .prompts import analyze_messages, answer_messages, initial_messages, refine_messages
from .segment import (Segmentation, answer_label_span, is_echo, rewritten_step, segment, span_token_indices,
                      step_emotion, token_char_offsets)
from .steps import RAEROutcome, ReasoningStep
from .uncertainty import agreement_uncertainty, logprob_uncertainty

logger = logging.getLogger(__name__)

LLM_UNCERTAINTY: tuple[str, ...] = ("logprob", "agreement")


@dataclass(frozen=True)
class LLMRAERConfig:
    """Prompt sizes and token budgets of the LLM roles of Algorithm 1 (RAERConfig holds the algorithm's settings).

    initial_tokens: output budget of the initial response Y = f(I, X). analyze_tokens: of f_Analyze(Y) (the steps).
    refine_tokens: of each f_CoT rewrite of an ambiguous step. answer_tokens: of the final answer, of each sampled
    answer (agreement uncertainty) and of the zero-shot baseline. context_turns: previous dialogue turns shown.
    evidence_chars: characters of each labelled example's text shown to f_CoT. max_words: open-vocabulary words kept.
    seed: seed of the greedy calls; sampled answer j (from 1) uses seed + j. keep_messages: store the full prompts in
    the trace. progress: a progress bar over the samples of a batch.
    """

    initial_tokens: int = 64
    analyze_tokens: int = 80
    refine_tokens: int = 40
    answer_tokens: int = 48
    context_turns: int = 2
    evidence_chars: int = 120
    max_words: int = 3
    seed: int = 0
    keep_messages: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if min(self.initial_tokens, self.analyze_tokens, self.refine_tokens, self.answer_tokens) < 1:
            raise InputError("every RAER role needs a token budget >= 1")
        if self.context_turns < 0 or self.evidence_chars < 20 or self.max_words < 1:
            raise InputError("context_turns must be >= 0, evidence_chars >= 20 and max_words >= 1")


@dataclass(frozen=True)
class InitialParse:
    """Y: the initial response text and the label it ends on (None when it names none)."""

    text: str
    label: str | None
    fallback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RefineParse:
    """One f_CoT rewrite: the new step text ("" = unusable — empty, a copy of an example or of the cues, or the
    step unchanged — and the step is kept as it was) and the emotion it names."""

    step: int
    text: str
    emotion: str | None
    evidence_ids: tuple[str, ...]
    fallback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_initial(text: str, *, allowed: Sequence[str]) -> InitialParse:
    """Y's answer label: the ``answer:`` / ``label:`` field, else the last allowed label the text names."""
    issues = Issues("initial", text or "")
    body = (text or "").strip()
    if not body:
        issues.add("empty_output")
        return InitialParse(text="", label=None, fallback=issues.close())
    label = label_field(extract_fields(body).get("label"), allowed, issues, "answer")
    if label is None:
        named = [first_label_in(w, allowed) for w in body.split()]
        label = next((x for x in reversed(named) if x is not None), None)
        issues.add(f"answer_from_prose:{label}" if label else "no_answer_label")
    return InitialParse(text=body, label=label, fallback=issues.close())


@dataclass
class _Pass:
    """What one sample's pass accumulates: role records, notes, model calls."""

    records: dict[str, RoleRecord] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    calls: int = 0


class LLMRAER:
    """RAER with an LLM backbone; retrieves through ``retriever`` (the KB that grows). See the module docstring.

    reasoner = LLMRAER.from_agent(agent, backend=load_backend("hf", model="smollm2-135m"),
                                  config=RAERConfig(uncertainty="logprob"))
    [outcome] = reasoner.reason(inputs, samples)      # steps, evidence, ambiguity, rewrites, uncertainty, gate
    """

    def __init__(self, *, backend: LLMBackend, retriever: Retriever, encoding: EncodingConfig,
                 config: RAERConfig = RAERConfig(uncertainty="logprob"), llm_config: LLMRAERConfig = LLMRAERConfig(),
                 cache: FeatureCache | None = None, default_labels: Sequence[str] = CANONICAL_EMOTIONS) -> None:
        if not isinstance(retriever, Retriever):
            raise InputError("RAER needs the agents' evidence knowledge base (a Retriever source)")
        config = config.for_backbone("llm")
        if config.uncertainty not in LLM_UNCERTAINTY:
            raise InputError(f"an LLM backbone measures uncertainty by {' or '.join(LLM_UNCERTAINTY)}, "
                             f"not {config.uncertainty!r} (no label distribution)")
        self.backend = backend
        self.retriever = retriever
        self.encoding = encoding
        self.config = config
        self.llm_config = llm_config
        self.cache = cache
        self.default_labels = tuple(default_labels)
        self.name = f"llm:{getattr(backend, 'name', type(backend).__name__)}"

    @classmethod
    def from_agent(cls, agent, *, backend: LLMBackend, config: RAERConfig = RAERConfig(uncertainty="logprob"),
                   llm_config: LLMRAERConfig = LLMRAERConfig()) -> "LLMRAER":
        """Share the KB retriever, encoders and feature cache of a loaded ``api.AffectAgent``."""
        return cls(backend=backend, retriever=agent.pipeline.source, encoding=agent.encoding, config=config,
                   llm_config=llm_config, cache=agent.cache, default_labels=agent.default_labels)

    def with_retriever(self, retriever: Retriever) -> "LLMRAER":
        return LLMRAER(backend=self.backend, retriever=retriever, encoding=self.encoding, config=self.config,
                       llm_config=self.llm_config, cache=self.cache, default_labels=self.default_labels)

    # ---- entry points --------------------------------------------------------------------------------------------
    def reason(self, inputs: Sequence[EncodedInput], samples: Sequence[Sample] | None = None) -> list[RAEROutcome]:
        """One RAER pass per input. ``samples`` (same order) supply the dialogue context and speaker of the cues;
        without them the cues are the input's own text and features."""
        if samples is not None and len(samples) != len(inputs):
            raise InputError("samples and encoded inputs differ in length")
        smp = list(samples) if samples is not None else [Sample(id=x.sample_id, text=x.text) for x in inputs]
        it = tqdm(list(zip(inputs, smp)), desc=f"RAER ({self.name})", unit="sample",
                  disable=not self.llm_config.progress or len(inputs) < 2)
        return [self.reason_one(x, s) for x, s in it]

    def baseline(self, inputs: Sequence[EncodedInput], samples: Sequence[Sample]) -> list[Prediction]:
        """The same backbone without RAER: the LLM agents' zero-shot ``no_rag`` generator (one call per sample)."""
        lc = self.llm_config
        agent = LLMAffectAgent(backend=self.backend, source=self.retriever, encoding=self.encoding,
                               config=LLMAgentConfig(variant="no_rag", context_turns=lc.context_turns,
                                                     generator_tokens=lc.answer_tokens, seed=lc.seed,
                                                     max_words=lc.max_words, keep_messages=lc.keep_messages),
                               cache=self.cache, default_labels=self.default_labels)
        return agent.predict_encoded(list(samples), list(inputs), progress=lc.progress and len(inputs) > 1,
                                     desc=f"w/o RAER ({self.name})")

    # ---- one sample ----------------------------------------------------------------------------------------------
    def reason_one(self, x: EncodedInput, sample: Sample) -> RAEROutcome:
        t0 = time.perf_counter()
        labels = tuple(x.label_set) or self.default_labels
        cues = render_cues(sample=sample, features=x.features, context_turns=self.llm_config.context_turns)
        run = _Pass()
        initial = self._initial(cues, labels, run)
        seg = self._segment(initial, labels, run)
        steps = [ReasoningStep(kind=s.kind, text=s.text, emotion=s.emotion) for s in seg.steps]
        used = self._check_and_refine(x, cues, labels, steps, run)
        default = next((s.emotion for s in reversed(steps) if s.emotion in labels), initial.label)
        gen, answer_msgs, out = self._answer(cues, labels, steps, default, run)
        u, method = self._uncertainty(out, gen, answer_msgs, labels, default, run)
        pred = Prediction(sample_id=x.sample_id, label=gen.label,
                          probs={lab: float(lab == gen.label) for lab in labels}, sentiment=gen.sentiment,
                          ov_set=gen.ov_words, evidence=tuple(used))
        outcome = RAEROutcome(prediction=pred, steps=steps, uncertainty=u, uncertainty_method=method,
                              gated=u <= self.config.epsilon, llm_calls=run.calls, notes=run.notes)
        pred.rationale = ("Reasoning: " + outcome.rationale() + " Decision: "
                          + (gen.rationale or "(the model gave no rationale)"))
        pred.trace = self._trace(x, cues, initial, seg, outcome, run, time.perf_counter() - t0)
        return outcome

    def _call(self, messages: list[ChatMessage], max_tokens: int, run: _Pass, *,
              temperature: float = 0.0, seed: int | None = None) -> Completion:
        run.calls += 1
        return call_role(self.backend, messages, Sampling(max_tokens, temperature=temperature,
                                                          seed=self.llm_config.seed if seed is None else seed))

    def _record(self, name: str, messages: list[ChatMessage], out: Completion, parsed, run: _Pass) -> None:
        run.records[name] = role_record(name, messages, out, parsed, self.llm_config.keep_messages)
        if parsed.fallback:
            run.notes.append(f"{name}: {parsed.fallback}")

    # 1: Y = f(I, X)
    def _initial(self, cues: CueText, labels: Sequence[str], run: _Pass) -> InitialParse:
        msgs = initial_messages(cues=cues, labels=labels)
        out = self._call(msgs, self.llm_config.initial_tokens, run)
        parsed = parse_initial(out.text, allowed=labels)
        self._record("initial", msgs, out, parsed, run)
        return parsed

    # 2: Segment(f_Analyze(Y))
    def _segment(self, initial: InitialParse, labels: Sequence[str], run: _Pass) -> Segmentation:
        T = self.config.max_steps
        if not initial.text:  # nothing to analyse: no call
            seg = segment("", allowed=labels, max_steps=T, fallback_text="")
            run.notes.append(f"analyze: skipped, the initial response is empty ({seg.fallback})")
            return seg
        msgs = analyze_messages(response=initial.text, labels=labels, max_steps=T)
        out = self._call(msgs, self.llm_config.analyze_tokens, run)
        seg = segment(out.text, allowed=labels, max_steps=T, fallback_text=initial.text)
        self._record("analyze", msgs, out, seg, run)
        return seg

    # 3-8: retrieve, detect, regenerate
    def _nearest(self, query: np.ndarray | None, modality: str, x: EncodedInput) -> list[Evidence]:
        if query is None:
            return []
        return self.retriever.nearest(query=query, modality=modality, k=self.config.top_k, exclude=x.exclude)

    def _embed(self, text: str) -> np.ndarray:
        return encode_texts([text], encoder=self.encoding.extract.text_encoder, cache=self.cache)[0]

    def _detect(self, emotion: str | None, evidence: Sequence[Evidence]) -> Detection:
        c = self.config
        return detect(emotion, evidence, min_agreement=c.min_agreement, min_similarity=c.min_similarity,
                      temperature=c.vote_temperature)

    def _check_and_refine(self, x: EncodedInput, cues: CueText, labels: Sequence[str], steps: list[ReasoningStep],
                          run: _Pass) -> list[Evidence]:
        """Lines 3-8 for every step; returns the evidence the steps used (checked against or shown)."""
        k = self.config.top_k
        query, modality = query_vector(x.features)                      # y_0 = the input
        audio, face = self.retriever.perceptual(audio=x.features.audio_emb, visual=face_vector(x.features), k=k,
                                                exclude=x.exclude)
        used: list[Evidence] = []
        for t, step in enumerate(steps):
            ev = merge_evidence(self._nearest(query, modality, x), audio, face) if t == 0 else \
                self._nearest(query, modality, x)
            step.evidence = tuple(ev)
            step.detection = self._detect(step.emotion, ev)
            used = merge_evidence(used, ev)
            own = None
            if step.ambiguous:
                own = self._embed(step.text)
                shown = sorted(merge_evidence(ev, self._nearest(own, "text", x)), key=lambda e: -e.score)[:k]
                if shown:
                    used = merge_evidence(used, shown)
                    if self._refine(t, step, shown, cues, labels, run):
                        own = None  # the text changed: embed the rewrite
                else:
                    run.notes.append(f"step {t + 1} is ambiguous ({step.detection.reason}) but no evidence was "
                                     "retrieved to re-reason with: kept as is")
            if t + 1 < len(steps):                                     # y_t is the next step's query
                query, modality = (own if own is not None else self._embed(step.text)), "text"
        return used

    def _refine(self, t: int, step: ReasoningStep, shown: Sequence[Evidence], cues: CueText,
                labels: Sequence[str], run: _Pass) -> bool:
        """f_CoT(y_t, R): rewrite the step with the evidence in the prompt; False when the rewrite is unusable."""
        lc = self.llm_config
        msgs = refine_messages(cues=cues, step=step.text, labels=labels,
                               evidence=candidates_from(shown, max_chars=lc.evidence_chars))
        out = self._call(msgs, lc.refine_tokens, run)
        text = rewritten_step(out.text)
        issues = Issues("refine", out.text or "")
        if not text:
            issues.add("empty_output" if not (out.text or "").strip() else "no_step")
        elif is_echo(text, [e.text for e in shown] + [cues.render()]):
            issues.add("copied_an_example_or_the_cues")
            text = ""
        elif " ".join(text.split()).lower() == " ".join(step.text.split()).lower():
            issues.add("unchanged")
            text = ""
        if not text:
            issues.add("step_kept")
        parsed = RefineParse(step=t + 1, text=text, emotion=step_emotion(text, labels) if text else None,
                             evidence_ids=tuple(e.id for e in shown), fallback=issues.close())
        self._record(f"refine_{t + 1}", msgs, out, parsed, run)
        if not text:
            return False
        step.original, step.text, step.emotion, step.regenerated = step.text, text, parsed.emotion, True
        return True

    # final answer
    def _answer(self, cues: CueText, labels: Sequence[str], steps: Sequence[ReasoningStep], default: str | None,
                run: _Pass) -> tuple[GenerationParse, list[ChatMessage], Completion]:
        msgs = answer_messages(cues=cues, labels=labels, steps=[(s.kind, s.text) for s in steps])
        out = self._call(msgs, self.llm_config.answer_tokens, run)
        gen = self._parse_answer(out, labels, default)
        self._record("answer", msgs, out, gen, run)
        return gen, msgs, out

    def _parse_answer(self, out: Completion, labels: Sequence[str], default: str | None) -> GenerationParse:
        return parse_generation(out.text, allowed=labels, default_label=default,
                                truncated=out.finish_reason == "length", max_words=self.llm_config.max_words)

    # 9: Uncertainty(y)
    def _uncertainty(self, out: Completion, gen: GenerationParse, msgs: list[ChatMessage], labels: Sequence[str],
                     default: str | None, run: _Pass) -> tuple[float, str]:
        method = self.config.uncertainty
        if method == "logprob":
            if out.token_logprobs:
                return self._label_logprob(out, gen, run), "logprob"
            k = max(self.config.samples, 1)
            run.notes.append(f"{self.name} gave no token log-probs: uncertainty by agreement over {k} sampled answers")
            logger.warning("RAER: %s gives no token log-probs; using agreement over %d samples", self.name, k)
        answers = []
        for j in range(1, max(self.config.samples, 1) + 1):
            out_j = self._call(msgs, self.llm_config.answer_tokens, run,
                               temperature=self.config.sample_temperature, seed=self.llm_config.seed + j)
            p = self._parse_answer(out_j, labels, default)
            self._record(f"sample_{j}", msgs, out_j, p, run)
            answers.append(None if "default_label" in (p.fallback or "") else p.label)
        return agreement_uncertainty(gen.label, answers), "agreement"

    def _label_logprob(self, out: Completion, gen: GenerationParse, run: _Pass) -> float:
        """logprob_uncertainty of the generated tokens that spell the answer's label (1 when the text never names
        it, i.e. the label was a default)."""
        span = answer_label_span(out.text, gen.label)
        if span is None:
            run.notes.append(f"the answer never names {gen.label} (a default): logprob uncertainty 1")
            return 1.0
        lps = list(out.token_logprobs or [])
        offsets, how = token_char_offsets(out.text, len(lps), tokenizer=getattr(self.backend, "tokenizer", None))
        if how == "proportional":
            run.notes.append("label tokens located by character share (the tokens could not be re-aligned)")
        idx = span_token_indices(offsets, span)
        return logprob_uncertainty([lps[i] for i in idx])

    def _trace(self, x: EncodedInput, cues: CueText, initial: InitialParse, seg: Segmentation, o: RAEROutcome,
               run: _Pass, seconds: float) -> dict[str, Any]:
        recs = run.records
        return {
            "agents": "llm",
            "backend": getattr(self.backend, "name", type(self.backend).__name__),
            "variant": "raer",
            "config": {"raer": asdict(self.config), "llm": asdict(self.llm_config)},
            "cues": cues.render(),
            "initial_response": initial.text,
            "segmentation": seg.source,
            "raer": o.trace(),
            "roles": {name: r.to_dict() for name, r in recs.items()},
            "fallbacks": {name: r.fallback for name, r in recs.items() if r.fallback},
            "prompt_tokens": sum(r.prompt_tokens for r in recs.values()),
            "completion_tokens": sum(r.completion_tokens for r in recs.values()),
            "llm_seconds": round(sum(r.seconds for r in recs.values()), 3),
            "seconds": round(seconds, 3),
        }
