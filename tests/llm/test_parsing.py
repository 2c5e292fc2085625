"""Parsing of the three roles' outputs: well-formed answers, and every malformed kind (extra prose, code fences, JSON,
missing fields, labels outside the set, empty and truncated output). Every fallback is typed AND logged."""
import logging

import pytest

from affectagent.llm.evidence_filter import parse_filter
from affectagent.llm.generator import parse_generation
from affectagent.llm.parsing import extract_fields, normalise_label
from affectagent.llm.planner import parse_plan

MELD = ("neutral", "happy", "surprise", "angry", "sad", "disgust", "fear")
LOGGER = "affectagent.llm.parsing"


def _warned(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


# ---- generator -----------------------------------------------------------------------------------------------------
def test_generation_well_formed_is_not_a_fallback(caplog):
    g = parse_generation("label: sad\nemotions: lonely, hurt\nsentiment: negative\nrationale: He lost his job.",
                         allowed=MELD)
    assert (g.label, g.ov_words, g.sentiment, g.rationale) == ("sad", ("lonely", "hurt"), "negative", "He lost his job.")
    assert g.fallback is None and g.label_given and not _warned(caplog)


def test_generation_synonym_label_is_mapped_without_fallback(caplog):
    g = parse_generation("Label: Joy\nEmotions: joy, excitement\nSentiment: Positive\nRationale: she won.", allowed=MELD)
    assert g.label == "happy" and g.ov_words == ("joy", "excitement") and g.sentiment == "positive"
    assert g.fallback is None and not _warned(caplog)
    assert parse_generation("label: anger\nemotions: rage\nsentiment: negative\nrationale: x", allowed=MELD).label == "angry"


def test_generation_prose_around_and_markdown(caplog):
    text = ("Sure! Here is my analysis of the utterance.\n\n**Label**: surprise\n**Emotions**: shocked, amazed\n"
            "**Sentiment**: neutral\n**Rationale**: \"You did WHAT?\" signals disbelief.\nHope this helps!")
    g = parse_generation(text, allowed=MELD)
    assert g.label == "surprise" and g.ov_words == ("shocked", "amazed") and g.sentiment == "neutral"
    assert "disbelief" in g.rationale and g.fallback is None


def test_generation_json_in_code_fence():
    text = ('```json\n{"label": "fear", "emotions": ["scared", "nervous"], "sentiment": "negative",'
            ' "rationale": "She is afraid of the dark."}\n```')
    g = parse_generation(text, allowed=MELD)
    assert (g.label, g.ov_words, g.sentiment) == ("fear", ("scared", "nervous"), "negative")
    assert g.rationale == "She is afraid of the dark." and g.fallback is None


def test_generation_truncated_json_keeps_what_arrived(caplog):
    text = '{"label": "disgust", "emotions": ["grossed out", "revul'
    g = parse_generation(text, allowed=MELD, truncated=True)
    assert g.label == "disgust" and g.ov_words[0] == "grossed out"
    assert "missing:sentiment" in g.fallback and "truncated" in g.fallback and g.sentiment == "negative"
    assert _warned(caplog)


def test_generation_label_outside_set_uses_value_then_prose_then_default(caplog):
    g = parse_generation("label: love\nemotions: affection, happy\nsentiment: positive\nrationale: x", allowed=MELD)
    assert g.label == "happy" and "label_not_allowed:love" in g.fallback and "label_from_prose:happy" in g.fallback
    assert not g.label_given
    g = parse_generation("label: very angry indeed\nemotions: mad\nsentiment: negative\nrationale: x", allowed=MELD)
    assert g.label == "angry" and "label_not_allowed" in g.fallback and "label_from_value:angry" in g.fallback
    g = parse_generation("label: contempt\nemotions: scorn\nsentiment: negative\nrationale: x", allowed=MELD,
                         default_label="disgust")
    assert g.label == "disgust" and "default_label:disgust" in g.fallback
    assert len(_warned(caplog)) == 3


def test_generation_sentiment_line_is_not_read_as_the_label():
    g = parse_generation("label: ???\nemotions: \nsentiment: neutral\nrationale: unclear", allowed=MELD,
                         default_label="fear")
    assert g.label == "fear" and g.sentiment == "neutral"


def test_generation_missing_fields(caplog):
    g = parse_generation("label: sad", allowed=MELD)
    assert g.label == "sad" and g.ov_words == ("sad",) and g.sentiment == "negative" and g.rationale == ""
    assert {"missing:emotions", "missing:sentiment", "missing:rationale"} <= set(g.fallback.split("; "))
    assert _warned(caplog)


def test_generation_no_emotion_words_is_fine_for_neutral_only():
    g = parse_generation("label: neutral\nemotions: []\nsentiment: neutral\nrationale: plain question", allowed=MELD)
    assert g.ov_words == ("neutral",) and g.fallback is None
    g = parse_generation("label: neutral\nemotions: none\nsentiment: neutral\nrationale: x", allowed=MELD)
    assert g.ov_words == ("neutral",) and g.fallback is None
    g = parse_generation("label: sad\nemotions: []\nsentiment: negative\nrationale: x", allowed=MELD)
    assert g.ov_words == ("sad",) and g.fallback == "missing:emotions"
    g = parse_generation("label: neutral\nsentiment: neutral\nrationale: x", allowed=MELD)
    assert g.fallback == "missing:emotions"


def test_generation_invalid_sentiment_falls_back_to_label_valence():
    g = parse_generation("label: happy\nemotions: glad\nsentiment: bittersweet\nrationale: x", allowed=MELD)
    assert g.sentiment == "positive" and "invalid_sentiment:bittersweet" in g.fallback


def test_generation_pure_prose():
    g = parse_generation("The speaker sounds really frustrated with Ross here.", allowed=MELD)
    assert g.label == "angry" and "no_fields" in g.fallback and "label_from_prose:angry" in g.fallback


@pytest.mark.parametrize("text", ["", "   \n ", None])
def test_generation_empty_output(text, caplog):
    g = parse_generation(text, allowed=MELD, default_label="surprise")
    assert g.label == "surprise" and g.sentiment == "neutral" and g.ov_words == ("surprise",)
    assert g.fallback.startswith("empty_output") and _warned(caplog)
    g = parse_generation("", allowed=("happy", "sad"))
    assert g.label == "happy" and "default_label:happy" in g.fallback  # neutral not allowed -> first allowed


def test_generation_caps_and_cleans_open_vocabulary():
    g = parse_generation("label: sad\nemotions: Sad!, sad, heart-broken; lonely / tired\nsentiment: negative\n"
                         "rationale: x", allowed=MELD, max_words=3)
    assert g.ov_words == ("sad", "heart-broken", "lonely")


# ---- planner -------------------------------------------------------------------------------------------------------
def test_plan_well_formed(caplog):
    p = parse_plan("support: angry\nconfusion: disgust\ncounter: positive", allowed=MELD)
    assert (p.support, p.confusion, p.counter_sentiment, p.fallback) == ("angry", "disgust", "positive", None)
    assert not _warned(caplog)


def test_plan_json_and_synonyms():
    p = parse_plan('Here you go: {"supportive": "joy", "confusing": "surprised", "counter": "negative"} done',
                   allowed=MELD)
    assert (p.support, p.confusion, p.counter_sentiment, p.fallback) == ("happy", "surprise", "negative", None)


def test_plan_counter_same_valence_is_repaired(caplog):
    p = parse_plan("support: sad\nconfusion: angry\ncounter: negative", allowed=MELD)
    assert p.counter_sentiment == "positive" and p.fallback == "counter_same_valence" and _warned(caplog)


def test_plan_neutral_valence_hypothesis_may_pick_a_side_or_any():
    assert parse_plan("support: surprise\nconfusion: fear\ncounter: negative", allowed=MELD).counter_sentiment == "negative"
    p = parse_plan("support: neutral\nconfusion: sad\ncounter: none", allowed=MELD)
    assert p.counter_sentiment is None and p.fallback is None
    p = parse_plan("support: happy\nconfusion: surprise\ncounter: any", allowed=MELD)
    assert p.counter_sentiment == "negative" and "invalid_counter:any" in p.fallback


def test_plan_counter_given_as_an_emotion_uses_its_valence():
    p = parse_plan("support: neutral\nconfusion: surprise\ncounter sentiment: anger", allowed=MELD)
    assert p.counter_sentiment == "negative" and p.fallback == "counter_from_label:angry"
    p = parse_plan("support: happy\nconfusion: surprise\ncounter: joy", allowed=MELD)
    assert p.counter_sentiment == "negative" and "counter_same_valence" in p.fallback


def test_plan_missing_and_invalid_fields():
    p = parse_plan("support: fear", allowed=MELD)
    assert p.support == "fear" and p.confusion is None and p.counter_sentiment == "positive"
    assert "missing:confusion" in p.fallback and "missing:counter" in p.fallback
    p = parse_plan("support: happy\nconfusion: happy\ncounter: negative", allowed=MELD)
    assert p.confusion is None and "confusion_same_as_support" in p.fallback
    p = parse_plan("support: love\nconfusion: sad\ncounter: negative", allowed=MELD)
    assert p.support is None and "support_not_allowed:love" in p.fallback and "no_hypothesis" in p.fallback


def test_plan_prose_only_and_empty(caplog):
    p = parse_plan("I think this is most likely sadness, maybe anger.", allowed=MELD)
    assert p.support == "sad" and "label_from_prose:sad" in p.fallback and p.counter_sentiment == "positive"
    p = parse_plan("", allowed=MELD)
    assert p.support is None and p.fallback == "empty_output"
    p = parse_plan("support: surpr", allowed=MELD, truncated=True)
    assert p.support is None and "truncated" in p.fallback
    assert len(_warned(caplog)) == 3


# ---- filter --------------------------------------------------------------------------------------------------------
def test_filter_line_per_number(caplog):
    f = parse_filter("1: keep\n2: drop\n3: keep", n=3)
    assert f.keep == (True, False, True) and f.decided == (1, 2, 3) and f.fallback is None and not _warned(caplog)


def test_filter_keep_list_drops_the_unlisted(caplog):
    f = parse_filter("keep: 2, 5", n=6)
    assert f.keep == (False, True, False, False, True, False) and f.decided == (1, 2, 3, 4, 5, 6) and f.fallback is None
    assert parse_filter("Keep: none", n=3).keep == (False, False, False)
    assert parse_filter('{"keep": []}', n=2).keep == (False, False)
    assert parse_filter("**Keep**: 1 and 3.", n=3).keep == (True, False, True)
    assert not _warned(caplog)
    f = parse_filter("keep: 1, 2, 3, 4, 5, 6, 7, 8, 9, 1", n=12, truncated=True)
    assert f.keep == (True,) * 9 + (False,) * 3 and f.fallback == "truncated" and _warned(caplog)


def test_filter_other_layouts():
    assert parse_filter("Keep: 1, 3\nDrop: 2, 4", n=4).keep == (True, False, True, False)
    assert parse_filter('```json\n{"keep": [2], "drop": [1, 3]}\n```', n=3).keep == (False, True, False)
    f = parse_filter("Example 1 - KEEP (same situation)\nExample 2 -> drop, unrelated\n3. yes", n=3)
    assert f.keep == (True, False, True) and f.fallback is None


def test_filter_missing_numbers_are_kept_and_logged(caplog):
    f = parse_filter("1: drop\n2: keep\n3: dr", n=5, truncated=True)
    assert f.keep == (False, True, True, True, True) and f.decided == (1, 2)
    assert "missing_decisions:3,4,5" in f.fallback and "truncated" in f.fallback and _warned(caplog)


def test_filter_bad_indices_and_conflicts():
    f = parse_filter("1: keep\n7: drop\n1: drop\n2: drop", n=2)
    assert f.keep == (True, False)
    assert "unknown_index:7" in f.fallback and "conflicting:1" in f.fallback


def test_filter_empty_and_prose_keep_everything(caplog):
    assert parse_filter("", n=3).keep == (True, True, True)
    f = parse_filter("These examples all look relevant to me.", n=2)
    assert f.keep == (True, True) and f.fallback == "no_fields"
    assert len(_warned(caplog)) == 2
    assert parse_filter("", n=0).keep == () and parse_filter("", n=0).fallback is None


# ---- helpers -------------------------------------------------------------------------------------------------------
def test_normalise_label_and_fields():
    assert normalise_label(" Sadness. ", MELD) == "sad" and normalise_label("calm", MELD) is None
    assert normalise_label("calm", ("calm", "neutral")) == "calm"
    assert extract_fields("label: happy\nlabel: sad") == {"label": "happy"}  # first occurrence wins
    assert extract_fields("nothing here") == {}
    with pytest.raises(ValueError):
        parse_generation("label: happy", allowed=("happy", "joyish"))
