"""Every LLM call has one total deadline (connect + first byte + whole answer + retries), tested against real local
server processes that drip bytes, never answer, or keep failing slowly (issue 19, class 1).

Before the deadline, httpx's per-read timeout let a server that sends one byte every 0.25 s hold a call for as long as
it liked, and each retry got a fresh timeout (4 attempts x 120 s per role)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from affectagent.errors import InputError
from affectagent.llm.backend import ChatMessage, load_backend
from affectagent.llm.errors import LLMServerError, LLMTimeoutError


SCRIPT = str(Path(__file__).with_name("scripted_http_server.py"))
MSGS = [ChatMessage("user", "How does 'yay!' feel?")]
DEADLINE = 1.5
SLACK = 2.0  # process scheduling on a busy machine; the old behaviour overshoots by tens of seconds


@pytest.mark.parametrize("scenario", ["drip", "dripheaders", "silent"])
def test_a_call_ends_at_its_deadline_whatever_the_server_does(scripted, scenario):
    url, stats = scripted(scenario)
    backend = load_backend("openai", base_url=url, model="m", timeout=DEADLINE, max_retries=3, backoff=0.01)
    t0 = time.monotonic()
    with pytest.raises(LLMTimeoutError, match=rf"within the {DEADLINE:g} s LLM deadline.*--llm-timeout") as info:
        backend.chat(MSGS)
    elapsed = time.monotonic() - t0
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + SLACK
    assert "\n" not in str(info.value)
    assert stats()["requests"] == 1  # the first attempt used the whole budget: no fresh timeout for retries


def test_retries_share_the_deadline(scripted):
    url, stats = scripted("slow503")  # 0.4 s per answer, always 503
    backend = load_backend("openai", base_url=url, model="m", timeout=DEADLINE, max_retries=20, backoff=0.01,
                           max_backoff=0.01)
    t0 = time.monotonic()
    # either the last 503 arrives and no time is left for another retry, or the last attempt runs into the deadline
    with pytest.raises(LLMServerError, match=rf"\d attempt\(s\).*|within the {DEADLINE:g} s LLM deadline") as info:
        backend.chat(MSGS)
    assert f"within the {DEADLINE:g} s LLM deadline" in str(info.value)
    assert time.monotonic() - t0 < DEADLINE + SLACK
    assert 2 <= stats()["requests"] <= 4  # not the 21 attempts max_retries alone would allow


def test_a_fast_server_is_unaffected(scripted):
    url, _ = scripted("flaky")  # two 503s then an answer
    backend = load_backend("openai", base_url=url, model="scripted-model", timeout=DEADLINE, max_retries=3,
                           backoff=0.01)
    assert backend.chat(MSGS).text == "joy"
    assert backend.chat(MSGS).text == "joy"  # the deadline of one call does not leak into the next


def test_deadline_from_the_environment(scripted, monkeypatch):
    url, _ = scripted("silent")
    monkeypatch.setenv("AFFECTAGENT_LLM_TIMEOUT", "1")
    backend = load_backend("openai", base_url=url, model="m")
    assert backend.config.timeout == 1.0
    t0 = time.monotonic()
    with pytest.raises(LLMTimeoutError, match="1 s LLM deadline"):
        backend.chat(MSGS)
    assert time.monotonic() - t0 < 1.0 + SLACK
    assert load_backend("openai", base_url=url, model="m", timeout=7).config.timeout == 7.0  # the option wins
    monkeypatch.setenv("AFFECTAGENT_LLM_TIMEOUT", "soon")
    with pytest.raises(InputError, match="AFFECTAGENT_LLM_TIMEOUT must be a number of seconds > 0; got 'soon'"):
        load_backend("openai", base_url=url, model="m")
    with pytest.raises(InputError, match="timeout must be a number of seconds > 0"):
        load_backend("openai", base_url=url, model="m", timeout=0)


def test_predict_llm_timeout_flag_bounds_the_cli(scripted, tmp_path):
    """``affectagent predict --agents openai --llm-timeout 1`` against a server that never answers: one line, exit 2,
    about one deadline per call instead of minutes."""
    url, _ = scripted("silent")
    cmd = [sys.executable, "-m", "affectagent", "predict", "--text", "You did WHAT?", "--agents", "openai",
           "--base-url", url, "--model", "m", "--variant", "no_rag", "--llm-timeout", "1"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert err[-1].startswith("affectagent: error:") and "1 s LLM deadline" in err[-1] and "Traceback" not in proc.stderr
    assert elapsed < 120  # start-up + one 1 s call (the generator is the only role of no_rag)


def test_llm_timeout_flag_is_checked_before_anything_loads(capsys):
    from affectagent.cli import main

    assert main(["predict", "--text", "hi", "--llm-timeout", "5"]) == 2
    assert "--llm-timeout is for --agents openai" in capsys.readouterr().err
    assert main(["predict", "--text", "hi", "--agents", "openai", "--llm-timeout", "-1"]) == 2
    assert "--llm-timeout must be a number of seconds > 0" in capsys.readouterr().err
