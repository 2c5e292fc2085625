"""Arena contestants: the registry and its names, the neural agents answering every task kind on the tiny real
checkpoint (MERG declined), transition detection on long / short text and speech, and LLM contestants (zero-shot
and agent-based) on scripted backends, with text and with media stimuli (transcript + encoder cues)."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

from affectagent.api import AffectAgent
from affectagent.arena.contestants import (
    ANSWER_SYSTEM, MERG_DECLINE, Answer, ContestantConfig, ContestantPool, Segment, answer_multi_choice,
    answer_ranking, answer_recognition, answer_transition, build_contestants, check_contestants, parse_contestant,
    split_sentences,
)
from affectagent.arena.judges import parse_backend_spec
from affectagent.arena.stimuli import Prosody, Stimulus, synthesize
from affectagent.arena.tasks import POOLS, Task, make_task
from affectagent.errors import InputError
from affectagent.llm.backend import Completion
from affectagent.schema import CANONICAL_EMOTIONS, Prediction
from tests.llm import scripted
from tests.resources import shared

PASSAGE = ("I opened the letter on the bus this morning. They said yes, after three years of trying! "
           "Then I remembered my father will not be there to see me start.")


def _pred(probs: dict[str, float], label: str | None = None) -> Prediction:
    label = label or max(probs, key=probs.get)
    return Prediction(sample_id="x", label=label, probs=probs, sentiment="positive", ov_set=(label, "relieved"),
                      rationale="Predicted from the words.")


# ---- pure answers ------------------------------------------------------------------------------------------------

def test_multi_choice_picks_the_most_probable_option():
    task = Task(id="t", pool="mer", kind="multi_choice", instruction="x", options=("sad", "happy", "fear"))
    text = answer_multi_choice(_pred({"sad": 0.2, "happy": 0.7, "fear": 0.1}), task)
    assert text.startswith("B. happy\n") and "happy 0.70" in text and text.endswith("Predicted from the words.")


def test_ranking_orders_the_given_emotions_by_probability():
    task = Task(id="t", pool="mer", kind="ranking", instruction="x", options=("sad", "happy", "fear", "angry"))
    text = answer_ranking(_pred({"sad": 0.2, "happy": 0.5, "fear": 0.2, "angry": 0.1}), task)
    assert text.splitlines()[0] == "happy, sad, fear, angry"   # sad and fear tie: the listed order is kept


def test_recognition_and_transition_texts():
    text = answer_recognition(_pred({"happy": 0.6, "sad": 0.4}))
    assert text.startswith("Emotion: happy (probability 0.60); sentiment: positive; also: relieved.")
    segs = [Segment("sentence 1", _pred({"happy": 0.6, "sad": 0.4})), Segment("sentence 2", None, note="silent"),
            Segment("sentence 3", _pred({"happy": 0.3, "sad": 0.7}))]
    text = answer_transition(segs, medium="passage")
    assert "2. sentence 2: not readable (silent)" in text
    assert text.endswith("The emotion shifts from happy to sad at sentence 3.")
    same = answer_transition(segs[:1] * 2, medium="passage")
    assert same.endswith("No transition: happy throughout all 2 segments.")
    short = answer_transition([], medium="recording", short="1.8 s", whole=_pred({"sad": 1.0}))
    assert short.startswith("No transition detected: the recording is short (1.8 s)")


def test_split_sentences():
    assert split_sentences(PASSAGE) == ["I opened the letter on the bus this morning.",
                                        "They said yes, after three years of trying!",
                                        "Then I remembered my father will not be there to see me start."]
    assert split_sentences('He said "no." Then left') == ['He said "no."', "Then left"]


def test_answer_round_trips():
    a = Answer(text="x", calls=2, seconds=1.23456, meta={"input": "passage"})
    assert Answer.from_dict(a.to_dict()) == Answer(text="x", calls=2, seconds=1.235, meta={"input": "passage"})
    d = Answer.decline("nope")
    assert d.declined and d.text == "" and d.reason == "nope"


# ---- names -------------------------------------------------------------------------------------------------------

def test_contestant_names_are_checked_without_loading():
    assert [k.name for k in (parse_contestant(n)[0] for n in ("neural-full", "llm:smollm2-135m"))] == [
        "neural-full", "llm"]
    assert parse_contestant("openai:m@http://127.0.0.1:9/v1")[1] == "m@http://127.0.0.1:9/v1"
    assert parse_contestant("llm-agents:hf:qwen-0.5b")[1] == "hf:qwen-0.5b"
    for bad, msg in (("neural-best", "unknown contestant"), ("llm", "needs a model"), ("llm:", "needs a model"),
                     ("neural-full:x", "takes no model"), ("llm:gpt-9", "unknown LLM backend")):
        with pytest.raises(InputError, match=msg):
            parse_contestant(bad)
    with pytest.raises(InputError, match="at least two"):
        check_contestants(["neural-full"])
    with pytest.raises(InputError, match="named twice"):
        check_contestants(["neural-full", "neural-full"])
    assert check_contestants([" neural-full", "neural-no-rag ", ""]) == ["neural-full", "neural-no-rag"]


def test_llm_raer_missing_module_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "affectagent.raer.llm", None)   # the module "is not in this checkout"
    with pytest.raises(InputError, match="llm-raer contestants need affectagent.raer.llm.LLMRAER"):
        build_contestants(["llm-raer:smollm2-135m", "neural-full"], ContestantPool())


def test_config_validation():
    with pytest.raises(InputError):
        ContestantConfig(transition_min_sentences=1)
    with pytest.raises(InputError):
        ContestantConfig(transition_min_seconds=2.0, transition_segment_seconds=2.5)
    with pytest.raises(InputError):
        ContestantConfig(max_tokens=0)


# ---- neural contestants on the tiny real checkpoint --------------------------------------------------------------

@pytest.fixture(scope="module")
def pool(tiny_checkpoint) -> ContestantPool:
    return ContestantPool(ContestantConfig(checkpoint=str(tiny_checkpoint)),
                          agent=AffectAgent.load(tiny_checkpoint, log=lambda m: None), log=lambda m: None)


TEXT = Stimulus(id="real/letter", modality="text", origin="real", text=PASSAGE)


@pytest.mark.parametrize("name", ["neural-full", "neural-naive-rag", "neural-no-rag", "neural-raer"])
def test_neural_contestants_answer_every_mer_kind_and_decline_merg(pool, name):
    c = build_contestants([name, "neural-full" if name != "neural-full" else "neural-no-rag"], pool)[name]
    rng = np.random.default_rng(0)
    for kind in POOLS["mer"]:
        task = make_task(kind, rng)
        a = c.answer(task, TEXT)
        assert not a.declined and a.text and a.calls >= 1 and a.seconds > 0, (name, kind, a)
        if kind == "multi_choice":
            probs = a.meta["probs"]
            assert set(probs) == set(task.options) and abs(sum(probs.values()) - 1) < 1e-3
            best = max(task.options, key=lambda e: probs[e])
            assert a.text.startswith(f"{'ABCDEF'[task.options.index(best)]}. {best}\n")
        elif kind == "ranking":
            order = a.text.splitlines()[0].split(", ")
            assert sorted(order) == sorted(task.options)
            assert [a.meta["probs"][e] for e in order] == sorted(a.meta["probs"].values(), reverse=True)
        elif kind == "recognition_analysis":
            assert a.meta["label"] in CANONICAL_EMOTIONS and a.text.startswith(f"Emotion: {a.meta['label']}")
        else:
            assert a.calls == 3 and a.meta["segments"] == 3 and "3. sentence 3:" in a.text
    for kind in POOLS["merg"]:
        a = c.answer(make_task(kind, rng), TEXT)
        assert a.declined and a.reason == MERG_DECLINE and a.text == "" and a.calls == 0


def test_neural_transition_on_a_one_sentence_text_says_no_transition(pool):
    c = build_contestants(["neural-full", "neural-no-rag"], pool)["neural-full"]
    one = Stimulus(id="one", modality="text", origin="real", text="Oh my God, I won the lottery!")
    a = c.answer(make_task("transition_detection", 0), one)
    assert a.text.startswith("No transition detected: the passage is short (1 sentence)") and a.calls == 1


def test_neural_agents_encode_real_speech_and_cut_long_speech(pool, tmp_path):
    root = shared("emodb")
    wav = sorted((root / "emodb" / "audio").glob("*"))[0]
    c = build_contestants(["neural-full", "neural-no-rag"], pool)["neural-full"]
    short = Stimulus(id="real/emodb", modality="audio", origin="real", files={"audio": str(wav)})
    a = c.answer(make_task("transition_detection", 0), short)
    assert a.text.startswith("No transition detected: the recording is short (2.0 s)"), a.text
    a = c.answer(make_task("recognition_analysis", 0), short)
    assert not a.declined and a.meta["input"] == "audio"
    # a long espeak-ng recording is cut into windows of its audio, one prediction each
    synthesize(PASSAGE + " " + PASSAGE, tmp_path / "long.wav", prosody=Prosody(rate=150))
    long = Stimulus(id="gen-long", modality="audio", origin="generated", text=PASSAGE,
                    files={"audio": "long.wav"})
    a = c.answer(make_task("transition_detection", 0), long, root=tmp_path)
    assert a.meta["segments"] == 4 and a.calls == 4 and "4. " in a.text and " s: " in a.text, a.text
    missing = Stimulus(id="gone", modality="audio", origin="real", files={"audio": str(tmp_path / "no.wav")})
    a = c.answer(make_task("ranking", 0), missing)
    assert a.declined and "media file not found" in a.reason and a.meta["error"]


# ---- LLM contestants on scripted backends ------------------------------------------------------------------------

@dataclass
class ArenaScripted:
    """Answers the arena's answer prompt with ``answer``; the LLM-agent roles as tests/llm/scripted.py does."""

    answer: str = "I would feel hopeful, and a little sad that my father cannot be there."
    name: str = "scripted"
    calls: list = field(default_factory=list)
    roles: dict = field(default_factory=lambda: {
        "planner": "support: happy\nconfusion: sad\ncounter: negative",
        "filter": "1: keep\n2: drop\n3: keep",
        "generator": "label: happy\nemotions: hopeful, wistful\nsentiment: positive\nrationale: Good news, a loss."})

    raer: dict = field(default_factory=lambda: {
        "initial": "cues: good news and a loss\nhypothesis: it sounds happy\nanswer: happy",
        "analyze": "1. cues: the letter says yes\n2. hypothesis: this suggests happy\n3. conclusion: happy",
        "refine": "The examples point to happy.",
        "answer": "label: happy\nemotions: hopeful\nsentiment: positive\nrationale: the steps say so."})

    def chat(self, messages, *, max_tokens=256, temperature=0.0, seed=None, stop=None):
        from affectagent.raer.prompts import raer_role

        if messages[0].content == ANSWER_SYSTEM:
            role, text = "final", self.answer
        elif (r := raer_role(messages)) is not None:
            role, text = f"raer-{r}", self.raer[r]
        else:
            role = scripted.role_of(messages)
            text = self.roles[role]
        self.calls.append((role, [m.content for m in messages], max_tokens, temperature))
        return Completion(text=text, prompt_tokens=10, completion_tokens=len(text.split()), seconds=0.001)


