import csv
from collections import Counter

import pytest

from affectagent.datasets import label_space, load, splits
from affectagent.errors import DataNotFoundError, InputError
from affectagent.schema import CANONICAL_EMOTIONS, Turn


@pytest.fixture(scope="module")
def meld(root, need):
    need("meld")
    return {s: load("meld", s, data_root=root) for s in ("train", "dev")}


def raw_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_counts_match_readme(meld):
    assert len(meld["train"]) == 9989 and len(meld["dev"]) == 1109
    assert len({s.meta["dialogue_id"] for s in meld["train"]}) == 1038
    assert len({s.meta["dialogue_id"] for s in meld["dev"]}) == 114


def test_labels_and_sentiment_follow_the_file(root, meld):
    rows = raw_rows(root / "meld" / "dev_sent_emo.csv")
    space = label_space("meld")
    for row, s in zip(rows, meld["dev"]):
        assert s.raw_label == row["Emotion"] and s.label == space.canonicalize(row["Emotion"])
        assert s.sentiment == row["Sentiment"] and s.speaker == row["Speaker"] and s.text == row["Utterance"]
    assert Counter(s.label for s in meld["train"])["happy"] == sum(r["Emotion"] == "joy" for r in
                                                                    raw_rows(root / "meld" / "train_sent_emo.csv"))


def test_context_is_previous_utterances_of_the_dialogue(root, meld):
    by_id = {s.id: s for s in meld["dev"]}
    rows = [r for r in raw_rows(root / "meld" / "dev_sent_emo.csv") if r["Dialogue_ID"] == "1"]
    rows.sort(key=lambda r: int(r["Utterance_ID"]))
    assert len(rows) == 16   # dev dialogue 1 (the loop below must not be vacuous)
    for k, row in enumerate(rows):
        s = by_id[f"meld/dev/dia1_utt{row['Utterance_ID']}"]
        assert s.context == tuple(Turn(r["Speaker"], r["Utterance"]) for r in rows[:k])
    firsts = [s for s in meld["train"] if s.meta["utterance_id"] == 0]
    assert len(firsts) > 1000 and all(s.context == () for s in firsts)


def test_meta_and_ids(meld):
    s = meld["train"][0]
    assert s.id == "meld/train/dia0_utt0" and s.source == "meld" and s.split == "train"
    assert {"season", "episode", "start", "end", "dialogue_id", "utterance_id"} <= set(s.meta)
    assert len({x.id for x in meld["train"]}) == len(meld["train"])


def test_label_space_maps_to_canonical():
    space = label_space("meld")
    assert space.canonicalize("joy") == "happy" and space.canonicalize("anger") == "angry"
    assert space.canonicalize("sadness") == "sad"
    assert set(space.canonical) <= set(CANONICAL_EMOTIONS)


def test_missing_test_split_names_the_expected_file(tmp_path):
    assert splits("meld") == ("train", "dev", "test", "all")
    (tmp_path / "meld").mkdir()   # a data root whose MELD folder lacks the (unshipped) official test split
    with pytest.raises(DataNotFoundError, match="test_sent_emo.csv"):
        load("meld", "test", data_root=tmp_path)


def test_all_concatenates_present_splits(root, meld):
    both = load("meld", "all", data_root=root)
    assert len(both) == len(meld["train"]) + len(meld["dev"])
    assert {s.split for s in both} == {"train", "dev"}


def test_limit_and_same_layout_elsewhere(tmp_path, root, need):
    need("meld")
    lines = (root / "meld" / "dev_sent_emo.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "meld").mkdir()
    (tmp_path / "meld" / "test_sent_emo.csv").write_text("".join(lines[:6]), encoding="utf-8")
    test = load("meld", "test", data_root=tmp_path)
    assert len(test) == 5 and test[0].id.startswith("meld/test/")
    assert len(load("meld", "dev", data_root=root, limit=3)) == 3


def test_data_file_override_and_malformed_rows(tmp_path, root, need):
    need("meld")
    lines = (root / "meld" / "dev_sent_emo.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    good = tmp_path / "mine.csv"
    good.write_text("".join(lines[:4]), encoding="utf-8")
    assert [s.text for s in load("meld", "test", data_file=good)] == [r["Utterance"] for r in
                                                                        raw_rows(good)]
    bad = tmp_path / "bad.csv"
    bad.write_text(lines[0] + lines[1] + '9,"Hi.",Ross,bored,neutral,0,1,4,7,"00:00:01,000","00:00:02,000"\n',
                   encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv line 3: 'bored' is not a label of 'meld'"):
        load("meld", "test", data_file=bad)
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("Utterance,Speaker\nhi,Ross\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"nocol\.csv line 1: missing column"):
        load("meld", "test", data_file=nocol)
    with pytest.raises(DataNotFoundError, match="absent.csv"):
        load("meld", "test", data_file=tmp_path / "absent.csv")


def test_meld_dyadic_counts(root, need):
    need("meld")
    train = load("meld_dyadic", "train", data_root=root)
    dev = load("meld_dyadic", "dev", data_root=root)
    assert len(train) == 12840 and len(dev) == 1462
    assert all("old_dialogue_id" in s.meta for s in dev) and dev[0].id.startswith("meld_dyadic/dev/")
