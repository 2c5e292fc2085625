import ast
import csv

import pytest

from affectagent.datasets import label_space, load
from affectagent.errors import DataNotFoundError


@pytest.fixture(scope="module")
def emory(root, need):
    need("emorynlp")
    return {s: load("emorynlp", s, data_root=root) for s in ("train", "dev")}


def test_counts_match_readme(emory):
    assert len(emory["train"]) == 7551 and len(emory["dev"]) == 954


def test_speakers_labels_and_scene_context(root, emory):
    with open(root / "emorynlp" / "emorynlp_dev_final.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    space = label_space("emorynlp")
    for row, s in zip(rows, emory["dev"]):
        assert s.speaker == ", ".join(ast.literal_eval(row["Speaker"]))
        assert s.label == space.canonicalize(row["Emotion"]) and s.raw_label == row["Emotion"]
        scene = [r for r in rows if (r["Season"], r["Episode"], r["Scene_ID"]) ==
                 (row["Season"], row["Episode"], row["Scene_ID"]) and int(r["Utterance_ID"]) < int(row["Utterance_ID"])]
        scene.sort(key=lambda r: int(r["Utterance_ID"]))
        assert [t.text for t in s.context] == [r["Utterance"] for r in scene]
        if s.meta["scene_id"] > 3:
            break
    assert any("," in (s.speaker or "") for s in emory["train"])  # multi-speaker utterances are kept


def test_label_map():
    space = label_space("emorynlp")
    assert [space.canonicalize(x) for x in ("Joyful", "Peaceful", "Powerful", "Scared", "Mad", "Sad", "Neutral")] == [
        "happy", "calm", "powerful", "fear", "angry", "sad", "neutral"]


def test_absent_test_file(tmp_path):
    (tmp_path / "emorynlp").mkdir()
    with pytest.raises(DataNotFoundError, match="emorynlp_test_final.csv"):
        load("emorynlp", "test", data_root=tmp_path)
