"""FAISS vector index (the default backend): an exact inner-product table plus an optional ANN index.

- exact: a ``VectorTable`` (contiguous float32 matrix) of every position, searched with ``topk.exact_topk``
  (BLAS over all rows, or over the gathered allowed rows). It answers small KBs, selective filters, and the
  fallback when a filtered ANN search returns fewer than k hits. Rebuilt from SQLite on open (~2.5 s per 1M×384).
- ANN: ``IndexIVFFlat`` (fast to build) or ``IndexHNSWFlat`` (fast to query), per ``KBConfig``. Persisted to
  ``<kb>/index/<modality>.ann`` (header: kb uid, ntotal, seq of the last position) and caught up on open.
Both use the same positions, so a FAISS id is a position. Memory: 2 copies of the vectors once an ANN index exists.
"""
from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependencyError
from .columns import GrowArray, RowAttrs
from .config import KBConfig
from .filters import AllowedSet
from .index_base import INDEX_BACKENDS, SearchHits
from .index_file import IndexFileError, read_index_header, write_index_file
from .topk import exact_topk
from .vector_table import VectorTable

log = logging.getLogger(__name__)
FILE_FORMAT = 1


def import_faiss() -> Any:
    try:
        import faiss  # noqa: PLC0415 - heavy optional import
    except ImportError as exc:  # pragma: no cover - faiss is a core requirement
        raise MissingDependencyError("the knowledge base needs FAISS: pip install faiss-cpu==1.15.1") from exc
    return faiss


