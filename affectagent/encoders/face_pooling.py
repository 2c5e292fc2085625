"""One vector for a clip's faces: the per-frame face features (``face.FEATURE_SLICES`` layout) averaged with weights
for how well each frame shows the face, so a turned head or a frame where the landmarks failed counts less than a
frontal, well-measured one. Pure numpy; used for the KB's face vector / queries (``kb.vectors.face_vector``), the
face branch posterior the agents weigh (``agents.observation``), and the face cue of rationales and LLM prompts.

Frame quality q_t = frontal_t · landmarks_t:
  frontal_t = exp(−(head_yaw_t / YAW_SCALE)²), head_yaw = (nose-tip x − eye-midpoint x) / inter-ocular distance
      (0 frontal; ≈ 0.5 at a three-quarter view, where the aligned crop shows half a face); floored at MIN_WEIGHT so a
      clip of profile frames still gets a vector;
  landmarks_t = 1 when the face mesh measured the frame (geometry_valid), LANDMARKS_MISSING otherwise (a still
      crop the mesh missed: its CNN scores still stand).
Head roll is not weighed: the crop is rotated upright before the CNN sees it. A single frame (a still image) gets
weight 1 whatever its quality, so stills are unchanged; rows without the geometry block get equal weights.
"""
from __future__ import annotations

import numpy as np

from .face import FEATURE_SLICES, GEOMETRY_NAMES, N_EXPR

# the order of the CNN's probabilities (FER2013's; ``fer_model.FER_CLASSES``, kept here free of torch)
EXPRESSIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
YAW_SCALE = 0.35
MIN_WEIGHT = 0.05
LANDMARKS_MISSING = 0.5
_YAW = FEATURE_SLICES["geometry"].start + GEOMETRY_NAMES.index("head_yaw")
_VALID = FEATURE_SLICES["geometry_valid"].start


def frame_weights(face_seq: np.ndarray) -> np.ndarray:
    """(T, D_f) per-frame face features → (T,) weights summing to 1 (see the module docstring)."""
    x = np.asarray(face_seq, np.float64).reshape(len(face_seq), -1)
    if len(x) == 0:
        return np.zeros(0)
    if x.shape[1] <= _VALID:  # features without the geometry block (another face encoder's layout): equal weights
        return np.full(len(x), 1.0 / len(x))
    frontal = np.maximum(np.exp(-(x[:, _YAW] / YAW_SCALE) ** 2), MIN_WEIGHT)
    landmarks = np.where(x[:, _VALID] > 0.5, 1.0, LANDMARKS_MISSING)
    q = frontal * landmarks
    return q / q.sum()


def pooled_face(face_seq: np.ndarray) -> np.ndarray:
    """(T, D_f) → (D_f,) quality-weighted mean of the frames' features (``frame_weights``)."""
    x = np.asarray(face_seq, np.float32).reshape(len(face_seq), -1)
    if len(x) == 0:
        raise ValueError("no face frames to pool")
    return (frame_weights(x)[:, None] * x).sum(axis=0).astype(np.float32)


def pooled_expression(face_seq: np.ndarray) -> np.ndarray:
    """(T, D_f) → (7,) the clip's expression posterior in FER2013 order (angry, disgust, fear, happy, neutral, sad,
    surprise): the quality-weighted mean of the frames' CNN probabilities, renormalised."""
    p = pooled_face(face_seq)[:N_EXPR].astype(np.float64)
    p = np.clip(p, 0.0, None)
    total = p.sum()
    return (p / total if total > 0 else np.full(N_EXPR, 1.0 / N_EXPR)).astype(np.float32)


def expression_posterior(face_seq: np.ndarray | None) -> dict[str, float] | None:
    """The face branch's posterior of a clip or image: {expression: p} from ``pooled_expression``; None without a
    face."""
    if face_seq is None or len(face_seq) == 0:
        return None
    return {e: float(v) for e, v in zip(EXPRESSIONS, pooled_expression(face_seq))}
