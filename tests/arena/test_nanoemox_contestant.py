"""The ``nanoemox`` arena contestant: its names, MER answers from the mer / ov / eri answers, MERG answers from the
erg reply (declined without one), transition detection per sentence, with a scripted predictor and the real tiny
saved checkpoint."""
import pytest

from affectagent.arena.contestants import (NO_REPLY, ContestantPool, build_contestants, contestant_forms,
                                           nanoemox_choices, nanoemox_multi_choice, nanoemox_ranking,
                                           parse_contestant)
from affectagent.arena.stimuli import Stimulus
from affectagent.arena.tasks import Task, make_task
from affectagent.errors import DataNotFoundError
from affectagent.nanoemox.predictor import NanoEmoXResult
from affectagent.nanoemox.tasks import parse_answer

GOOD = {
    "mer": "happy",
    "ov": "sadness, joy, relief",
    "eri": "The speaker feels happy because the letter said yes.",
    "erg": "<think>\nScenario: a letter\nEmotion: the user feels happy\nCause: a yes\nGoal: share their joy\n"
           "</think>\nThat is wonderful news, congratulations!",
}
PASSAGE = "I opened the letter this morning. They said yes! Then I remembered my father will not see it."
TEXT = Stimulus(id="real/letter", modality="text", origin="real", text=PASSAGE)


def result_of(texts, tasks, options=()) -> NanoEmoXResult:
    return NanoEmoXResult(sample_id="s", answers={t: parse_answer(t, texts[t], options=options if t == "mer" else ())
                                                  for t in tasks})


class ScriptedPredictor:
    """Answers with fixed texts; records (sample id, tasks, labels) per call."""

    def __init__(self, texts):
        self.texts, self.calls = texts, []

    def answer(self, sample, tasks, *, labels=None):
        self.calls.append((sample.id, tuple(tasks), tuple(labels) if labels else None))
        return result_of(self.texts, tasks, labels or ())


def contestant(ckpt, predictor):
    pool = ContestantPool(nanoemox={str(ckpt): predictor}, log=lambda m: None)
    return build_contestants([f"nanoemox:{ckpt}", "neural-full"], pool)[f"nanoemox:{ckpt}"]


def test_names_and_a_missing_folder(monkeypatch):
    kind, arg = parse_contestant("nanoemox")
    assert kind.name == "nanoemox" and arg is None
    assert parse_contestant("nanoemox:runs/nx/phase3/model")[1] == "runs/nx/phase3/model"
    assert "nanoemox[:<model folder>]" in contestant_forms()
    monkeypatch.delenv("AFFECTAGENT_NANOEMOX", raising=False)
    with pytest.raises(DataNotFoundError, match="none ships yet"):  # at build time, before a run starts
        build_contestants(["nanoemox", "neural-full"], ContestantPool(log=lambda m: None))
    with pytest.raises(DataNotFoundError, match="no such folder"):
        build_contestants(["nanoemox:/nonexistent/nx", "neural-full"], ContestantPool(log=lambda m: None))


def test_pure_answers_from_the_mer_and_ov_answers():
    options = ("sad", "happy", "fear")
    r = result_of(GOOD, ("mer", "ov", "eri"), options)
    assert nanoemox_choices(r, options) == ["happy", "sad"]  # mer first, then ov's sadness (a synonym of sad)
    task = Task(id="t", pool="mer", kind="multi_choice", instruction="x", options=options)
    text = nanoemox_multi_choice(r, task)
    assert text.startswith("B. happy, A. sad\nNano-EmoX's emotion answer is happy; its open-vocabulary words name sad.")
    assert text.endswith("because the letter said yes.")
    rank = Task(id="r", pool="mer", kind="ranking", instruction="x", options=("fear", "sad", "happy", "angry"))
    assert nanoemox_ranking(r, rank).splitlines()[0] == "happy, sad, fear, angry"
    garbled = result_of({"mer": "zzz", "ov": "zzz"}, ("mer", "ov"))
    assert nanoemox_multi_choice(garbled, task).startswith("No option: Nano-EmoX's answers name none of the options")


def test_mer_tasks_ask_mer_ov_eri_with_the_options(tiny_nanoemox_checkpoint):
    sp = ScriptedPredictor(GOOD)
    c = contestant(tiny_nanoemox_checkpoint, sp)
    assert c.describe() == {"name": f"nanoemox:{tiny_nanoemox_checkpoint}", "kind": "nanoemox",
                            "checkpoint": str(tiny_nanoemox_checkpoint)}
    task = Task(id="t", pool="mer", kind="multi_choice", instruction="x", options=("fear", "happy", "sad"))
    a = c.answer(task, TEXT)
    assert not a.declined and a.text.startswith("B. happy, C. sad") and a.calls == 3
    assert sp.calls == [("real/letter", ("mer", "ov", "eri"), ("fear", "happy", "sad"))]
    assert set(a.meta["tasks"]) == {"mer", "ov", "eri"} and a.meta["label"] == "happy" and a.meta["fallbacks"] == {}
    rec = c.answer(make_task("recognition_analysis", 0), TEXT)
    assert rec.text.startswith("Emotion: happy (from its mer answer); sentiment: positive; also: sadness, joy, relief.")


def test_merg_tasks_get_the_erg_reply_or_a_decline(tiny_nanoemox_checkpoint):
    sp = ScriptedPredictor(GOOD)
    a = contestant(tiny_nanoemox_checkpoint, sp).answer(make_task("merg_feeling_now", 0), TEXT)
    assert not a.declined and a.text == "That is wonderful news, congratulations!" and a.calls == 1
    assert sp.calls[-1][1] == ("erg",) and a.meta["tasks"]["erg"]["think"]["Goal"] == "share their joy"
    empty = contestant(tiny_nanoemox_checkpoint, ScriptedPredictor({"erg": ""}))
    d = empty.answer(make_task("merg_reflect", 0), TEXT)
    assert d.declined and d.reason == f"{NO_REPLY} (empty_output)" and d.meta["error"] is True


def test_transition_detection_reads_sentence_by_sentence(tiny_nanoemox_checkpoint):
    texts = dict(GOOD)
    sp = ScriptedPredictor(texts)
    a = contestant(tiny_nanoemox_checkpoint, sp).answer(make_task("transition_detection", 0), TEXT)
    assert a.meta["segments"] == 3 and [c[1] for c in sp.calls] == [("mer",)] * 3
    assert "No transition: happy throughout all 3 segments." in a.text


def test_the_real_tiny_checkpoint_answers_and_flags_its_garbage(tiny_nanoemox_checkpoint):
    pool = ContestantPool(log=lambda m: None)
    c = build_contestants([f"nanoemox:{tiny_nanoemox_checkpoint}", "neural-full"], pool)[
        f"nanoemox:{tiny_nanoemox_checkpoint}"]
    a = c.answer(make_task("recognition_analysis", 0), TEXT)
    assert not a.declined and a.text.startswith("Emotion: ") and set(a.meta["tasks"]) == {"mer", "ov", "eri"}
    assert set(a.meta["fallbacks"]) <= {"mer", "ov", "eri"}
    m = c.answer(make_task("merg_in_their_shoes", 0), TEXT)
    reply = (m.meta["tasks"]["erg"]["reply"] if "tasks" in m.meta else None)
    assert m.declined == (not reply) and (m.text == reply if reply else m.reason.startswith(NO_REPLY))
    assert pool.nanoemox(str(tiny_nanoemox_checkpoint)) is pool.nanoemox(str(tiny_nanoemox_checkpoint))  # loaded once
