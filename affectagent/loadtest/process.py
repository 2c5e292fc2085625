"""``ServerProcess(cmd, port=...)``: run a server command (``python -m affectagent ...``) on 127.0.0.1 until the
block ends; waits for ``GET /health`` to answer 200, raises ``ServerStartError`` with the tail of its log if it exits
or does not answer in time, and always stops it (SIGTERM, then SIGKILL after 10 s). ``rss_bytes()`` reads the
server's resident memory from /proc (Linux), for memory-stability checks.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import AffectAgentError, MissingDependencyError


class ServerStartError(AffectAgentError):
    """The server process exited or did not answer /health in time (the message ends with its log's tail)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


QUIET_ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


class ServerProcess:
    """A server child process; use as a context manager, ``base`` is its URL ("http://127.0.0.1:PORT")."""

    def __init__(self, cmd: Sequence[str], *, port: int, log: Path, timeout: float = 120.0,
                 env: Mapping[str, str] | None = None) -> None:
        self.cmd, self.port, self.log, self.timeout = list(cmd), port, Path(log), timeout
        self.env = dict(os.environ, **QUIET_ENV, **(env or {}))
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.start_seconds = 0.0

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> "ServerProcess":
        try:
            import httpx
        except ImportError:
            raise MissingDependencyError("load tests need httpx: pip install httpx==0.28.1") from None
        t0 = time.monotonic()
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen([sys.executable, *self.cmd], stdout=fh, stderr=subprocess.STDOUT,
                                         env=self.env)
        try:
            while True:
                if self.proc.poll() is not None:
                    raise ServerStartError(f"server exited with {self.proc.returncode}:\n{self.tail()}")
                try:
                    if httpx.get(f"{self.base}/health", timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - t0 > self.timeout:
                    raise ServerStartError(f"server did not answer /health within {self.timeout:.0f} s:\n"
                                           f"{self.tail()}")
                time.sleep(0.2)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def rss_bytes(self, *, children: bool = True) -> int:
        """Resident memory of the server (and, with ``children``, its worker processes), from /proc."""
        if self.proc is None:
            return 0
        pids = [self.proc.pid]
        if children:
            pids += _children(self.proc.pid)
        page = os.sysconf("SC_PAGE_SIZE")
        total = 0
        for pid in pids:
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            except (OSError, IndexError, ValueError):
                continue
        return total


def _children(pid: int) -> list[int]:
    """All descendants of ``pid`` (from /proc/*/stat)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        frontier += kids
    return out
