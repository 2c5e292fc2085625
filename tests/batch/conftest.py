from pathlib import Path

import pytest

from .helpers import real_folder


@pytest.fixture
def inputs_folder(tmp_path) -> Path:
    """Two real clips, a corrupt file, a text file and a hidden file (``helpers.real_folder``)."""
    return real_folder(tmp_path)
