"""``affectagent predict --model nanoemox`` / ``evaluate --model nanoemox`` with the tiny saved Nano-EmoX checkpoint:
usage errors exit 2 with one line before anything loads, every asked task prints, --json is the Prediction plus
``tasks``, a real clip reaches the face / scene streams, a batch writes intent and reply, evaluate writes its jsonl."""
import csv
import json

import pytest

from affectagent.batch import read_rows
from affectagent.cli import main
from affectagent.nanoemox.tasks import TASKS
from affectagent.schema import CANONICAL_EMOTIONS, Prediction, Sample

PREDICTION_KEYS = set(Prediction("x", "happy", {"happy": 1.0}, "positive").to_dict())


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("affectagent: error:") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, needle", [
    (["--task", "mer"], "--task is for --model nanoemox"),
    (["--nanoemox", "x"], "--nanoemox is for --model nanoemox"),
    (["--model", "nanoemox", "--raer"], "--raer does not go with --model nanoemox"),
    (["--model", "nanoemox", "--variant", "no_rag", "--kb", "kbs/x"], "--variant no_rag / --kb do not go with"),
    (["--agents", "nanoemox", "--checkpoint", "a.pt"], "--checkpoint does not go with --model nanoemox"),
    (["--agents", "nanoemox", "--model", "qwen-0.5b"], "--model does not go with --model nanoemox"),
    (["--agents", "llm", "--model", "nanoemox"], "it does not go with --agents llm"),
    (["--model", "nanoemox", "--task", "feelings"], "tasks: msa, mer, ov, eri, mir, erg or all"),
    (["--model", "nanoemox", "--nanoemox", "/nonexistent/nx"], "train one with `affectagent train nanoemox"),
])
def test_usage_errors_exit_2_with_one_line(argv, needle, capsys):
    assert main(["predict", "--text", "hi", *argv]) == 2
    assert needle in _one_error_line(capsys)


def test_no_checkpoint_anywhere_says_how_to_train_one(monkeypatch, capsys):
    monkeypatch.delenv("AFFECTAGENT_NANOEMOX", raising=False)
    assert main(["predict", "--text", "hi", "--model", "nanoemox"]) == 2
    err = _one_error_line(capsys)
    assert "none ships yet" in err and "--phase 1|2|3 --out runs/nx" in err and "--nanoemox runs/nx/phase3/model" in err


def test_one_text_prints_every_task(tiny_nanoemox_checkpoint, capsys):
    assert main(["predict", "--text", "We won the cup!", "--speaker", "Ann", "--model", "nanoemox",
                 "--nanoemox", str(tiny_nanoemox_checkpoint)]) == 0
    out = capsys.readouterr().out
    assert f"Nano-EmoX ({tiny_nanoemox_checkpoint}); streams: none (text only)" in out
    for title, task in (("emotion:", "mer"), ("sentiment:", "msa"), ("open vocab:", "ov"), ("reason:", "eri"),
                        ("intent:", "mir"), ("reply:", "erg")):
        assert any(line.startswith(title) and f"[{task}" in line for line in out.splitlines()), (title, out)
    assert "label:" in out and "no calibrated probabilities" in out
    # the untrained model writes garbage (or nothing): its erg answer has no <think> block, and the output says so
    assert "[erg: fallback " in out and "fallbacks:" in out


def test_one_task_and_the_agents_spelling(tiny_nanoemox_checkpoint, capsys):
    assert main(["predict", "--text", "We won!", "--agents", "nanoemox", "--task", "mir",
                 "--nanoemox", str(tiny_nanoemox_checkpoint), "--explain"]) == 0
    out = capsys.readouterr().out
    starts = {line.split(":", 1)[0] for line in out.splitlines()}
    assert "intent" in starts and "emotion" not in starts and "reply" not in starts
    assert "-- raw generations" in out and "   mir (" in out and "   mer (" not in out
    assert "no asked task named an emotion" in out  # mir alone gives no emotion: the default label says so


