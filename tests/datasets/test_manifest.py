import json

import pytest

from affectagent.datasets import label_space, load
from affectagent.errors import DataNotFoundError, InputError
from affectagent.schema import CANONICAL_EMOTIONS, Turn


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_jsonl_with_media_context_and_labels(tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.mp4").write_bytes(b"")
    (tmp_path / "b.wav").write_bytes(b"")
    p = write_jsonl(tmp_path / "m.jsonl", [
        {"id": "v1", "video": "media/a.mp4", "label": "Happy", "group": "s1", "extra": 5},
        {"id": "a1", "audio": str(tmp_path / "b.wav")},
        {"id": "t1", "text": "You did WHAT?", "speaker": "Bob", "label": "surprise",
         "context": [{"speaker": "Ann", "text": "I sold the car."}, "Oh."], "valence": -0.5},
    ])
    v, a, t = load("manifest", "all", data_file=p)
    assert v.video == tmp_path / "media" / "a.mp4" and v.label == "happy" and v.sentiment == "positive"
    assert v.group == "s1" and v.meta == {"extra": 5} and v.source == "manifest"
    assert a.audio == tmp_path / "b.wav" and a.label is None and a.sentiment is None
    assert t.context == (Turn("Ann", "I sold the car."), Turn(None, "Oh.")) and t.valence == -0.5
    assert label_space("manifest").labels == CANONICAL_EMOTIONS


def test_csv_with_same_columns_and_default_ids(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text('text,label,context\nhello,neutral,"[""hi""]"\nbye,,\n', encoding="utf-8")
    a, b = load("manifest", "test", data_file=p)
    assert (a.id, b.id) == ("m-2", "m-3") and a.context == (Turn(None, "hi"),) and b.label is None
    assert a.split == "test"


def test_split_column_filters(tmp_path):
    p = write_jsonl(tmp_path / "m.jsonl", [{"id": "1", "text": "a", "split": "train"},
                                           {"id": "2", "text": "b", "split": "dev"}])
    assert [s.id for s in load("manifest", "dev", data_file=p)] == ["2"]
    assert len(load("manifest", "all", data_file=p)) == 2


@pytest.mark.parametrize("record, message", [
    ({"id": "x", "text": "a", "label": "joy"}, r"line 2: label 'joy' is not a canonical emotion; allowed: neutral, "),
    ({"id": "x"}, r"line 2: needs at least one of video, audio, image, text"),
    ({"id": "x", "text": "a", "context": "not json"}, r"line 2: context must be a JSON list"),
    ({"id": "x", "text": "a", "context": [{"speaker": "A"}]}, r"line 2: context turn 1 must be"),
    ({"id": "ok", "text": "dup"}, r"duplicate sample id 'ok'"),
    ({"id": "x", "text": "a", "sentiment": "meh"}, r"line 2: sentiment 'meh'"),
])
def test_malformed_records_name_the_line(tmp_path, record, message):
    p = write_jsonl(tmp_path / "m.jsonl", [{"id": "ok", "text": "fine"}, record])
    with pytest.raises(InputError, match=message):
        load("manifest", "all", data_file=p)


def test_bad_json_and_missing_media(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"id": "a", "text": "x"}\n{"id": "b", "text": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"m\.jsonl line 2: invalid JSON"):
        load("manifest", "all", data_file=p)
    write_jsonl(p, [{"id": "a", "video": "missing.mp4"}])
    with pytest.raises(DataNotFoundError, match=r"m\.jsonl line 1: video file not found: .*missing\.mp4"):
        load("manifest", "all", data_file=p)


def test_manifest_needs_a_file():
    with pytest.raises(InputError, match="pass data_file"):
        load("manifest", "all")
