import pytest

from affectagent.datasets import label_space, load
from affectagent.datasets.goemotions import EKMAN_GROUPS, GOEMOTIONS_LABELS, ekman_label
from affectagent.errors import DataNotFoundError, InputError


@pytest.fixture(scope="module")
def goemo(root, need):
    need("goemotions")
    return {s: load("goemotions", s, data_root=root) for s in ("train", "dev")}


def test_counts_match_readme(goemo):
    assert len(goemo["train"]) == 43410 and len(goemo["dev"]) == 5426


def test_label_names_match_files_on_disk(root, need):
    need("goemotions")
    assert tuple((root / "goemotions" / "labels.txt").read_text().split()) == GOEMOTIONS_LABELS
    assert sorted((root / "goemotions" / "data_ekman_labels.txt").read_text().split()) == sorted(EKMAN_GROUPS)
    assert sorted(r for group in EKMAN_GROUPS.values() for r in group) == sorted(GOEMOTIONS_LABELS)


def test_raw_labels_and_single_ekman_rule(root, goemo):
    lines = (root / "goemotions" / "dev.tsv").read_text(encoding="utf-8").splitlines()
    for line, s in zip(lines, goemo["dev"]):
        text, ids, cid = line.split("\t")
        assert s.id == f"goemotions/dev/{cid}" and s.text == text.strip()
        assert s.labels == tuple(GOEMOTIONS_LABELS[int(i)] for i in ids.split(","))
    for s in goemo["dev"]:
        cats = {c for c, raws in EKMAN_GROUPS.items() for r in s.labels if r in raws}
        if len(cats) == 1:
            assert s.raw_label == next(iter(cats)) and s.label == label_space("goemotions").canonicalize(s.raw_label)
        else:
            assert s.label is None and s.raw_label is None and s.meta["ekman"] == sorted(cats)


def test_ekman_rule_by_hand():
    assert ekman_label(("joy", "love")) == "joy"
    assert ekman_label(("annoyance", "disapproval")) == "anger"
    assert ekman_label(("approval", "neutral")) is None
    assert ekman_label(("curiosity",)) == "surprise"


def test_user_jsonl_with_label_names(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text('{"text": "yay", "labels": ["joy", "excitement"], "id": "a"}\n'
                 '{"text": "hmm", "labels": "7", "id": "b"}\n', encoding="utf-8")
    a, b = load("goemotions", "test", data_file=p)
    assert a.label == "happy" and a.labels == ("joy", "excitement") and b.labels == ("curiosity",)
    p.write_text('{"text": "x", "labels": ["glee"], "id": "c"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"g\.jsonl line 1: unknown GoEmotions label 'glee'"):
        load("goemotions", "test", data_file=p)


def test_absent_test_file(tmp_path):
    (tmp_path / "goemotions").mkdir()
    with pytest.raises(DataNotFoundError, match="test.tsv"):
        load("goemotions", "test", data_root=tmp_path)
