"""NanoEmoXPredictor: task names, checkpoint resolution, the answers -> Prediction rule on hand-made generations, task
routing with a scripted model, and the real tiny checkpoint answering every task (garbage, so fallbacks)."""
import pytest

from affectagent.errors import DataNotFoundError, InputError
from affectagent.nanoemox import predictor as P
from affectagent.nanoemox.inputs import SampleInputs
from affectagent.nanoemox.predictor import (NanoEmoXPredictor, NanoEmoXResult, parse_tasks, resolve_checkpoint)
from affectagent.nanoemox.tasks import TASKS, TaskAnswer, parse_answer
from affectagent.schema import CANONICAL_EMOTIONS, SENTIMENTS, Sample

from .conftest import make_streams

GOOD = {
    "mer": "happy",
    "msa": "negative",
    "ov": "joy, excitement",
    "eri": "The speaker feels happy because they won the match.",
    "mir": "Thank",
    "erg": "<think>\nScenario: a party\nEmotion: A feels happy\nCause: they won\nGoal: share their joy\n</think>\n"
           "That is great news!",
}


def result_of(texts: dict, **kw) -> NanoEmoXResult:
    return NanoEmoXResult(sample_id="s", answers={t: parse_answer(t, x) for t, x in texts.items()}, **kw)


# ---- task names ---------------------------------------------------------------------------------------------------
def test_parse_tasks_all_lists_and_order():
    assert parse_tasks(None) == parse_tasks("all") == parse_tasks("mer,all") == TASKS
    assert parse_tasks("erg, MER") == ("mer", "erg")  # TASKS order, case and spaces ignored
    assert parse_tasks(["ov", "ov", "msa"]) == ("msa", "ov")
    with pytest.raises(InputError) as e:
        parse_tasks("mer,emotion")
    assert "'emotion'" in str(e.value) and "msa, mer, ov, eri, mir, erg or all" in str(e.value)
    with pytest.raises(InputError, match="no task given"):
        parse_tasks(" , ")


# ---- checkpoint resolution ----------------------------------------------------------------------------------------
def test_config_file_name_matches_the_model():
    from affectagent.nanoemox.model import CONFIG_FILE

    assert P.CONFIG_FILE == CONFIG_FILE


def test_resolve_checkpoint_explicit_env_shipped_and_none(tmp_path, monkeypatch):
    ckpt = tmp_path / "model"
    ckpt.mkdir()
    (ckpt / P.CONFIG_FILE).write_text("{}")
    other = tmp_path / "other"
    other.mkdir()
    (other / P.CONFIG_FILE).write_text("{}")
    monkeypatch.setattr(P, "SHIPPED_CHECKPOINT", tmp_path / "not-shipped")
    monkeypatch.delenv(P.ENV_CHECKPOINT, raising=False)
    with pytest.raises(DataNotFoundError) as e:
        resolve_checkpoint(None)
    msg = str(e.value)
    assert "none ships yet" in msg and "affectagent train nanoemox --phase 1|2|3 --out runs/nx" in msg
    assert "--nanoemox runs/nx/phase3/model" in msg and "\n" not in msg
    monkeypatch.setenv(P.ENV_CHECKPOINT, str(other))
    assert resolve_checkpoint(None) == other
    assert resolve_checkpoint(ckpt) == ckpt  # explicit beats the environment
    monkeypatch.delenv(P.ENV_CHECKPOINT)
    monkeypatch.setattr(P, "SHIPPED_CHECKPOINT", other)
    assert resolve_checkpoint("") == other
    with pytest.raises(DataNotFoundError, match="no such folder; train one"):
        resolve_checkpoint(tmp_path / "missing")
    with pytest.raises(DataNotFoundError, match="is not a Nano-EmoX model folder"):
        resolve_checkpoint(tmp_path)  # a folder, but not a model folder


# ---- answers -> Prediction -------------------------------------------------------------------------------------------
def test_every_task_maps_onto_the_prediction():
    r = result_of(GOOD, checkpoint="runs/nx/phase3/model", streams=("visual", "face"), text="We won!")
    p = r.to_prediction()
    assert (p.label, p.probs, p.sentiment) == ("happy", {"happy": 1.0}, "negative")  # msa's answer, as given
    assert p.ov_set == ("joy", "excitement")
    assert p.rationale == "The speaker feels happy because they won the match."
    tr = p.trace
    assert tr["agents"] == "nanoemox" and tr["checkpoint"] == "runs/nx/phase3/model" and tr["label_source"] == "mer"
    assert tr["intent"] == "Thank" and tr["reply"] == "That is great news!"
    assert list(tr["tasks"]) == list(GOOD) and tr["tasks"]["erg"]["think"]["Goal"] == "share their joy"
    assert "not a calibrated distribution" in tr["probs_note"] and tr["streams"] == ["visual", "face"]
    assert r.fallbacks == {}


