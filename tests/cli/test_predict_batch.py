"""``affectagent predict PATH... --out``: real clips, a real still image and a corrupt file through the tiny real
checkpoint in one process; resuming; rows read back by ``score``; evaluate's predictions read by ``score``; still
images as first-class inputs; ``--json`` / ``--explain`` / ``--labels`` consistency."""
import csv
import json
from types import SimpleNamespace

import pytest

from affectagent import datasets
from affectagent.batch import read_rows
from affectagent.cli import main
from affectagent.schema import CANONICAL_EMOTIONS

from ..batch.helpers import frame_png, real_folder, shared_file


def _ck(tiny_checkpoint) -> list[str]:
    return ["--checkpoint", str(tiny_checkpoint)]


def test_a_folder_with_two_clips_and_a_corrupt_file_resumes(tiny_checkpoint, tmp_path, capsys):
    folder = real_folder(tmp_path)
    out = tmp_path / "preds.csv"
    argv = ["predict", str(folder), "--out", str(out), "--no-progress", *_ck(tiny_checkpoint)]
    assert main(argv) == 1  # some inputs failed
    cap = capsys.readouterr()
    assert "3 rows written to" in cap.out and "2 ok, 1 failed" in cap.out and "failed: broken.mp4" in cap.out
    assert "1 file(s) in the folders are not video, audio or image files" in cap.err
    rows = {r.id: r for r in read_rows(out)}
    assert list(rows) == ["a/face1.mp4", "broken.mp4", "face2.mp4"]
    bad = rows["broken.mp4"]
    assert bad.error and "broken.mp4" in bad.error and "corrupt" in bad.error and bad.label is None
    for rid in ("a/face1.mp4", "face2.mp4"):
        r = rows[rid]
        assert r.ok and r.kind == "video" and r.label in CANONICAL_EMOTIONS and r.sentiment
        assert sum(r.probs.values()) == pytest.approx(1.0, abs=1e-3) and r.label == max(r.probs, key=r.probs.get)
        assert r.ov_set and r.rationale.startswith("Predicted") and r.seconds > 0
    with open(out, newline="") as f:  # a plain CSV for spreadsheets
        header = next(csv.reader(f))
    assert header[:4] == ["id", "path", "kind", "label"] and "error" in header

    assert main(argv) == 1  # the corrupt file is tried again and fails again
    again = capsys.readouterr().out
    assert "2 skipped (already in preds.csv)" in again and "1 failed before and tried again" in again
    assert sorted(r.id for r in read_rows(out)) == sorted(rows)  # still one row per input


