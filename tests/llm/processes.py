"""Start real server processes for tests: a free port, wait for /health, always stop them
(``affectagent.loadtest.ServerProcess``, with a failure reported as a failed test)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Sequence

import pytest

from affectagent.loadtest import ServerProcess, ServerStartError, free_port

__all__ = ["free_port", "running"]


@contextlib.contextmanager
def running(cmd: Sequence[str], *, port: int, timeout: float, log: Path) -> Iterator[str]:
    """Run ``cmd`` (a server on ``port``) until the block ends; yields its base URL ("http://127.0.0.1:PORT").

    Fails the test with the server's log if /health does not answer within ``timeout`` seconds.
    """
    server = ServerProcess(cmd, port=port, log=log, timeout=timeout)
    try:
        server.__enter__()
    except ServerStartError as exc:
        pytest.fail(str(exc))
    try:
        yield server.base
    finally:
        server.stop()
