"""SQLite side of a knowledge base: the source of truth for entries and their vectors.

Layout (schema version ``SCHEMA_VERSION``):
  kb_meta(key, value)                 schema_version, kb_uid, dims, config, encoders, created
  entries(seq, id UNIQUE, text, label, sentiment, valence_sign, ov_labels, rationale, source, split, meta, added_at)
  vec_text / vec_audio / vec_visual(seq → entries.seq, vec float32 blob, L2-normalised)
``seq`` is assigned by the writer in increasing order (never reused; there are no deletes), so "every row with
seq ≤ s" is a well-defined prefix that derived indexes use as their watermark. WAL journal: readers never block the
writer, a killed writer leaves the last committed state. Each thread gets its own read connection.

Creation is atomic: the schema and metadata are committed into a hidden temp file in the KB folder
(``.kb.sqlite.<pid>.<random>.creating``), which is then published as ``kb.sqlite`` with a hard link (which fails if
the name exists, so of two processes creating one KB exactly one wins and the other can open the winner's). A process
killed at any moment leaves either no ``kb.sqlite`` or a complete one; its temp file is removed by the next create.
A ``kb.sqlite`` without any table (left by an older version killed while creating it) is "blank": ``create``
replaces it, ``open`` refuses it with a message saying so.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..schema import MODALITIES
from .errors import KBError, KBExistsError, KBInputError, KBNotFoundError, KBReadOnlyError, KBSchemaError
from .index_file import pid_alive

SCHEMA_VERSION = 1
DB_NAME = "kb.sqlite"
_MAX_VARS = 900  # parameters per IN (...) query, below SQLite's historic 999 limit

_DDL = (
    "CREATE TABLE kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        label TEXT,
        sentiment TEXT,
        valence_sign INTEGER,
        ov_labels TEXT NOT NULL,
        rationale TEXT,
        source TEXT NOT NULL,
        split TEXT NOT NULL,
        meta TEXT NOT NULL,
        added_at REAL NOT NULL)""",
    *(f"CREATE TABLE vec_{m} (seq INTEGER PRIMARY KEY REFERENCES entries(seq), vec BLOB NOT NULL)"
      for m in MODALITIES),
)

CREATING_SUFFIX = ".creating"
SIDE_FILES = ("-wal", "-shm", "-journal")


def is_blank(db: Path) -> bool:
    """True for an empty file or an SQLite database without a single table (a creation that never committed)."""
    db = Path(db)
    try:
        if db.stat().st_size == 0:
            return True
    except FileNotFoundError:
        return False
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return False
    try:
        return conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
    except sqlite3.DatabaseError:  # not a database at all: not ours to call blank (or to delete)
        return False
    finally:
        conn.close()


