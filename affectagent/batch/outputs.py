"""Where a batch writes its rows, picked by ``--out``: ``.jsonl`` / ``.csv`` (rows.py: one flushed line per row),
``.parquet`` (one Parquet file) or a folder (an existing one, or a path ending in ``/``: Parquet part files;
parquet.py).
Every output is read back the same way for resuming (``previous``) and keeps one row per id (``drop``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from ..errors import InputError
from .rows import ROW_FORMATS, PredictionRow, RowWriter, check_output, iter_rows, write_rows

OUT_KINDS: tuple[str, ...] = ("jsonl", "csv", "parquet", "parquet-folder")


class RowSink(Protocol):
    """A context manager that takes rows one at a time (``RowWriter``, ``ParquetSink``)."""

    def __enter__(self) -> "RowSink": ...

    def write(self, row: PredictionRow) -> None: ...

    def __exit__(self, *exc: object) -> None: ...


def out_kind(path: str | os.PathLike[str]) -> str:
    """One of ``OUT_KINDS`` for ``--out`` (anything else is an ``InputError``)."""
    text = os.fspath(path)
    p = Path(text)
    if p.is_dir() or text.endswith(("/", os.sep)):
        return "parquet-folder"
    suffix = p.suffix.lower()
    if suffix in ROW_FORMATS:
        return ROW_FORMATS[suffix]
    if suffix == ".parquet":
        return "parquet"
    raise InputError(f"--out {p.name}: the extension picks the format: use .jsonl or .csv (or .parquet; a folder, "
                     "existing or ending in /, gets Parquet part files)")


def output_path(text: str) -> Path:
    """``--out`` as a path, its kind checked (``out_kind``); a path ending in ``/`` is made as a folder."""
    kind = out_kind(text)
    path = Path(text).expanduser()
    if kind == "parquet-folder":
        if path.exists() and not path.is_dir():
            raise InputError(f"--out {text}: a file, not a folder")
        path.mkdir(parents=True, exist_ok=True)
    return path


def previous(path: Path) -> list[PredictionRow]:
    """The rows already in the output ``path`` (none when it does not exist or is empty)."""
    kind = out_kind(path)
    if kind.startswith("parquet"):
        from .parquet import read_parquet_rows  # noqa: PLC0415

        return read_parquet_rows(path)
    if not path.exists() or path.stat().st_size == 0:
        return []
    check_output(path)
    return list(iter_rows(path))


def drop(path: Path, old: list[PredictionRow], ids: set[str]) -> None:
    """Remove the rows of ``ids`` from the output ``path`` (whose rows are ``old``)."""
    if out_kind(path).startswith("parquet"):
        from .parquet import drop_parquet_rows  # noqa: PLC0415

        drop_parquet_rows(path, ids)
    else:
        write_rows(path, [r for r in old if r.id not in ids])


def remove(path: Path) -> None:
    """Delete the output ``path`` (``--fresh``): the file, or a Parquet folder's part files."""
    if path.is_dir():
        from .parquet import parts  # noqa: PLC0415

        for f in parts(path):
            f.unlink()
    else:
        path.unlink(missing_ok=True)


def open_sink(path: Path) -> RowSink:
    """The writer of ``path`` (enter it before writing)."""
    kind = out_kind(path)
    if kind.startswith("parquet"):
        from .parquet import ParquetSink  # noqa: PLC0415

        return ParquetSink(path, folder=kind == "parquet-folder")
    return RowWriter(path)
