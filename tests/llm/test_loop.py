"""The LLM AffectAgent loop (no_rag / naive_rag / full) on a tiny real checkpoint + KB with a scripted backend, and
one pass of the full loop with the real packaged Qwen 0.5B model."""
import logging

import pytest

from affectagent import datasets
from affectagent.api import AffectAgent
from affectagent.errors import InputError
from affectagent.llm.loop import LLMAffectAgent, LLMAgentConfig
from affectagent.schema import EMOTION_SENTIMENT, SENTIMENT_SIGN

from .scripted import ScriptedBackend

MELD = ("neutral", "happy", "surprise", "angry", "sad", "disgust", "fear")
GEN = "label: anger\nemotions: annoyed, frustrated\nsentiment: negative\nrationale: He snaps at Ross."


@pytest.fixture(scope="module")
def agent(tiny_checkpoint):
    return AffectAgent.load(tiny_checkpoint, log=lambda m: None)


@pytest.fixture(scope="module")
def dev():
    samples = datasets.load("meld", "dev", limit=30)
    return [s for s in samples if s.context][:2]


def _llm(agent, backend, variant, **kw):
    return LLMAffectAgent.from_agent(agent, backend=backend, config=LLMAgentConfig(variant=variant, **kw))


def test_no_rag_calls_only_the_generator(agent, dev):
    b = ScriptedBackend({"generator": GEN})
    preds = _llm(agent, b, "no_rag").predict(dev, label_set=MELD)
    assert [c[0] for c in b.calls] == ["generator", "generator"]
    p = preds[0]
    assert p.sample_id == dev[0].id and p.label == "angry" and p.sentiment == "negative"
    assert p.ov_set == ("annoyed", "frustrated") and p.probs == {k: float(k == "angry") for k in MELD}
    assert p.evidence == () and p.trace["candidates"] == [] and p.trace["queries"] is None
    assert set(p.trace["roles"]) == {"generator"} and p.trace["roles"]["generator"]["raw"] == GEN
    assert "He snaps at Ross." in p.rationale and dev[0].text.split()[0] in b.calls[0][1][1].content
    assert p.trace["prompt_tokens"] > 0 and p.trace["fallbacks"] == {}


def test_naive_rag_passes_plain_top_3k_to_the_generator(agent, dev):
    b = ScriptedBackend({"generator": GEN})
    [p] = _llm(agent, b, "naive_rag", top_k=2).predict(dev[:1], label_set=MELD)
    cands = p.trace["candidates"]
    assert len(cands) == 6 and {c["kind"] for c in cands} == {"plain"} and all(c["keep"] for c in cands)
    assert [c[0] for c in b.calls] == ["generator"] and len(p.evidence) == 6
    prompt = b.calls[0][1][1].content
    assert "6. [" in prompt and "7. [" not in prompt
    assert all(c["id"] != dev[0].id for c in cands)


def test_full_loop_plans_retrieves_three_groups_filters_and_generates(agent, dev):
    b = ScriptedBackend({"planner": "support: surprise\nconfusion: happy\ncounter: negative",
                         "filter": "1: keep\n2: drop\n3: drop\n4: keep\n5: drop\n6: drop\n7: keep\n8: drop\n9: drop",
                         "generator": GEN})
    [p] = _llm(agent, b, "full", top_k=3).predict(dev[:1], label_set=MELD)
    assert [c[0] for c in b.calls] == ["planner", "filter", "generator"]
    assert p.trace["queries"] == {"support": "surprise", "confusion": "happy", "counter_sentiment": "negative",
                                  "plain": False}
    cands = p.trace["candidates"]
    kinds = [c["kind"] for c in cands]
    assert kinds == ["support", "confusion", "counter"] * 3  # best of each group first
    assert all(c["label"] == "surprise" for c in cands if c["kind"] == "support")
    for kind in ("support", "confusion", "counter"):
        scores = [c["score"] for c in cands if c["kind"] == kind]
        assert scores == sorted(scores, reverse=True)
    # the planner chose the negative side for its neutral-valence hypothesis: counter evidence is all negative
    assert all(SENTIMENT_SIGN[EMOTION_SENTIMENT[c["label"]]] == -1 for c in cands if c["kind"] == "counter")
    assert [c["keep"] for c in cands] == [True, False, False, True, False, False, True, False, False]
    assert [e.id for e in p.evidence] == [cands[i]["id"] for i in (0, 3, 6)]
    gen_prompt = b.calls[2][1][1].content
    assert "3. [" in gen_prompt and "4. [" not in gen_prompt and "Evidence kept 3 of 9" in p.rationale
    roles = p.trace["roles"]
    assert set(roles) == {"planner", "filter", "generator"} and all(r["fallback"] is None for r in roles.values())
    assert list(roles["filter"]["parsed"]["keep"]) == [c["keep"] for c in cands]


def test_full_loop_with_a_broken_planner_falls_back_to_a_plain_query(agent, dev, caplog):
    b = ScriptedBackend({"planner": "", "filter": "1: keep", "generator": "label: ???"})
    [p] = _llm(agent, b, "full", top_k=2).predict(dev[:1], label_set=MELD)
    assert p.trace["queries"]["plain"] and {c["kind"] for c in p.trace["candidates"]} == {"plain"}
    fb = p.trace["fallbacks"]
    assert fb["planner"] == "empty_output" and fb["filter"].startswith("missing_decisions:2,3,4,5,6")
    assert "default_label:neutral" in fb["generator"] and p.label == "neutral"
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3


def test_dialogue_mates_never_retrieve_each_other(agent):
    train = [s for s in datasets.load("meld", "train", limit=60) if s.text]
    by_dia: dict[str, list] = {}
    for s in train:
        by_dia.setdefault(s.id.rsplit("_", 1)[0], []).append(s)
    mates = next(v for v in by_dia.values() if len(v) >= 3)[:3]
    b = ScriptedBackend({"generator": GEN})
    preds = _llm(agent, b, "naive_rag", top_k=5).predict(mates, label_set=MELD, exclude_related=True)
    ids = {s.id for s in mates}
    for p in preds:
        assert not ids & {c["id"] for c in p.trace["candidates"]}


def test_bad_config_and_missing_kb(agent):
    with pytest.raises(InputError, match="unknown LLM agent variant"):
        LLMAgentConfig(variant="no_planner")
    with pytest.raises(InputError, match="needs an evidence knowledge base"):
        LLMAffectAgent(backend=ScriptedBackend({}), source=None, encoding=agent.encoding,
                       config=LLMAgentConfig(variant="full"))
    with pytest.raises(InputError, match="unknown labels"):
        _llm(agent, ScriptedBackend({}), "no_rag").predict([], label_set=["happy", "joyish"])


@pytest.fixture(scope="module")
def qwen_small():
    from .qwen_model import qwen_backend

    return qwen_backend()  # skips when the packaged parts are not installed


def test_full_loop_with_the_real_qwen_0_5b(agent, dev, qwen_small):
    llm = _llm(agent, qwen_small, "full", top_k=2, planner_tokens=24, filter_tokens=16, generator_tokens=40)
    [p] = llm.predict(dev[:1], label_set=MELD)
    roles = p.trace["roles"]
    assert set(roles) == {"planner", "filter", "generator"}
    for r in roles.values():
        assert r["raw"].strip() and r["completion_tokens"] > 0 and r["prompt_tokens"] > r["completion_tokens"]
    assert p.label in MELD and p.sentiment in ("negative", "neutral", "positive") and p.ov_set
    assert p.trace["backend"].startswith("hf:") and len(p.trace["candidates"]) == 6
