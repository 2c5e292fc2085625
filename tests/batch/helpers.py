"""Real inputs for the batch tests (shared by tests/batch and tests/cli/test_predict_batch.py)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

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
