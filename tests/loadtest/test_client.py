"""run_load against real scripted HTTP servers (separate processes): concurrency, busy answers and retries,
timeouts, and per-answer checks."""
from __future__ import annotations

import httpx
import pytest

from affectagent.errors import InputError
from affectagent.loadtest import LoadRequest, ServerProcess, ServerStartError, free_port, run_load, summarise

from ..llm.conftest import SCRIPT, scripted  # noqa: F401 - the fixture

CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def _reqs(n: int, check=None) -> list[LoadRequest]:
    return [LoadRequest("POST", "/chat/completions", json=CHAT, check=check) for _ in range(n)]


def test_clients_run_concurrently_and_every_answer_is_counted(scripted):  # noqa: F811
    base, stats = scripted("slow")  # each answer takes 0.3 s
    outcomes, wall = run_load(base, _reqs(12), clients=4)
    s = summarise(outcomes, wall_seconds=wall)
    assert (s.requests, s.ok, s.lost) == (12, 12, 0)
    assert stats()["max_in_flight"] == 4 and stats()["requests"] == 12
    assert wall < 12 * 0.3  # 3 rounds of 4, not 12 one after the other
    assert sorted(o.client for o in outcomes) == sorted([0, 1, 2, 3] * 3)


def test_busy_answers_are_retried_after_retry_after_and_counted(scripted):  # noqa: F811
    base, stats = scripted("slow503")  # always 503 with Retry-After: 0
    outcomes, wall = run_load(base, _reqs(3), clients=3, retry_busy=2)
    s = summarise(outcomes, wall_seconds=wall)
    assert (s.rejected_busy, s.lost, s.retries, s.busy_with_retry_after) == (3, 0, 6, 3)
    assert stats()["requests"] == 9


def test_no_answer_in_time_is_a_lost_answer(scripted):  # noqa: F811
    base, _ = scripted("hang")  # answers after 5 s
    outcomes, wall = run_load(base, _reqs(2), clients=2, timeout=0.5)
    s = summarise(outcomes, wall_seconds=wall)
    assert (s.lost, s.timeouts, s.answered) == (2, 2, 0)


def test_a_failed_check_is_a_lost_answer(scripted):  # noqa: F811
    base, _ = scripted("slow")
    outcomes, wall = run_load(base, _reqs(2, check=lambda r: "wrong" if r.status_code == 200 else None), clients=1)
    assert [o.error for o in outcomes] == ["wrong", "wrong"] and summarise(outcomes, wall_seconds=wall).lost == 2


def test_bad_arguments_and_a_server_that_dies(tmp_path):
    with pytest.raises(InputError, match="clients"):
        run_load("http://127.0.0.1:1", _reqs(1), clients=0)
    port = free_port()
    with pytest.raises(ServerStartError, match="exited with 3"):
        with ServerProcess(["-c", "import sys; print('bye'); sys.exit(3)"], port=port, log=tmp_path / "x.log"):
            pass
    with ServerProcess([SCRIPT, str(port), "slow"], port=port, log=tmp_path / "s.log", timeout=20) as server:
        assert server.rss_bytes() > 1 << 20
        assert httpx.get(f"{server.base}/health").status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base}/health", timeout=1)
