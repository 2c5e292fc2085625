"""Input discovery: folders by extension (recursive), explicit files, manifests with optional labels, unique ids."""
import json
import shutil

import pytest

from affectagent.batch.discover import BatchItem, discover, media_kind, unique_ids
from affectagent.errors import InputError

from .helpers import shared_file


def test_folder_is_searched_recursively_by_extension(inputs_folder):
    found = discover([inputs_folder])
    assert [(i.id, i.kind) for i in found.items] == [("a/face1.mp4", "video"), ("broken.mp4", "video"),
                                                      ("face2.mp4", "video")]
    assert found.ignored == 1  # notes.txt; the hidden file is skipped silently
    assert all(i.media is not None and i.media.is_file() and i.sample is None for i in found.items)


def test_explicit_files_and_kinds(inputs_folder):
    img = shared_file("clips/fer/justin.jpg")
    found = discover([inputs_folder / "face2.mp4", img, inputs_folder / "notes.txt"])
    assert [(i.id, i.kind) for i in found.items] == [("face2.mp4", "video"), ("justin.jpg", "image"),
                                                      ("notes.txt", None)]  # what it is shows when decoded
    assert media_kind("x.FLAC") == "audio" and media_kind("x.webp") == "image" and media_kind("x.bmp") == "image"


def test_manifest_rows_with_and_without_labels(tmp_path, inputs_folder):
    img = shared_file("clips/fer/justin.jpg")
    shutil.copy(img, tmp_path / "justin.jpg")
    manifest = tmp_path / "mine.jsonl"
    rows = [{"id": "clip", "video": str(inputs_folder / "face2.mp4"), "label": "happy"},
            {"id": "still", "image": "justin.jpg"},
            {"text": "You did WHAT?", "context": ["I sold the car."]},
            {"id": "gone", "audio": "missing.wav"},
            {"id": "odd", "text": "hi", "label": "joyish"}]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    items = {i.id: i for i in discover([manifest]).items}
    assert list(items) == ["clip", "still", "mine-3", "gone", "odd"]
    assert items["clip"].sample.label == "happy" and items["clip"].kind == "video"
    assert items["still"].kind == "image" and items["still"].sample.video == (tmp_path / "justin.jpg").resolve()
    assert items["mine-3"].kind == "text" and items["mine-3"].path == f"{manifest}:3"
    assert items["mine-3"].sample.label is None
    assert "not found" in items["gone"].error and items["gone"].sample is None
    assert "not a canonical emotion" in items["odd"].error


def test_manifest_image_and_video_together_is_a_row_error(tmp_path, inputs_folder):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"id,video,image\nboth,{inputs_folder / 'face2.mp4'},{inputs_folder / 'face2.mp4'}\n")
    [item] = discover([manifest]).items
    assert "either video or image" in item.error


def test_clashing_ids_are_renamed(inputs_folder):
    found = discover([inputs_folder / "face2.mp4", inputs_folder / "face2.mp4"])
    assert [i.id for i in found.items] == ["face2.mp4", str(inputs_folder / "face2.mp4")]
    items = unique_ids([BatchItem(id="x", path="p"), BatchItem(id="x", path="p"), BatchItem(id="x", path="p")])
    assert [i.id for i in items] == ["x", "p", "p#2"]


def test_missing_path_and_empty_folder_are_usage_errors(tmp_path):
    with pytest.raises(InputError, match="input not found"):
        discover([tmp_path / "nope.mp4"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("x")
    with pytest.raises(InputError, match="no video, audio or image files"):
        discover([tmp_path / "empty"])
