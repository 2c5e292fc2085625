"""Quality-weighted pooling of a clip's face frames: frontal, measured frames count more; a still image is unchanged;
real frames of a real clip."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from affectagent.encoders import FeatureCache, MissingEncoderWarning, extract
from affectagent.encoders.face import FACE_DIM, FEATURE_SLICES, GEOMETRY_NAMES
from affectagent.encoders.face_pooling import (EXPRESSIONS, expression_posterior, frame_weights, pooled_expression,
                                               pooled_face)
from affectagent.encoders.fer_model import FER_CLASSES
from affectagent.schema import Sample

YAW = FEATURE_SLICES["geometry"].start + GEOMETRY_NAMES.index("head_yaw")
VALID = FEATURE_SLICES["geometry_valid"].start


def _frame(expr, *, yaw=0.0, valid=1.0):
    row = np.zeros(FACE_DIM, np.float32)
    row[:7] = expr
    row[YAW], row[VALID] = yaw, valid
    return row


HAPPY = np.eye(7)[EXPRESSIONS.index("happy")]
SURPRISE = np.eye(7)[EXPRESSIONS.index("surprise")]


def test_expression_order_is_the_cnns():
    assert EXPRESSIONS == FER_CLASSES


def test_frontal_frames_outweigh_turned_and_unmeasured_ones():
    seq = np.stack([_frame(HAPPY), _frame(SURPRISE, yaw=0.6), _frame(SURPRISE, valid=0.0)])
    w = frame_weights(seq)
    assert w.sum() == pytest.approx(1.0) and w[0] > w[2] > w[1]
    p = pooled_expression(seq)
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert EXPRESSIONS[int(p.argmax())] == "happy"  # a plain mean would say surprise (2 of 3 frames)
    assert EXPRESSIONS[int(np.stack([HAPPY, SURPRISE, SURPRISE]).mean(0).argmax())] == "surprise"


def test_equal_quality_is_the_plain_mean_and_one_frame_is_itself():
    seq = np.stack([_frame(HAPPY, yaw=0.1), _frame(SURPRISE, yaw=-0.1)])
    np.testing.assert_allclose(pooled_face(seq), seq.mean(axis=0), atol=1e-6)
    one = _frame(SURPRISE, yaw=0.9, valid=0.0)[None]  # a still the mesh missed: still its own scores
    np.testing.assert_allclose(pooled_face(one), one[0], atol=1e-7)
    assert expression_posterior(None) is None and expression_posterior(np.zeros((0, FACE_DIM))) is None
    with pytest.raises(ValueError):
        pooled_face(np.zeros((0, FACE_DIM)))


def test_rows_without_geometry_pool_with_equal_weights():
    seq = np.stack([HAPPY, SURPRISE, SURPRISE]).astype(np.float32)  # 7-d rows: expression only
    np.testing.assert_allclose(frame_weights(seq), [1 / 3] * 3)
    assert EXPRESSIONS[int(pooled_expression(seq).argmax())] == "surprise"


def test_profile_frames_still_pool():
    seq = np.stack([_frame(HAPPY, yaw=2.0), _frame(SURPRISE, yaw=2.5)])
    w = frame_weights(seq)
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0)


def test_real_clip_frames(talking_clip, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingEncoderWarning)
        f = extract(Sample(id="face1", video=talking_clip), cache=FeatureCache(tmp_path))
    if f.face_seq is None:
        pytest.fail(f"no face found in {talking_clip}: {f.info.get('notes')}")
    w = frame_weights(f.face_seq)
    assert len(w) == len(f.face_seq) >= 9 and w.min() > 0 and w.sum() == pytest.approx(1.0)
    post = expression_posterior(f.face_seq)
    assert set(post) == set(EXPRESSIONS) and sum(post.values()) == pytest.approx(1.0, abs=1e-5)
    # a talking head filmed frontally: every frame is close to frontal, so pooling is close to the plain mean
    plain = np.asarray(f.face_seq)[:, :7].mean(0)
    assert np.abs(np.array([post[e] for e in EXPRESSIONS]) - plain / plain.sum()).max() < 0.1
