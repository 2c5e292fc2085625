"""Load-test arithmetic on hand values: percentiles, lost answers, busy answers, throughput."""
from __future__ import annotations

import math

import pytest

from affectagent.loadtest import Outcome, percentile, summarise


def test_percentile_interpolates_between_closest_ranks():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="0, 100"):
        percentile([1], 101)


def test_summary_counts_lost_busy_and_errors():
    outcomes = [
        Outcome(200, 0.1, True), Outcome(200, 0.3, True, retries=2),
        Outcome(503, 0.05, False, retry_after="5"),              # busy: answered, not lost
        Outcome(500, 0.2, False, error="HTTP 500: boom"),         # a server error: lost
        Outcome(200, 0.4, False, error="empty: no text"),         # a 200 that failed its check: lost
        Outcome(None, 2.0, False, error="timeout: no answer in 2 s"),
    ]
    s = summarise(outcomes, wall_seconds=2.5)
    assert (s.requests, s.answered, s.ok, s.lost, s.rejected_busy) == (6, 5, 2, 3, 1)
    assert (s.server_errors, s.timeouts, s.retries, s.busy_with_retry_after) == (1, 1, 2, 1)
    assert s.throughput == pytest.approx(5 / 2.5)
    assert s.p50 == pytest.approx(0.2) and s.max == pytest.approx(0.4)  # latencies of answered requests only
    assert s.statuses == {"200": 3, "500": 1, "503": 1, "None": 1}
    assert s.errors == {"HTTP 500": 1, "empty": 1, "timeout": 1}
    assert "3 lost" in s.row() and "1 busy (503)" in s.row()
