"""Segment(f_Analyze(Y)): every accepted form, the logged fallbacks, the rewrite parser and the label-token
alignment."""
import logging
import math

import pytest

from affectagent.raer.segment import (NO_REASONING, answer_label_span, canon_kind, is_echo, rewritten_step,
                                      segment, span_token_indices, step_emotion, token_char_offsets)

MELD = ("neutral", "happy", "surprise", "angry", "sad", "disgust", "fear")


def _seg(text, max_steps=4, fallback_text="Y: he frowns, so he is angry."):
    return segment(text, allowed=MELD, max_steps=max_steps, fallback_text=fallback_text)


def _rows(seg):
    return [(s.kind, s.text, s.emotion) for s in seg.steps]


def test_numbered_lines_with_kinds():
    seg = _seg("1. cues: He shouts and frowns.\n2. hypothesis: this suggests anger.\n3. Conclusion: angry")
    assert seg.source == "lines" and seg.fallback is None
    assert _rows(seg) == [("cues", "He shouts and frowns.", None), ("hypothesis", "this suggests anger.", "angry"),
                          ("conclusion", "angry", "angry")]


def test_bullets_steps_and_continuation_lines_and_positional_kinds():
    seg = _seg("- The voice trembles\n  and the face is downcast.\n* She may be afraid.\n• So: fear")
    assert seg.source == "lines"
    assert _rows(seg) == [("cues", "The voice trembles and the face is downcast.", None),
                          ("hypothesis", "She may be afraid.", "fear"), ("conclusion", "So: fear", "fear")]
    seg = _seg("Step 1: smiling face\nStep 2 - the speaker is glad")
    assert [s.kind for s in seg.steps] == ["cues", "conclusion"] and seg.steps[1].emotion == "happy"


def test_kind_prefixed_lines_without_numbers():
    seg = _seg("**Cue reading**: flat tone\nEmotion hypothesis: bored, maybe neutral\nFinal answer: neutral")
    assert _rows(seg) == [("cues", "flat tone", None), ("hypothesis", "bored, maybe neutral", "neutral"),
                          ("conclusion", "neutral", "neutral")]


def test_json_list_of_objects_fenced_with_emotion_fields():
    seg = _seg('```json\n[{"kind": "cues", "text": "loud voice", "emotion": null},\n'
               ' {"type": "hypothesis", "content": "he is mad", "emotion": "anger"},\n'
               ' {"kind": "conclusion", "text": "angry", "emotion": "none"}]\n```')
    assert seg.source == "json" and seg.fallback is None
    assert _rows(seg) == [("cues", "loud voice", None), ("hypothesis", "he is mad", "angry"),
                          ("conclusion", "angry", "angry")]


def test_json_object_forms_and_string_lists():
    assert _rows(_seg('{"cues": "smiling", "hypothesis": "joy", "conclusion": "happy"}')) == [
        ("cues", "smiling", None), ("hypothesis", "joy", "happy"), ("conclusion", "happy", "happy")]
    assert _rows(_seg('{"steps": [{"step": "tears"}, {"step": "so sadness"}]}')) == [
        ("cues", "tears", None), ("conclusion", "so sadness", "sad")]
    assert _rows(_seg('["he gasps", "surprised"]')) == [("cues", "he gasps", None),
                                                        ("conclusion", "surprised", "surprise")]


def test_json_cut_off_by_the_token_limit_keeps_complete_objects(caplog):
    with caplog.at_level(logging.WARNING):
        seg = _seg('[{"kind": "cues", "text": "voice loud"}, {"kind": "hypothesis", "text": "he is angr')
    assert seg.source == "json" and seg.fallback == "truncated_json" and _rows(seg) == [("cues", "voice loud", None)]
    assert "truncated_json" in caplog.text


def test_prose_is_split_by_sentences_as_the_last_resort():
    seg = _seg("He smiles at her. So he is happy! Nothing else matters")
    assert seg.source == "sentences" and seg.fallback == "prose_split"
    assert _rows(seg) == [("cues", "He smiles at her.", None), ("hypothesis", "So he is happy!", "happy"),
                          ("conclusion", "Nothing else matters", None)]


@pytest.mark.parametrize("raw, reason", [("", "empty_output"), ("   \n", "empty_output"), ("{{{ ]] ``` ,,", "no_steps"),
                                         ("[]", "no_steps"), ("1.\n2.\n3.", "no_steps")])
