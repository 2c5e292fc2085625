"""How an encoded input becomes knowledge-base vectors and queries (pure numpy).

Text vectors are stored as the encoder gives them; audio (utterance descriptor) and face (quality-weighted mean of the
per-frame face features) vectors are z-scored with the checkpoint's ``FeatureNorm`` first — the KB L2-normalises every vector, so
cosine then compares standardised features. Queries go through the same map.
"""
from __future__ import annotations

import numpy as np

from ..encoders.face_pooling import pooled_face
from ..schema import FeatureNorm, Features

_NORM_KEY = {"text": None, "audio": "audio", "visual": "fseq"}


def face_vector(f: Features) -> np.ndarray | None:
    """(D_f,) the face sequence pooled with frame-quality weights (``encoders.face_pooling``; a still image: its
    one row), or None without a face."""
    if f.face_seq is None or len(f.face_seq) == 0:
        return None
    return pooled_face(f.face_seq)


def kb_vector(modality: str, vec: np.ndarray | None, norm: FeatureNorm) -> np.ndarray | None:
    """The vector stored in / queried against the KB for ``modality`` (text as is; audio / visual standardised)."""
    if vec is None:
        return None
    if modality not in _NORM_KEY:
        raise ValueError(f"unknown KB modality {modality!r}")
    key = _NORM_KEY[modality]
    v = np.asarray(vec, np.float32)
    return v if key is None else norm.apply(key, v).astype(np.float32)


def query_vector(f: Features) -> tuple[np.ndarray | None, str]:
    """The cognitive query of an input: its text embedding; inputs without text query the audio or face index."""
    if f.text_emb is not None:
        return f.text_emb, "text"
    if f.audio_emb is not None:
        return f.audio_emb, "audio"
    fv = face_vector(f)
    if fv is not None:
        return fv, "visual"
    return None, "none"
