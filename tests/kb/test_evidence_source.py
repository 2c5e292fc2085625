"""The agent-facing side of ``kb/retrieval.py``: ``Retriever`` as the ``schema.EvidenceSource`` (``cognitive`` with a
``QueryPlan``, ``perceptual`` with missing-modality completion) and ``kb/memo.py``'s memoising wrapper, on the hand-made
KB of ``conftest.tiny_entries``: text and audio vectors on the unit circle, nearest to q = (1, 0, …) in the order
a_sad(10°) b_angry(20°) c_happy(30°) d_neutral(40°) e_sad(50°) f_happy(60°) g_surprise_pos(70°) h_fear(80°)."""
from __future__ import annotations

import numpy as np
import pytest

from affectagent.kb import EntryFilter, KBEntry, Retriever
from affectagent.kb.memo import MemoEvidenceSource
from affectagent.schema import FeatureNorm, QueryPlan

from .helpers import at_angle as _at

Q = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)


def cog(source, plan, *, top_k=2, query=Q, modality="text", exclude=frozenset(), **kw):
    kw = {"use_confusion": True, "use_counter": True, **kw}
    return source.cognitive(query=query, modality=modality, plan=plan, top_k=top_k, exclude=exclude, **kw)


def kinds_ids(items):
    return [(e.kind, e.id) for e in items]


# ---- cognitive ------------------------------------------------------------------------------------------------------
def test_plan_groups_in_order_with_text_vectors(kb):
    items = cog(Retriever(kb), QueryPlan.for_hypothesis("sad"))
    assert kinds_ids(items) == [("support", "a_sad"), ("support", "e_sad"),        # label sad
                                ("confusion", "b_angry"), ("confusion", "c_happy"),  # nearest with another label
                                ("counter", "c_happy"), ("counter", "f_happy")]      # positive valence
    np.testing.assert_allclose([e.score for e in items[:2]], np.cos(np.deg2rad([10, 50])), rtol=1e-5)
    # every cognitive item carries its stored text vector (the agents embed evidence from it)
    np.testing.assert_allclose(items[2].vector, _at(20, 4), rtol=1e-6)
    assert all(e.modality == "text" and e.vector.shape == (4,) for e in items)


def test_confusion_takes_the_planners_label_first_then_tops_up(kb):
    r = Retriever(kb)
    conf = [e for e in cog(r, QueryPlan.for_hypothesis("sad", "fear"), top_k=3) if e.kind == "confusion"]
    assert [e.id for e in conf] == ["h_fear", "b_angry", "c_happy"]   # fear (80°) first, then nearest non-sad
    assert conf[0].score < conf[1].score
    # naming the hypothesis itself as confusable is ignored: never label h
    conf = [e for e in cog(r, QueryPlan.for_hypothesis("sad", "sad"), top_k=3) if e.kind == "confusion"]
    assert [e.id for e in conf] == ["b_angry", "c_happy", "d_neutral"]
    # a confusable label with more entries than top_k fills the group alone
    conf = [e for e in cog(r, QueryPlan.for_hypothesis("angry", "sad"), top_k=2) if e.kind == "confusion"]
    assert [e.id for e in conf] == ["a_sad", "e_sad"]


def test_counter_follows_the_stated_sentiment(kb):
    r = Retriever(kb)

    def counter(plan, k=3):
        return [e.id for e in cog(r, plan, top_k=k) if e.kind == "counter"]

    # surprise is neutral-valence: by default both signs count (never surprise itself, never neutral)
    assert counter(QueryPlan(support="surprise", confusion=None, counter_sentiment=None)) == \
        ["a_sad", "b_angry", "c_happy"]
    # a stated negative counter sentiment keeps negative items only
    assert counter(QueryPlan(support="surprise", confusion=None, counter_sentiment="negative")) == \
        ["a_sad", "b_angry", "e_sad"]
    # the stated sentiment wins even when it is the hypothesis's own valence; label h stays out, and
    # g_surprise_pos counts as positive through its given sentiment
    assert counter(QueryPlan(support="happy", confusion=None, counter_sentiment="positive")) == ["g_surprise_pos"]
    # default of a positive hypothesis: negative items
    assert counter(QueryPlan.for_hypothesis("happy"), k=10) == ["a_sad", "b_angry", "e_sad", "h_fear"]


def test_plain_plan_returns_3k_unconstrained_items(kb):
    r = Retriever(kb)
    items = cog(r, QueryPlan.plain_query(), top_k=2)
    assert kinds_ids(items) == [("plain", i) for i in ["a_sad", "b_angry", "c_happy", "d_neutral", "e_sad", "f_happy"]]
    assert kinds_ids(cog(r, QueryPlan.plain_query(), top_k=2, use_confusion=False, use_counter=False)) == \
        kinds_ids(items)
    # a plan without a hypothesis is a plain query too
    assert [e.kind for e in cog(r, QueryPlan(support=None, confusion=None, counter_sentiment=None))] == ["plain"] * 6


