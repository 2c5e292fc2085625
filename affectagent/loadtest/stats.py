"""Pure load-test arithmetic: per-request outcomes -> one ``LoadSummary``.

An answer is *lost* when a request got no HTTP answer at all (connection error, client timeout) or an answer that
failed its check (e.g. 200 with an empty completion). A 503 with Retry-After is not lost: it is the server saying
"busy, come back" and is counted as ``rejected_busy``. Percentiles use linear interpolation between closest ranks
(numpy's default), over the requests that got an HTTP answer.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence


@dataclass(frozen=True)
class Outcome:
    """One request: its HTTP status (None: no answer), wall seconds, whether the answer passed its check, the
    retries it took, the client index, and the error text of a request that got no (valid) answer."""

    status: int | None
    seconds: float
    ok: bool
    retries: int = 0
    client: int = 0
    error: str | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class LoadSummary:
    """What a load run measured. Latencies in seconds; throughput = answered requests / wall seconds."""

    requests: int
    answered: int
    ok: int
    lost: int
    rejected_busy: int
    server_errors: int
    timeouts: int
    retries: int
    wall_seconds: float
    throughput: float
    p50: float
    p95: float
    p99: float
    max: float
    mean: float
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    busy_with_retry_after: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def row(self) -> str:
        """One readable line."""
        return (f"{self.requests} requests, {self.ok} ok, {self.lost} lost, {self.rejected_busy} busy (503), "
                f"{self.server_errors} other 5xx, {self.timeouts} timeouts, {self.retries} retries; "
                f"{self.throughput:.2f} req/s; p50 {self.p50 * 1000:.0f} ms, p95 {self.p95 * 1000:.0f} ms, "
                f"max {self.max * 1000:.0f} ms")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks; NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100]; got {q}")
    xs = sorted(float(v) for v in values)
    if not xs:
        return math.nan
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarise(outcomes: Sequence[Outcome], *, wall_seconds: float) -> LoadSummary:
    """Aggregate ``outcomes`` of a run that took ``wall_seconds``."""
    answered = [o for o in outcomes if o.status is not None]
    lat = [o.seconds for o in answered]
    busy = [o for o in outcomes if o.status == 503]
    lost = [o for o in outcomes if not o.ok and o.status != 503]
    errors = Counter((o.error or "").split(":")[0] or f"HTTP {o.status}" for o in lost)
    return LoadSummary(
        requests=len(outcomes), answered=len(answered), ok=sum(o.ok for o in outcomes), lost=len(lost),
        rejected_busy=len(busy), server_errors=sum(1 for o in answered if o.status >= 500 and o.status != 503),
        timeouts=sum(1 for o in outcomes if o.error is not None and o.error.startswith("timeout")),
        retries=sum(o.retries for o in outcomes), wall_seconds=wall_seconds,
        throughput=len(answered) / wall_seconds if wall_seconds > 0 else math.nan,
        p50=percentile(lat, 50), p95=percentile(lat, 95), p99=percentile(lat, 99),
        max=max(lat) if lat else math.nan, mean=sum(lat) / len(lat) if lat else math.nan,
        statuses=dict(sorted(Counter(str(o.status) for o in outcomes).items())), errors=dict(errors),
        busy_with_retry_after=sum(1 for o in busy if o.retry_after))
