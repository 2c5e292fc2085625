"""``GET /metrics``: the pure rendering of hand-made values (a counter's exact lines, a histogram's cumulative buckets,
sum and count, label escaping, number formatting), the registry (bucket edges, bounded labels, threads), resident
memory from a statm file, and the app's /metrics on the tiny real checkpoint after real requests through
TestClient, including a 503 busy answer (a held prediction and ``max_pending=1``, as in test_app.py)."""
import asyncio
import math
import re
import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from affectagent import __version__
from affectagent.api import AffectAgent
from affectagent.service import create_app
from affectagent.service.metrics import (CONTENT_TYPE, HistogramValues, MetricsRegistry, MetricsSnapshot,
                                         escape_label, format_number, render, resident_memory_bytes)

from .held import Held

# one sample line of the text format: name, optional {labels}, value
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*",?)*\})? '
                    r'(-?[0-9.e+-]+|\+Inf|-Inf|NaN)$')


def _snapshot(**kw) -> MetricsSnapshot:
    base = dict(requests={}, latency={}, queue_depth=0, predictions_served=0, rejected_busy=0,
                resident_memory_bytes=None, version="9.9", buckets=(0.1, 1.0))
    return MetricsSnapshot(**{**base, **kw})


def _lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


# ---- pure rendering ----------------------------------------------------------------------------------------------
def test_a_counter_renders_exact_lines_sorted_by_labels():
    text = render(_snapshot(requests={("POST", "/v1/predict", "200"): 3, ("GET", "/health", "200"): 12,
                                      ("GET", "/health", "503"): 1}))
    assert _lines(text, "affectagent_requests_total") == [
        'affectagent_requests_total{method="GET",route="/health",status="200"} 12',
        'affectagent_requests_total{method="GET",route="/health",status="503"} 1',
        'affectagent_requests_total{method="POST",route="/v1/predict",status="200"} 3',
    ]
    assert "# TYPE affectagent_requests_total counter" in text.splitlines()
    assert text.splitlines()[0].startswith("# HELP affectagent_requests_total ")
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_a_histogram_has_cumulative_buckets_then_sum_and_count():
    # observations 0.05, 0.1 (on the edge: le is inclusive), 0.5, 7.0 -> per bucket [2, 1, 1]
    hist = HistogramValues(counts=(2, 1, 1), total=7.65)
    text = render(_snapshot(latency={"/v1/predict": hist}))
    assert _lines(text, "affectagent_request_seconds") == [
        'affectagent_request_seconds_bucket{route="/v1/predict",le="0.1"} 2',
        'affectagent_request_seconds_bucket{route="/v1/predict",le="1"} 3',
        'affectagent_request_seconds_bucket{route="/v1/predict",le="+Inf"} 4',
        'affectagent_request_seconds_sum{route="/v1/predict"} 7.65',
        'affectagent_request_seconds_count{route="/v1/predict"} 4',
    ]
    assert "# TYPE affectagent_request_seconds histogram" in text.splitlines()
    with pytest.raises(ValueError, match="expected 3"):
        render(_snapshot(latency={"/x": HistogramValues(counts=(1, 1), total=1.0)}))


def test_gauges_info_and_memory():
    text = render(_snapshot(queue_depth=2, predictions_served=40, rejected_busy=5, resident_memory_bytes=123456789))
    lines = text.splitlines()
    for want in ("affectagent_queue_depth 2", "affectagent_predictions_served_total 40",
                 "affectagent_rejected_busy_total 5", "process_resident_memory_bytes 123456789",
                 'affectagent_info{version="9.9"} 1', "# TYPE affectagent_queue_depth gauge",
                 "# TYPE affectagent_predictions_served_total counter", "# TYPE process_resident_memory_bytes gauge"):
        assert want in lines, want
    assert "process_resident_memory_bytes" not in render(_snapshot())  # unknown: left out, never a made-up 0


def test_label_values_are_escaped():
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    text = render(_snapshot(requests={("GET", 'we"ird\\ro\nute', "404"): 1}))
    [line] = _lines(text, "affectagent_requests_total{")
    assert line == 'affectagent_requests_total{method="GET",route="we\\"ird\\\\ro\\nute",status="404"} 1'
    assert "\nute" not in text  # the newline stayed inside the label as \n


def test_numbers_are_formatted_as_the_format_spells_them():
    assert [format_number(x) for x in (3, 1.0, 0.025, 2.5, 60.0, math.inf, -math.inf, math.nan, 1e-07)] == \
        ["3", "1", "0.025", "2.5", "60", "+Inf", "-Inf", "NaN", "1e-07"]


def test_every_line_is_a_comment_or_a_valid_sample():
    reg = MetricsRegistry()
    reg.observe_request(method="GET", route='/odd "path"', status=200, seconds=0.003)
    text = render(reg.snapshot(queue_depth=0, predictions_served=0, version=__version__, resident_memory=1))
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or SAMPLE.match(line), line


