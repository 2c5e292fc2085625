"""Milvus vector index: the scale-out backend (``KBConfig(backend="milvus")``).

The same ``VectorIndex`` interface as FAISS; SQLite stays the source of truth. One collection per modality:
  pos INT64 primary key (= position), vector FLOAT_VECTOR(D), label INT8, vsign INT8, source INT32, split INT32
Filters are pushed down as Milvus boolean expressions over the code columns (``filter_expression``).
``milvus_uri=None`` uses an embedded milvus-lite database file ``<kb>/milvus.db`` (one process at a time; FLAT index
only); ``milvus_uri="http://host:19530"`` talks to a Milvus server or cluster with the same client.
Writes are upserts keyed by position, so catching up after a crash is idempotent; ``<kb>/index/<m>.milvus.json``
records (header-only index file) how many positions are known to be in the collection.

Install: pip install pymilvus==2.5.18 milvus-lite==2.5.1 (these keep protobuf<5 and numpy<2, as mediapipe needs;
pymilvus>=2.6 requires protobuf>=5.27).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependencyError
from .columns import RowAttrs
from .config import KBConfig
from .filters import AllowedSet, CodeFilter
from .index_base import INDEX_BACKENDS, SearchHits
from .index_file import IndexFileError, read_index_header, write_index_file

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install pymilvus==2.5.18 milvus-lite==2.5.1   (or: pip install 'affectagent[milvus]')"
_UPSERT_BATCH = 5_000


def import_pymilvus() -> Any:
    try:
        import pymilvus  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise MissingDependencyError(f"the milvus KB backend needs pymilvus: {INSTALL_HINT}") from exc
    return pymilvus


def _in(field: str, values: frozenset[int] | set[int], *, negate: bool = False) -> str:
    vals = ", ".join(str(int(v)) for v in sorted(values))
    return f"{field} {'not in' if negate else 'in'} [{vals}]"


def filter_expression(codes: CodeFilter | None, excluded: np.ndarray | None = None) -> str:
    """Milvus boolean expression for a code-level filter plus excluded positions ("" = no constraint). Pure."""
    parts: list[str] = []
    if codes is not None:
        for field, values in (("label", codes.label_in), ("vsign", codes.vsign_in), ("source", codes.source_in),
                              ("split", codes.split_in)):
            if values is not None:
                parts.append(_in(field, values) if values else "pos < 0")  # empty set matches nothing
        if codes.label_not_in:
            parts.append(_in("label", codes.label_not_in, negate=True))
        if codes.labelled_only:
            parts.append("label >= 0")
    if excluded is not None and len(excluded):
        parts.append(_in("pos", set(np.asarray(excluded).tolist()), negate=True))
    return " and ".join(parts)


class MilvusVectorIndex:
    """See module docstring."""

    def __init__(self, *, directory: Path, modality: str, dim: int, config: KBConfig, kb_uid: str,
                 read_only: bool) -> None:
        self._pm = import_pymilvus()
        self.directory = Path(directory)
        self.modality = modality
        self.dim = dim
        self.config = config
        self.kb_uid = kb_uid
        self.read_only = read_only
        self.uri = config.milvus_uri or str(self.directory / "milvus.db")
        self.collection = f"aakb_{kb_uid[:16]}_{modality}"
        self.sidecar = self.directory / "index" / f"{modality}.milvus.json"
        self._client: Any = None
        self._n = 0
        self._tail_seq = 0
        self._unsaved = 0
        self._nprobe = config.ivf_nprobe
        self._ef_search = config.hnsw_ef_search
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- lifecycle
    def open(self, pos_seq: np.ndarray) -> None:
        try:
            self._client = self._pm.MilvusClient(self.uri)
        except Exception as exc:  # pymilvus raises many types; report one clear line
            raise MissingDependencyError(f"cannot connect to Milvus at {self.uri}: {exc} ({INSTALL_HINT})") from exc
        n = self._valid_sidecar(pos_seq)
        if n is None or not self._client.has_collection(self.collection):
            if self._client.has_collection(self.collection):
                self._client.drop_collection(self.collection)
            self._create_collection()
            n = 0
        else:
            self._client.load_collection(self.collection)
        self._n = n
        self._tail_seq = int(pos_seq[n - 1]) if n else 0

    def _valid_sidecar(self, pos_seq: np.ndarray) -> int | None:
        try:
            with open(self.sidecar, "rb") as f:
                head = read_index_header(f)
        except (OSError, IndexFileError):
            return None
        n = int(head.get("ntotal", -1))
        if head.get("kb_uid") != self.kb_uid or head.get("collection") != self.collection or not 0 <= n <= len(pos_seq):
            return None
        if n and int(pos_seq[n - 1]) != int(head.get("tail_seq", -1)):
            return None
        return n

    def _create_collection(self) -> None:
        pm = self._pm
        schema = pm.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pos", pm.DataType.INT64, is_primary=True)
        schema.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("label", pm.DataType.INT8)
        schema.add_field("vsign", pm.DataType.INT8)
        schema.add_field("source", pm.DataType.INT32)
        schema.add_field("split", pm.DataType.INT32)
        params = self._client.prepare_index_params()
        extra = {"nlist": 1024} if self.config.milvus_index_type == "IVF_FLAT" else {}
        if self.config.milvus_index_type == "HNSW":
            extra = {"M": self.config.hnsw_m, "efConstruction": self.config.hnsw_ef_construction}
        params.add_index(field_name="vector", index_type=self.config.milvus_index_type, metric_type="IP",
                         params=extra)
        self._client.create_collection(self.collection, schema=schema, index_params=params)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __len__(self) -> int:
        return self._n

    # ---------------------------------------------------------------- writes
    def add(self, vecs: np.ndarray, attrs: RowAttrs, seqs: np.ndarray) -> None:
        with self._lock:
            for s in range(0, len(vecs), _UPSERT_BATCH):
                e = min(s + _UPSERT_BATCH, len(vecs))
                rows = [{"pos": self._n + i, "vector": vecs[i].tolist(), "label": int(attrs.label[i]),
                         "vsign": int(attrs.vsign[i]), "source": int(attrs.source[i]), "split": int(attrs.split[i])}
                        for i in range(s, e)]
                self._client.upsert(self.collection, rows)
            self._n += len(vecs)
            if len(seqs):
                self._tail_seq = int(seqs[-1])
            self._unsaved += len(vecs)

    def maintain(self) -> None:
        """Milvus builds and maintains its own index."""

    def flush(self) -> None:
        if self.read_only or self._unsaved == 0 or self._client is None:
            return
        self._client.flush(self.collection)
        head = {"kb_uid": self.kb_uid, "collection": self.collection, "ntotal": self._n, "tail_seq": self._tail_seq}
        write_index_file(self.sidecar, head, lambda f: None)
        self._unsaved = 0

    # ---------------------------------------------------------------- search
    def set_search_params(self, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
        if nprobe is not None:
            self._nprobe = max(1, int(nprobe))
        if ef_search is not None:
            self._ef_search = max(1, int(ef_search))

    def search(self, queries: np.ndarray, k: int, *, allowed: AllowedSet | None = None) -> SearchHits:
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        out = SearchHits.empty(len(q), k)
        if self._n == 0 or k <= 0 or (allowed is not None and allowed.count == 0):
            return out
        expr = "" if allowed is None else filter_expression(allowed.codes, allowed.excluded)
        kk = min(k, self._n, 16_384)
        with self._lock:
            # Strong consistency: a search sees every row added before it (a Milvus server's default, Bounded,
            # may leave rows upserted in the last seconds out)
            res = self._client.search(self.collection, data=q.tolist(), limit=kk, filter=expr,
                                      consistency_level="Strong", search_params={"metric_type": "IP",
                                                     "params": {"nprobe": self._nprobe, "ef": max(self._ef_search, kk)}})
        for qi, hits in enumerate(res):
            for j, h in enumerate(hits[:kk]):
                out.positions[qi, j] = int(h["id"])
                out.scores[qi, j] = float(h["distance"])
        return out

    def describe(self) -> str:
        return f"milvus({self.config.milvus_index_type}) at {self.uri} over {self._n}"


@INDEX_BACKENDS.register("milvus")
def make_milvus_index(*, directory: Path, modality: str, dim: int, config: KBConfig, kb_uid: str,
                      read_only: bool) -> MilvusVectorIndex:
    return MilvusVectorIndex(directory=directory, modality=modality, dim=dim, config=config, kb_uid=kb_uid,
                             read_only=read_only)
