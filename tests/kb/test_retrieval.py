"""Support / confusion / counter / plain / perceptual retrieval on a hand-made KB (see conftest.tiny_entries)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from affectagent.kb import EntryFilter, KBInputError, RetrievalQuery, Retriever
from affectagent.kb.retrieval import group_filters, merge_by_best
from affectagent.schema import Evidence

from .helpers import at_angle as _at

Q = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)   # nearest first: a b c d e f g h


def ids(items):
    return [e.id for e in items]


def test_definitions_for_a_negative_hypothesis(kb):
    res = Retriever(kb).retrieve(RetrievalQuery(text_emb=Q, hypothesis="sad", kinds=("support", "confusion",
                                                "counter", "plain"), top_k={"support": 2, "confusion": 3,
                                                                            "counter": 3, "plain": 2}))
    assert ids(res.cognitive["support"]) == ["a_sad", "e_sad"]                 # label = hypothesis
    assert ids(res.cognitive["confusion"]) == ["b_angry", "c_happy", "d_neutral"]  # closest with another label
    assert ids(res.cognitive["counter"]) == ["c_happy", "f_happy", "g_surprise_pos"]  # opposite valence (+1)
    assert ids(res.cognitive["plain"]) == ["a_sad", "b_angry"]
    assert [e.kind for e in res.cognitive["counter"]] == ["counter"] * 3
    assert res.cognitive["counter"][2].sentiment == "positive"                 # given sentiment beats the default
    scores = [e.score for e in res.cognitive["support"]]
    np.testing.assert_allclose(scores, np.cos(np.deg2rad([10, 50])), rtol=1e-5)
    assert list(res.cognitive) == ["support", "confusion", "counter", "plain"]
    assert res.ids == {"a_sad", "e_sad", "b_angry", "c_happy", "d_neutral", "f_happy", "g_surprise_pos"}


def test_counter_of_positive_and_neutral_hypotheses(kb):
    r = Retriever(kb)
    happy = r.retrieve(RetrievalQuery(text_emb=Q, hypothesis="happy", kinds=("counter",), top_k=10))
    assert ids(happy.cognitive["counter"]) == ["a_sad", "b_angry", "e_sad", "h_fear"]
    # neutral hypothesis: both polarities are counter evidence, neutral items are not
    neutral = r.retrieve(RetrievalQuery(text_emb=Q, hypothesis="neutral", kinds=("counter",), top_k=10))
    assert ids(neutral.cognitive["counter"]) == ["a_sad", "b_angry", "c_happy", "e_sad", "f_happy",
                                                 "g_surprise_pos", "h_fear"]
    # a stated counter sentiment overrides the default (a neutral-valence hypothesis is countered by both signs)
    s = r.retrieve(RetrievalQuery(text_emb=Q, hypothesis="surprise", counter_sentiment="negative",
                                  kinds=("counter",), top_k=2))
    assert ids(s.cognitive["counter"]) == ["a_sad", "b_angry"]
    # items with the hypothesis label are never counter evidence (g_surprise_pos has a positive sentiment)
    s = r.retrieve(RetrievalQuery(text_emb=Q, hypothesis="surprise", kinds=("counter",), top_k=10))
    assert ids(s.cognitive["counter"]) == ["a_sad", "b_angry", "c_happy", "e_sad", "f_happy", "h_fear"]


def test_confusion_takes_confusable_labels_first_then_tops_up(kb):
    r = Retriever(kb)
    res = r.retrieve(RetrievalQuery(text_emb=Q, hypothesis="sad", confusion_labels=("fear", "angry", "sad"),
                                    support_labels=("sad", "fear"), kinds=("support", "confusion"), top_k=5))
    # the named confusable labels first (never the hypothesis), then the nearest other labels fill the group
    assert ids(res.cognitive["confusion"]) == ["b_angry", "h_fear", "c_happy", "d_neutral", "f_happy"]
    assert ids(res.cognitive["support"]) == ["a_sad", "e_sad", "h_fear"]


def test_self_and_caller_exclusion(kb):
    r = Retriever(kb)
    res = r.retrieve(RetrievalQuery(text_emb=Q, hypothesis="sad", sample_id="a_sad", exclude_ids={"b_angry"},
                                    kinds=("support", "confusion", "plain"), top_k=2, audio_emb=np.array([1, 0.0])))
    assert ids(res.cognitive["support"]) == ["e_sad"]
    assert ids(res.cognitive["confusion"]) == ["c_happy", "d_neutral"]
    assert ids(res.cognitive["plain"]) == ["c_happy", "d_neutral"]
    assert "a_sad" not in ids(res.perceptual["audio"]) and "b_angry" not in ids(res.perceptual["audio"])
    # KB-level exclusion folded into the mask (a large set) behaves the same as over-fetching (a small one)
    many = {f"unknown{i}" for i in range(200)} | {"a_sad", "b_angry", "c_happy"}
    assert ids(kb.search_text(Q, 2, exclude_ids=many)[0]) == ["d_neutral", "e_sad"]
    assert ids(kb.search_text(Q, 2, exclude_ids=many, where=EntryFilter(labels={"sad"}))[0]) == ["e_sad"]


def test_perceptual_pathway_returns_stored_vectors(kb):
    res = Retriever(kb).retrieve(RetrievalQuery(audio_emb=_at(24, dim=2), perceptual_k=2, kinds=()))
    got = res.perceptual["audio"]
    assert ids(got) == ["b_angry", "c_happy"]           # 24°: 20° is 4° away, 30° is 6°, 10° is 14°
    assert all(e.kind == "perceptual" and e.modality == "audio" for e in got)
    np.testing.assert_allclose(got[0].vector, [np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20))], rtol=1e-6)
    assert "visual" not in res.perceptual                # the KB holds no visual vectors


def test_fill_missing_modality_with_hypothesis_typical_vectors(kb):
    res = Retriever(kb).retrieve(RetrievalQuery(text_emb=Q, hypothesis="happy", fill_missing=True, kinds=(),
                                                perceptual_k=5))
    got = res.perceptual["audio"]
    assert set(ids(got)) == {"c_happy", "f_happy"} and all(e.vector is not None for e in got)
    centroid = kb.centroid("audio", where=EntryFilter(labels={"happy"}))
    np.testing.assert_allclose(centroid, [np.cos(np.deg2rad(45)), np.sin(np.deg2rad(45))], rtol=1e-5)


def test_free_text_queries_embedded_and_merged(kb):
    @dataclass
    class Info:
        dim: int = 4

    class AngleEncoder:
        """Deterministic test encoder: 'deg:<angle>' → the unit vector at that angle."""

        info = Info()

        def encode(self, texts, **_):
            return np.stack([_at(float(t.split(":")[1])) for t in texts])

    r = Retriever(kb, text_encoder=AngleEncoder())
    res = r.retrieve(RetrievalQuery(text_emb=Q, hypothesis="happy", kinds=("support", "plain"), top_k=2,
                                    query_texts={"support": ["deg:30", "deg:60"]}, query_embs={"plain": _at(80)}))
    assert ids(res.cognitive["support"]) == ["c_happy", "f_happy"]      # each query's best, merged by score
    np.testing.assert_allclose([e.score for e in res.cognitive["support"]], [1.0, 1.0], rtol=1e-5)
    assert ids(res.cognitive["plain"]) == ["h_fear", "g_surprise_pos"]   # its own query replaces the input
    with pytest.raises(KBInputError, match="text_encoder"):
        Retriever(kb).retrieve(RetrievalQuery(hypothesis="happy", query_texts={"support": ["deg:1"]}))

    class WrongDim(AngleEncoder):
        info = Info(dim=8)

    with pytest.raises(KBInputError, match="8-d"):
        Retriever(kb, text_encoder=WrongDim()).retrieve(RetrievalQuery(hypothesis="happy",
                                                                      query_texts={"support": ["deg:1"]}))


def test_where_applies_to_every_group(kb):
    res = Retriever(kb).retrieve(RetrievalQuery(text_emb=Q, hypothesis="sad", where=EntryFilter(splits={"dev"}),
                                                audio_emb=np.array([1.0, 0.0])))
    assert all(v == [] for v in res.cognitive.values()) and res.perceptual["audio"] == []


def test_bad_queries():
    with pytest.raises(KBInputError):
        RetrievalQuery(kinds=("supportive",))
    with pytest.raises(KBInputError):
        RetrievalQuery(hypothesis="joy")
    with pytest.raises(KBInputError, match="hypothesis"):
        group_filters("support", hypothesis=None)
    with pytest.raises(KBInputError, match="hypothesis"):
        group_filters("counter", hypothesis=None)
    with pytest.raises(KBInputError, match="hypothesis"):
        group_filters("confusion", hypothesis=None)
    assert [f.is_empty for f in group_filters("plain", hypothesis=None)] == [True]


def test_merge_by_best_keeps_best_score_per_id():
    def ev(i, s):
        return Evidence(id=i, text="", label=None, kind="support", score=s)

    merged = merge_by_best([[ev("a", 0.5), ev("b", 0.4)], [ev("b", 0.9), ev("c", 0.1)]], 2)
    assert [(e.id, e.score) for e in merged] == [("b", 0.9), ("a", 0.5)]
