# pytester: for tests/test_skip_policy.py; tests.skip_policy: a run fails on a skip whose reason is not allowed
pytest_plugins = ["pytester", "tests.skip_policy"]

from .media_files import *  # noqa: E402,F401,F403  (real media fixtures)
from .tiny_model import tiny_checkpoint  # noqa: E402,F401  (session fixture)
from .nanoemox_tiny import smollm_dir, tiny_lm_dir, tiny_nanoemox_checkpoint  # noqa: E402,F401  (session fixtures)