def test_group_switches(kb):
    r = Retriever(kb)
    plan = QueryPlan.for_hypothesis("sad")
    assert kinds_ids(cog(r, plan, use_confusion=False)) == [("support", "a_sad"), ("support", "e_sad"),
                                                            ("counter", "c_happy"), ("counter", "f_happy")]
    assert kinds_ids(cog(r, plan, use_counter=False)) == [("support", "a_sad"), ("support", "e_sad"),
                                                          ("confusion", "b_angry"), ("confusion", "c_happy")]
    assert kinds_ids(cog(r, plan, use_confusion=False, use_counter=False)) == [("support", "a_sad"),
                                                                               ("support", "e_sad")]


def test_excluded_ids_leave_every_group(kb):
    items = cog(Retriever(kb), QueryPlan.for_hypothesis("sad"), exclude=frozenset({"a_sad", "c_happy"}))
    assert kinds_ids(items) == [("support", "e_sad"),
                                ("confusion", "b_angry"), ("confusion", "d_neutral"),
                                ("counter", "f_happy"), ("counter", "g_surprise_pos")]


def test_an_input_without_text_queries_the_audio_index_standardised(kb):
    norm = FeatureNorm(mean={"audio": np.array([10.0, -3.0], np.float32)},
                       std={"audio": np.array([2.0, 0.5], np.float32)})
    raw = norm.mean["audio"] + norm.std["audio"] * _at(42, 2)     # z-scores to the 42° direction
    items = cog(Retriever(kb, norm=norm), QueryPlan.for_hypothesis("happy"), query=raw, modality="audio")
    assert kinds_ids(items) == [("support", "c_happy"), ("support", "f_happy"),
                                ("confusion", "d_neutral"), ("confusion", "e_sad"),
                                ("counter", "e_sad"), ("counter", "b_angry")]
    assert all(e.modality == "audio" for e in items)
    # without the norm the raw vector points at about -13°: a different ranking
    assert cog(Retriever(kb), QueryPlan.for_hypothesis("happy"), query=raw, modality="audio")[0].id == "c_happy"
    assert [e.id for e in cog(Retriever(kb), QueryPlan.plain_query(), query=raw, modality="audio")][:2] == \
        ["a_sad", "b_angry"]


def test_a_query_of_the_wrong_dimension_or_modality_returns_nothing(kb):
    r = Retriever(kb)
    plan = QueryPlan.for_hypothesis("sad")
    assert cog(r, plan, query=np.ones(3, np.float32)) == []
    assert cog(r, plan, query=np.ones(5, np.float32)) == []
    assert cog(r, plan, query=np.ones(2, np.float32), modality="visual") == []   # the KB holds no face vectors
    assert r.perceptual(audio=np.ones(3, np.float32), visual=None, k=2) == ([], [])
    assert r.perceptual(audio=np.ones(3, np.float32), visual=None, k=2, complete="happy") == ([], [])


# ---- perceptual -----------------------------------------------------------------------------------------------------
def test_perceptual_neighbours_of_a_standardised_query(kb):
    norm = FeatureNorm(mean={"audio": np.array([5.0, 1.0], np.float32)},
                       std={"audio": np.array([0.1, 0.1], np.float32)})
    raw = norm.mean["audio"] + norm.std["audio"] * _at(58, 2)     # z-scored: 58°, nearest f(60°) e(50°) g(70°)
    audio, visual = Retriever(kb, norm=norm).perceptual(audio=raw, visual=None, k=3)
    assert [e.id for e in audio] == ["f_happy", "e_sad", "g_surprise_pos"]
    assert visual == []
    assert all(e.kind == "perceptual" and e.modality == "audio" for e in audio)
    np.testing.assert_allclose([e.score for e in audio], np.cos(np.deg2rad([2, 8, 12])), rtol=1e-5)
    np.testing.assert_allclose(audio[0].vector, _at(60, 2), rtol=1e-6)       # the stored vector, for RAAF
    # the same raw vector without standardisation points at about 12°
    assert [e.id for e in Retriever(kb).perceptual(audio=raw, visual=None, k=1)[0]] == ["a_sad"]
    # exclusion and k = 0
    assert [e.id for e in Retriever(kb, norm=norm).perceptual(audio=raw, visual=None, k=2,
                                                              exclude=frozenset({"f_happy"}))[0]] == \
        ["e_sad", "g_surprise_pos"]
    assert Retriever(kb, norm=norm).perceptual(audio=raw, visual=None, k=0) == ([], [])


@pytest.fixture
def kb3(kb):
    """The tiny KB plus an audio-only happy entry at 5°: happy audio at 5°, 30°, 60°, centroid at 31.60°."""
    kb.add([KBEntry(id="x_happy_audio", label="happy", source="hand", split="train", audio_emb=_at(5, 2))])
    return kb


