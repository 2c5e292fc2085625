"""``run_load(base_url, requests, clients=N)``: N concurrent clients (asyncio + httpx), each sending its share of
``requests`` one after the other, every answer timed and checked.

Client ``i`` sends requests ``i, i + N, i + 2N, ...``, so 16 clients x 20 requests is ``run_load(url, reqs, clients=16)``
with ``len(reqs) == 320``. A request that gets no answer within ``timeout`` seconds, or a connection error, is an
outcome with ``status=None`` (a lost answer); ``retry_busy`` > 0 re-sends a 503 after its Retry-After (capped at
``max_retry_wait``), counting the retries. ``check(response)`` returns an error text for a 2xx answer that is not a
valid answer (e.g. an empty completion), else None.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..errors import InputError, MissingDependencyError
from .stats import Outcome

Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class LoadRequest:
    """One HTTP request: method, path (joined to the base URL), and a JSON body or multipart form fields + files
    (``files``: field -> (file name, bytes, content type))."""

    method: str
    path: str
    json: Any = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    check: Check | None = None


def _httpx():
    try:
        import httpx
    except ImportError:
        raise MissingDependencyError("load tests need httpx: pip install httpx==0.28.1") from None
    return httpx


async def _send(client: Any, req: LoadRequest, *, timeout: float, retry_busy: int, max_retry_wait: float,
                index: int) -> Outcome:
    httpx = _httpx()
    retries = 0
    t0 = time.perf_counter()
    while True:
        try:
            resp = await asyncio.wait_for(client.request(req.method, req.path, json=req.json, data=req.data,
                                                         files=req.files, headers=dict(req.headers)), timeout)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            return Outcome(None, time.perf_counter() - t0, False, retries, index, f"timeout: no answer in {timeout:g} s")
        except httpx.TransportError as exc:
            return Outcome(None, time.perf_counter() - t0, False, retries, index,
                           f"connection: {type(exc).__name__}: {exc}"[:200])
        retry_after = resp.headers.get("retry-after")
        if resp.status_code == 503 and retries < retry_busy:
            retries += 1
            try:
                wait = float(retry_after) if retry_after else 1.0
            except ValueError:
                wait = 1.0
            await asyncio.sleep(min(max(wait, 0.0), max_retry_wait))
            continue
        seconds = time.perf_counter() - t0
        error = None
        if resp.status_code >= 300:
            error = f"HTTP {resp.status_code}: {resp.text[:160]}"
        elif req.check is not None:
            error = req.check(resp)
        return Outcome(resp.status_code, seconds, error is None, retries, index, error, retry_after)


async def run_load_async(base_url: str, requests: Sequence[LoadRequest], *, clients: int, timeout: float = 60.0,
                         retry_busy: int = 0, max_retry_wait: float = 5.0) -> tuple[list[Outcome], float]:
    """The outcomes in request order, and the run's wall seconds."""
    httpx = _httpx()
    if clients < 1:
        raise InputError(f"clients must be >= 1; got {clients}")
    if timeout <= 0:
        raise InputError(f"timeout must be > 0; got {timeout}")
    outcomes: list[Outcome | None] = [None] * len(requests)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(timeout)) as client:
        async def one_client(i: int) -> None:
            for j in range(i, len(requests), clients):
                outcomes[j] = await _send(client, requests[j], timeout=timeout, retry_busy=retry_busy,
                                          max_retry_wait=max_retry_wait, index=i)

        t0 = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(min(clients, len(requests)))))
        wall = time.perf_counter() - t0
    return [o for o in outcomes if o is not None], wall


def run_load(base_url: str, requests: Sequence[LoadRequest], *, clients: int, timeout: float = 60.0,
             retry_busy: int = 0, max_retry_wait: float = 5.0) -> tuple[list[Outcome], float]:
    """Blocking ``run_load_async`` (its own event loop)."""
    return asyncio.run(run_load_async(base_url, requests, clients=clients, timeout=timeout, retry_busy=retry_busy,
                                      max_retry_wait=max_retry_wait))