def test_json_is_the_prediction_plus_tasks(tiny_nanoemox_checkpoint, capsys):
    base = ["predict", "--text", "I lost my keys again.", "--model", "nanoemox", "--nanoemox",
            str(tiny_nanoemox_checkpoint), "--json", "--labels", "sad,angry,neutral"]
    assert main(base) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) == PREDICTION_KEYS | {"tasks"} and list(d["tasks"]) == list(TASKS)
    assert all(isinstance(a["fallback"], bool) and a["task"] == t for t, a in d["tasks"].items())
    assert d["label"] in ("sad", "angry", "neutral") and d["evidence"] == []
    mer = d["tasks"]["mer"]
    assert mer["label"] in (None, "sad", "angry", "neutral")  # --labels are the mer question's options
    assert main(base + ["--task", "mer,erg", "--explain"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert list(e["tasks"]) == ["mer", "erg"] and e["trace"]["agents"] == "nanoemox"
    assert e["trace"]["reply"] == e["tasks"]["erg"]["reply"] and e["trace"]["checkpoint"] == str(
        tiny_nanoemox_checkpoint)


def test_a_real_clip_without_sound_reaches_face_and_scene(tiny_nanoemox_checkpoint, silent_video, capsys):
    assert main(["predict", str(silent_video), "--model", "nanoemox", "--nanoemox", str(tiny_nanoemox_checkpoint),
                 "--task", "mer", "--json", "--explain"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["id"] == "test.mp4" and list(d["tasks"]) == ["mer"]
    assert d["trace"]["streams"] == ["visual", "face"]  # no audio track: no speech, no fusion token


def test_a_batch_writes_intent_and_reply(tiny_nanoemox_checkpoint, tmp_path, capsys):
    from affectagent.nanoemox.predictor import NanoEmoXPredictor

    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "u1", "text": "You did WHAT?", "speaker": "Bob"}) + "\n"
                        + json.dumps({"id": "u2", "text": "Thanks so much for the help."}) + "\n")
    (tmp_path / "broken.mp4").write_bytes(b"\x00not a video" * 50)
    out = tmp_path / "p.csv"
    argv = ["predict", str(manifest), str(tmp_path / "broken.mp4"), "--model", "nanoemox", "--nanoemox",
            str(tiny_nanoemox_checkpoint), "--task", "mer,mir,erg", "--out", str(out), "--no-progress"]
    assert main(argv) == 1  # the corrupt file is a failed row
    assert "2 ok, 1 failed" in capsys.readouterr().out
    with open(out, newline="") as f:
        assert next(csv.reader(f))[-2:] == ["intent", "reply"]
    rows = {r.id: r for r in read_rows(out)}
    assert not rows["broken.mp4"].ok and rows["u1"].ok and rows["u1"].label in CANONICAL_EMOTIONS
    ref = NanoEmoXPredictor.load(tiny_nanoemox_checkpoint).predict(
        Sample(id="u1", text="You did WHAT?", speaker="Bob"), ["mer", "mir", "erg"])
    assert (rows["u1"].intent, rows["u1"].reply) == (ref.trace["intent"], ref.trace["reply"])  # greedy: same answer
    assert rows["u1"].label == ref.label
    assert main(argv) == 1  # resumed: only the failed row is tried again
    assert "2 skipped" in capsys.readouterr().out


def test_evaluate_nanoemox_on_a_dev_source(tiny_nanoemox_checkpoint, tmp_path, capsys):
    out = tmp_path / "preds.jsonl"
    assert main(["evaluate", "--model", "nanoemox", "--task", "msa", "--nanoemox", str(tiny_nanoemox_checkpoint),
                 "--limit", "3", "--out", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    [score] = d["scores"]
    assert score["source"] == "msa/cmumosi" and score["n"] == 3 and score["primary"] == "waf"
    assert set(score["metrics"]) == {"waf", "accuracy"} and 0 <= score["fallback_rate"] <= 1
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 3 and all(r["task"] == "msa" and r["gold"]["label"] for r in lines)


@pytest.mark.parametrize("argv, needle", [
    (["--model", "nanoemox"], "--model nanoemox needs --task"),
    (["--model", "nanoemox", "--task", "mer", "--dataset", "meld"], "--dataset does not go with --model nanoemox"),
    (["--model", "nanoemox", "--task", "mer", "--out", "runs/x"], "a .jsonl file"),
    (["--model", "nanoemox", "--task", "mer", "--source", "ov/goemotions"], "not a source of --task mer"),
    (["--model", "gpt"], "evaluate --model takes nanoemox"),
    (["--task", "mer", "--dataset", "meld"], "--task is for --model nanoemox"),
    ([], "give --dataset NAME"),
])
def test_evaluate_usage_errors(argv, needle, capsys):
    assert main(["evaluate", *argv]) == 2
    assert needle in _one_error_line(capsys)