def test_label_falls_back_through_eri_erg_and_ov():
    eri = result_of({"eri": "The speaker feels afraid because the dog barked."}).to_prediction()
    assert (eri.label, eri.trace["label_source"], eri.sentiment) == ("fear", "eri", "negative")  # valence of fear
    assert eri.rationale.startswith("The speaker feels afraid") and eri.ov_set == ()
    erg = result_of({"erg": GOOD["erg"]}).to_prediction()
    assert (erg.label, erg.trace["label_source"]) == ("happy", "erg")
    assert erg.rationale == "Scenario: a party; Emotion: A feels happy; Cause: they won; Goal: share their joy"
    ov = result_of({"ov": "nervousness, joy"}).to_prediction()  # first word that is a canonical emotion (synonym)
    assert (ov.label, ov.trace["label_source"], ov.ov_set) == ("happy", "ov", ("nervousness", "joy"))
    garbled = result_of({"mer": "xyzzy blorp", "eri": GOOD["eri"]})
    assert garbled.to_prediction().label == "happy" and garbled.fallbacks == {"mer": "no_label"}


def test_no_emotion_named_is_a_labelled_default():
    p = result_of({"msa": "positive", "mir": "Complain"}).to_prediction()
    assert (p.label, p.probs, p.sentiment) == ("neutral", {}, "positive")
    assert p.trace["label_source"] == "default" and p.trace["intent"] == "Complain" and p.trace["reply"] is None
    assert result_of({"mir": "Complain"}).to_prediction().sentiment == "neutral"


def test_candidate_labels_skip_emotions_outside_them():
    r = result_of({"eri": GOOD["eri"], "ov": "sadness"})
    assert r.to_prediction(labels=("sad", "angry")).label == "sad"  # eri's happy is not a candidate; ov's sadness is
    assert r.to_prediction(labels=("fear", "angry")).trace["label_source"] == "default"


# ---- routing with a scripted model ----------------------------------------------------------------------------------
class ScriptedModel:
    """Answers each task with a fixed text, recording (task, options) per call."""

    def __init__(self, texts):
        self.texts, self.calls = texts, []

    def predict(self, inputs, task, *, options=(), max_new_tokens=None):
        self.calls.append((task, tuple(options)))
        return parse_answer(task, self.texts[task], options=options)


class TextExtractor:
    def __init__(self):
        self.read = []

    def sample_inputs(self, sample):
        self.read.append(sample.id)
        return SampleInputs(text=sample.text, sample_id=sample.id)


def test_answer_asks_exactly_the_given_tasks_and_passes_labels_to_mer_only():
    model, ex = ScriptedModel(GOOD), TextExtractor()
    pr = NanoEmoXPredictor(model, extractor=ex, checkpoint="ck")
    r = pr.answer(Sample(id="u1", text="We won!"), "erg,mer", labels=["happy", "sad"])
    assert model.calls == [("mer", ("happy", "sad")), ("erg", ())]
    assert list(r.answers) == ["mer", "erg"] and set(r.seconds) == {"mer", "erg"} and r.labels == ("happy", "sad")
    assert r.sample_id == "u1" and r.text == "We won!" and r.streams == () and ex.read == ["u1"]
    model.calls.clear()
    p = pr.predict(Sample(id="u2", text="hi"))
    assert [t for t, _ in model.calls] == list(TASKS) and p.trace["checkpoint"] == "ck"


def test_bad_tasks_and_labels_fail_before_reading_the_sample():
    ex = TextExtractor()
    pr = NanoEmoXPredictor(ScriptedModel(GOOD), extractor=ex)
    with pytest.raises(InputError, match="unknown Nano-EmoX task"):
        pr.answer(Sample(id="u", text="hi"), ["mer", "sentiment"])
    with pytest.raises(InputError, match="unknown labels"):
        pr.answer(Sample(id="u", text="hi"), "mer", labels=["happy", "joyish"])
    assert ex.read == []


# ---- the real tiny checkpoint ---------------------------------------------------------------------------------------
def test_tiny_checkpoint_answers_every_task_with_fallback_flags(tiny_nanoemox_checkpoint, rng):
    pr = NanoEmoXPredictor.load(tiny_nanoemox_checkpoint)
    assert pr.checkpoint == str(tiny_nanoemox_checkpoint) and pr.describe()["model"] == "nanoemox"
    inputs = SampleInputs(streams=make_streams(rng), text="I can't believe we won!", speaker="A", sample_id="x")
    r = pr.answer_inputs(inputs, "all")
    assert list(r.answers) == list(TASKS) and r.streams == ("visual", "face", "speech", "fusion")
    assert all(isinstance(a, TaskAnswer) and a.task == t for t, a in r.answers.items())
    # a random LM writes garbage: parsing never raises, it flags (erg never has its <think> block)
    assert r.answers["erg"].fallback and r.answers["erg"].fallback_reason
    assert set(r.fallbacks) >= {"erg"} and all(r.fallbacks.values())
    p = r.to_prediction()
    assert p.label in CANONICAL_EMOTIONS and p.sentiment in SENTIMENTS and p.sample_id == "x"
    assert set(p.trace["tasks"]) == set(TASKS) and p.trace["label_source"] in P.LABEL_SOURCES
    text_only = pr.answer(Sample(id="t", text="Hello there."), ["msa"])
    assert list(text_only.answers) == ["msa"] and text_only.streams == ()
