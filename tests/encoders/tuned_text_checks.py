"""Shared check for the emotion-tuned text encoders (minilm-emotion, mpnet-emotion) on real MELD dev rows."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from affectagent.schema import Sample


def check_head_on_meld(enc, samples: Sequence[Sample], *, min_accuracy: float, dim: int) -> list[str]:
    """The head's MELD-label probabilities are (N, 7) rows summing to 1, beat "always the majority class" by 8
    points and ``min_accuracy``, use ≥ 3 labels; embeddings are (n, dim), unit-norm and batch-independent.
    Returns the formatted texts."""
    from affectagent import datasets

    space = datasets.label_space("meld").canonical
    texts = [enc.format(s.text, s.context, s.speaker) for s in samples]
    y = np.array([s.label for s in samples])
    proba = enc.predict_proba(texts, space)
    assert proba.shape == (len(samples), 7) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    pred = np.array(space)[proba.argmax(1)]
    acc = float((pred == y).mean())
    majority = max(float((y == lab).mean()) for lab in space)
    assert acc >= max(min_accuracy, majority + 0.08), (acc, majority)
    assert len(set(pred)) >= 3  # not a constant predictor
    emb = enc.encode(texts[:16])
    assert emb.shape == (min(16, len(texts)), enc.info.dim) and enc.info.dim == dim and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # embeddings do not depend on the batch they are computed in (dynamic padding is masked out)
    np.testing.assert_allclose(enc.encode(texts[3:4]), emb[3:4], atol=2e-3)
    return texts
