"""Crash-safe files for derived indexes: a JSON header + an opaque payload, written to a temp file, fsynced and
moved into place with ``os.replace`` (so a reader sees the old file or the new one, never half of one).

Layout: MAGIC (8 bytes) | header length (uint32 little-endian) | header JSON (utf-8) | payload bytes.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any, BinaryIO, Callable

MAGIC = b"AAKBIDX1"


class IndexFileError(Exception):
    """The file is missing, truncated or not an index file (callers rebuild from SQLite)."""


def write_index_file(path: Path, header: dict[str, Any], write_payload: Callable[[BinaryIO], None]) -> None:
    """Atomically replace ``path`` with header + whatever ``write_payload(f)`` writes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    head = json.dumps(header, sort_keys=True).encode("utf-8")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC)
            f.write(struct.pack("<I", len(head)))
            f.write(head)
            write_payload(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_index_header(f: BinaryIO) -> dict[str, Any]:
    """Read and check the magic + header from an open file; leaves ``f`` at the payload."""
    if f.read(len(MAGIC)) != MAGIC:
        raise IndexFileError("not an affectagent index file")
    raw = f.read(4)
    if len(raw) != 4:
        raise IndexFileError("truncated header")
    (n,) = struct.unpack("<I", raw)
    head = f.read(n)
    if len(head) != n:
        raise IndexFileError("truncated header")
    try:
        return json.loads(head.decode("utf-8"))
    except ValueError as exc:
        raise IndexFileError(f"bad header: {exc}") from None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a temp file's writer may still be writing it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(directory: Path) -> int:
    """Delete temp files left by writers that were killed mid-write (their pid is gone); returns how many."""
    n = 0
    if Path(directory).is_dir():
        for p in Path(directory).glob(".*.tmp"):
            try:
                pid = int(p.name.rsplit(".", 2)[-2])
            except (ValueError, IndexError):
                continue
            if pid != os.getpid() and not pid_alive(pid):
                p.unlink(missing_ok=True)
                n += 1
    return n