def test_unusable_output_falls_back_to_the_initial_response_as_one_step(raw, reason, caplog):
    with caplog.at_level(logging.WARNING, logger="affectagent.llm.parsing"):
        seg = _seg(raw)
    assert seg.source == "fallback" and _rows(seg) == [("conclusion", "Y: he frowns, so he is angry.", "angry")]
    assert seg.fallback == f"{reason}; initial_response_as_one_step"
    assert "analyze output needed a fallback" in caplog.text          # logged, never silent
    seg = segment(raw, allowed=MELD, max_steps=3, fallback_text="")
    assert _rows(seg) == [("conclusion", NO_REASONING, None)] and seg.fallback.endswith("no_reasoning")


def test_more_than_max_steps_keeps_the_first_and_the_last():
    seg = _seg("\n".join(f"{i}. step number {i}" for i in range(1, 7)) + " sad", max_steps=3)
    assert [s.text for s in seg.steps] == ["step number 1", "step number 2", "step number 6 sad"]
    assert seg.fallback == "steps_dropped:3" and seg.steps[-1].kind == "conclusion"
    assert [s.text for s in _seg("1. a one\n2. b two", max_steps=1).steps] == ["b two"]


def test_step_emotion_prefers_the_field_then_allowed_then_canonical():
    assert step_emotion("the voice is calm and glad", MELD) == "happy"        # allowed first
    assert step_emotion("the voice is calm", MELD) == "calm"                  # then any canonical emotion
    assert step_emotion("nothing here", MELD) is None
    assert step_emotion("he smiles", MELD, given="Joy") == "happy"
    assert step_emotion("he is mad", MELD, given="none") == "angry"          # "none" names no emotion
    assert canon_kind("The cue reading step") == "cues" and canon_kind("answer") == "conclusion"
    assert canon_kind("weather") is None


def test_rewritten_step_strips_prefixes_and_skips_echoed_examples():
    assert rewritten_step("Rewritten step: 2. Hypothesis: the evidence says sad.") == "the evidence says sad."
    assert rewritten_step("**Revised step**: The voice is calm.\nmore") == "The voice is calm."
    assert rewritten_step("1. [surprise, 0.88] I can't believe it\n2. [fear, 0.8] run") == ""
    assert rewritten_step("[surprise, 0.9] copy\nThe speaker is surprised.") == "The speaker is surprised."
    assert rewritten_step("") == "" and rewritten_step("``` ...") == ""


def test_answer_label_span_reads_the_label_field_first():
    text = "sentiment: neutral\nlabel: joy\nemotions: happy"
    a, b = answer_label_span(text, "happy")
    assert text[a:b] == "joy"                                                # the label field's synonym
    text = "sentiment: neutral\nI would say neutral."
    a, b = answer_label_span(text, "neutral")
    assert text[a:b] == "neutral" and a > text.index("\n")                   # sentiment lines skipped
    assert answer_label_span("no label here", "sad") is None


def test_token_offsets_and_span_indices():
    text = "label: happy\nemotions: joy"
    offs, how = token_char_offsets(text, 4)
    assert how == "words" and [text[a:b] for a, b in offs] == ["label:", "happy", "emotions:", "joy"]
    offs, how = token_char_offsets(text, 5)                                  # words + a final EOS token
    assert how == "words" and offs[-1] == (len(text), len(text))
    offs, how = token_char_offsets(text, 13)
    assert how == "proportional" and len(offs) == 13 and offs[-1][1] == len(text)
    assert span_token_indices([(0, 6), (6, 12), (12, 13)], (7, 12)) == [1]
    assert token_char_offsets("x", 0) == ([], "none")

    class FakeTokenizer:  # a fast tokenizer's offset mapping: "label", ":", " happy"
        def __call__(self, text, add_special_tokens, return_offsets_mapping):
            return {"offset_mapping": [(0, 5), (5, 6), (6, 12)]}

    offs, how = token_char_offsets("label: happy", 3, tokenizer=FakeTokenizer())
    assert how == "tokenizer" and span_token_indices(offs, (7, 12)) == [2]
    assert math.isclose(len(token_char_offsets("label: happy", 4, tokenizer=FakeTokenizer())[0]), 4)


def test_is_echo_flags_copied_examples_and_cues():
    shown = ["Rachel: What? Hey wait a minute! Phoebe, how do you even know who the father is?",
             'Dialogue so far:\nPhoebe: Oh my God, he’s lost it.\nTarget utterance (Monica): "What?"']
    assert is_echo("Rachel: Phoebe, how do you even know who the father is?", shown)
    assert is_echo("Phoebe: Oh my God, he's lost it.", shown)              # quotes and case do not matter
    assert not is_echo("Monica is surprised by what Phoebe says.", shown)
    assert not is_echo("What?", shown)                                     # too short to call a copy
