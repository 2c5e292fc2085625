"""Real inputs for the batch tests (shared by tests/batch and tests/cli/test_predict_batch.py)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ..resources import shared


def shared_file(rel: str) -> Path:
    return shared(rel) / rel


def real_folder(root: Path) -> Path:
    """``root/inputs`` with ``a/face1.mp4``, ``face2.mp4`` (real talking-head clips), ``broken.mp4`` (random bytes),
    ``notes.txt`` (not an input) and ``.hidden.mp4`` (skipped)."""
    folder = root / "inputs"
    (folder / "a").mkdir(parents=True)
    shutil.copy(shared_file("clips/video_retalking/face1.mp4"), folder / "a" / "face1.mp4")
    shutil.copy(shared_file("clips/video_retalking/face2.mp4"), folder / "face2.mp4")
    (folder / "broken.mp4").write_bytes(os.urandom(4000))
    (folder / "notes.txt").write_text("not an input\n")
    (folder / ".hidden.mp4").write_bytes(b"")
    return folder


def frame_png(clip: Path, out: Path) -> Path:
    """One real frame of ``clip`` (decoded by the project's media code) written as a PNG with PyAV."""
    import av

    from affectagent.media import load_frames

    frames, _ = load_frames(clip, max_frames=1)
    frame = frames[0]
    with av.open(str(out), "w", format="image2") as c:
        stream = c.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)
    return out


PROB_TOL = 1e-6 + 1e-9  # rows keep 6 decimals: a difference of one unit in the last kept digit is allowed


def text_manifest(tmp_path: Path) -> Path:
    """Four text rows: three predictable, one with a label that is not one (an error row)."""
    m = tmp_path / "texts.jsonl"
    m.write_text("\n".join(json.dumps(r) for r in [
        {"id": "t1", "text": "I can't believe you sold my car!", "label": "angry"},
        {"id": "t2", "text": "Thank you so much, this is wonderful.", "label": "happy"},
        {"id": "t3", "text": "You did WHAT?", "context": [{"speaker": "Ann", "text": "I quit my job."}]},
        {"id": "t4", "text": "hm", "label": "banana"},  # not a label: an error row without running anything
    ]) + "\n")
    return m


def assert_same_row(ray_row, local_row) -> None:
    """Two engines' rows of one input agree: every field but the time, probabilities within ``PROB_TOL``."""
    a, b = ray_row.to_record(), local_row.to_record()
    for key in ("seconds", "probs"):
        a.pop(key), b.pop(key)
    assert a == b, ray_row.id
    assert ray_row.probs.keys() == local_row.probs.keys()
    for k, p in local_row.probs.items():
        assert ray_row.probs[k] == pytest.approx(p, abs=PROB_TOL), (ray_row.id, k)
