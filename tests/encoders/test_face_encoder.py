"""The face encoder on real clips and real FER2013 faces (MediaPipe runs offline from its bundled models)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from affectagent.encoders.base import FACE_ENCODERS, FaceEncoder, FaceTrack
from affectagent.encoders.face import DEFAULT_FER_CHECKPOINT, FACE_DIM, FEATURE_SLICES, MediaPipeFerFaceEncoder
from affectagent.encoders.face_geometry import GEOMETRY_NAMES
from affectagent.errors import InputError

from ..resources import require, shared


def _shared(rel: str) -> Path:
    return shared(rel) / rel


def _frames(rel: str, n: int) -> list[np.ndarray]:
    from affectagent.media import load_frames

    frames, _ = load_frames(_shared(rel), fps=2.0, max_frames=n)
    return frames


@pytest.fixture(scope="module")
def encoder() -> MediaPipeFerFaceEncoder:
    require(DEFAULT_FER_CHECKPOINT, "the shipped FER checkpoint (python -m affectagent.train.fer)")
    enc = FACE_ENCODERS.get("default")()
    yield enc
    enc.close()


def test_registered_and_protocol(encoder):
    assert isinstance(encoder, FaceEncoder)
    assert encoder.info.dim == FACE_DIM == 272
    assert FEATURE_SLICES["embedding"].stop == FACE_DIM


@pytest.mark.parametrize("clip", ["clips/video_retalking/face2.mp4", "clips/fer/woman2.mp4"])
def test_faces_found_in_most_frames_of_real_clips(encoder, clip):
    frames = _frames(clip, 6)
    track = encoder.encode_frames(frames)
    assert isinstance(track, FaceTrack)
    assert track.found.shape == (len(frames),)
    assert track.found.mean() >= 0.8
    t_f = int(track.found.sum())
    assert track.seq.shape == (t_f, FACE_DIM) and track.expr.shape == (t_f, 7)
    assert track.geometry.shape == (t_f, len(GEOMETRY_NAMES)) and track.geometry_names == GEOMETRY_NAMES
    np.testing.assert_allclose(track.expr.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(track.seq[:, FEATURE_SLICES["expr"]], track.expr)
    assert np.all(track.seq[:, FEATURE_SLICES["geometry_valid"]] == 1.0)
    # boxes sit inside the frame and are given exactly for the frames with a face
    h, w = frames[0].shape[:2]
    for found, box in zip(track.found, track.boxes):
        assert (box is not None) == bool(found)
        if box is not None:
            x0, y0, x1, y1 = box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    # a talking head: inter-ocular-normalised measures stay in anatomically plausible ranges
    geo = dict(zip(GEOMETRY_NAMES, np.median(track.geometry, axis=0)))
    assert 0.3 < geo["mouth_width"] < 1.0 and 0.05 < geo["eye_open"] < 0.6 and abs(geo["head_roll"]) < 0.5


def test_smiling_clip_is_scored_happy(encoder):
    """fer/test.mp4: a woman smiling at her phone (SOURCE.txt); happy must be the most frequent top class."""
    track = encoder.encode_frames(_frames("clips/fer/test.mp4", 8))
    assert track.found.sum() >= 6
    top = np.bincount(track.expr.argmax(1), minlength=7)
    assert top.argmax() == 3  # happy


def test_no_face_is_not_an_error(encoder):
    rng = np.random.default_rng(0)
    from sklearn.datasets import load_sample_image

    scenery = load_sample_image("flower.jpg")[:300, :400]  # a real photograph with no face
    frames = [np.full((240, 320, 3), 128, np.uint8), rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), scenery]
    track = encoder.encode_frames(frames)
    assert not track.found.any()
    assert track.seq.shape == (0, FACE_DIM) and track.expr.shape == (0, 7)
    assert track.boxes == [None, None, None]
    assert encoder.analyze_frame(scenery) is None
    empty = encoder.encode_frames([])
    assert empty.seq.shape == (0, FACE_DIM) and empty.found.shape == (0,)


def test_encode_crops_on_real_fer_faces(encoder):
    path = _shared("fer2013/validation.npz")
    with np.load(path, allow_pickle=False) as z:
        images = z["images"][:12]
    feats = encoder.encode_crops(list(images))
    assert feats.shape == (12, FACE_DIM) and feats.dtype == np.float32
    np.testing.assert_allclose(feats[:, FEATURE_SLICES["expr"]].sum(1), 1.0, atol=1e-5)
    valid = feats[:, FEATURE_SLICES["geometry_valid"]].ravel()
    assert valid.mean() >= 0.5  # the mesh finds most upscaled FER faces
    assert np.all(feats[valid == 0][:, FEATURE_SLICES["geometry"]] == 0)
    # an RGB crop of the same face gives the same expression scores as its gray version
    rgb = np.repeat(images[0][:, :, None], 3, axis=2)
    again = encoder.encode_crops([rgb])
    np.testing.assert_allclose(again[0, FEATURE_SLICES["expr"]], feats[0, FEATURE_SLICES["expr"]], atol=1e-5)


def test_analyze_frame_gives_landmarks_and_aligned_crop(encoder):
    frame = _frames("clips/video_retalking/face1.mp4", 1)[0]
    face = encoder.analyze_frame(frame)
    assert face is not None
    assert face.landmarks.shape == (468, 2) and face.crop.shape == (48, 48) and face.crop.dtype == np.uint8
    x0, y0, x1, y1 = face.box
    assert np.all((face.landmarks[:, 0] >= x0 - 1) & (face.landmarks[:, 0] <= x1 + 1))
    assert face.embedding.shape == (256,)


def test_bad_frames_raise_input_error(encoder):
    with pytest.raises(InputError, match="uint8"):
        encoder.encode_frames([np.zeros((64, 64, 3), np.float32)])
    with pytest.raises(InputError, match="shape"):
        encoder.encode_frames([np.zeros((64,), np.uint8)])