def _llm_pool(pool, backend) -> ContestantPool:
    label = parse_backend_spec("smollm2-135m").label
    return ContestantPool(pool.config, agent=pool.agent(), backends={label: backend}, log=lambda m: None)


def test_zero_shot_llm_answers_from_the_passage(pool):
    backend = ArenaScripted()
    c = build_contestants(["llm:smollm2-135m", "neural-full"], _llm_pool(pool, backend))["llm:smollm2-135m"]
    task = make_task("merg_in_their_shoes", 0)
    a = c.answer(task, TEXT)
    assert a.text == backend.answer and a.calls == 1 and a.meta["input"] == "passage"
    [(role, (system, user), max_tokens, temperature)] = backend.calls
    assert role == "final" and PASSAGE in user and "person's shoes" in user
    assert (max_tokens, temperature) == (160, 0.7)
    backend.answer = "   "
    assert c.answer(task, TEXT).text == "(no answer)"


def test_zero_shot_llm_reads_speech_as_transcript_plus_encoder_cues(pool):
    root = shared("emodb")
    wav = sorted((root / "emodb" / "audio").glob("*"))[0]
    backend = ArenaScripted()
    c = build_contestants(["llm:smollm2-135m", "neural-full"], _llm_pool(pool, backend))["llm:smollm2-135m"]
    stim = Stimulus(id="real/emodb", modality="audio", origin="real", text="Der Lappen liegt auf dem Eisschrank.",
                    files={"audio": str(wav)})
    a = c.answer(make_task("recognition_analysis", 0), stim)
    assert a.meta["input"] == "transcript+cues"
    user = backend.calls[-1][1][1]
    assert "the attached audio recording" in user and "you cannot hear or see it" in user
    assert 'Target utterance: "Der Lappen liegt auf dem Eisschrank."' in user and "Voice:" in user
    assert user.index("Voice:") < user.index("Task: ")


