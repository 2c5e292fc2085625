"""Shared fixtures: the real data root; ``need(folder)`` fails the test when a corpus folder is absent."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from affectagent.paths import data_root

from ..resources import require


@pytest.fixture(scope="session")
def root() -> Path:
    return data_root(must_exist=False)


@pytest.fixture(scope="session")
def need(root: Path) -> Callable[[str], Path]:
    def _need(folder: str) -> Path:
        return require(root / folder, f"shared data {folder}")

    return _need
