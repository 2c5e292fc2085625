"""The three LLM roles over a scripted backend: what they send, what they record, how fallbacks surface."""
import logging

from affectagent.llm.cues import render_cues
from affectagent.llm.prompts import Candidate
from affectagent.llm.evidence_filter import LLMFilter
from affectagent.llm.generator import LLMGenerator
from affectagent.llm.planner import LLMPlanner
from affectagent.llm.roles import Sampling
from affectagent.schema import Features, ModalityMask, Sample

from .scripted import ScriptedBackend

MELD = ("neutral", "happy", "surprise", "angry", "sad", "disgust", "fear")
CUES = render_cues(sample=Sample(id="u", text="Oh my God, you got the job!", speaker="Monica"),
                   features=Features(mask=ModalityMask(text=True)))


def test_planner_records_prompt_output_parse_and_tokens():
    b = ScriptedBackend({"planner": "support: happy\nconfusion: surprise\ncounter: negative"})
    plan, rec = LLMPlanner(b, Sampling(max_tokens=20, seed=3))(cues=CUES, labels=MELD)
    assert (plan.support, plan.confusion, plan.counter_sentiment) == ("happy", "surprise", "negative")
    [(role, msgs, max_tokens)] = b.calls
    assert role == "planner" and max_tokens == 20 and "you got the job" in msgs[1].content
    assert rec.role == "planner" and rec.raw.startswith("support: happy") and rec.fallback is None
    assert rec.parsed["support"] == "happy" and rec.prompt_chars == sum(len(m.content) for m in msgs)
    assert rec.prompt_tokens == sum(len(m.content.split()) for m in msgs) and rec.completion_tokens == 6
    assert rec.messages is None and "messages" not in rec.to_dict()


def test_planner_truncated_output_is_a_logged_fallback(caplog):
    b = ScriptedBackend({"planner": "support: hap"}, finish_reason={"planner": "length"})
    plan, rec = LLMPlanner(b, keep_messages=True)(cues=CUES, labels=MELD)
    assert plan.support is None and plan.truncated and "truncated" in rec.fallback
    assert rec.finish_reason == "length" and rec.to_dict()["messages"][0]["role"] == "system"
    assert any("planner" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_filter_budget_grows_with_candidates_and_decisions_apply():
    cands = [Candidate(label="happy", text=f"example {i}") for i in range(9)]
    b = ScriptedBackend({"filter": "\n".join(f"{i}: {'keep' if i % 2 else 'drop'}" for i in range(1, 10))})
    filt, rec = LLMFilter(b, Sampling(max_tokens=16))(cues=CUES, candidates=cands, hypothesis="happy")
    assert b.calls[0][2] == 4 * 9 + 8
    assert filt.keep == tuple(bool(i % 2) for i in range(1, 10)) and rec.fallback is None
    assert "9. [happy] example 8" in b.calls[0][1][1].content


def test_generator_uses_default_label_when_the_answer_is_unusable(caplog):
    b = ScriptedBackend({"generator": "I cannot determine this."})
    gen, rec = LLMGenerator(b)(cues=CUES, labels=MELD, evidence=[], default_label="surprise")
    assert gen.label == "surprise" and not gen.label_given and "default_label:surprise" in rec.fallback
    assert rec.raw == "I cannot determine this."
    assert "Similar examples" not in b.calls[0][1][1].content
    b = ScriptedBackend({"generator": "label: joy\nemotions: thrilled\nsentiment: positive\nrationale: good news"})
    gen, rec = LLMGenerator(b, max_words=1)(cues=CUES, labels=MELD,
                                            evidence=[Candidate(label="happy", text="We won!")])
    assert (gen.label, gen.ov_words, rec.fallback) == ("happy", ("thrilled",), None)
    assert "1. [happy] We won!" in b.calls[0][1][1].content
