"""A real local Ray cluster for the ``--engine ray`` tests (tests/batch/test_ray_engine.py, tests/kb/test_ray_build.py).

Module-scoped: started once per test module (~5 s on 2 cores) and shut down after it. The actors get their own, empty
feature cache (``AFFECTAGENT_FEATURE_CACHE``), so everything they return is computed by them, never read from the
cache the local engine filled in the same test.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pytest


def _logging_state() -> dict:
    """Every logger's (disabled, propagate, level): Ray's logging set-up disables the loggers that exist when it
    starts (dictConfig), which would silence later tests' caplog."""
    loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    return {lg.name: (lg.disabled, lg.propagate, lg.level) for lg in loggers}


def _restore_logging(saved: dict) -> None:
    for name, (disabled, propagate, level) in saved.items():
        lg = logging.getLogger() if name == "root" else logging.getLogger(name)
        lg.disabled, lg.propagate = disabled, propagate
        lg.setLevel(level)
    for lg in list(logging.root.manager.loggerDict.values()):   # loggers made while Ray ran: enabled, propagating
        if isinstance(lg, logging.Logger) and lg.name not in saved and lg.name.startswith("affectagent"):
            lg.disabled, lg.propagate = False, True


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    import ray  # a required test dependency (requirements.txt): CI installs it

    cache: Path = tmp_path_factory.mktemp("ray_feature_cache")
    saved = _logging_state()
    if ray.is_initialized():  # left by another module: start clean with this module's settings
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"AFFECTAGENT_FEATURE_CACHE": str(cache)}})
    try:
        yield ray
    finally:
        ray.shutdown()
        _restore_logging(saved)