def _remove_db(db: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def remove_stale_creations(directory: Path) -> int:
    """Delete temp databases left by creators that were killed (their pid is gone); returns how many."""
    n = 0
    for p in Path(directory).glob(f".{DB_NAME}.*{CREATING_SUFFIX}"):
        try:
            pid = int(p.name[len(DB_NAME) + 2:].split(".", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not pid_alive(pid):
            _remove_db(p)
            n += 1
    return n


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path) -> None:
    """Give the complete temp database its public name, failing with KBExistsError if the name is taken."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise KBExistsError(f"a knowledge base already exists at {final.parent} (open it, or choose another "
                            "path)") from None
    except OSError:  # a file system without hard links: rename (the name was free a moment ago)
        if final.exists():
            raise KBExistsError(f"a knowledge base already exists at {final.parent}") from None
        os.rename(tmp, final)
    _fsync_dir(final.parent)


ENTRY_COLUMNS = ("seq", "id", "text", "label", "sentiment", "valence_sign", "ov_labels", "rationale", "source",
                 "split", "meta")


@dataclass(frozen=True)
class EntryRow:
    """One ``entries`` row as stored (``ov_labels``/``meta`` decoded)."""

    seq: int
    id: str
    text: str
    label: str | None
    sentiment: str | None
    valence_sign: int | None
    ov_labels: tuple[str, ...]
    rationale: str | None
    source: str
    split: str
    meta: dict

    @classmethod
    def from_sql(cls, r: Sequence) -> "EntryRow":
        return cls(seq=r[0], id=r[1], text=r[2], label=r[3], sentiment=r[4], valence_sign=r[5],
                   ov_labels=tuple(json.loads(r[6])), rationale=r[7], source=r[8], split=r[9], meta=json.loads(r[10]))


@dataclass
class ColumnChunk:
    """Compact columns of entries with seq in (after, upto], in seq order (what the in-memory filters need)."""

    seq: np.ndarray          # (N,) int64
    label: list[str | None]
    valence_sign: list[int | None]
    source: list[str]
    split: list[str]


class MetadataStore:
    """Connections to ``<dir>/kb.sqlite``: one write connection (callers serialise writes) + one read connection per
    thread. ``read_only`` opens every connection with ``mode=ro``."""

    def __init__(self, directory: Path, *, read_only: bool, synchronous: str = "full") -> None:
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.read_only = read_only
        self.synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, directory: Path, meta: dict[str, str], *, synchronous: str) -> "MetadataStore":
        """Create ``<directory>/kb.sqlite`` atomically (see the module docstring); a blank one is replaced.

        Raises KBExistsError when a knowledge base is there (or another process published one first) and
        KBInputError when ``directory`` is a file."""
        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise KBInputError(f"{directory} is a file, not a folder: give a folder for the knowledge base")
        final = directory / DB_NAME
        if final.exists():
            if not is_blank(final):
                raise KBExistsError(f"a knowledge base already exists at {directory} ({DB_NAME} is there; open it, "
                                    "or choose another path)")
            _remove_db(final)  # an earlier creation died before its schema was written: nothing to keep
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_creations(directory)
        tmp = directory / f".{DB_NAME}.{os.getpid()}.{uuid.uuid4().hex[:8]}{CREATING_SUFFIX}"
        try:
            conn = sqlite3.connect(str(tmp), isolation_level=None, timeout=60.0)
            try:
                conn.execute("PRAGMA journal_mode=WAL")  # stored in the file header, so kb.sqlite opens in WAL mode
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("BEGIN IMMEDIATE")
                for stmt in _DDL:
                    conn.execute(stmt)
                rows = {**meta, "schema_version": str(SCHEMA_VERSION)}
                conn.executemany("INSERT INTO kb_meta(key, value) VALUES (?, ?)", sorted(rows.items()))
                conn.execute("COMMIT")
            finally:
                conn.close()  # the last connection: SQLite checkpoints the WAL into the file and removes it
            _publish(tmp, final)
        finally:
            _remove_db(tmp)
        store = cls(directory, read_only=False, synchronous=synchronous)
        store._writer = store._connect(write=True)
        return store

    @classmethod
    def open(cls, directory: Path, *, read_only: bool, synchronous: str = "full") -> "MetadataStore":
        directory = Path(directory)
        if not (directory / DB_NAME).is_file():
            raise KBNotFoundError(f"{directory} is not a knowledge base (no {DB_NAME}); build one with "
                                  "`affectagent kb build` or KnowledgeBase.create")
        store = cls(directory, read_only=read_only, synchronous=synchronous)
        store.check_schema()
        return store

    def check_schema(self) -> None:
        if is_blank(self.path):
            raise KBSchemaError(f"{self.path} is empty: creating this knowledge base was interrupted before its schema "
                                "was written; build into the same folder again to repair it")
        try:
            meta = self.meta()
        except sqlite3.DatabaseError as exc:
            raise KBSchemaError(f"{self.path}: not a readable knowledge-base database ({exc})") from None
        found = meta.get("schema_version")
        if found is None:
            raise KBSchemaError(f"{self.path}: no schema_version in kb_meta (damaged or not an affectagent KB)")
        if found != str(SCHEMA_VERSION):
            raise KBSchemaError(f"{self.path}: knowledge base schema version {found}, this affectagent reads "
                                f"version {SCHEMA_VERSION}; rebuild it with `affectagent kb build`")

    def close(self) -> None:
        with self._all_lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._writer = None
        self._local = threading.local()

    def _connect(self, *, write: bool) -> sqlite3.Connection:
        if write and self.read_only:
            raise KBReadOnlyError(f"{self.directory} was opened read-only")
        uri = f"file:{self.path}?mode={'ro' if self.read_only else 'rw'}"  # never creates a file
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=60.0)
        conn.execute("PRAGMA busy_timeout=60000")
        if not self.read_only:
            conn.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit: each statement sees the latest committed state)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(write=False)
            self._local.conn = conn
        return conn

    @property
    def writer(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._connect(write=True)
        return self._writer

    # ---------------------------------------------------------------- transactions
    @contextmanager
    def write_transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT on the write connection (rolls back on any exception)."""
        conn = self.writer
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # e.g. another writer held the lock past busy_timeout
            raise KBError(f"{self.path}: cannot start a write ({exc})") from None
        try:
            yield conn
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise KBError(f"{self.path}: write failed and was rolled back ({exc})") from None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise KBError(f"{self.path}: commit failed and was rolled back ({exc})") from None

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction on this thread's connection: every query inside sees one consistent state."""
        conn = self.reader
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # ---------------------------------------------------------------- metadata
    def meta(self) -> dict[str, str]:
        return dict(self.reader.execute("SELECT key, value FROM kb_meta").fetchall())

    def set_meta(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT INTO kb_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                     (key, value))

    # ---------------------------------------------------------------- writes (inside write_transaction)
    @staticmethod
    def max_seq(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM entries").fetchone()[0])

    @staticmethod
    def existing_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _MAX_VARS):
            chunk = ids[i:i + _MAX_VARS]
            q = f"SELECT id FROM entries WHERE id IN ({','.join('?' * len(chunk))})"
            found.update(r[0] for r in conn.execute(q, chunk))
        return found

    @staticmethod
    def insert(conn: sqlite3.Connection, rows: list[tuple], vectors: dict[str, list[tuple[int, bytes]]]) -> None:
        """rows: tuples in ``ENTRY_COLUMNS`` order (ov_labels/meta JSON-encoded); vectors: modality → (seq, blob)."""
        now = time.time()
        conn.executemany(
            f"INSERT INTO entries({', '.join(ENTRY_COLUMNS)}, added_at) VALUES ({', '.join('?' * len(ENTRY_COLUMNS))}, ?)",
            [(*r, now) for r in rows])
        for m, items in vectors.items():
            if items:
                conn.executemany(f"INSERT INTO vec_{m}(seq, vec) VALUES (?, ?)", items)

    # ---------------------------------------------------------------- reads
    @staticmethod
    def columns(conn: sqlite3.Connection, *, after: int, upto: int) -> ColumnChunk:
        rows = conn.execute("SELECT seq, label, valence_sign, source, split FROM entries WHERE seq > ? AND seq <= ? "
                            "ORDER BY seq", (after, upto)).fetchall()
        return ColumnChunk(seq=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
                           label=[r[1] for r in rows], valence_sign=[r[2] for r in rows],
                           source=[r[3] for r in rows], split=[r[4] for r in rows])

    @staticmethod
    def vector_seqs(conn: sqlite3.Connection, modality: str, *, after: int, upto: int) -> np.ndarray:
        rows = conn.execute(f"SELECT seq FROM vec_{modality} WHERE seq > ? AND seq <= ? ORDER BY seq", (after, upto))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    @staticmethod
    def iter_vectors(conn: sqlite3.Connection, modality: str, dim: int, *, after: int, upto: int,
                     batch: int = 65_536) -> Iterator[np.ndarray]:
        """Vectors with seq in (after, upto], in seq order, as (≤batch, dim) float32 blocks."""
        cur = conn.execute(f"SELECT vec FROM vec_{modality} WHERE seq > ? AND seq <= ? ORDER BY seq", (after, upto))
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                return
            yield np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(len(rows), dim)

    def rows_by_seq(self, seqs: Sequence[int]) -> dict[int, EntryRow]:
        out: dict[int, EntryRow] = {}
        seqs = [int(s) for s in seqs]
        for i in range(0, len(seqs), _MAX_VARS):
            chunk = seqs[i:i + _MAX_VARS]
            q = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE seq IN ({','.join('?' * len(chunk))})"
            for r in self.reader.execute(q, chunk):
                out[r[0]] = EntryRow.from_sql(r)
        return out

    def rows_by_id(self, ids: Sequence[str]) -> dict[str, EntryRow]:
        out: dict[str, EntryRow] = {}
        ids = list(ids)
        for i in range(0, len(ids), _MAX_VARS):
            chunk = ids[i:i + _MAX_VARS]
            q = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE id IN ({','.join('?' * len(chunk))})"
            for r in self.reader.execute(q, chunk):
                out[r[1]] = EntryRow.from_sql(r)
        return out

    def seqs_for_ids(self, ids: Sequence[str]) -> np.ndarray:
        """Seqs of the ids that exist (unknown ids are ignored), as a sorted int64 array."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        found: list[int] = []
        for i in range(0, len(ids), _MAX_VARS):
            chunk = ids[i:i + _MAX_VARS]
            q = f"SELECT seq FROM entries WHERE id IN ({','.join('?' * len(chunk))})"
            found.extend(r[0] for r in self.reader.execute(q, chunk))
        return np.unique(np.asarray(found, dtype=np.int64))

    def vectors_by_seq(self, modality: str, seqs: Sequence[int], dim: int) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        seqs = [int(s) for s in seqs]
        for i in range(0, len(seqs), _MAX_VARS):
            chunk = seqs[i:i + _MAX_VARS]
            q = f"SELECT seq, vec FROM vec_{modality} WHERE seq IN ({','.join('?' * len(chunk))})"
            for s, blob in self.reader.execute(q, chunk):
                out[s] = np.frombuffer(blob, dtype=np.float32, count=dim).copy()
        return out

    def count_by(self, column: str) -> dict[str | None, int]:
        if column not in ("label", "sentiment", "valence_sign", "source", "split"):
            raise ValueError(column)
        return {k: v for k, v in self.reader.execute(f"SELECT {column}, COUNT(*) FROM entries GROUP BY {column}")}

    def count_sources(self) -> dict[tuple[str, str], int]:
        rows = self.reader.execute("SELECT source, split, COUNT(*) FROM entries GROUP BY source, split")
        return {(a, b): n for a, b, n in rows}

    def count_entries(self) -> int:
        return int(self.reader.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def count_vectors(self, modality: str) -> int:
        return int(self.reader.execute(f"SELECT COUNT(*) FROM vec_{modality}").fetchone()[0])
