"""Scene descriptor: statistics by hand on constructed images, then the encoder on real clip frames."""
from __future__ import annotations

import numpy as np
import pytest

from affectagent.encoders.base import VISUAL_ENCODERS, VisualEncoder
from affectagent.encoders.visual import (
    DESCRIPTOR_NAMES, FRAME_STATS, VISUAL_DIM, colourfulness, edge_density, frame_statistics, motion_energy,
    pool_descriptor, saturation,
)
from affectagent.errors import InputError

from ..resources import shared


def stat(vec: np.ndarray, name: str) -> float:
    return float(vec[FRAME_STATS.index(name)])


def test_flat_and_pure_colour_statistics():
    red = np.zeros((20, 30, 3), np.float32)
    red[..., 0] = 1.0
    # rg = 1, yb = 0.5 everywhere: no spread, so M = 0.3·sqrt(1 + 0.25)
    assert colourfulness(red) == pytest.approx(0.3 * np.sqrt(1.25))
    assert np.all(saturation(red) == 1.0)
    s = frame_statistics(red)
    assert stat(s, "luma_mean") == pytest.approx(0.299) and stat(s, "luma_std") == pytest.approx(0.0, abs=1e-7)
    assert stat(s, "r_mean") == 1.0 and stat(s, "g_mean") == 0.0 and stat(s, "edge_density") == 0.0
    gray = np.full((10, 10, 3), 0.5, np.float32)
    assert colourfulness(gray) == pytest.approx(0.0) and np.all(saturation(gray) == 0.0)


def test_edge_density_of_a_step():
    img = np.zeros((10, 10), np.float32)
    img[:, 5:] = 1.0
    # interior 8×8; the Sobel response is 4 on the two columns either side of the step, 0 elsewhere
    assert edge_density(img) == pytest.approx(16 / 64)


def test_face_statistics_and_motion():
    frame = np.zeros((100, 200, 3), np.float32)
    s = frame_statistics(frame, faces=[(50, 20, 100, 70), (0, 0, 10, 10)])
    assert stat(s, "face_count") == 2 and stat(s, "face_area") == pytest.approx(2500 / 20000)
    assert stat(s, "face_cx") == pytest.approx(75 / 200) and stat(s, "face_cy") == pytest.approx(45 / 100)
    assert motion_energy(np.zeros((4, 4)), np.full((4, 4), 0.25)) == pytest.approx(0.25)


def test_pool_descriptor_by_hand():
    stats = np.zeros((2, len(FRAME_STATS)), np.float32)
    stats[:, 0] = [0.2, 0.4]
    stats[1, FRAME_STATS.index("face_count")] = 1
    d = pool_descriptor(stats, np.array([0.1]))
    assert d.shape == (VISUAL_DIM,) == (len(DESCRIPTOR_NAMES),)
    named = dict(zip(DESCRIPTOR_NAMES, d))
    assert named["luma_mean_mean"] == pytest.approx(0.3) and named["luma_mean_std"] == pytest.approx(0.1)
    assert named["motion_mean"] == pytest.approx(0.1) and named["motion_max"] == pytest.approx(0.1)
    assert named["face_presence"] == pytest.approx(0.5)
    assert pool_descriptor(stats[:1], np.zeros(0))[DESCRIPTOR_NAMES.index("motion_mean")] == 0.0


@pytest.fixture(scope="module")
def encoder():
    enc = VISUAL_ENCODERS.get("default")()   # mediapipe is pinned in requirements.txt
    yield enc
    enc.close()


def test_encoder_on_real_clip_and_on_faceless_frames(encoder):
    clip = shared("clips/video_retalking/face3.mp4") / "clips/video_retalking/face3.mp4"
    from affectagent.media import load_frames

    frames, _ = load_frames(clip, fps=2.0, max_frames=6)
    assert isinstance(encoder, VisualEncoder) and encoder.info.dim == VISUAL_DIM
    d = dict(zip(DESCRIPTOR_NAMES, encoder.encode_frames(frames)))
    assert d["face_presence"] >= 0.8 and 0.02 < d["face_area_mean"] < 0.9  # a talking head fills part of the frame
    assert 0 < d["luma_mean_mean"] < 1 and d["motion_mean"] > 0  # a real clip moves a little
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(3)]
    n = dict(zip(DESCRIPTOR_NAMES, encoder.encode_frames(noise)))
    assert n["face_presence"] == 0.0 and n["motion_mean"] > d["motion_mean"]  # independent noise frames differ a lot
    with pytest.raises(InputError):
        encoder.encode_frames([])