# ---- the registry ------------------------------------------------------------------------------------------------
def test_registry_puts_observations_in_the_right_buckets():
    reg = MetricsRegistry(buckets=(0.1, 1.0))
    for s in (0.05, 0.1, 0.5, 7.0):
        reg.observe_request(method="POST", route="/v1/predict", status=200, seconds=s)
    reg.observe_request(method="BREW", route="other", status=405, seconds=0.001)  # any token is a method in HTTP
    reg.count_rejected_busy()
    snap = reg.snapshot(queue_depth=1, predictions_served=4, version="1", resident_memory=None)
    assert snap.latency["/v1/predict"] == HistogramValues(counts=(2, 1, 1), total=pytest.approx(7.65))
    assert snap.requests == {("POST", "/v1/predict", "200"): 4, ("other", "other", "405"): 1}
    assert snap.rejected_busy == 1 and snap.queue_depth == 1 and snap.buckets == (0.1, 1.0)
    for bad in ((), (1.0, 0.5), (0.1, math.inf), (0.0, 1.0)):
        with pytest.raises(ValueError, match="increasing"):
            MetricsRegistry(buckets=bad)


def test_registry_counts_from_many_threads():
    reg = MetricsRegistry()

    def hammer():
        for _ in range(2000):
            reg.observe_request(method="GET", route="/health", status=200, seconds=0.001)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = reg.snapshot(queue_depth=0, predictions_served=0, version="1", resident_memory=None)
    assert snap.requests[("GET", "/health", "200")] == 8000 and snap.latency["/health"].count == 8000


def test_resident_memory_from_statm(tmp_path):
    import os

    statm = tmp_path / "statm"
    statm.write_text("1000 250 30 1 0 200 0\n")
    assert resident_memory_bytes(statm) == 250 * os.sysconf("SC_PAGE_SIZE")
    assert resident_memory_bytes(tmp_path / "missing") is None
    assert resident_memory_bytes() > 10 * (1 << 20)  # this test process, on Linux


# ---- the app -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def agent(tiny_checkpoint) -> AffectAgent:
    return AffectAgent.load(tiny_checkpoint, log=lambda m: None)


def _value(text: str, sample: str) -> float:
    """The value of the sample line that starts with ``sample`` (exact name and labels)."""
    [line] = [line for line in text.splitlines() if line.rsplit(" ", 1)[0] == sample]
    return float(line.rsplit(" ", 1)[1])


def test_metrics_after_real_requests(agent):
    c = TestClient(create_app(agent))
    assert c.get("/health").status_code == 200 and c.get("/health").status_code == 200
    assert c.post("/v1/predict", json={"text": "I love it!"}).status_code == 200
    assert c.post("/v1/predict", json={"text": ""}).status_code == 400
    assert c.get("/v1/progress/some-job").status_code == 404
    assert c.get("/no/such/page?x=1").status_code == 404
    r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"] == CONTENT_TYPE
    text = r.text
    assert _value(text, 'affectagent_requests_total{method="GET",route="/health",status="200"}') == 2
    assert _value(text, 'affectagent_requests_total{method="POST",route="/v1/predict",status="200"}') == 1
    assert _value(text, 'affectagent_requests_total{method="POST",route="/v1/predict",status="400"}') == 1
    # the route template, never the raw URL
    assert _value(text, 'affectagent_requests_total{method="GET",route="/v1/progress/{job}",status="404"}') == 1
    assert _value(text, 'affectagent_requests_total{method="GET",route="other",status="404"}') == 1
    assert "some-job" not in text and "/no/such" not in text
    assert _value(text, 'affectagent_request_seconds_count{route="/v1/predict"}') == 2
    assert _value(text, 'affectagent_request_seconds_bucket{route="/v1/predict",le="+Inf"}') == 2
    assert _value(text, 'affectagent_request_seconds_sum{route="/v1/predict"}') > 0
    assert _value(text, "affectagent_predictions_served_total") == 1
    assert _value(text, "affectagent_queue_depth") == 0 and _value(text, "affectagent_rejected_busy_total") == 0
    assert _value(text, "process_resident_memory_bytes") > 50 * (1 << 20)
    assert _value(text, f'affectagent_info{{version="{__version__}"}}') == 1
    # the scrape itself is counted by the next one
    again = c.get("/metrics").text
    assert _value(again, 'affectagent_requests_total{method="GET",route="/metrics",status="200"}') == 1


def test_a_busy_answer_is_counted_and_the_queue_depth_shows_the_held_prediction(agent):
    held = Held(agent)
    app = create_app(held, max_pending=1)

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            first = asyncio.create_task(c.post("/v1/predict", json={"text": "Hold on."}))
            while not held.entered.is_set():
                await asyncio.sleep(0.01)
            during = await c.get("/metrics")
            busy = await c.post("/v1/predict", json={"text": "me too"})
            held.gate.set()
            done = await first
            return during, busy, done, await c.get("/metrics")

    during, busy, done, after = asyncio.run(run())
    assert busy.status_code == 503 and "busy" in busy.json()["error"] and done.status_code == 200
    assert _value(during.text, "affectagent_queue_depth") == 1
    text = after.text
    assert _value(text, "affectagent_queue_depth") == 0
    assert _value(text, "affectagent_rejected_busy_total") == 1
    assert _value(text, 'affectagent_requests_total{method="POST",route="/v1/predict",status="503"}') == 1
    assert _value(text, 'affectagent_requests_total{method="POST",route="/v1/predict",status="200"}') == 1
    assert _value(text, "affectagent_predictions_served_total") == 1
