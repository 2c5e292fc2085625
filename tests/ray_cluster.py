"""A real local Ray cluster for the ``--engine ray`` tests (tests/batch/test_ray_engine.py, tests/kb/test_ray_build.py).

Module-scoped: started once per test module (~5 s on 2 cores) and shut down after it. The actors get their own, empty
feature cache (``AFFECTAGENT_FEATURE_CACHE``), so everything they return is computed by them, never read from the
cache the local engine filled in the same test.
"""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    import ray  # a required test dependency (requirements.txt): CI installs it

    cache: Path = tmp_path_factory.mktemp("ray_feature_cache")
    if ray.is_initialized():  # left by another module: start clean with this module's settings
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"AFFECTAGENT_FEATURE_CACHE": str(cache)}})
    yield ray
    ray.shutdown()
