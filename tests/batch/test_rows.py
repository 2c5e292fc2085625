"""Prediction rows: JSONL and CSV round-trip, evaluate's predictions.jsonl read as rows, an interrupted file resumed,
files from before the intent / reply columns."""
import csv
import json

import pytest

from affectagent.batch.rows import (LEGACY_ROW_FIELDS, ROW_FIELDS, PredictionRow, RowWriter, read_rows, row_format,
                                    write_rows)
from affectagent.errors import InputError
from affectagent.schema import Evidence, Prediction

ROWS = [
    PredictionRow(id="a/face1.mp4", path="/data/a/face1.mp4", kind="video", label="happy",
                  probs={"happy": 0.7, "sad": 0.3}, sentiment="positive", ov_set=("happy", "excited"),
                  rationale='Predicted happy, "quoted", comma, and a\nnewline; ünïcode ✓',
                  evidence_ids=("m/1", "m/2"), seconds=1.25, gold="happy"),
    PredictionRow.failed(id="broken.mp4", path="/data/broken.mp4", kind="video",
                         error="cannot decode broken.mp4: corrupt or truncated", seconds=0.01),
    PredictionRow(id="text-row", path="m.jsonl:3", kind="text", label="sad", probs={"sad": 1.0},
                  sentiment="negative", rationale=""),
]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_round_trip(tmp_path, suffix):
    out = tmp_path / f"preds{suffix}"
    with RowWriter(out) as w:
        for r in ROWS[:2]:
            w.write(r)
    with RowWriter(out) as w:  # appending keeps one header
        w.write(ROWS[2])
    back = read_rows(out)
    assert [r.id for r in back] == [r.id for r in ROWS]
    assert back[0] == ROWS[0]
    assert back[1] == ROWS[1] and not back[1].ok and back[1].label is None and back[1].probs == {}
    assert back[2].rationale is None and back[2].ov_set == ()  # "" is an empty cell: None
    if suffix == ".csv":
        assert out.read_text().splitlines()[0] == ",".join(ROW_FIELDS)
        assert out.read_text().count("id,path,kind") == 1
    else:
        assert set(json.loads(out.read_text().splitlines()[0])) == set(ROW_FIELDS)


def test_reads_evaluate_predictions_jsonl(tmp_path):
    """``affectagent evaluate`` writes Prediction.to_dict() + gold; the same reader takes it."""
    pred = Prediction(sample_id="meld/dev/dia1_utt0", label="angry", probs={"angry": 0.6, "neutral": 0.4},
                      sentiment="negative", ov_set=("angry",), rationale="r",
                      evidence=(Evidence(id="meld/train/x", text="t", label="angry", kind="support", score=0.9),))
    path = tmp_path / "predictions.jsonl"
    path.write_text(json.dumps({**pred.to_dict(), "gold": "neutral", "gold_raw": "neutral"}) + "\n")
    [row] = read_rows(path)
    assert row.id == "meld/dev/dia1_utt0" and row.label == "angry" and row.evidence_ids == ("meld/train/x",)
    assert row.gold == "neutral" and row.ov_set == ("angry",) and row.ok


def test_from_prediction_keeps_every_field():
    pred = Prediction(sample_id="s", label="sad", probs={"sad": 0.5123456789, "happy": 0.4876543211},
                      sentiment="negative", ov_set=("sad", "lonely"), rationale="because",
                      evidence=(Evidence(id="e1", text="", label="sad", kind="support", score=1.0),))
    row = PredictionRow.from_prediction(pred, id="x.mp4", path="dir/x.mp4", kind="video", seconds=0.123456)
    assert row.to_record() == {"id": "x.mp4", "path": "dir/x.mp4", "kind": "video", "label": "sad",
                               "probs": {"sad": 0.512346, "happy": 0.487654}, "sentiment": "negative",
                               "ov_set": ["sad", "lonely"], "rationale": "because", "evidence_ids": ["e1"],
                               "seconds": 0.1235, "error": None, "gold": None, "intent": None, "reply": None}