def test_manifest_with_a_clip_an_image_and_a_text_to_jsonl_then_score(tiny_checkpoint, tmp_path, capsys):
    png = frame_png(shared_file("clips/video_retalking/face3.mp4"), tmp_path / "face3.png")
    manifest = tmp_path / "mine.jsonl"
    manifest.write_text("\n".join(json.dumps(r) for r in [
        {"id": "clip", "video": str(shared_file("clips/video_retalking/face2.mp4")), "label": "neutral"},
        {"id": "still", "image": png.name, "label": "happy"},
        {"id": "talk", "text": "You did WHAT?", "context": [{"speaker": "Ann", "text": "I sold the car."}],
         "label": "surprise"},
    ]) + "\n")
    out = tmp_path / "p.jsonl"
    assert main(["predict", str(manifest), "--out", str(out), "--json", "--no-progress", *_ck(tiny_checkpoint)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] == 3 and summary["failed"] == 0 and summary["out"] == str(out)
    rows = {r.id: r for r in read_rows(out)}
    assert {k: (r.kind, r.gold) for k, r in rows.items()} == {
        "clip": ("video", "neutral"), "still": ("image", "happy"), "talk": ("text", "surprise")}
    assert "face in 1 frame" in rows["still"].rationale  # the image's face was seen
    gold = tmp_path / "gold.csv"
    gold.write_text("name,label\nclip,neutral\nstill,happy\ntalk,surprise\n")
    assert main(["score", "--task", "cls", "--pred", str(out), "--gold", str(gold), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    hits = sum(r.label == r.gold for r in rows.values())
    assert rep["scores"]["WAR (accuracy)"] == pytest.approx(hits / 3) and rep["n_gold"] == 3


def test_score_reads_evaluate_predictions(tiny_checkpoint, tmp_path, capsys):
    assert main(["evaluate", "--dataset", "meld", "--split", "dev", "--limit", "12", "--out", str(tmp_path),
                 "--json", *_ck(tiny_checkpoint)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    pred = metrics["files"]["predictions"]
    samples = datasets.load("meld", "dev", limit=12)
    gold = tmp_path / "gold.csv"
    gold.write_text("name,label\n" + "".join(f"{s.id},{s.label}\n" for s in samples))
    assert main(["score", "--task", "cls", "--pred", pred, "--gold", str(gold), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scores"]["WAR (accuracy)"] == pytest.approx(metrics["war"])
    raw = tmp_path / "gold_raw.csv"  # MELD's own words (joy, anger, ...) through the emotion wheels
    raw.write_text("name,label\n" + "".join(f"{s.id},{s.raw_label}\n" for s in samples))
    assert main(["score", "--task", "hit", "--pred", pred, "--gold", str(raw), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["prediction_source"] == "openset field" and 0.0 <= rep["scores"]["HIT rate"] <= 1.0
    # the batch reader takes evaluate's file too (the same row fields)
    assert [r.id for r in read_rows(pred)] == [s.id for s in samples if s.label is not None]


def test_rows_go_to_stdout_without_out(tiny_checkpoint, tmp_path, capsys):
    folder = real_folder(tmp_path)
    assert main(["predict", str(folder / "face2.mp4"), str(folder / "broken.mp4"), "--json", "--no-progress",
                 *_ck(tiny_checkpoint)]) == 1
    cap = capsys.readouterr()
    lines = [json.loads(x) for x in cap.out.splitlines()]
    assert [(d["id"], d["error"] is None) for d in lines] == [("face2.mp4", True), ("broken.mp4", False)]
    assert "2 rows written in" in cap.err


@pytest.mark.parametrize("extra,needle", [
    (["--text", "hi"], "--text is for one input"),
    (["--explain"], "--explain is for one input"),
    (["--out", "p.txt"], "use .jsonl or .csv (or .parquet"),
])
def test_batch_usage_errors_exit_2_before_loading(tmp_path, capsys, extra, needle):
    folder = real_folder(tmp_path)
    assert main(["predict", str(folder), *extra, "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert needle in capsys.readouterr().err


def test_missing_input_and_fresh_without_a_batch(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "nope.mp4"), "other.mp4"]) == 2
    assert "input not found" in capsys.readouterr().err
    assert main(["predict", "--text", "hi", "--fresh"]) == 2
    assert "--fresh is for a batch" in capsys.readouterr().err


def test_fresh_starts_over(tiny_checkpoint, tmp_path, capsys):
    folder = real_folder(tmp_path)
    out = tmp_path / "p.jsonl"
    argv = ["predict", str(folder / "face2.mp4"), "--out", str(out), "--no-progress", *_ck(tiny_checkpoint)]
    assert main(argv) == 0 and main(argv) == 0
    assert "1 skipped" in capsys.readouterr().out
    assert main([*argv, "--fresh"]) == 0
    assert "skipped" not in capsys.readouterr().out and len(read_rows(out)) == 1


def test_a_still_image_is_an_input_to_predict_and_features(tiny_checkpoint, capsys):
    img = shared_file("clips/fer/justin.jpg")
    assert main(["predict", str(img), "--json", *_ck(tiny_checkpoint)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["id"] == "justin.jpg" and d["label"] in CANONICAL_EMOTIONS and "trace" not in d
    assert "face in 1 frame" in d["rationale"]
    assert main(["features", str(img), "--json", "--no-cache"]) == 0
    f = json.loads(capsys.readouterr().out)
    assert f["kind"] == "image" and f["n_frames"] == 1 and f["n_face_frames"] == 1 and f["duration"] is None
    assert f["modality_mask"] == {"text": False, "audio": False, "visual": True}
    assert f["embeddings"]["face_seq"][0] == 1


def test_json_has_the_trace_only_with_explain(tiny_checkpoint, capsys):
    base = ["predict", "--text", "Oh no, not again.", "--json", *_ck(tiny_checkpoint)]
    assert main(base) == 0
    assert "trace" not in json.loads(capsys.readouterr().out)
    assert main([*base, "--explain"]) == 0
    assert json.loads(capsys.readouterr().out)["trace"]["queries"]
    assert main([*base, "--raer"]) == 0  # as the service: the RAER record, no trace
    d = json.loads(capsys.readouterr().out)
    assert "trace" not in d and d["raer"]["steps"]


def test_explain_prints_words_not_python_reprs(tiny_checkpoint, capsys):
    assert main(["predict", "--text", "I can't believe you did that!", "--explain", *_ck(tiny_checkpoint)]) == 0
    out = capsys.readouterr().out
    lines = {ln.strip().split(":")[0]: ln for ln in out.splitlines() if ln.strip().startswith(("queries", "MB-MoE"))}
    assert set(lines) == {"queries", "MB-MoE routing"}
    for ln in lines.values():
        assert not any(ch in ln for ch in "{}[]'"), ln
    assert "support " in lines["queries"] and "E1 " in lines["MB-MoE routing"]


def test_labels_help_tells_the_shipped_checkpoints_default(capsys):
    from affectagent.agents.checkpoint import AgentCheckpoint
    from affectagent.api import DEFAULT_CHECKPOINT, AffectAgent
    from affectagent.cli.predict import SHIPPED_DEFAULT_LABELS

    shipped = AffectAgent.default_labels.fget(SimpleNamespace(checkpoint=AgentCheckpoint.load(DEFAULT_CHECKPOINT)))
    assert SHIPPED_DEFAULT_LABELS == shipped
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"these {len(shipped)}: {', '.join(shipped)}" in help_text


def test_speaker_norm_over_a_folder_of_one_speakers_files(tiny_checkpoint, tmp_path, capsys):
    """A folder of one EmoDB speaker's clips (and a corrupt file): the voice branch is re-scored with the folder's
    statistics; one input, a text-only run or the LLM agents refuse the option in one line."""
    clips = [s for s in datasets.load("emodb", "all") if s.label and s.group == "08"][:6]
    folder = tmp_path / "spk"
    folder.mkdir()
    for s in clips:
        (folder / s.audio.name).symlink_to(s.audio)
    (folder / "broken.wav").write_bytes(b"RIFF not really a wav")
    base = ["predict", str(folder), "--no-progress", "--no-transcribe", "--labels",
            ",".join(datasets.label_space("emodb").canonical), *_ck(tiny_checkpoint)]
    assert main(base + ["--out", str(tmp_path / "plain.jsonl")]) == 1
    assert main(base + ["--out", str(tmp_path / "norm.jsonl"), "--speaker-norm"]) == 1  # the broken file's row
    err = capsys.readouterr().err
    assert "speaker normalisation: statistics of 1 speaker(s) over the batch (batch)" in err
    plain = {r.id: r for r in read_rows(tmp_path / "plain.jsonl")}
    norm = {r.id: r for r in read_rows(tmp_path / "norm.jsonl")}
    assert set(plain) == set(norm) and not norm["broken.wav"].ok
    ok = [rid for rid in norm if norm[rid].ok]
    assert len(ok) == 6 and any(norm[rid].probs != plain[rid].probs for rid in ok)
    for argv, msg in ((["predict", str(folder / clips[0].audio.name), "--speaker-norm"], "needs a batch"),
                      (["predict", str(folder), "--speaker-norm", "--agents", "llm"], "for the neural agents")):
        assert main(argv + _ck(tiny_checkpoint)) == 2
        assert msg in capsys.readouterr().err
