"""``GET /metrics``: the service's own numbers in the Prometheus text exposition format, version 0.0.4, by hand.

    affectagent_requests_total{method,route,status}   counter    every answered HTTP request
    affectagent_request_seconds{route}                histogram  from the request's arrival to its last body byte
    affectagent_queue_depth                           gauge      predictions waiting for the model or running
    affectagent_predictions_served_total              counter    predictions answered (``ModelRunner.served``)
    affectagent_rejected_busy_total                   counter    predictions refused with 503 "server busy"
    process_resident_memory_bytes                     gauge      resident memory of this process (Linux)
    affectagent_info{version}                         gauge      always 1

``route`` is the route's template (``/v1/predict``, ``/v1/progress/{job}``) or ``other`` for a request that no
route answered (an unknown path, a Host refused by ``--allowed-host``), never the raw URL, so the number of series
stays bounded whatever clients send. Every number is this process's own: with ``--workers N`` each worker keeps
its own registry, and a scrape reaches whichever worker the kernel hands the connection to.

``MetricsRegistry`` is the thread-safe store the app writes to; ``render(MetricsSnapshot)`` is the pure text
rendering (no clock, no process state), ``RecordRequests`` the pure-ASGI middleware that feeds the registry without
buffering a request or response body.
"""
from __future__ import annotations

import math
import os
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Upper bounds of the latency histogram, in seconds (+Inf is implicit): text answers take milliseconds, a clip
# seconds, a long timeline up to a minute.
BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OTHER_ROUTE = "other"  # the route label of a request that matched no route
# The method label: a client may send any token as its method, so anything else is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
OTHER_METHOD = "other"


@dataclass(frozen=True)
class HistogramValues:
    """One histogram series: ``counts[i]`` observations fell in ``(bounds[i-1], bounds[i]]`` (not cumulative; the
    last entry is the +Inf bucket, so ``len(counts) == len(bounds) + 1``), ``total`` is their sum in seconds."""

    counts: tuple[int, ...]
    total: float

    @property
    def count(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class MetricsSnapshot:
    """Every number ``/metrics`` reports, at one moment.

    requests:  (method, route, status) -> answered requests.
    latency:   route -> its request-duration histogram over ``buckets``.
    queue_depth, predictions_served, rejected_busy: the model queue (``ModelRunner``) and the busy refusals.
    resident_memory_bytes: None where the platform does not tell (the metric is then left out, not faked).
    """

    requests: Mapping[tuple[str, str, str], int]
    latency: Mapping[str, HistogramValues]
    queue_depth: int
    predictions_served: int
    rejected_busy: int
    resident_memory_bytes: int | None
    version: str
    buckets: tuple[float, ...] = BUCKETS


def escape_label(value: str) -> str:
    """A label value as the format wants it inside double quotes: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_number(value: float) -> str:
    """A sample value or bucket bound: integers without ".0", +Inf / -Inf / NaN spelled as the format does."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _labels(pairs: Mapping[str, str]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in pairs.items()) + "}"


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    escaped = help_text.replace("\\", "\\\\").replace("\n", "\\n")  # HELP escapes backslash and newline only
    out.append(f"# HELP {name} {escaped}")
    out.append(f"# TYPE {name} {kind}")


