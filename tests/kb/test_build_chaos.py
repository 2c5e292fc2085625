"""Bounded chaos: ``affectagent kb build`` (a real process, a small MELD slice) killed with SIGKILL at moments from the
first instant to the end always leaves a folder that either holds no KB yet or a KB that opens with whole batches, and
re-running the same command always reaches the full count, after which a further run adds nothing (issue 19, class 2).

Kill points: right after the process starts, the instant the output folder appears (inside KB creation), the instant
``kb.sqlite`` appears (just published), and random moments after the folder appears, over the time a reference build
spends from then to its end (creating the store, adding the batches, writing the index)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from affectagent.kb import KnowledgeBase
from affectagent.kb.sqlite_store import DB_NAME

from ..resources import shared

N, BATCH = 30, 3
RANDOM_KILLS = 5


def _cmd(out) -> list[str]:
    return [sys.executable, "-m", "affectagent", "kb", "build", "--dataset", "meld", "--limit", str(N),
            "--batch-size", str(BATCH), "--out", str(out), "--quiet"]


def _run(out) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(out), capture_output=True, text=True, timeout=600)


def _wait_for(path, proc) -> None:
    deadline = time.monotonic() + 300
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.0005)


def _kill(out, *, when: str, delay: float = 0.0) -> None:
    """Start a build and SIGKILL it at ``when``: "start", "folder" (out exists), "db" (kb.sqlite exists), or
    "delay" (``delay`` seconds after out exists)."""
    proc = subprocess.Popen(_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if when in ("folder", "delay"):
            _wait_for(out, proc)
        elif when == "db":
            _wait_for(out / DB_NAME, proc)
        if when == "delay":
            time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # it finished before the kill: a valid outcome too
        pass
    finally:
        proc.wait(timeout=60)


def _check_after_kill(out) -> int:
    """The folder holds no KB, or one that opens (read-write: indexes catch up) with whole batches only."""
    if not (out / DB_NAME).exists():
        assert not out.exists() or all(p.name.startswith(".") or p.name == "index" for p in out.iterdir())
        return 0
    with KnowledgeBase.open(out) as kb:
        n = len(kb)
        info = kb.info()
    assert n % BATCH == 0 and 0 <= n <= N
    assert info.entries == n and info.vectors.get("text", 0) == n and info.encoders == {"text": "e5"}
    return n


@pytest.mark.slow
def test_kb_build_killed_anywhere_reopens_or_reruns_to_the_full_count(tmp_path):
    shared("meld")
    ref = tmp_path / "reference"
    assert _run(ref).returncode == 0  # fills the feature cache, so the killed runs spend their time in the KB
    timed = tmp_path / "timed"
    proc = subprocess.Popen(_cmd(timed), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for(timed, proc)
    t0 = time.monotonic()
    assert proc.wait(timeout=600) == 0, proc.stderr.read()[-2000:]
    span = time.monotonic() - t0  # from the folder appearing to the end of the build
    rng = np.random.default_rng(19)
    points = [("start", 0.0), ("folder", 0.0), ("db", 0.0)] + [("delay", float(d))
                                                               for d in rng.uniform(0.0, span, RANDOM_KILLS)]
    seen = []
    for i, (when, delay) in enumerate(points):
        out = tmp_path / f"kb{i}"
        _kill(out, when=when, delay=delay)
        seen.append(_check_after_kill(out))
        again = _run(out)
        assert again.returncode == 0, f"re-run after a kill at {when} {delay:.2f}s failed: {again.stderr[-2000:]}"
        assert f"entries: {N}" in again.stdout
        with KnowledgeBase.open(out, read_only=True) as kb:
            assert len(kb) == N
    last = _run(tmp_path / f"kb{len(points) - 1}")
    assert last.returncode == 0 and f"0 added, {N} already present" in last.stdout  # idempotent
    assert len(points) >= 5 and seen[:2] == [0, 0]  # the first instants never leave a store behind
    for i in range(len(points)):  # no temp database left once a build has finished in the folder
        assert not [p for p in (tmp_path / f"kb{i}").iterdir() if p.name.startswith(f".{DB_NAME}.")]
