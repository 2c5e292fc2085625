"""``KnowledgeBase``: the evidence repository of AffectAgent / the emotional knowledge base of RAER.

A KB is a directory:
  kb.sqlite          entries + their vectors (source of truth; WAL; every ``add`` is one transaction)
  index/<m>.ann      derived ANN index per modality (FAISS; rebuilt/caught up from SQLite on open)
  milvus.db, index/<m>.milvus.json   only with backend="milvus" (milvus-lite file + its watermark)
Durability: ``add`` returns after its transaction committed, so a process killed at any moment leaves a KB that
opens and holds every entry whose ``add`` returned (derived indexes catch up on the next open).
Idempotence: an id already present is skipped (first write wins); ``add`` returns how many entries were new.
Concurrency: ``add`` and ``search_*`` may run in different threads of one process; other processes see new
entries after ``refresh()`` (or a new ``open``). Several writer processes are serialised by SQLite.

Vectors are L2-normalised on ``add``; scores are inner products (= cosine similarity).
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..schema import MODALITIES, Evidence
from .columns import EntryColumns, GrowArray
from .config import KBConfig
from .entry import KBEntry, KBInfo, VECTOR_FIELDS, as_unit_rows
from .errors import KBInputError, KBReadOnlyError, KBSchemaError
from .filters import AllowedSet, EntryFilter
from .index_base import INDEX_BACKENDS, VectorIndex
from .index_file import IndexFileError, read_index_header, remove_stale_temps
from .sqlite_store import SCHEMA_VERSION, ColumnChunk, EntryRow, MetadataStore, remove_stale_creations

log = logging.getLogger(__name__)

SIGN_NAME = {-1: "negative", 0: "neutral", 1: "positive"}
# Exclusion sets up to this size are handled by over-fetching; larger ones are folded into the filter mask.
_OVERFETCH_MAX = 64
_FEED_BATCH = 65_536


def _progress(it: Iterable, *, total: int | None, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return it
    from tqdm.auto import tqdm  # noqa: PLC0415

    return tqdm(it, total=total, desc=desc, unit="block", leave=False)


@dataclass
class _Modality:
    """Per-modality state: its vector index and the position → (seq, row) maps."""

    name: str
    dim: int
    index: VectorIndex
    pos_seq: GrowArray = field(default_factory=lambda: GrowArray(np.int64))
    pos_row: GrowArray = field(default_factory=lambda: GrowArray(np.int64))

    @property
    def last_seq(self) -> int:
        v = self.pos_seq.view
        return int(v[-1]) if len(v) else 0

    def positions_of(self, seqs: np.ndarray) -> np.ndarray:
        """Positions of these seqs in this modality (seqs without this modality are dropped)."""
        ps = self.pos_seq.view
        idx = np.searchsorted(ps, seqs)
        ok = idx < len(ps)
        ok[ok] = ps[idx[ok]] == seqs[ok]
        return idx[ok]


@dataclass
class _Pending:
    """Rows read from SQLite (committed) that still have to be applied to the in-memory state."""

    columns: list = field(default_factory=list)                 # ColumnChunk
    vectors: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)  # m → (seqs, vecs)


@dataclass
class _Insert:
    """One ``add`` batch prepared for SQLite and for the in-memory state.

    rows: ``entries`` rows in ``ENTRY_COLUMNS`` order; vec_rows: modality → (seq, float32 blob);
    columns: the same entries as compact columns; vectors: modality → (seqs (n,), unit rows (n, D)).
    """

    rows: list[tuple]
    vec_rows: dict[str, list[tuple[int, bytes]]]
    columns: ColumnChunk
    vectors: dict[str, tuple[np.ndarray, np.ndarray]]


def _prepare_insert(batch: list[KBEntry], keep: list[int], seqs: np.ndarray,
                    blocks: dict[str, tuple[np.ndarray, np.ndarray]]) -> _Insert:
    """batch[keep[j]] gets seq seqs[j]; blocks: modality → (batch indices carrying it, their unit rows)."""
    rows = []
    for i, s in zip(keep, seqs):
        e = batch[i]
        try:
            meta = json.dumps(e.meta, sort_keys=True, default=str)
        except (TypeError, ValueError) as exc:
            raise KBInputError(f"entry {e.id}: meta is not JSON-serialisable ({exc})") from None
        rows.append((int(s), e.id, e.text, e.label, e.sentiment, e.valence_sign, json.dumps(list(e.ov_labels)),
                     e.rationale, e.source, e.split, meta))
    seq_of = {i: int(s) for i, s in zip(keep, seqs)}
    vec_rows: dict[str, list[tuple[int, bytes]]] = {}
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for m, (idx, vecs) in blocks.items():
        sel = np.asarray([r for r, i in enumerate(idx.tolist()) if i in seq_of], dtype=np.int64)
        if len(sel) == 0:
            continue
        mseqs = np.asarray([seq_of[int(idx[r])] for r in sel], dtype=np.int64)
        mvecs = vecs[sel]
        vec_rows[m] = [(int(s), v.tobytes()) for s, v in zip(mseqs, mvecs)]
        vectors[m] = (mseqs, mvecs)
    columns = ColumnChunk(seq=seqs, label=[batch[i].label for i in keep],
                          valence_sign=[batch[i].valence_sign for i in keep],
                          source=[batch[i].source for i in keep], split=[batch[i].split for i in keep])
    return _Insert(rows=rows, vec_rows=vec_rows, columns=columns, vectors=vectors)


class KnowledgeBase:
    """See module docstring. Construct with ``create`` or ``open``; use as a context manager or call ``close``."""

    def __init__(self, *, path: Path, store: MetadataStore, read_only: bool) -> None:
        self.path = Path(path)
        self._store = store
        self.read_only = read_only
        meta = store.meta()
        try:
            self.kb_uid = meta["kb_uid"]
            self.config = KBConfig.from_json(meta["config"])
            self.dims: dict[str, int] = {m: int(meta[f"dim_{m}"]) for m in MODALITIES if meta.get(f"dim_{m}")}
            self.encoders: dict[str, str] = json.loads(meta.get("encoders", "{}"))
            self.created = meta.get("created", "")
        except (KeyError, ValueError) as exc:
            raise KBSchemaError(f"{self.path}: damaged kb_meta ({exc})") from None
        self._columns = EntryColumns()
        factory = INDEX_BACKENDS.get(self.config.backend)
        self._mods: dict[str, _Modality] = {
            m: _Modality(m, d, factory(directory=self.path, modality=m, dim=d, config=self.config,
                                       kb_uid=self.kb_uid, read_only=read_only))
            for m, d in self.dims.items()}
        self._write_lock = threading.RLock()   # serialises add / refresh / maintain / flush
        self._state_lock = threading.RLock()   # guards columns + position maps + index appends against searches
        self._allowed_cache: dict[tuple[str, EntryFilter], AllowedSet] = {}
        self._auto_index = True
        self._closed = False

    # ================================================================ construction
    @classmethod
    def create(cls, path: str | Path, *, text_dim: int | None, audio_dim: int | None = None,
               visual_dim: int | None = None, config: KBConfig | None = None,
               encoders: dict[str, str] | None = None) -> "KnowledgeBase":
        """Create an empty KB at ``path`` (a new or empty directory).

        text_dim/audio_dim/visual_dim: embedding sizes of the modalities it holds (None = not held; at least one).
        encoders: optional modality → encoder name, recorded so callers can check they embed queries the same way.
        """
        config = config or KBConfig()
        dims = {"text": text_dim, "audio": audio_dim, "visual": visual_dim}
        for m, d in dims.items():
            if d is not None and (not isinstance(d, (int, np.integer)) or d < 1):
                raise KBInputError(f"{m}_dim must be a positive integer or None, got {d!r}")
        if all(d is None for d in dims.values()):
            raise KBInputError("a knowledge base needs at least one of text_dim, audio_dim, visual_dim")
        for m in encoders or {}:
            if m not in MODALITIES:
                raise KBInputError(f"encoders: unknown modality {m!r}")
        INDEX_BACKENDS.get(config.backend)  # fail early on an unknown backend
        meta = {"kb_uid": uuid.uuid4().hex, "config": config.to_json(),
                "encoders": json.dumps(encoders or {}, sort_keys=True),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                **{f"dim_{m}": str(int(d)) for m, d in dims.items() if d is not None}}
        store = MetadataStore.create(Path(path), meta, synchronous=config.synchronous)
        try:
            kb = cls(path=Path(path), store=store, read_only=False)
            kb._load(progress=False)
        except BaseException:  # e.g. the backend's library is missing: leave no half-made KB behind
            store.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store.path}{suffix}").unlink(missing_ok=True)
            raise
        return kb

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, progress: bool = False) -> "KnowledgeBase":
        """Open an existing KB (checks the schema version; catches derived indexes up with SQLite)."""
        path = Path(path)
        store = MetadataStore.open(path, read_only=read_only)
        try:
            store.synchronous = KBConfig.from_json(store.meta().get("config", "{}")).synchronous
        except (ValueError, TypeError) as exc:
            store.close()
            raise KBSchemaError(f"{path}: damaged configuration in kb_meta ({exc})") from None
        try:
            kb = cls(path=path, store=store, read_only=read_only)
            if not read_only:
                remove_stale_temps(path / "index")
                remove_stale_creations(path)  # a creator killed after publishing kb.sqlite left its temp name
            kb._load(progress=progress)
        except BaseException:
            store.close()
            raise
        return kb

    def _load(self, *, progress: bool) -> None:
        with self._write_lock, self._store.snapshot() as conn:
            upto = self._store.max_seq(conn)
            self._columns.append(self._store.columns(conn, after=0, upto=upto))
            for st in self._mods.values():
                seqs = self._store.vector_seqs(conn, st.name, after=0, upto=upto)
                st.index.open(seqs)
                start = len(st.index)
                if start > len(seqs):
                    raise KBSchemaError(f"{self.path}: {st.name} index holds more vectors than SQLite")
                st.pos_seq.extend(seqs[:start])
                st.pos_row.extend(self._columns.rows_of(seqs[:start]))
                after = int(seqs[start - 1]) if start else 0
                blocks = self._store.iter_vectors(conn, st.name, st.dim, after=after, upto=upto, batch=_FEED_BATCH)
                pos = start
                bar = _progress(blocks, total=-(-(len(seqs) - start) // _FEED_BATCH), desc=f"loading {st.name}",
                                enabled=progress)
                for vecs in bar:
                    self._feed(st, seqs[pos:pos + len(vecs)], vecs)
                    pos += len(vecs)
        if self._auto_index:
            self._maintain()

    def _feed(self, st: _Modality, seqs: np.ndarray, vecs: np.ndarray) -> None:
        rows = self._columns.rows_of(seqs)
        if (rows < 0).any():
            raise KBSchemaError(f"{self.path}: {st.name} vectors without an entry row")
        st.index.add(vecs, self._columns.attrs(rows), seqs)
        st.pos_seq.extend(seqs)
        st.pos_row.extend(rows)

    def close(self) -> None:
        if self._closed:
            return
        with self._write_lock:
            if not self.read_only:
                self.flush()
            for st in self._mods.values():
                st.index.close()
            self._store.close()
            self._closed = True

    def __enter__(self) -> "KnowledgeBase":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._columns)

    def __contains__(self, entry_id: object) -> bool:
        return isinstance(entry_id, str) and len(self._store.seqs_for_ids([entry_id])) > 0

    # ================================================================ growth
    def add(self, entries: Sequence[KBEntry]) -> int:
        """Add entries in one transaction; ids already in the KB (or repeated in ``entries``) are skipped.

        Returns the number of new entries. Raises ``KBInputError`` (nothing written) on a bad embedding.
        """
        if self.read_only:
            raise KBReadOnlyError(f"{self.path} was opened read-only")
        if self._closed:
            raise KBInputError("knowledge base is closed")
        batch = self._dedupe(entries)
        if not batch:
            return 0
        blocks = self._stack_vectors(batch)
        with self._write_lock:
            pending = _Pending()
            with self._store.write_transaction() as conn:
                last = self._store.max_seq(conn)
                if last > self._columns.last_seq:  # another process wrote since we last looked
                    self._read_pending(conn, pending, upto=last)
                existing = self._store.existing_ids(conn, [e.id for e in batch])
                keep = [i for i, e in enumerate(batch) if e.id not in existing]
                if keep:
                    seqs = np.arange(last + 1, last + 1 + len(keep), dtype=np.int64)
                    ins = _prepare_insert(batch, keep, seqs, blocks)
                    self._store.insert(conn, ins.rows, ins.vec_rows)
                    pending.columns.append(ins.columns)
                    for m, item in ins.vectors.items():
                        pending.vectors.setdefault(m, []).append(item)
            self._apply(pending)
            if self._auto_index:
                self._maintain()
        return len(keep)

    def refresh(self) -> int:
        """See entries committed by other processes since open/last refresh. Returns how many were new."""
        with self._write_lock:
            before = len(self._columns)
            pending = _Pending()
            with self._store.snapshot() as conn:
                last = self._store.max_seq(conn)
                if last > self._columns.last_seq:
                    self._read_pending(conn, pending, upto=last)
            self._apply(pending)
            if self._auto_index:
                self._maintain()
            return len(self._columns) - before

    def flush(self) -> None:
        """Write derived index files now (they are also written on close and every ``persist_every`` vectors)."""
        if self.read_only:
            return
        with self._write_lock:
            for st in self._mods.values():
                st.index.flush()

    def rebuild_indexes(self) -> None:
        """(Re)build ANN indexes that the configuration says are due, and persist them."""
        with self._write_lock:
            self._maintain()
            self.flush()

    @contextmanager
    def deferred_indexing(self) -> Iterator["KnowledgeBase"]:
        """Bulk loading: no ANN (re)training inside the block (searches stay exact); done once at the end."""
        with self._write_lock:
            prev, self._auto_index = self._auto_index, False
        try:
            yield self
        finally:
            with self._write_lock:
                self._auto_index = prev
                if not self._closed:
                    self._maintain()
                    self.flush()

    def set_search_params(self, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
        """Change ANN recall/latency knobs for this process (IVF ``nprobe``, HNSW ``efSearch``)."""
        for st in self._mods.values():
            st.index.set_search_params(nprobe=nprobe, ef_search=ef_search)

    # ---------------------------------------------------------------- add helpers
    @staticmethod
    def _dedupe(entries: Sequence[KBEntry]) -> list[KBEntry]:
        seen: set[str] = set()
        out = []
        for e in entries:
            if not isinstance(e, KBEntry):
                raise KBInputError(f"add() takes KBEntry objects, got {type(e).__name__}")
            if e.id not in seen:
                seen.add(e.id)
                out.append(e)
        return out

    def _stack_vectors(self, batch: list[KBEntry]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """modality → (indices into batch of entries carrying it, (n, D) unit rows)."""
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for m, attr in VECTOR_FIELDS.items():
            idx = [i for i, e in enumerate(batch) if getattr(e, attr) is not None]
            if not idx:
                continue
            if m not in self.dims:
                raise KBInputError(f"entry {batch[idx[0]].id}: this KB holds no {m} vectors "
                                   f"(modalities: {', '.join(self.dims)})")
            raw = [np.asarray(getattr(batch[i], attr), dtype=np.float32).reshape(-1) for i in idx]
            for i, v in zip(idx, raw):
                if v.shape[0] != self.dims[m]:
                    raise KBInputError(f"entry {batch[i].id}: {attr} has size {v.shape[0]}, the KB expects "
                                       f"{self.dims[m]}")
            out[m] = (np.asarray(idx, dtype=np.int64),
                      as_unit_rows(np.stack(raw), dim=self.dims[m], what=f"{attr} of {len(idx)} entries"))
        return out

    def _read_pending(self, conn, pending: _Pending, *, upto: int) -> None:
        pending.columns.append(self._store.columns(conn, after=self._columns.last_seq, upto=upto))
        for st in self._mods.values():
            seqs = self._store.vector_seqs(conn, st.name, after=st.last_seq, upto=upto)
            if len(seqs):
                vecs = np.concatenate(list(self._store.iter_vectors(conn, st.name, st.dim, after=st.last_seq,
                                                                     upto=upto)))
                pending.vectors.setdefault(st.name, []).append((seqs, vecs))

    def _apply(self, pending: _Pending) -> None:
        with self._state_lock:
            for chunk in pending.columns:
                self._columns.append(chunk)
            for m, items in pending.vectors.items():
                st = self._mods[m]
                for seqs, vecs in items:
                    for s in range(0, len(seqs), _FEED_BATCH):
                        self._feed(st, seqs[s:s + _FEED_BATCH], vecs[s:s + _FEED_BATCH])
            if pending.columns:
                self._allowed_cache.clear()

    def _maintain(self) -> None:
        for st in self._mods.values():
            st.index.maintain()

    # ================================================================ reads
    def info(self) -> KBInfo:
        """Counts from SQLite + the live index per modality."""
        return _summary(self.path, self._store, dims=self.dims, encoders=self.encoders, backend=self.config.backend,
                        created=self.created, indexes={m: s.index.describe() for m, s in self._mods.items()})

    @classmethod
    def peek(cls, path: str | Path) -> KBInfo:
        """``info`` without opening the KB: reads SQLite counts and index-file headers only (no vectors loaded),
        so it is instant on big KBs. Index descriptions are those of the files on disk."""
        path = Path(path)
        store = MetadataStore.open(path, read_only=True)
        try:
            meta = store.meta()
            dims = {m: int(meta[f"dim_{m}"]) for m in MODALITIES if meta.get(f"dim_{m}")}
            config = KBConfig.from_json(meta.get("config", "{}"))
            indexes = {m: describe_persisted(path / "index", m) for m in dims}
            return _summary(path, store, dims=dims, encoders=json.loads(meta.get("encoders", "{}")),
                            backend=config.backend, created=meta.get("created", ""), indexes=indexes)
        except (KeyError, ValueError) as exc:
            raise KBSchemaError(f"{path}: damaged kb_meta ({exc})") from None
        finally:
            store.close()

    def get(self, ids: Sequence[str]) -> list[KBEntry]:
        """Entries (with their stored, normalised embeddings) for these ids, in the given order; unknown ids are
        skipped."""
        ids = [str(i) for i in ids]
        rows = self._store.rows_by_id(ids)
        seqs = [r.seq for r in rows.values()]
        vecs = {m: self._store.vectors_by_seq(m, seqs, d) for m, d in self.dims.items()}
        out = []
        for i in ids:
            r = rows.get(i)
            if r is not None:
                out.append(KBEntry(id=r.id, text=r.text, label=r.label, sentiment=r.sentiment,
                                   ov_labels=r.ov_labels, rationale=r.rationale, source=r.source, split=r.split,
                                   meta=r.meta, text_emb=vecs.get("text", {}).get(r.seq),
                                   audio_emb=vecs.get("audio", {}).get(r.seq),
                                   visual_emb=vecs.get("visual", {}).get(r.seq)))
        return out

    def search(self, modality: str, queries: np.ndarray, k: int, *, exclude_ids: Iterable[str] = (),
               where: EntryFilter | None = None, kind: str = "plain",
               with_vectors: bool = False) -> list[list[Evidence]]:
        """Top-k entries per query row by inner product in one modality's index.

        queries: (Q, D) or (D,) (normalised here). Returns Q lists of ≤k ``Evidence`` (best first), never containing
        an id of ``exclude_ids``; ``where`` restricts candidates; ``with_vectors`` fills ``Evidence.vector``.
        """
        st = self._mods.get(modality)
        if st is None:
            raise KBInputError(f"this KB holds no {modality} vectors (modalities: {', '.join(self.dims) or '-'})")
        if not isinstance(k, (int, np.integer)) or k < 0:
            raise KBInputError(f"k must be a non-negative integer, got {k!r}")
        q = as_unit_rows(queries, dim=st.dim, what=f"{modality} query")
        if k == 0:
            return [[] for _ in range(len(q))]
        flt = where if where is not None and not where.is_empty else None
        excl_seqs = self._store.seqs_for_ids(list(exclude_ids)) if exclude_ids else np.empty(0, np.int64)
        with self._state_lock:
            allowed = self._allowed(st, flt)
            excl_pos = st.positions_of(excl_seqs) if len(excl_seqs) else np.empty(0, np.int64)
            if allowed is not None and len(excl_pos):
                excl_pos = excl_pos[allowed.mask[excl_pos]]
            if len(excl_pos) > _OVERFETCH_MAX:  # fold big exclusion sets into the mask
                base = allowed.mask.copy() if allowed is not None else np.ones(len(st.pos_seq), dtype=bool)
                base[excl_pos] = False
                allowed = AllowedSet(base, allowed.codes if allowed is not None else None, excluded=excl_pos)
                extra = 0
            else:
                extra = len(excl_pos)
            hits = st.index.search(q, k + extra, allowed=allowed)
            pos_seq = st.pos_seq.view
            hit_seqs = np.where(hits.positions >= 0, pos_seq[np.clip(hits.positions, 0, None)], -1)
        excluded = set(excl_seqs.tolist())
        wanted = sorted({int(s) for s in hit_seqs.ravel() if s >= 0 and int(s) not in excluded})
        rows = self._store.rows_by_seq(wanted)
        vectors = self._store.vectors_by_seq(modality, wanted, st.dim) if with_vectors else {}
        out: list[list[Evidence]] = []
        for qi in range(len(q)):
            items: list[Evidence] = []
            for s, score in zip(hit_seqs[qi], hits.scores[qi]):
                s = int(s)
                if s < 0 or s in excluded or s not in rows:
                    continue
                items.append(_evidence(rows[s], kind=kind, score=float(score), modality=modality,
                                       vector=vectors.get(s)))
                if len(items) == k:
                    break
            out.append(items)
        return out

    def search_text(self, query_vecs: np.ndarray, k: int, *, exclude_ids: Iterable[str] = (),
                    where: EntryFilter | None = None, kind: str = "plain") -> list[list[Evidence]]:
        """Cognitive pathway: ``search("text", ...)``. query_vecs (Q, D_t) → Q lists of Evidence."""
        return self.search("text", query_vecs, k, exclude_ids=exclude_ids, where=where, kind=kind)

    def search_perceptual(self, vec: np.ndarray, modality: str = "audio", k: int = 5, *,
                          exclude_ids: Iterable[str] = (), where: EntryFilter | None = None) -> list[Evidence]:
        """Perceptual pathway: nearest audio/visual neighbours of one embedding (D,), each carrying its stored
        vector in ``Evidence.vector`` (for RAAF / missing-modality completion)."""
        if modality not in ("audio", "visual"):
            raise KBInputError(f"perceptual modality must be audio or visual, got {modality!r}")
        return self.search(modality, np.asarray(vec).reshape(1, -1) if np.ndim(vec) == 1 else vec, k,
                           exclude_ids=exclude_ids, where=where, kind="perceptual", with_vectors=True)[0]

    def centroid(self, modality: str, *, where: EntryFilter | None = None) -> np.ndarray | None:
        """Normalised mean (D,) of the stored ``modality`` vectors of the entries matching ``where``
        (None when there are none)."""
        st = self._mods.get(modality)
        if st is None:
            raise KBInputError(f"this KB holds no {modality} vectors")
        with self._state_lock:
            allowed = self._allowed(st, where if where is not None and not where.is_empty else None)
            seqs = st.pos_seq.view if allowed is None else st.pos_seq.view[allowed.mask]
            seqs = seqs.copy()
        if len(seqs) == 0:
            return None
        total = np.zeros(st.dim, dtype=np.float64)
        for s in range(0, len(seqs), 8192):
            vecs = self._store.vectors_by_seq(modality, seqs[s:s + 8192].tolist(), st.dim)
            total += np.sum(list(vecs.values()), axis=0)
        norm = np.linalg.norm(total)
        return None if norm == 0 else (total / norm).astype(np.float32)

    def _allowed(self, st: _Modality, flt: EntryFilter | None) -> AllowedSet | None:
        if flt is None:
            return None
        key = (st.name, flt)
        hit = self._allowed_cache.get(key)
        if hit is not None and len(hit) == len(st.pos_seq):
            return hit
        codes = flt.to_codes(self._columns)
        row_mask = codes.row_mask(self._columns)
        allowed = AllowedSet(row_mask[st.pos_row.view], codes)
        if len(self._allowed_cache) > 256:
            self._allowed_cache.clear()
        self._allowed_cache[key] = allowed
        return allowed


def _summary(path: Path, st: MetadataStore, *, dims: dict[str, int], encoders: dict[str, str], backend: str,
             created: str, indexes: dict[str, str]) -> KBInfo:
    labels = {("(none)" if k is None else k): v for k, v in st.count_by("label").items()}
    sentiments = {("(unknown)" if k is None else SIGN_NAME[int(k)]): v for k, v in st.count_by("valence_sign").items()}
    sources = {f"{a}/{b}" if b else a or "(none)": n for (a, b), n in st.count_sources().items()}
    return KBInfo(path=str(path), schema_version=SCHEMA_VERSION, entries=st.count_entries(), dims=dict(dims),
                  vectors={m: st.count_vectors(m) for m in dims}, labels=labels, sentiments=sentiments,
                  sources=sources, indexes=indexes, encoders=dict(encoders), backend=backend, created=created)


def describe_persisted(index_dir: Path, modality: str) -> str:
    """Description of a modality's index from the header of its file on disk (FAISS ``.ann`` / Milvus sidecar)."""
    for name in (f"{modality}.ann", f"{modality}.milvus.json"):
        p = index_dir / name
        if not p.is_file():
            continue
        try:
            with open(p, "rb") as f:
                head = read_index_header(f)
        except (OSError, IndexFileError):
            return f"{name} unreadable (rebuilt on open)"
        kind = head.get("kind", "milvus")
        params = ", ".join(f"{k}={v}" for k, v in sorted(head.get("params", {}).items()))
        return f"{kind}({params}) over {head.get('ntotal')} on disk (+ exact table built on open)"
    return "flat (exact; built on open)"


def _sentiment_of(row: EntryRow) -> str | None:
    if row.sentiment is not None:
        return row.sentiment
    return None if row.valence_sign is None else SIGN_NAME[int(row.valence_sign)]


def _evidence(row: EntryRow, *, kind: str, score: float, modality: str, vector: np.ndarray | None) -> Evidence:
    source = f"{row.source}/{row.split}" if row.split else row.source
    return Evidence(id=row.id, text=row.text, label=row.label, kind=kind, score=score, sentiment=_sentiment_of(row),
                    ov_labels=row.ov_labels, rationale=row.rationale, source=source, modality=modality, vector=vector)
