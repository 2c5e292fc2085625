"""Fixtures shared by the LLM tests: a scripted OpenAI-compatible server process per scenario."""
from pathlib import Path

import httpx
import pytest

from .processes import free_port, running

SCRIPT = str(Path(__file__).with_name("scripted_http_server.py"))


@pytest.fixture
def scripted(tmp_path):
    """Start a scripted server for one scenario; yields (base_url ending in /v1, stats())."""
    stack = []

    def start(scenario: str):
        port = free_port()
        cm = running([SCRIPT, str(port), scenario], port=port, timeout=20, log=tmp_path / f"{scenario}.log")
        base = cm.__enter__()
        stack.append(cm)
        return f"{base}/v1", lambda: httpx.get(f"{base}/stats").json()

    yield start
    for cm in stack:
        cm.__exit__(None, None, None)
