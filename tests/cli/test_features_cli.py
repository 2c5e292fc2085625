"""``affectagent features`` on real clips and on broken files (exit code 2, one-line message)."""
import json

import numpy as np
import pytest

from affectagent.cli import main
from affectagent.paths import data_root


def _clip(rel):
    p = data_root(must_exist=False) / "clips" / rel
    if not p.exists():
        pytest.skip(f"{rel} not available")
    return p


def test_features_json_on_talking_clip(tmp_path, capsys):
    rc = main(["features", str(_clip("video_retalking/face1.mp4")), "--json", "--cache-dir", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert "help" in out["transcript"].lower() and out["transcript_language"] == "en"
    assert out["modality_mask"]["audio"] and out["modality_mask"]["text"]
    assert out["embeddings"]["audio_emb"] == [88] and out["embeddings"]["text_emb"] == [384]
    assert out["audio"]["speech_ratio"] > 0.3


def test_features_prints_the_speech_emotion_posterior_when_asked(tmp_path, capsys):
    clip = str(_clip("video_retalking/face1.mp4"))
    rc = main(["features", clip, "--json", "--no-transcribe", "--speech-emotion", "default", "--cache-dir", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and abs(sum(out["branch_probs"]["audio"].values()) - 1) < 1e-3
    assert out["encoders"]["speech_emotion"].startswith("speech-emotion:default@")
    assert main(["features", clip, "--speech-emotion", "nope.npz", "--cache-dir", str(tmp_path)]) == 2
    assert "unknown speech-emotion model" in capsys.readouterr().err


def test_features_video_without_audio(tmp_path, capsys):
    rc = main(["features", str(_clip("fer/test.mp4")), "--json", "--cache-dir", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["modality_mask"]["audio"] is False
    assert any("no audio stream" in n for n in out["notes"])


@pytest.mark.parametrize("kind", ["truncated", "random"])
def test_features_bad_file_exits_2_with_one_line(tmp_path, capsys, kind):
    src = _clip("video_retalking/face1.mp4").read_bytes()
    bad = tmp_path / "bad.mp4"
    noise = np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    bad.write_bytes(src[: len(src) // 2] if kind == "truncated" else noise)
    rc = main(["features", str(bad), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and err.startswith("affectagent: error:")


def test_features_text_only(tmp_path, capsys):
    rc = main(["features", "--text", "Oh my God, he's lost it.", "--cache-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "text=yes audio=no visual=no" in out and "(384,)" in out
    assert main(["features"]) == 2
