"""``affectagent score`` reads the batch rows (.jsonl / .csv) and evaluate's predictions.jsonl as they are: ``id`` is
the sample name, ``ov_set`` the open-vocabulary set, failed rows are no predictions."""
import json

import pytest

from affectagent.batch.rows import PredictionRow, write_rows
from affectagent.errors import InputError
from affectagent.metrics import files
from affectagent.metrics.score_files import ScoreOptions, score_files

ROWS = [
    PredictionRow(id="s1", label="happy", probs={"happy": 0.8, "sad": 0.2}, sentiment="positive",
                  ov_set=("happy", "excited")),
    PredictionRow(id="s2", label="sad", probs={"happy": 0.1, "sad": 0.9}, sentiment="negative", ov_set=("sad",)),
    PredictionRow.failed(id="s3", error="cannot decode s3.mp4: corrupt or truncated"),
]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_batch_rows_are_read_by_the_score_reader(tmp_path, suffix):
    pred = write_rows(tmp_path / f"p{suffix}", ROWS)
    records = files.read_records(pred)
    assert [r["name"] for r in records] == ["s1", "s2"]  # the failed row is no prediction
    assert files.read_label_sets(pred) == {"s1": ["happy", "excited"], "s2": ["sad"]}
    assert files.read_labels(pred) == {"s1": "happy", "s2": "sad"}


def test_score_cls_on_batch_rows_with_a_failed_input(tmp_path):
    pred = write_rows(tmp_path / "p.csv", ROWS)
    gold = tmp_path / "gold.csv"
    gold.write_text("name,label\ns1,happy\ns2,happy\ns3,sad\n")
    with pytest.raises(InputError, match="1 of 3 gold samples have no label prediction"):
        score_files("cls", ScoreOptions(pred=pred, gold=gold))
    rep = score_files("cls", ScoreOptions(pred=pred, gold=gold, missing_as_empty=True))
    assert dict(rep.rows)["WAR (accuracy)"] == pytest.approx(1 / 3)


def test_evaluate_predictions_jsonl_fields(tmp_path):
    """The fields ``metrics.evaluate.write_outputs`` writes: Prediction.to_dict() + gold / gold_raw."""
    pred = tmp_path / "predictions.jsonl"
    pred.write_text("\n".join(json.dumps({"id": i, "label": lab, "sentiment": "neutral", "probs": {lab: 1.0},
                                          "ov_set": ov, "rationale": "", "evidence": [], "gold": "happy",
                                          "gold_raw": "joy"})
                              for i, lab, ov in (("a", "happy", ["happy"]), ("b", "sad", ["sad", "angry"]))) + "\n")
    gold = tmp_path / "gold.csv"
    gold.write_text("name,label\na,happy\nb,happy\n")
    assert dict(score_files("cls", ScoreOptions(pred=pred, gold=gold)).rows)["WAR (accuracy)"] == 0.5
    assert files.read_label_sets(pred) == {"a": ["happy"], "b": ["sad", "angry"]}


def test_a_file_of_failed_rows_only_says_so(tmp_path):
    pred = write_rows(tmp_path / "p.jsonl", ROWS[2:])
    with pytest.raises(InputError, match="every row is a failed input"):
        files.read_records(pred)


def test_the_benchmark_names_win_over_the_aliases(tmp_path):
    path = tmp_path / "both.jsonl"
    path.write_text(json.dumps({"name": "n", "id": "i", "openset": ["calm"], "ov_set": ["sad"]}) + "\n")
    assert files.read_label_sets(path) == {"n": ["calm"]}
