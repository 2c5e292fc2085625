"""Fixtures for the knowledge-base tests."""
from __future__ import annotations

import numpy as np
import pytest

from affectagent.kb import KBEntry


@pytest.fixture
def tiny_entries() -> list[KBEntry]:
    """Eight entries on the unit circle of a 4-d space with known labels and sentiments.

    Angles (degrees, in the first two coordinates) are chosen so the nearest neighbours of the query
    q = (1, 0, 0, 0) are, in order: a_sad(10°), b_angry(20°), c_happy(30°), d_neutral(40°), e_sad(50°),
    f_happy(60°), g_surprise_pos(70°, surprise with a positive sentiment), h_fear(80°).
    """
    spec = [("a_sad", "sad", None, 10), ("b_angry", "angry", None, 20), ("c_happy", "happy", None, 30),
            ("d_neutral", "neutral", None, 40), ("e_sad", "sad", None, 50), ("f_happy", "happy", None, 60),
            ("g_surprise_pos", "surprise", "positive", 70), ("h_fear", "fear", None, 80)]
    out = []
    for eid, label, sent, deg in spec:
        r = np.deg2rad(deg)
        out.append(KBEntry(id=eid, text=f"text of {eid}", label=label, sentiment=sent, source="hand", split="train",
                           text_emb=np.array([np.cos(r), np.sin(r), 0, 0], dtype=np.float32),
                           audio_emb=np.array([np.cos(r), np.sin(r)], dtype=np.float32)))
    return out


@pytest.fixture
def kb(tmp_path, tiny_entries):
    """The tiny hand-made KB (text 4-d, audio 2-d) of ``tiny_entries``."""
    from affectagent.kb import KnowledgeBase

    with KnowledgeBase.create(tmp_path / "kb", text_dim=4, audio_dim=2) as store:
        store.add(tiny_entries)
        yield store
