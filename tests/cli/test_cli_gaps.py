"""CLI gaps (issue 19, class 7): one candidate label is refused as the service refuses it (it would answer 100 %),
a ``--labels`` value that names no label is refused instead of silently meaning "all", ``kb search DIR ""`` is
refused, and a clip in which nothing was perceived (no face, no speech, no text) says so in its rationale."""
from __future__ import annotations

import json

import numpy as np
import pytest

from affectagent.api import AffectAgent
from affectagent.agents.generator import nothing_perceived_note
from affectagent.cli import main
from affectagent.errors import InputError
from affectagent.kb import KBEntry, KnowledgeBase
from affectagent.schema import Features, ModalityMask, parse_label_list

NOTHING = "Nothing was perceived: no text, no speech and no face"


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("affectagent: error:") and "\n" not in err
    return err


@pytest.mark.parametrize("labels,message", [
    ("happy", "give at least two candidate labels (got only 'happy')"),
    ("happy, HAPPY", "give at least two candidate labels (got only 'happy')"),
    (",,,", "--labels names no label; give at least two of: neutral, happy"),
    (" , ", "--labels names no label"),
    ("", "--labels names no label"),
    ("happy,joyish", "unknown labels ['joyish']"),
])
def test_predict_refuses_label_sets_that_are_no_choice(capsys, labels, message):
    assert main(["predict", "--text", "You did WHAT?", "--labels", labels]) == 2
    assert message in _one_line_error(capsys)


def test_label_list_is_shared_with_the_library():
    assert parse_label_list(" Sad, happy,sad ") == ("sad", "happy")
    assert parse_label_list(["angry", "neutral"]) == ("angry", "neutral")
    with pytest.raises(InputError, match="unknown labels \\['xxxxxxxxx"):  # a huge label is shortened in the message
        parse_label_list("happy," + "x" * 5000)
    agent = AffectAgent.load(no_kb=True, log=lambda m: None)
    with pytest.raises(InputError, match="at least two candidate labels"):
        agent.predict_texts(["hi"], label_set=["happy"])


def test_kb_search_refuses_an_empty_query(tmp_path, capsys):
    with KnowledgeBase.create(tmp_path / "kb", text_dim=4, encoders={"text": "e5"}) as kb:
        kb.add([KBEntry(id="a", text="hello", text_emb=np.ones(4))])
    for query in ("", "   "):
        assert main(["kb", "search", str(tmp_path / "kb"), query]) == 2
        assert "the query text is empty" in _one_line_error(capsys)


def _blank_clip(path, seconds=2.0, fps=10, sr=16000):
    """A real mp4 (h264/mpeg4 + AAC) with plain grey frames and a digitally silent audio track."""
    import av

    c = av.open(str(path), "w")
    v = c.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
    v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
    a = c.add_stream("aac", rate=sr)
    a.layout = "mono"
    for i in range(int(seconds * fps)):
        for p in v.encode(av.VideoFrame.from_ndarray(np.full((120, 160, 3), 90 + i, np.uint8), format="rgb24")):
            c.mux(p)
    for k in range(int(seconds * sr / 1024)):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = sr, k * 1024
        for p in a.encode(frame):
            c.mux(p)
    for stream in (v, a):
        for p in stream.encode(None):
            c.mux(p)
    c.close()
    return path


def test_a_clip_with_nothing_to_perceive_says_so(tiny_checkpoint, tmp_path, capsys):
    clip = _blank_clip(tmp_path / "grey.mp4")
    ckpt = ["--checkpoint", str(tiny_checkpoint)]
    assert main(["predict", str(clip), "--json", "--explain", *ckpt]) == 0
    d = json.loads(capsys.readouterr().out)
    assert NOTHING in d["rationale"] and "sampled frames" in d["rationale"]
    assert d["trace"]["modalities"] == ["visual"]  # only the scene descriptor: no words, no voice, no face
    assert main(["predict", "--text", "I am so happy for you!", "--json", *ckpt]) == 0
    assert NOTHING not in json.loads(capsys.readouterr().out)["rationale"]


def test_the_note_follows_the_modality_mask_and_encoder_facts():
    face = np.zeros((3, 272), np.float32)
    blank = Features(mask=ModalityMask(visual=True), visual_emb=np.zeros(28), info={"n_frames": 4})
    assert nothing_perceived_note(blank, None).startswith(NOTHING)
    assert nothing_perceived_note(blank, "hello") is None
    assert nothing_perceived_note(Features(mask=ModalityMask(visual=True), face_seq=face), None) is None
    speech = Features(mask=ModalityMask(audio=True), audio_emb=np.zeros(88), info={"speech_ratio": 0.4})
    assert nothing_perceived_note(speech, None) is None
    noise = Features(mask=ModalityMask(audio=True), audio_emb=np.zeros(88), info={"speech_ratio": 0.0})
    assert nothing_perceived_note(noise, None).startswith(NOTHING)
