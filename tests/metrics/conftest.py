from pathlib import Path

import pytest

from ..resources import shared


@pytest.fixture(scope="session")
def unibench_dir() -> Path:
    """The shared MER-UniBench data folder (required: the tests fail without it)."""
    return shared("mer_unibench/emotion_wheel/format.csv") / "mer_unibench"