def test_exemplars_are_the_label_entries_nearest_its_centroid(kb3):
    r = Retriever(kb3)
    c = sum(_at(d, 2).astype(np.float64) for d in (5, 30, 60))
    centroid_deg = np.rad2deg(np.arctan2(c[1], c[0]))
    assert centroid_deg == pytest.approx(31.60, abs=0.01)
    got = r.exemplars("audio", "happy", 3)
    assert [e.id for e in got] == ["c_happy", "x_happy_audio", "f_happy"]    # 1.6°, 26.6°, 28.4° away
    np.testing.assert_allclose([e.score for e in got], np.cos(np.deg2rad(np.abs(centroid_deg - np.array([30, 5, 60])))),
                               rtol=1e-5)
    assert all(e.label == "happy" and e.vector is not None for e in got)
    assert [e.id for e in r.exemplars("audio", "fear", 3)] == ["h_fear"]
    assert r.exemplars("audio", "disgust", 3) == []                  # no disgust entry
    assert [e.id for e in r.exemplars("audio", "happy", 2, exclude={"c_happy"})] == ["x_happy_audio", "f_happy"]
    assert r.exemplars("audio", "happy", 3, where=EntryFilter(splits={"dev"})) == []


def test_missing_modality_completion_through_perceptual(kb3):
    r = Retriever(kb3)
    audio, visual = r.perceptual(audio=None, visual=None, k=2, complete="happy")
    assert [e.id for e in audio] == ["c_happy", "x_happy_audio"] and visual == []
    np.testing.assert_allclose(audio[1].vector, _at(5, 2), rtol=1e-6)
    # no completion label: nothing for a missing modality
    assert r.perceptual(audio=None, visual=None, k=2) == ([], [])
    # a present modality is searched as usual; the completion label does not constrain it
    audio, _ = r.perceptual(audio=_at(22, 2), visual=None, k=2, complete="happy")
    assert [e.id for e in audio] == ["b_angry", "c_happy"]
    # the input's own id stays out of its completion
    audio, _ = r.perceptual(audio=None, visual=None, k=2, complete="happy", exclude=frozenset({"c_happy"}))
    assert [e.id for e in audio] == ["x_happy_audio", "f_happy"]


def test_retriever_where_constrains_every_search(kb3):
    r = Retriever(kb3, where=EntryFilter(splits={"dev"}))
    assert cog(r, QueryPlan.for_hypothesis("sad")) == [] and cog(r, QueryPlan.plain_query()) == []
    assert r.perceptual(audio=_at(10, 2), visual=None, k=2) == ([], [])
    assert r.perceptual(audio=None, visual=None, k=2, complete="happy") == ([], [])


# ---- memoisation ----------------------------------------------------------------------------------------------------
def _same(a, b):
    assert [(e.id, e.kind, e.score) for e in a] == [(e.id, e.kind, e.score) for e in b]
    for x, y in zip(a, b):
        assert (x.vector is None) == (y.vector is None)
        if x.vector is not None:
            np.testing.assert_array_equal(x.vector, y.vector)


def test_memo_source_returns_the_inner_results_and_counts_hits(kb3):
    inner = Retriever(kb3)
    memo = MemoEvidenceSource(inner)
    plans = [QueryPlan.for_hypothesis("sad"), QueryPlan.for_hypothesis("sad", "fear"), QueryPlan.plain_query()]
    for plan in plans:
        want = cog(inner, plan)
        assert want
        _same(cog(memo, plan), want)
    assert (memo.hits, memo.misses) == (0, 3)
    first = cog(memo, plans[0])
    _same(first, cog(inner, plans[0]))
    assert (memo.hits, memo.misses) == (1, 3)
    first.clear()                                                   # callers get copies of the cached list
    _same(cog(memo, plans[0]), cog(inner, plans[0]))
    assert memo.hits == 2
    # any argument of the query is part of the key
    _same(cog(memo, plans[0], exclude=frozenset({"a_sad"})), cog(inner, plans[0], exclude=frozenset({"a_sad"})))
    _same(cog(memo, plans[0], top_k=3), cog(inner, plans[0], top_k=3))
    _same(cog(memo, plans[0], use_counter=False), cog(inner, plans[0], use_counter=False))
    _same(cog(memo, plans[0], query=_at(45, 4)), cog(inner, plans[0], query=_at(45, 4)))
    assert (memo.hits, memo.misses) == (2, 7)
    # perceptual, with and without completion
    for kw in ({"audio": _at(22, 2)}, {"audio": None, "complete": "happy"}, {"audio": None}):
        want = inner.perceptual(visual=None, k=2, exclude=frozenset(), **kw)
        for _ in range(2):
            a, v = memo.perceptual(visual=None, k=2, exclude=frozenset(), **kw)
            _same(a, want[0])
            _same(v, want[1])
    assert (memo.hits, memo.misses) == (5, 10)
    assert len(memo) == 10
    a, _ = memo.perceptual(audio=None, visual=None, k=2, exclude=frozenset(), complete="happy")
    assert [e.id for e in a] == ["c_happy", "x_happy_audio"]