def test_llm_agents_inject_their_analysis_into_the_answer(pool):
    backend = ArenaScripted()
    c = build_contestants(["llm-agents:smollm2-135m", "neural-full"],
                          _llm_pool(pool, backend))["llm-agents:smollm2-135m"]
    a = c.answer(make_task("recognition_analysis", 0), TEXT)
    roles = [r for r, *_ in backend.calls]
    assert roles == ["planner", "filter", "generator", "final"] and a.calls == 4
    user = backend.calls[-1][1][1]
    assert "Your own analysis of the passage" in user and "emotion happy" in user and "Good news, a loss." in user
    assert a.meta["analysis_label"] == "happy" and a.text == backend.answer


def test_llm_raer_reasons_then_answers(pool):
    backend = ArenaScripted()
    c = build_contestants(["llm-raer:smollm2-135m", "neural-full"], _llm_pool(pool, backend))["llm-raer:smollm2-135m"]
    a = c.answer(make_task("merg_feeling_now", 0), TEXT)
    roles = [r for r, *_ in backend.calls]
    assert roles[:2] == ["raer-initial", "raer-analyze"] and roles[-1] == "final"
    assert a.calls == len(roles) and not a.declined and a.text == backend.answer
    user = backend.calls[-1][1][1]
    assert "checked each reasoning step against retrieved examples" in user and "emotion happy" in user
    assert "Reasoning: 1." in user and PASSAGE in user
