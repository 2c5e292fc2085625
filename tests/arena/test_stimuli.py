"""SAB stimuli: neutral keywords (re-checked against VADER and NRC), scenario -> passage with a scripted backend, real
espeak-ng speech, real stimuli from the shared clips, and the JSONL store."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from affectagent.arena import stimuli as st
from affectagent.arena.stimuli import (
    ESPEAK_SAMPLE_RATE, Prosody, Stimulus, StimulusConfig, StimulusError, StimulusStore, from_samples,
    generate_stimuli, generate_text_stimulus, neutral_words, real_stimuli, sample_keywords, sample_prosody,
    speech_stimulus, synthesize,
)
from affectagent.datasets import load
from affectagent.errors import InputError, MissingDependencyError
from tests.llm import scripted
from tests.llm.scripted import ScriptedBackend
from tests.resources import shared

REPO = Path(__file__).resolve().parents[2]


def _arena_role(messages) -> str:
    system = messages[0].content
    if system == st.SCENARIO_SYSTEM:
        return "scenario"
    if system == st.PASSAGE_SYSTEM:
        return "passage"
    raise AssertionError(f"unknown role prompt: {system[:60]!r}")


def _scene(messages) -> str:
    words = messages[-1].content.split("Prompt Words: ")[1].lower()
    return f"Scene: A retired teacher keeps a notebook about {words} and reads it on the train."


@pytest.fixture
def backend(monkeypatch) -> ScriptedBackend:
    """tests/llm/scripted.py's ScriptedBackend, taught the arena's two system prompts."""
    monkeypatch.setattr(scripted, "role_of", _arena_role)
    return ScriptedBackend(answers={
        "scenario": _scene,
        "passage": '"I open my notebook on the train.  The page about the river is gone, torn out."',
    })


def _load_script():
    spec = importlib.util.spec_from_file_location("make_neutral_words", REPO / "scripts" / "make_neutral_words.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- keywords ----------------------------------------------------------------------------------------------------

def test_shipped_word_list_is_neutral_by_vader_and_nrc():
    from nrclex.core import _load_bundled_lexicon
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    words = neutral_words()
    assert len(words) >= 300 and len(set(words)) == len(words)
    vader, nrc = SentimentIntensityAnalyzer(), _load_bundled_lexicon()
    loud = [w for w in words if abs(vader.polarity_scores(w)["compound"]) >= 0.05 or w in vader.lexicon]
    assert loud == []
    assert [w for w in words if nrc.get(w)] == []


def test_make_neutral_words_rebuilds_the_shipped_list(capsys):
    assert _load_script().main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_keyword_sampling_is_seeded_and_from_the_list():
    words = set(neutral_words())
    draws = [sample_keywords(s) for s in range(50)]
    assert draws == [sample_keywords(s) for s in range(50)]
    assert all(1 <= len(d) <= 3 and len(set(d)) == len(d) and set(d) <= words for d in draws)
    assert {len(d) for d in draws} == {1, 2, 3}
    assert len(set(draws)) > 40
    assert sample_keywords(0, k=2, words=["a", "b", "c"]) in {("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"),
                                                              ("c", "a"), ("c", "b")}
    with pytest.raises(InputError):
        sample_keywords(0, k=4, words=["a", "b", "c"])


# ---- scenario and passage ----------------------------------------------------------------------------------------

def test_text_stimulus_with_scripted_backend(backend):
    stim = generate_text_stimulus(backend, seed=11)
    assert stim.id == "gen-11" and stim.modality == "text" and stim.origin == "generated" and stim.seed == 11
    assert stim.text == "I open my notebook on the train. The page about the river is gone, torn out."
    assert 1 <= len(stim.keywords) <= 3 and stim.backend == "scripted"
    assert stim.scenario.startswith("A retired teacher") and all(k in stim.scenario for k in stim.keywords)
    scene_user = stim.prompts["scenario"][1]["content"]
    assert scene_user.endswith("Prompt Words: " + " ".join(k.upper() for k in stim.keywords))
    assert "single character" in scene_user
    assert stim.scenario in stim.prompts["passage"][1]["content"]
    assert [c[0] for c in backend.calls] == ["scenario", "passage"]
    again = generate_text_stimulus(backend, seed=11)
    assert again.to_dict() == stim.to_dict()


def test_empty_llm_reply_is_a_stimulus_error(monkeypatch):
    monkeypatch.setattr(scripted, "role_of", _arena_role)
    silent = ScriptedBackend(answers={"scenario": "  Scene:  ", "passage": "x"})
    with pytest.raises(StimulusError):
        generate_text_stimulus(silent, seed=0)


def test_truncated_reply_is_trimmed_to_a_full_sentence(monkeypatch):
    monkeypatch.setattr(scripted, "role_of", _arena_role)
    cut = ScriptedBackend(answers={"scenario": "A man waits at the station. He holds a ticket and a",
                                   "passage": "I wait. The train is late and I"},
                          finish_reason={"scenario": "length", "passage": "length"})
    stim = generate_text_stimulus(cut, seed=0)
    assert stim.scenario == "A man waits at the station." and stim.text == "I wait."


def test_clean_reply():
    assert st.clean_reply("**Passage:** “I waited.”") == "I waited."
    assert st.clean_reply("line one\n\nline two") == "line one line two"


# ---- speech (real espeak-ng) -------------------------------------------------------------------------------------

def test_espeak_writes_a_decodable_wav(tmp_path):
    wav = synthesize("I carried the basket to the market.", tmp_path / "a.wav", prosody=Prosody(rate=175))
    data, sr = sf.read(str(wav))
    assert sr == ESPEAK_SAMPLE_RATE == 22050 and data.ndim == 1
    assert len(data) / sr > 0.5 and np.abs(data).max() > 0.01


def test_prosody_changes_the_audio(tmp_path):
    text = "I carried the basket to the market and waited for the bus."
    slow = sf.info(str(synthesize(text, tmp_path / "slow.wav", prosody=Prosody(rate=100)))).duration
    fast = sf.info(str(synthesize(text, tmp_path / "fast.wav", prosody=Prosody(rate=300)))).duration
    assert slow > 1.8 * fast
    low = sf.read(str(synthesize(text, tmp_path / "low.wav", prosody=Prosody(amplitude=40))))[0]
    high = sf.read(str(synthesize(text, tmp_path / "high.wav", prosody=Prosody(amplitude=180))))[0]
    assert np.abs(high).max() > np.abs(low).max()


def test_prosody_is_seeded_and_validated():
    assert sample_prosody(3) == sample_prosody(3)
    assert len({sample_prosody(s) for s in range(20)}) > 10
    for bad in ({"rate": 10}, {"pitch": 120}, {"amplitude": -1}, {"voice": "en; rm -rf"}):
        with pytest.raises(InputError):
            Prosody(**bad)


def test_missing_espeak_is_one_clear_line(tmp_path, backend):
    with pytest.raises(MissingDependencyError) as exc:
        synthesize("hello", tmp_path / "x.wav", espeak="no-such-espeak-ng")
    message = str(exc.value)
    assert "\n" not in message and "apt-get install espeak-ng" in message
    store = StimulusStore(tmp_path / "run")
    with pytest.raises(MissingDependencyError):
        generate_stimuli(backend, store, n=1, config=StimulusConfig(espeak="no-such-espeak-ng"), progress=False)
    assert backend.calls == []  # failed before any LLM call


def test_espeak_failure_is_a_stimulus_error(tmp_path):
    with pytest.raises(StimulusError, match="espeak-ng failed"):
        synthesize("hello", tmp_path / "x.wav", prosody=Prosody(voice="zz-nonexistent"))


def test_speech_stimulus_from_text_stimulus(tmp_path, backend):
    text = generate_text_stimulus(backend, seed=4)
    audio = speech_stimulus(text, tmp_path)
    assert audio.id == "gen-4-speech" and audio.modality == "audio" and audio.parent == "gen-4"
    assert audio.files == {"audio": "audio/gen-4-speech.wav"} and audio.text == text.text
    assert audio.prosody == speech_stimulus(text, tmp_path).prosody  # drawn from the seed
    assert audio.keywords == text.keywords and audio.prompts == text.prompts
    info = sf.info(str(audio.file(root=tmp_path)))
    assert info.samplerate == 22050 and info.duration > 0.5
    assert audio.meta["seconds"] == pytest.approx(info.duration, abs=1e-3)


# ---- store and end-to-end generation -----------------------------------------------------------------------------

def test_generate_stimuli_store_round_trip_and_resume(tmp_path, backend):
    store = StimulusStore(tmp_path / "run")
    made = generate_stimuli(backend, store, n=2, seed=7, progress=False)
    assert [s.id for s in made] == ["gen-7", "gen-7-speech", "gen-8", "gen-8-speech"]
    assert len(backend.calls) == 4
    lines = (tmp_path / "run" / "stimuli.jsonl").read_text().splitlines()
    assert [json.loads(ln)["id"] for ln in lines] == store.ids()
    reopened = StimulusStore(tmp_path / "run")
    assert [s.to_dict() for s in reopened] == [s.to_dict() for s in made]
    speech = reopened.get("gen-8-speech")
    assert isinstance(speech.prosody, Prosody) and reopened.file(speech).is_file()
    assert generate_stimuli(backend, reopened, n=3, seed=7, progress=False)[0].id == "gen-9"
    assert len(backend.calls) == 6  # only seed 9 was new
    with pytest.raises(InputError):
        reopened.add(made[0])


def test_store_rejects_malformed_lines(tmp_path):
    (tmp_path / "stimuli.jsonl").write_text('{"id": "a", "modality": "text", "text": "x"}\n{"id": "b"}\n')
    with pytest.raises(InputError, match="line 2"):
        StimulusStore(tmp_path)
    (tmp_path / "stimuli.jsonl").write_text('{"id": "a", "modality": "text", "text": "x", "colour": 1}\n')
    with pytest.raises(InputError, match="unknown stimulus fields"):
        StimulusStore(tmp_path)


# ---- real stimuli ------------------------------------------------------------------------------------------------

def test_real_stimuli_from_the_shared_clips_folder(tmp_path):
    clips = shared("clips") / "clips"
    stims = real_stimuli(clips)
    assert len(stims) == 9  # the 9 videos; the .jpg is no stimulus type, SOURCE.txt is documentation
    assert all(s.modality == "video" and s.origin == "real" and s.file().is_file() for s in stims)
    assert "real/video_retalking/face1.mp4" in {s.id for s in stims}
    store = StimulusStore(tmp_path)
    store.extend(stims)
    back = StimulusStore(tmp_path).get("real/fer/test.mp4")
    assert Path(back.files["video"]).is_absolute() and back.file() == (clips / "fer" / "test.mp4").resolve()


def test_real_stimuli_from_dataset_samples_and_manifest(tmp_path):
    clips = shared("clips")
    stims = from_samples(load("clips", "all", data_root=clips))
    assert len(stims) == 9 and {s.meta["has_audio"] for s in stims} == {True, False}
    wav = synthesize("I left the umbrella on the bus.", tmp_path / "media" / "u.wav")
    manifest = tmp_path / "mine.jsonl"
    manifest.write_text(json.dumps({"id": "u1", "audio": "media/u.wav", "text": "I left the umbrella on the bus."})
                        + "\n" + json.dumps({"id": "t1", "text": "We painted the fence.", "label": "happy"}) + "\n")
    mine = real_stimuli(manifest)
    assert [(s.id, s.modality) for s in mine] == [("real/u1", "audio"), ("real/t1", "text")]
    assert mine[0].file() == wav.resolve() and mine[1].meta["label"] == "happy"
    assert [s.id for s in real_stimuli(manifest, modalities=["text"])] == ["real/t1"]
    (tmp_path / "media" / "note.txt").write_text("I sorted the buttons by colour.")
    (tmp_path / "media" / "README.md").write_text("docs")
    (tmp_path / "media" / "SOURCE.txt").write_text("where these came from")
    folder = real_stimuli(tmp_path / "media")
    assert [(s.id, s.modality) for s in folder] == [("real/note.txt", "text"), ("real/u.wav", "audio")]
    assert folder[0].text == "I sorted the buttons by colour."
    assert [s.id for s in real_stimuli(tmp_path / "media", modalities=["audio"])] == ["real/u.wav"]
    with pytest.raises(InputError):
        real_stimuli(tmp_path / "missing")


def test_stimulus_validation():
    with pytest.raises(InputError):
        Stimulus(id="a", modality="text")
    with pytest.raises(InputError):
        Stimulus(id="a", modality="audio", text="hi")
    with pytest.raises(InputError):
        Stimulus(id="a", modality="image", files={"image": "x.png"})
    with pytest.raises(InputError):
        Stimulus(id="a", modality="text", text="x", origin="found")
    s = Stimulus(id="a", modality="video", origin="real", files={"video": "v.mp4"}, prosody={"rate": 150})
    assert s.prosody == Prosody(rate=150) and s.file(root="/r") == Path("/r/v.mp4")
    with pytest.raises(InputError):
        s.file("audio")