def choose_nlist(n: int, requested: int | None) -> int:
    """IVF cell count: ``requested`` or the power of two nearest 2·sqrt(n); at most n/39 (FAISS wants ≥39 training
    points per centroid) and at least 1."""
    if requested is not None:
        return max(1, min(requested, n))
    target = 2.0 * math.sqrt(max(n, 1))
    nlist = 2 ** int(round(math.log2(max(target, 1.0))))
    return int(max(1, min(nlist, n // 39 if n >= 39 else 1)))


class FaissVectorIndex:
    """See module docstring. Positions are appended in order; ``search`` is thread-safe against ``add``."""

    def __init__(self, *, directory: Path, modality: str, dim: int, config: KBConfig, kb_uid: str,
                 read_only: bool) -> None:
        self._faiss_module: Any = None  # imported on first use: a KB under ``ann_min_size`` never needs FAISS
        self.modality = modality
        self.dim = dim
        self.config = config
        self.kb_uid = kb_uid
        self.read_only = read_only
        self.path = Path(directory) / "index" / f"{modality}.ann"
        self._table = VectorTable(dim)
        self._pos_seq = GrowArray(np.int64)
        self._ann: Any = None
        self._ann_kind: str | None = None
        self._ann_params: dict[str, int] = {}
        self._trained_n = 0
        self._unsaved = 0
        self._nprobe = config.ivf_nprobe
        self._ef_search = config.hnsw_ef_search
        self._lock = threading.RLock()

    @property
    def _faiss(self) -> Any:
        """The ``faiss`` module, imported when an ANN index is read, built, written or searched (the exact table
        is numpy), so opening a small KB does not load FAISS (~15 MB, a cold-start cost)."""
        if self._faiss_module is None:
            self._faiss_module = import_faiss()
        return self._faiss_module

    # ---------------------------------------------------------------- lifecycle
    def open(self, pos_seq: np.ndarray) -> None:
        self._ann = None
        self._table.reserve(len(pos_seq))  # the KB feeds every position next: allocate once
        if not self.path.is_file():
            return
        try:
            with open(self.path, "rb") as f:
                head = read_index_header(f)
                problem = self._header_problem(head, pos_seq)
                if problem:
                    log.warning("ignoring %s (%s); it will be rebuilt from SQLite", self.path, problem)
                    return
                ann = self._faiss.read_index(self._faiss.PyCallbackIOReader(f.read))
        except (OSError, IndexFileError, RuntimeError) as exc:
            log.warning("ignoring unreadable %s (%s); it will be rebuilt from SQLite", self.path, exc)
            return
        if ann.ntotal != head["ntotal"] or ann.d != self.dim:
            log.warning("ignoring %s: header and index disagree", self.path)
            return
        self._ann, self._ann_kind = ann, head["kind"]
        self._ann_params = dict(head.get("params", {}))
        self._trained_n = int(head.get("trained_n", ann.ntotal))

    def _header_problem(self, head: dict, pos_seq: np.ndarray) -> str | None:
        if head.get("format") != FILE_FORMAT:
            return f"file format {head.get('format')}"
        if head.get("kb_uid") != self.kb_uid:
            return "written for another knowledge base"
        if head.get("dim") != self.dim or head.get("kind") not in ("ivf", "hnsw"):
            return "dimension or kind mismatch"
        n = int(head.get("ntotal", -1))
        if n < 0 or n > len(pos_seq):
            return f"holds {n} vectors but SQLite has {len(pos_seq)}"
        if n and int(pos_seq[n - 1]) != int(head.get("tail_seq", -1)):
            return "its last vector is not SQLite's"
        return None

    def close(self) -> None:
        with self._lock:
            self._table.clear()
            self._ann = None

    def __len__(self) -> int:
        return len(self._table)

    # ---------------------------------------------------------------- writes (caller serialises)
    def _xb(self, start: int, stop: int) -> np.ndarray:
        """View of exact-table rows [start, stop) (valid until the next add)."""
        return self._table.view(start, stop)

    def add(self, vecs: np.ndarray, attrs: RowAttrs, seqs: np.ndarray) -> None:
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        with self._lock:
            self._table.extend(vecs)
            self._pos_seq.extend(seqs)
            n = len(self._table)
            if self._ann is not None and self._ann.ntotal < n:
                start = int(self._ann.ntotal)
                block = vecs if start == n - len(vecs) else self._xb(start, n)
                self._ann.add(np.ascontiguousarray(block))
                self._unsaved += len(block)
        if self._unsaved >= self.config.persist_every:
            self.flush()

    def maintain(self) -> None:
        n = len(self)
        kind = self.config.ann_kind_for(n)
        if kind is None or n == 0:
            return
        due = (self._ann is None or self._ann_kind != kind
               or (kind == "ivf" and n >= self.config.retrain_growth * max(self._trained_n, 1)))
        if not due or (kind == "ivf" and n < 39):
            return
        log.info("building %s index over %d %s vectors", kind, n, self.modality)
        ann, params = self._build(kind, self._xb(0, n))  # outside the lock: searches keep using the old index
        with self._lock:
            if ann.ntotal < len(self._table):
                ann.add(np.ascontiguousarray(self._xb(int(ann.ntotal), len(self._table))))
            self._ann, self._ann_kind, self._ann_params, self._trained_n = ann, kind, params, n
            self._unsaved = n
        self.flush()

    def _build(self, kind: str, xb: np.ndarray) -> tuple[Any, dict[str, int]]:
        faiss, n = self._faiss, len(xb)
        if kind == "hnsw":
            ann = faiss.IndexHNSWFlat(self.dim, self.config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            ann.hnsw.efConstruction = self.config.hnsw_ef_construction
            for s in range(0, n, 65_536):
                ann.add(np.ascontiguousarray(xb[s:s + 65_536]))
            return ann, {"M": self.config.hnsw_m, "efConstruction": self.config.hnsw_ef_construction}
        nlist = choose_nlist(n, self.config.ivf_nlist)
        quantizer = faiss.IndexFlatIP(self.dim)
        ann = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ann.cp.niter = self.config.ivf_kmeans_iters
        ann.cp.max_points_per_centroid = 1 << 30  # we choose the sample size ourselves
        n_train = min(n, self.config.ivf_train_size or 40 * nlist)
        rng = np.random.default_rng(0)
        sample = xb if n_train >= n else xb[np.sort(rng.choice(n, n_train, replace=False))]
        ann.train(np.ascontiguousarray(sample))
        for s in range(0, n, 65_536):
            ann.add(np.ascontiguousarray(xb[s:s + 65_536]))
        return ann, {"nlist": nlist, "n_train": n_train}

    def flush(self) -> None:
        if self.read_only or self._ann is None or self._unsaved == 0:
            return
        ann = self._ann
        n = int(ann.ntotal)
        header = {"format": FILE_FORMAT, "kb_uid": self.kb_uid, "modality": self.modality, "dim": self.dim,
                  "kind": self._ann_kind, "ntotal": n, "tail_seq": int(self._pos_seq.view[n - 1]) if n else 0,
                  "trained_n": self._trained_n, "params": self._ann_params}
        write_index_file(self.path, header,
                         lambda f: self._faiss.write_index(ann, self._faiss.PyCallbackIOWriter(f.write)))
        self._unsaved = 0

    # ---------------------------------------------------------------- search
    def set_search_params(self, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
        if nprobe is not None:
            self._nprobe = max(1, int(nprobe))
        if ef_search is not None:
            self._ef_search = max(1, int(ef_search))

    def _ann_params_obj(self, k: int, sel: Any = None) -> Any:
        faiss = self._faiss
        if self._ann_kind == "ivf":
            return faiss.SearchParametersIVF(nprobe=self._nprobe, sel=sel)
        return faiss.SearchParametersHNSW(efSearch=max(self._ef_search, k), sel=sel)

    def search(self, queries: np.ndarray, k: int, *, allowed: AllowedSet | None = None) -> SearchHits:
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        out = SearchHits.empty(len(q), k)
        with self._lock:
            n = len(self._table)
            if n == 0 or k <= 0:
                return out
            if allowed is not None and len(allowed) != n:
                raise ValueError(f"allowed mask covers {len(allowed)} positions, index holds {n}")
            ann_ok = self._ann is not None and self._ann.ntotal == n
            if allowed is None:
                kk = min(k, n)
                if ann_ok:
                    D, I = self._ann.search(q, kk, params=self._ann_params_obj(kk))
                else:
                    D, I = exact_topk(self._xb(0, n), q, kk)
            else:
                kk = min(k, allowed.count)
                if kk == 0:
                    return out
                exact = (not ann_ok or allowed.count <= self.config.filter_exact_max
                         or allowed.count < self.config.filter_ann_min_fraction * n)
                if exact:  # cost ∝ allowed.count: gather the allowed rows, one matrix product
                    D, I = exact_topk(self._xb(0, n), q, kk, allowed.positions())
                else:  # over-fetch through the ANN index with a selector; exact fallback where it fell short
                    bitmap = allowed.bitmap()
                    sel = self._faiss.IDSelectorBitmap(len(bitmap), self._faiss.swig_ptr(bitmap))
                    D, I = self._ann.search(q, kk, params=self._ann_params_obj(kk, sel))
                    short = np.flatnonzero((I >= 0).sum(axis=1) < kk)
                    if len(short):
                        D2, I2 = exact_topk(self._xb(0, n), q[short], kk, allowed.positions())
                        D[short], I[short] = D2, I2
        I = I.astype(np.int64, copy=False)
        D = np.where(I >= 0, D, -np.inf).astype(np.float32)
        out.scores[:, :kk], out.positions[:, :kk] = D, I
        return out

    def describe(self) -> str:
        n = len(self)
        if self._ann is None:
            return f"flat (exact) over {n}"
        if self._ann_kind == "ivf":
            return (f"ivf(nlist={self._ann_params.get('nlist')}, nprobe={self._nprobe}) over {int(self._ann.ntotal)}"
                    f" + exact fallback")
        return (f"hnsw(M={self._ann_params.get('M')}, efSearch={self._ef_search}) over {int(self._ann.ntotal)}"
                f" + exact fallback")


@INDEX_BACKENDS.register("faiss")
def make_faiss_index(*, directory: Path, modality: str, dim: int, config: KBConfig, kb_uid: str,
                     read_only: bool) -> FaissVectorIndex:
    return FaissVectorIndex(directory=directory, modality=modality, dim=dim, config=config, kb_uid=kb_uid,
                            read_only=read_only)
