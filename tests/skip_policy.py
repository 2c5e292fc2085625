"""Pytest plugin (registered by ``tests/conftest.py``): a run fails when a test is skipped for a reason that is not on
``ALLOWED_SKIPS``. A skipped test looks like a pass in a summary, so a missing data folder, packaged model, pinned
dependency or the tiny checkpoint would otherwise hide whole areas of the suite; those must fail loudly instead.

Skips raised while collecting a module (a module-level ``pytest.importorskip``) count as well. Expected failures
(``xfail``) are not skips and are left alone.
"""
from __future__ import annotations

import re

import pytest

# Reasons a test may be skipped (regexes, searched in the skip message). Only optional builds and services that a
# correctly installed machine can lack belong here — never shared data, packaged models or checkpoints.
ALLOWED_SKIPS: tuple[str, ...] = (
    # llama.cpp's Python binding: an optional compiled extra, not in requirements.txt (docs/llm-backends.md)
    r"llama-cpp-python not built",
    r"could not import 'llama_cpp'",
    # the Milvus backend (optional scale-out next to the default FAISS backend): milvus-lite wheels exist for a few
    # platforms only, and a Milvus server is an external service
    r"could not import '(pymilvus|milvus_lite)'",
    r"Milvus server",
    # Debian wordnet-base (METEOR): scripts/system-deps.sh can install it only when run as root and warns otherwise
    r"WordNet \(Debian wordnet-base\) not installed",
)



def allowed(reason: str) -> bool:
    """True when a skip ``reason`` matches an entry of ``ALLOWED_SKIPS``."""
    return any(re.search(p, reason) for p in ALLOWED_SKIPS)


def skip_reason(report) -> str:
    """The message of a skipped test or collector report ("Skipped: " prefix removed)."""
    lr = report.longrepr
    msg = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr)
    return msg.removeprefix("Skipped: ")


class SkipPolicy:
    """Per-run state: the skips whose reason is not allowed, as (node id, reason)."""

    def __init__(self) -> None:
        self.unexpected: list[tuple[str, str]] = []

    def _record(self, report) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = skip_reason(report)
            if not allowed(reason):
                self.unexpected.append((report.nodeid, reason))

    def pytest_runtest_logreport(self, report) -> None:
        self._record(report)

    def pytest_collectreport(self, report) -> None:
        self._record(report)

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if self.unexpected and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.unexpected:
            return
        tr = terminalreporter
        tr.section("skips not on the allow-list (tests/skip_policy.py ALLOWED_SKIPS)", sep="=", red=True, bold=True)
        for nodeid, reason in self.unexpected:
            tr.line(f"SKIPPED {nodeid}: {reason}", red=True)
        tr.line(f"{len(self.unexpected)} test(s) skipped for a reason that is not allowed, so the run fails: provide "
                "the missing resource, or add a commented pattern to ALLOWED_SKIPS if it is truly optional.", red=True)


def pytest_configure(config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(SkipPolicy(), PLUGIN_NAME)


PLUGIN_NAME = "affectagent-skip-policy"
