"""Cue text and role prompts: explicit label sets, dialogue context with speakers, face/voice summaries, missing
modalities, numbered candidates, and short prompts."""
import numpy as np
import pytest

from affectagent import datasets
from affectagent.llm.cues import render_cues
from affectagent.llm.evidence_filter import filter_messages
from affectagent.llm.generator import generator_messages
from affectagent.llm.planner import planner_messages
from affectagent.llm.prompts import candidates_from, prompt_chars
from affectagent.paths import data_root
from affectagent.schema import Evidence, Features, ModalityMask, Sample, Turn

MELD = ("neutral", "happy", "surprise", "angry", "sad", "disgust", "fear")


@pytest.fixture(scope="module")
def meld_sample() -> Sample:
    if not (data_root(must_exist=False) / "meld").is_dir():
        pytest.skip("MELD not found in the data root")
    samples = datasets.load("meld", "dev", limit=40)
    return next(s for s in samples if len(s.context) >= 3)


def test_cues_of_a_real_meld_utterance(meld_sample):
    f = Features(text_emb=np.zeros(4, np.float32), mask=ModalityMask(text=True))
    cues = render_cues(sample=meld_sample, features=f, context_turns=2)
    text = cues.render()
    last_two = meld_sample.context[-2:]
    assert cues.context == tuple(f"{t.speaker}: {' '.join(t.text.split())}" for t in last_two)
    assert meld_sample.context[-3].text not in text  # only the last two turns
    assert f'Target utterance ({meld_sample.speaker}): "' in text and meld_sample.text.split()[0] in text
    assert text.index(last_two[0].text.split()[0]) < text.index("Target utterance")
    assert "Not available: audio, video/face" in text and "Face" not in text and "Voice" not in text


def test_cues_with_face_voice_and_transcript_only():
    face = np.zeros((10, 12), np.float32)
    face[:, 3] = 0.7  # happy (FER order: angry, disgust, fear, happy, neutral, sad, surprise)
    face[:, 4] = 0.2
    f = Features(face_seq=face, audio_emb=np.zeros(3), transcript="we did it",
                 mask=ModalityMask(audio=True, visual=True),
                 info={"audio_stats": {"rms_dbfs": -21.4, "f0_semitone_mean": 30.25, "speech_ratio": 0.8}})
    cues = render_cues(sample=Sample(id="clip"), features=f)
    text = cues.render()
    assert 'Target utterance: "we did it"' in text
    assert "Face in 10 frames, expression happy 0.70, neutral 0.20" in text
    assert "Voice: level -21 dBFS, mean pitch 30.2 st, speech 80%" in text
    assert cues.missing == () and "Not available" not in text


def test_cues_without_words_and_long_turns_are_clipped():
    s = Sample(id="x", context=(Turn("Ross", "word " * 200),))
    cues = render_cues(sample=s, features=Features(audio_emb=np.zeros(2), mask=ModalityMask(audio=True)),
                       max_chars=50)
    assert cues.transcript is None and "(no words available)" in cues.render()
    assert len(cues.context[0]) == 50 and cues.context[0].endswith("...")
    assert cues.missing == ("text", "video/face")


def _cues():
    s = Sample(id="u", text="You did WHAT?", speaker="Rachel", context=(Turn("Ross", "I sold the car."),))
    return render_cues(sample=s, features=Features(mask=ModalityMask(text=True)))


def test_planner_and_generator_prompts_spell_out_labels_and_format():
    for msgs in (planner_messages(cues=_cues(), labels=MELD), generator_messages(cues=_cues(), labels=MELD, evidence=())):
        assert [m.role for m in msgs] == ["system", "user"]
        assert "Allowed labels: neutral, happy, surprise, angry, sad, disgust, fear." in msgs[0].content
        assert "Ross: I sold the car." in msgs[1].content and "You did WHAT?" in msgs[1].content
        assert prompt_chars(msgs) < 800
    plan = planner_messages(cues=_cues(), labels=MELD)[0].content
    assert all(k in plan for k in ("support:", "confusion:", "counter sentiment:"))
    gen = generator_messages(cues=_cues(), labels=MELD, evidence=())[0].content
    assert all(k in gen for k in ("label:", "emotions:", "sentiment:", "rationale:"))
    with pytest.raises(ValueError):
        planner_messages(cues=_cues(), labels=())


def test_filter_and_generator_number_candidates_with_labels():
    ev = [Evidence(id="a", text="I hate   this so much " * 20, label="angry", kind="support", score=0.9),
          Evidence(id="b", text="Great news!", label="happy", kind="counter", score=0.5),
          Evidence(id="c", text="Hmm.", label=None, kind="confusion", score=0.4)]
    cands = candidates_from(ev, max_chars=40)
    assert [c.label for c in cands] == ["angry", "happy", None] and len(cands[0].text) == 40
    msgs = filter_messages(cues=_cues(), candidates=cands, hypothesis="angry")
    user = msgs[1].content
    assert "Current hypothesis: angry" in user
    assert "1. [angry, 0.90] I hate this so much" in user and "2. [happy, 0.50] Great news!" in user
    assert "3. [unlabelled, 0.40] Hmm." in user
    assert "keep: <numbers of the most useful examples, at most 4" in msgs[0].content
    gen = generator_messages(cues=_cues(), labels=MELD, evidence=cands[1:2])[1].content
    assert "1. [happy, 0.50] Great news!" in gen and "I hate" not in gen
    with pytest.raises(ValueError):
        filter_messages(cues=_cues(), candidates=[], hypothesis=None)