def test_nanoemox_intent_and_reply_come_from_the_trace():
    pred = Prediction(sample_id="s", label="happy", probs={"happy": 1.0}, sentiment="positive",
                      trace={"agents": "nanoemox", "intent": "Thank", "reply": "Glad to help!"})
    row = PredictionRow.from_prediction(pred, id="s", path=None, kind="text", seconds=0.5)
    assert (row.intent, row.reply) == ("Thank", "Glad to help!")
    other = PredictionRow.from_prediction(Prediction("t", "sad", {"sad": 1.0}, "negative", trace={"intent": 3}),
                                          id="t", path=None, kind="text", seconds=0.1)
    assert (other.intent, other.reply) == (None, None)  # only strings are taken


def test_files_written_before_intent_and_reply_still_read_and_resume(tmp_path):
    legacy = LEGACY_ROW_FIELDS
    assert ROW_FIELDS == legacy + ("intent", "reply")
    old_csv = tmp_path / "old.csv"  # as the previous version wrote it
    rec = ROWS[0].to_record()
    with open(old_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(legacy)
        w.writerow([json.dumps(rec[k], ensure_ascii=False) if k in ("probs", "ov_set", "evidence_ids")
                    else "" if rec[k] is None else str(rec[k]) for k in legacy])
    assert read_rows(old_csv) == [ROWS[0]]  # the two new cells are simply absent
    with RowWriter(old_csv) as w:  # resuming keeps the file's own columns
        w.write(ROWS[2])
    text = old_csv.read_text().splitlines()
    assert text[0] == ",".join(legacy) and [r.id for r in read_rows(old_csv)] == ["a/face1.mp4", "text-row"]
    old_jsonl = tmp_path / "old.jsonl"
    rec = {k: v for k, v in ROWS[0].to_record().items() if k not in ("intent", "reply")}
    old_jsonl.write_text(json.dumps(rec) + "\n")
    assert read_rows(old_jsonl) == [ROWS[0]]


def test_a_line_cut_by_a_killed_run_is_dropped_and_overwritten(tmp_path):
    out = tmp_path / "p.jsonl"
    with RowWriter(out) as w:
        w.write(ROWS[0])
    full = json.dumps(ROWS[2].to_record())
    out.write_text(out.read_text() + full[: len(full) // 2])  # the process died mid-line
    assert [r.id for r in read_rows(out)] == ["a/face1.mp4"]
    with RowWriter(out) as w:
        w.write(ROWS[2])
    assert [r.id for r in read_rows(out)] == ["a/face1.mp4", "text-row"]


def test_a_complete_last_line_without_newline_is_kept(tmp_path):
    out = tmp_path / "p.jsonl"
    out.write_text(json.dumps(ROWS[0].to_record()))  # hand-written, no final newline
    with RowWriter(out) as w:
        w.write(ROWS[1])
    assert [r.id for r in read_rows(out)] == ["a/face1.mp4", "broken.mp4"]


def test_write_rows_replaces_atomically(tmp_path):
    out = tmp_path / "p.csv"
    write_rows(out, ROWS)
    write_rows(out, ROWS[:1])
    assert [r.id for r in read_rows(out)] == ["a/face1.mp4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


def test_format_from_extension_and_foreign_csv_refused(tmp_path):
    assert row_format("x.JSONL") == "jsonl" and row_format("x.csv") == "csv"
    with pytest.raises(InputError, match=".jsonl or .csv"):
        row_format("preds.txt")
    manifest = tmp_path / "mine.csv"
    manifest.write_text("id,video,label\nclip,clip.mp4,happy\n")
    with pytest.raises(InputError, match="not a predict output"):
        with RowWriter(manifest) as w:
            w.write(ROWS[0])
    assert manifest.read_text() == "id,video,label\nclip,clip.mp4,happy\n"


def test_bad_cells_name_the_line(tmp_path):
    out = tmp_path / "p.csv"
    write_rows(out, ROWS[:1])
    out.write_text(out.read_text() + "x,,,,{not json,,,,,,,\n")
    with pytest.raises(InputError, match="line 4: column probs is not JSON"):  # row 1 spans lines 2-3
        read_rows(out)
