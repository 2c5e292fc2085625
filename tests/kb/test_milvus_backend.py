"""Milvus backend: filter expressions (pure) and, where pymilvus + milvus-lite are installed, the same results as
the FAISS backend on the same entries, queries, filters and exclusions."""
from __future__ import annotations

import numpy as np
import pytest

from affectagent.kb import EntryFilter, KBConfig, KBEntry, KnowledgeBase
from affectagent.kb.columns import LABEL_CODE
from affectagent.kb.filters import CodeFilter
from affectagent.kb.milvus_index import filter_expression

from .helpers import clustered


def test_filter_expression():
    codes = CodeFilter(label_in=frozenset({3, 1}), label_not_in=frozenset({0}), labelled_only=True,
                       vsign_in=frozenset({-1}), source_in=frozenset(), split_in=None)
    assert filter_expression(codes, np.array([7, 2])) == (
        "label in [1, 3] and vsign in [-1] and pos < 0 and label not in [0] and label >= 0 and pos not in [2, 7]")
    assert filter_expression(None) == ""
    assert filter_expression(None, np.array([5])) == "pos not in [5]"


@pytest.mark.slow
def test_milvus_lite_matches_faiss(tmp_path):
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    x = clustered(400, 8, seed=11)
    labels = ("happy", "sad", "angry", "neutral")
    entries = [KBEntry(id=f"e{i}", text=f"t{i}", label=labels[i % 4], source=("a", "b")[i % 2], split="train",
                       text_emb=x[i]) for i in range(400)]
    queries = x[:6]
    checks = [dict(), dict(where=EntryFilter(labels={"sad", "angry"})), dict(where=EntryFilter(valence_signs={1})),
              dict(where=EntryFilter(exclude_labels={"happy"}, sources={"b"}), exclude_ids={"e1", "e3", "e5"}),
              dict(exclude_ids={f"e{i}" for i in range(0, 400, 3)})]  # > 64 ids: folded into the mask
    results = {}
    for backend in ("faiss", "milvus"):
        path = tmp_path / backend
        with KnowledgeBase.create(path, text_dim=8, config=KBConfig(backend=backend)) as kb:
            kb.add(entries[:300])
        with KnowledgeBase.open(path) as kb:  # reopen: the milvus collection persists, the rest is caught up
            kb.add(entries[300:])
            assert kb.info().indexes["text"].endswith("over 400")
            results[backend] = [[[e.id for e in hits] for hits in kb.search_text(queries, 7, **c)] for c in checks]
    assert results["milvus"] == results["faiss"]
    assert LABEL_CODE["happy"] == 1  # codes in the collection are the canonical label indices


def test_missing_pymilvus_gives_install_hint(tmp_path, monkeypatch):
    from affectagent.errors import MissingDependencyError

    monkeypatch.setitem(__import__("sys").modules, "pymilvus", None)  # makes `import pymilvus` fail
    with pytest.raises(MissingDependencyError, match=r"pip install pymilvus==2\.5\.18 milvus-lite==2\.5\.1"):
        KnowledgeBase.create(tmp_path / "kb", text_dim=4, config=KBConfig(backend="milvus"))
    assert not (tmp_path / "kb" / "kb.sqlite").exists()  # nothing half-made left behind


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """A real Milvus standalone server (the ``milvus`` PyPI package: Milvus 2.3 + etcd binaries in a wheel) on
    127.0.0.1, started for this module and stopped after; yields its URI."""
    pytest.importorskip("pymilvus")
    milvus = pytest.importorskip("milvus", reason="pip install milvus==2.3.5 (an embedded Milvus server)")
    server = milvus.MilvusServer()
    server.set_base_dir(str(tmp_path_factory.mktemp("milvus_server")))
    server.start()
    try:
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        server.stop()


def _entries(n: int) -> list:
    x = clustered(n, 8, seed=5)
    labels = ("happy", "sad", "angry", "neutral")
    return [KBEntry(id=f"e{i}", text=f"t{i}", label=labels[i % 4], source=("a", "b")[i % 2], split="train",
                    text_emb=x[i]) for i in range(n)]


@pytest.mark.slow
def test_a_milvus_server_matches_faiss_and_hnsw_finds_the_same_neighbours(tmp_path, milvus_server):
    """The same KB on FAISS and on a Milvus *server* (not milvus-lite): FLAT gives FAISS's ids exactly (filters and
    exclusions included, and after reopening); HNSW, which milvus-lite lacks, finds >= 95 % of them."""
    entries = _entries(500)
    queries = np.stack([e.text_emb for e in entries[:8]])
    checks = [dict(), dict(where=EntryFilter(labels={"sad", "angry"})),
              dict(where=EntryFilter(exclude_labels={"happy"}, sources={"b"}), exclude_ids={"e1", "e3"})]
    results = {}
    for name, config in (("faiss", KBConfig()), ("flat", KBConfig(backend="milvus", milvus_uri=milvus_server)),
                         ("hnsw", KBConfig(backend="milvus", milvus_uri=milvus_server, milvus_index_type="HNSW"))):
        path = tmp_path / name
        with KnowledgeBase.create(path, text_dim=8, config=config) as kb:
            kb.add(entries[:400])
        with KnowledgeBase.open(path) as kb:  # the server keeps the collection; the rest is caught up
            kb.add(entries[400:])
            assert kb.info().indexes["text"].endswith("over 500")
            results[name] = [[[e.id for e in hits] for hits in kb.search_text(queries, 10, **c)] for c in checks]
    assert results["flat"] == results["faiss"]
    pairs = [(set(h), set(f)) for hc, fc in zip(results["hnsw"], results["faiss"]) for h, f in zip(hc, fc)]
    assert sum(len(h & f) for h, f in pairs) >= 0.95 * sum(len(f) for _, f in pairs)
