import pytest

from affectagent.datasets import label_space, load
from affectagent.schema import Turn


@pytest.fixture(scope="module")
def emocontext(root, need):
    need("semeval2019_emocontext")
    return {s: load("emocontext", s, data_root=root) for s in ("train", "dev", "test")}


def test_counts_are_data_rows_without_header(root, emocontext):
    assert [len(emocontext[s]) for s in ("train", "dev", "test")] == [30160, 2755, 5509]
    for split, name in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
        lines = [ln for ln in (root / "semeval2019_emocontext" / name).read_text(encoding="utf-8").splitlines() if ln]
        assert len(emocontext[split]) == len(lines) - 1  # one header line


def test_turns_become_context(root, emocontext):
    first = (root / "semeval2019_emocontext" / "valid.txt").read_text(encoding="utf-8").splitlines()[1].split("\t")
    s = emocontext["dev"][0]
    assert s.id == f"emocontext/dev/{first[0]}" and s.text == first[3].strip() and s.speaker == "A"
    assert s.context == (Turn("A", first[1].strip()), Turn("B", first[2].strip()))
    assert s.raw_label == first[4] and s.label == label_space("emocontext").canonicalize(first[4])


def test_others_maps_to_other(emocontext):
    assert {s.label for s in emocontext["train"]} == {"other", "happy", "sad", "angry"}
    others = [s for s in emocontext["dev"] if s.raw_label == "others"]
    assert len(others) > 1000 and all(s.label == "other" for s in others)


def test_unlabelled_release_format(tmp_path):
    p = tmp_path / "devwithoutlabels.txt"
    p.write_text('id\tturn1\tturn2\tturn3\n0\thi\thello "you"\thow are you\n', encoding="utf-8")
    (s,) = load("emocontext", "test", data_file=p)
    assert s.label is None and s.context[1].text == 'hello "you"'