def render(snap: MetricsSnapshot) -> str:
    """The exposition text of ``snap`` (families in a fixed order, series sorted, one trailing newline)."""
    out: list[str] = []
    _family(out, "affectagent_requests_total", "counter", "HTTP requests answered, by method, route and status.")
    for (method, route, status), n in sorted(snap.requests.items()):
        out.append(f"affectagent_requests_total{_labels({'method': method, 'route': route, 'status': status})} {n}")
    _family(out, "affectagent_request_seconds", "histogram",
            "Seconds from a request's arrival to the end of its answer, by route.")
    for route, hist in sorted(snap.latency.items()):
        if len(hist.counts) != len(snap.buckets) + 1:
            raise ValueError(f"histogram of {route!r} has {len(hist.counts)} buckets; expected "
                             f"{len(snap.buckets) + 1} (the bounds plus +Inf)")
        running = 0
        for bound, n in zip((*snap.buckets, math.inf), hist.counts):
            running += n  # the format's buckets are cumulative: le="x" counts every observation <= x
            labels = _labels({"route": route, "le": format_number(bound)})
            out.append(f"affectagent_request_seconds_bucket{labels} {running}")
        out.append(f"affectagent_request_seconds_sum{_labels({'route': route})} {format_number(hist.total)}")
        out.append(f"affectagent_request_seconds_count{_labels({'route': route})} {hist.count}")
    _family(out, "affectagent_queue_depth", "gauge", "Predictions waiting for the model or running now.")
    out.append(f"affectagent_queue_depth {snap.queue_depth}")
    _family(out, "affectagent_predictions_served_total", "counter", "Predictions answered since start-up.")
    out.append(f"affectagent_predictions_served_total {snap.predictions_served}")
    _family(out, "affectagent_rejected_busy_total", "counter",
            "Predictions refused with 503 server busy (queue full, or the request deadline passed in the queue).")
    out.append(f"affectagent_rejected_busy_total {snap.rejected_busy}")
    if snap.resident_memory_bytes is not None:
        _family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        out.append(f"process_resident_memory_bytes {snap.resident_memory_bytes}")
    _family(out, "affectagent_info", "gauge", "The affectagent version serving; always 1.")
    out.append(f"affectagent_info{_labels({'version': snap.version})} 1")
    return "\n".join(out) + "\n"


def resident_memory_bytes(statm: Path = Path("/proc/self/statm")) -> int | None:
    """This process's resident set size from ``/proc/self/statm`` (its second field, in pages); None where there is
    no such file (not Linux). ``resource.getrusage`` is not used: it gives the peak, not the current size."""
    try:
        fields = statm.read_text().split()
    except OSError:
        return None
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class _Series:
    counts: list[int]
    total: float = 0.0


class MetricsRegistry:
    """The request counts and latency histograms of one process, written from the event loop and worker threads.

    buckets: the histogram's upper bounds in seconds, finite and increasing (+Inf is added).
    """

    def __init__(self, *, buckets: tuple[float, ...] = BUCKETS) -> None:
        b = tuple(float(x) for x in buckets)
        if not b or any(not math.isfinite(x) or x <= 0 for x in b) or list(b) != sorted(set(b)):
            raise ValueError(f"buckets must be finite, positive and increasing; got {buckets}")
        self.buckets = b
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[str, _Series] = {}
        self._rejected_busy = 0

    def observe_request(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request: counted under (method, route, status), its duration into the route's histogram."""
        key = (method if method in METHODS else OTHER_METHOD, route, str(status))
        slot = bisect_left(self.buckets, seconds)  # the first bound >= seconds; len(buckets): the +Inf bucket
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1
            series = self._latency.get(route)
            if series is None:
                series = self._latency[route] = _Series(counts=[0] * (len(self.buckets) + 1))
            series.counts[slot] += 1
            series.total += seconds

    def count_rejected_busy(self) -> None:
        """One prediction answered 503 "server busy"."""
        with self._lock:
            self._rejected_busy += 1

    def snapshot(self, *, queue_depth: int, predictions_served: int, version: str,
                 resident_memory: int | None) -> MetricsSnapshot:
        """A consistent copy of the registry plus the values the caller reads from elsewhere (the runner, /proc)."""
        with self._lock:
            requests = dict(self._requests)
            latency = {r: HistogramValues(counts=tuple(s.counts), total=s.total) for r, s in self._latency.items()}
            busy = self._rejected_busy
        return MetricsSnapshot(requests=requests, latency=latency, queue_depth=queue_depth,
                               predictions_served=predictions_served, rejected_busy=busy,
                               resident_memory_bytes=resident_memory, version=version, buckets=self.buckets)


def route_of(scope: Mapping[str, Any]) -> str:
    """The route template the router matched for this request (Starlette stores the route in the scope), or
    ``other`` when none did."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else OTHER_ROUTE


class RecordRequests:
    """ASGI middleware: count every HTTP request and time it into ``registry`` (pure ASGI, so a streaming upload
    or answer passes through unbuffered). The status is the one the answer started with; a request whose
    application failed before answering is counted as 500 (Starlette's error middleware answers it so)."""

    def __init__(self, app: Any, *, registry: MetricsRegistry) -> None:
        self.app, self.registry = app, registry

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.registry.observe_request(method=scope["method"], route=route_of(scope), status=status,
                                          seconds=time.perf_counter() - started)
