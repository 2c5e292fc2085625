import pytest

from affectagent.nanoemox.data import PAIRED_OPTIONS, CorpusLoader, DataConfig, build_source
from affectagent.nanoemox.tasks import (IDENTIFIERS, TASKS, THINK_STEPS, TaskAnswer, canonical_options,
                                        erg_target, eri_target, inference_prompt, pair_episodes, parse_answer,
                                        render_prompt)
from affectagent.schema import Sample, Turn

from ..resources import shared

MER7 = canonical_options(("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"))


@pytest.mark.parametrize("task", TASKS)
def test_every_template_starts_with_its_identifier(task):
    prompt, options = inference_prompt(task, text="I lost my keys again", context=(Turn("B", "Hi"),), speaker="A",
                                       modalities=("face", "voice"))
    assert prompt.startswith(IDENTIFIERS[task] + " Signals: face, voice.\n")
    assert 'Utterance (A): "I lost my keys again"' in prompt and "Dialogue:\nB: Hi\n" in prompt
    if task in ("mer", "mir"):
        assert options and all(o in prompt for o in options)


def test_identifiers_are_the_papers():
    assert set(IDENTIFIERS.values()) == {"[Recognition]", "[Recog_OV]", "[Inference]", "[Intent]", "[Interaction]"}
    assert "<think>" in render_prompt("erg", text="x") and all(s in render_prompt("erg", text="x") for s in THINK_STEPS)


def test_context_is_clipped():
    ctx = tuple(Turn("A", "word " * 100) for _ in range(6))
    p = render_prompt("mer", text="hi", context=ctx, options=MER7, context_turns=2, max_turn_words=5)
    assert p.count("A: ") == 2 and "word word word word word ..." in p


def test_targets_round_trip_through_the_parser():
    t = eri_target("sad", "she lost her job .")
    assert t == "The speaker feels sad because she lost her job."
    a = parse_answer("eri", t)
    assert a.label == "sad" and a.reason == "she lost her job." and not a.fallback
    g = erg_target(scenario="a chat", emotion="A feels afraid", cause="the exam", goal="reassure them",
                   reply="You will do fine !")
    a = parse_answer("erg", g)
    assert not a.fallback and a.reply == "You will do fine!" and dict(a.think)["Goal"] == "reassure them"
    assert a.label == "fear"


@pytest.mark.parametrize("task,text,expect", [
    ("mer", "happy", ("happy", False)),
    ("mer", "Joy.", ("happy", False)),                       # synonym
    ("mer", "I think the person is angry and tense", ("angry", True)),
    ("mer", "bananas", (None, True)),
    ("msa", "Negative", ("negative", False)),
    ("msa", "they seem happy", ("positive", True)),
    ("mir", "Ask for help", ("Ask for help", False)),
    ("mir", "the intent is to apologize", ("Apologise", True)),
    ("mir", "???", (None, True)),
])
def test_label_parsing(task, text, expect):
    a = parse_answer(task, text, options=MER7 if task == "mer" else ())
    assert (a.label, a.fallback) == expect and isinstance(a, TaskAnswer)


def test_ov_words():
    a = parse_answer("ov", "Emotions: joy, gratitude and relief.")
    assert a.labels == ("joy", "gratitude", "relief") and not a.fallback
    assert parse_answer("ov", "...!!!").fallback
    prose = parse_answer("ov", "I'm sorry, I think they feel happy and a bit nervous")
    assert prose.labels == ("sorry", "happy", "nervous") and prose.fallback_reason == "prose"
    junk = parse_answer("ov", "I'm sorry for the misunderstanding. I'm sorry for the misunderstanding.")
    assert junk.fallback and junk.fallback_reason == "prose; no_words" and junk.labels == ()


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("text", ["", None, "   ", "<think>", "</think>", "because", "\x00\ufffd" * 50,
                                  "<think>Scenario: x\nEmotion: sad", "{\"label\": ", "a" * 5000])
def test_malformed_generations_never_raise(task, text):
    a = parse_answer(task, text)
    assert isinstance(a, TaskAnswer) and a.task == task
    if not (text or "").strip():
        assert a.fallback and a.fallback_reason == "empty_output"


def test_erg_repairs():
    a = parse_answer("erg", "<think>\nScenario: a talk\nEmotion: A feels sad\nThat must be hard.")
    assert a.fallback and "unclosed_think" in a.fallback_reason and a.reply == "That must be hard."
    b = parse_answer("erg", "That must be hard.")
    assert b.fallback and b.fallback_reason == "no_think" and b.reply == "That must be hard."
    c = parse_answer("erg", "<think>Scenario: a</think>")
    assert c.fallback and "no_reply" in c.fallback_reason and "missing_step:Cause" in c.fallback_reason


def test_pairing_joins_same_label_samples_seeded():
    text = [Sample(id=f"t{i}", text="hi", label=lab) for i, lab in enumerate(["happy", "sad", "calm"])]
    audio = [Sample(id="a1", label="happy"), Sample(id="a2", label="sad")]
    faces = [Sample(id="f1", label="sad"), Sample(id="f2", label="happy")]
    triples = pair_episodes(text, audio, faces, seed=0)
    assert [(t.id, a.id, f.id) for t, a, f in triples] == [("t0", "a1", "f2"), ("t1", "a2", "f1")]
    assert triples == pair_episodes(text, audio, faces, seed=0)


@pytest.fixture(scope="module")
def loader():
    shared("meld", "goemotions", "mintrec", "reccon", "cmumosi", "emodb", "ravdess_speech", "fer2013")
    return CorpusLoader(DataConfig(fer_limit=40, speech_limit=10, text_limit=300, paired_limit=20), split="train",
                        seed=0)


@pytest.mark.parametrize("source,task", [("mer/meld", "mer"), ("ov/goemotions", "ov"), ("mir/mintrec", "mir"),
                                         ("eri/reccon", "eri"), ("erg/reccon", "erg"), ("msa/cmumosi", "msa"),
                                         ("mer/speech", "mer"), ("mer/face", "mer"), ("mer/paired", "mer")])
def test_builders_on_the_real_corpora(loader, source, task):
    examples = build_source(source, loader)
    assert examples and all(e.task == task and e.source == source for e in examples)
    for e in examples[:20]:
        assert e.prompt.startswith(IDENTIFIERS[task]) and e.target
        reparsed = parse_answer(task, e.target, options=e.options)
        if task in ("mer", "msa", "mir"):
            assert reparsed.label == e.gold.label and not reparsed.fallback
        if task == "erg":
            assert not reparsed.fallback and reparsed.reply == e.gold.reply
    if source in ("mer/speech", "mer/face"):
        assert all(e.media and "Utterance" not in e.prompt for e in examples)
    if source == "mer/paired":
        e = examples[0]
        assert e.options == PAIRED_OPTIONS and len(e.media) == 2
        assert e.media[0].audio is not None and e.media[1].image is not None and e.gold.label == e.media[0].label


def test_speech_dev_set_holds_out_speakers(loader):
    dev = CorpusLoader(loader.data, split="dev", seed=0)
    for name, held in (("emodb", loader.data.emodb_dev_speakers), ("ravdess", loader.data.ravdess_dev_actors)):
        train_groups = {s.group for s in loader.corpus(name)}
        dev_groups = {s.group for s in dev.corpus(name)}
        assert dev_groups and dev_groups <= set(held) and not train_groups & dev_groups
