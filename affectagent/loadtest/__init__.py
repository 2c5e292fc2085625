"""Bounded load tests of the project's own HTTP servers (``affectagent serve``, ``affectagent llm-serve``).

    process.py  ServerProcess: start a server command on 127.0.0.1, wait for /health, always stop it
    client.py   run_load: N concurrent clients sending their share of a request list (asyncio + httpx)
    service_requests.py  text predictions and clip uploads for affectagent serve, checked to be predictions
    stats.py    pure: per-request outcomes -> LoadSummary (throughput, p50/p95/p99, status counts, lost answers)

The load tests themselves are ``bench/load_llm.py`` and ``bench/load_service.py`` (numbers in BENCHMARKS.md) and
their bounded versions under ``tests/loadtest``.
"""
from .client import LoadRequest, run_load
from .process import ServerProcess, ServerStartError, free_port
from .service_requests import clip_requests, interleave, prediction_check, text_requests
from .stats import LoadSummary, Outcome, percentile, summarise

__all__ = ["LoadRequest", "LoadSummary", "Outcome", "ServerProcess", "ServerStartError", "clip_requests", "free_port",
           "interleave", "percentile", "prediction_check", "run_load", "summarise", "text_requests"]
