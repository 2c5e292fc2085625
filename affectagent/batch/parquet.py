"""Prediction rows as Parquet: one file (``--out preds.parquet``) or a folder of part files (``--out preds/``).

Columns: ``ROW_FIELDS`` in order (rows.py), typed: ``probs`` map<string, double>, ``ov_set`` / ``evidence_ids``
list<string>, ``seconds`` double, every other field string (null where the row has None). Read the output with
``pandas.read_parquet(out)`` or ``pyarrow.parquet.read_table(out)``.

- a file is written once, when the batch ends (Parquet cannot be appended to; also after Ctrl-C or an error that stops
  the batch): the rows it already held plus the new ones, to a temp file that is then renamed, so it is never
  half-written; a killed process keeps none of this run's rows (use a folder or .jsonl for long runs).
- a folder gets a new part file (``part-<run start>-<n>.parquet``, also written then renamed) every ``PART_ROWS``
  rows and at the end, so an interrupted run keeps every finished part. A retried id's old failed row is removed by
  rewriting the part that held it.
"""
from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import InputError, MissingDependencyError
from .rows import ROW_FIELDS, PredictionRow

PART_ROWS = 1000  # rows per part file of a Parquet folder
PARQUET_SUFFIX = ".parquet"


def _pa():
    try:
        import pyarrow as pa  # noqa: PLC0415 - only Parquet outputs need it
        import pyarrow.parquet as pq  # noqa: PLC0415
    except ImportError:
        raise MissingDependencyError("Parquet output needs pyarrow: pip install pyarrow==19.0.1") from None
    return pa, pq


def row_schema():
    """The Arrow schema of a prediction row (see the module docstring)."""
    pa, _ = _pa()
    types = {"probs": pa.map_(pa.string(), pa.float64()), "ov_set": pa.list_(pa.string()),
             "evidence_ids": pa.list_(pa.string()), "seconds": pa.float64()}
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in ROW_FIELDS])


def rows_to_table(rows: Sequence[PredictionRow]):
    """A ``pyarrow.Table`` of ``row_schema()`` holding ``rows`` in order."""
    pa, _ = _pa()
    schema = row_schema()
    records = [r.to_record() for r in rows]
    columns = {}
    for f in schema:
        values: list[Any] = [rec[f.name] for rec in records]
        if f.name == "probs":
            values = [list(v.items()) for v in values]
        columns[f.name] = pa.array(values, type=f.type)
    return pa.table(columns, schema=schema)


def table_to_rows(table, *, where: str = "") -> list[PredictionRow]:
    """The rows of a table written by ``rows_to_table`` (columns it lacks read as None / empty)."""
    out = []
    names = set(table.column_names)
    if "id" not in names:
        raise InputError(f"{where}: no 'id' column (columns: {', '.join(table.column_names[:6])}), not a predict "
                         "output; give another --out (or --fresh to replace it)")
    for n, rec in enumerate(table.to_pylist()):
        probs = rec.get("probs")
        if isinstance(probs, list):  # map<string, double> reads back as (key, value) pairs
            rec["probs"] = dict(probs)
        out.append(PredictionRow.from_record(rec, where=f"{where} row {n + 1}"))
    return out


def _read(path: Path):
    _, pq = _pa()
    try:
        return pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a file that is not Parquet
        raise InputError(f"{path}: not a readable Parquet file ({type(exc).__name__}); give another --out "
                         "(or --fresh to replace it)") from None


def parts(folder: Path) -> list[Path]:
    """The part files (``part-*.parquet``) of a Parquet output folder, by name; other files in the folder, and the
    temp files of an interrupted write, are never read, rewritten or removed."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"part-*{PARQUET_SUFFIX}") if p.is_file())


def read_parquet_rows(path: Path) -> list[PredictionRow]:
    """The rows of a Parquet output file, or of every part of a Parquet output folder (none when it is absent)."""
    files = parts(path) if path.is_dir() else [path] if path.is_file() else []
    return [row for f in files for row in table_to_rows(_read(f), where=str(f))]


def _write_atomic(path: Path, rows: Sequence[PredictionRow]) -> None:
    _, pq = _pa()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{PARQUET_SUFFIX}")
    pq.write_table(rows_to_table(rows), tmp)
    os.replace(tmp, path)


def drop_parquet_rows(path: Path, ids: set[str]) -> None:
    """Remove the rows of ``ids`` from a Parquet output file or from the parts of a folder that hold them."""
    files = parts(path) if path.is_dir() else [path] if path.is_file() else []
    for f in files:
        rows = table_to_rows(_read(f), where=str(f))
        kept = [r for r in rows if r.id not in ids]
        if len(kept) == len(rows):
            continue
        if kept or not path.is_dir():
            _write_atomic(f, kept)
        else:
            f.unlink()


class ParquetSink:
    """Collects rows and writes them as Parquet (a file at the end, or a folder's part files as they fill up).

        with ParquetSink(path, folder=False) as sink:
            sink.write(row)
    """

    def __init__(self, path: str | os.PathLike[str], *, folder: bool, part_rows: int = PART_ROWS) -> None:
        self.path = Path(path)
        self.folder = folder
        self.part_rows = part_rows
        self._rows: list[PredictionRow] = []
        self._kept: list[PredictionRow] = []
        # names sort in the order the parts were written (runs by start time in ns, then the part number)
        ns = time.time_ns()
        self._run = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(ns // 10**9))}{ns % 10**9:09d}-{uuid.uuid4().hex[:6]}"
        self._part = 0

    def __enter__(self) -> "ParquetSink":
        if self.folder:
            if self.path.exists() and not self.path.is_dir():
                raise InputError(f"--out {self.path} is a file; a Parquet folder output needs a folder")
            self.path.mkdir(parents=True, exist_ok=True)
        elif self.path.is_file():
            self._kept = read_parquet_rows(self.path)  # rewritten with the new rows at the end
        return self

    def write(self, row: PredictionRow) -> None:
        self._rows.append(row)
        if self.folder and len(self._rows) >= self.part_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        self._part += 1
        _write_atomic(self.path / f"part-{self._run}-{self._part:05d}{PARQUET_SUFFIX}", self._rows)
        self._rows = []

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.folder:
            self._flush()  # also after an interruption: the finished rows are kept
        elif self._rows or not self.path.exists():
            _write_atomic(self.path, self._kept + self._rows)


def write_parquet_rows(path: str | os.PathLike[str], rows: Iterable[PredictionRow]) -> Path:
    """Replace the Parquet file ``path`` with ``rows``."""
    path = Path(path)
    _write_atomic(path, list(rows))
    return path
