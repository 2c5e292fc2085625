"""Where things live: the data root, the feature cache and the default artefacts."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import DataNotFoundError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def data_root(explicit: str | os.PathLike[str] | None = None, *, must_exist: bool = True) -> Path:
    """Resolve the data root: explicit argument > $AFFECTAGENT_DATA > ../shared/data (from cwd, then from the repo)."""
    candidates: list[Path] = []
    if explicit:
        candidates = [Path(explicit)]
    elif os.environ.get("AFFECTAGENT_DATA"):
        candidates = [Path(os.environ["AFFECTAGENT_DATA"])]
    else:
        candidates = [Path.cwd().parent / "shared" / "data", REPO_DIR.parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    if must_exist:
        tried = ", ".join(str(c) for c in candidates)
        raise DataNotFoundError(f"data root not found (tried {tried}); pass --data-root or set AFFECTAGENT_DATA")
    return candidates[0]


def cache_dir() -> Path:
    """Feature/model cache: $AFFECTAGENT_CACHE or ~/.cache/affectagent."""
    d = Path(os.environ.get("AFFECTAGENT_CACHE") or Path.home() / ".cache" / "affectagent")
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextlib.contextmanager
def atomic_directory(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Write a folder atomically: yield a temporary sibling to fill; on success it replaces ``out`` (an old ``out``
    is removed first), on failure it is deleted and ``out`` is left as it was."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Inter-process lock (fcntl on POSIX; no lock elsewhere): one process prepares a cached model (joins, converts)
    while the others wait."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
