"""Reliability limits of the service (issue 19, class 6), against a real uvicorn server on 127.0.0.1 run with the
service's own options (``server.uvicorn_options``) and misbehaving raw-socket clients: a client that sends no head, or
its head a byte at a time, is cut off at the header deadline; a stalled or dripping body gets 408; a request that
waits for the model past its deadline gets 503; a client that disconnects is logged at INFO, not as an internal error.
Plus, in-process: every text field is bounded, ``allowed_hosts`` checks Host and Origin, /health shows no paths.

The agent is scripted (the HTTP behaviour is under test, not the model)."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from affectagent.cli import build_parser
from affectagent.schema import Prediction
from affectagent.service import AgentSpec, ServiceSettings, create_app
from affectagent.service.server import uvicorn_options

from ..llm.processes import free_port

SLACK = 2.5  # a busy 2-core machine; the old behaviour waits forever


class ScriptedAgent:
    """Answers every sample "happy"; ``gate`` (when set) holds each prediction until released."""

    default_labels = ("happy", "sad", "neutral")

    def __init__(self) -> None:
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def describe(self) -> dict:
        return {"checkpoint": "sft", "kb": "/srv/private/models/kb", "encoders": {"text": "e5"}}

    def predict(self, samples, *, label_set=None, explain=False, **kw):
        self.entered.set()
        if self.gate is not None and not self.gate.wait(timeout=30):
            raise RuntimeError("never released")
        labels = label_set or self.default_labels
        return [Prediction(sample_id=s.id, label=labels[0], probs={x: 1 / len(labels) for x in labels},
                           sentiment="positive", ov_set=(labels[0],), rationale="scripted") for s in samples]


@contextmanager
def live(agent=None, **limits):
    """A real uvicorn server in a thread with the service's options; yields (port, agent)."""
    agent = agent or ScriptedAgent()
    settings = ServiceSettings(**limits)
    port = free_port()
    config = uvicorn.Config(create_app(agent, settings=settings),
                            **uvicorn_options(settings, host="127.0.0.1", port=port, log_level="warning"))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port, agent
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(10)
    return s


def _read_all(s: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return out


def _head(body_len: int, kind: str = "application/json") -> bytes:
    return (f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {body_len}\r\n\r\n").encode()


# ---- header / body / request deadlines ---------------------------------------------------------------------------
def test_a_connection_that_sends_nothing_is_closed_at_the_header_deadline():
    with live(header_timeout_seconds=0.5) as (port, _):
        s = _connect(port)
        t0 = time.monotonic()
        answer = _read_all(s)
        assert time.monotonic() - t0 < 0.5 + SLACK
        assert answer.startswith(b"HTTP/1.1 408") and b"request head not received within 0.5 s" in answer


def test_headers_dripped_a_byte_at_a_time_are_cut_off():
    with live(header_timeout_seconds=0.8) as (port, _):
        s = _connect(port)
        head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 200  # ~12 s at 0.05 s a byte
        t0 = time.monotonic()
        closed = False
        for byte in head:
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True  # the server hung up on us
                break
            time.sleep(0.05)
            if time.monotonic() - t0 > 0.8 + SLACK:
                break
        s.settimeout(SLACK)
        answer = b"" if closed else _read_all(s)
        assert closed or answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - t0 < 0.8 + 2 * SLACK


def test_keep_alive_requests_each_get_a_fresh_head_deadline():
    with live(header_timeout_seconds=1.0) as (port, _):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            for _ in range(3):
                assert c.get("/health").status_code == 200
                time.sleep(0.4)  # idle between requests, under the deadline


def test_a_stalled_body_gets_408():
    with live(body_timeout_seconds=0.5) as (port, _):
        s = _connect(port)
        s.sendall(_head(200) + b'{"text": "hi')
        t0 = time.monotonic()
        answer = _read_all(s)
        assert time.monotonic() - t0 < 0.5 + SLACK
        assert answer.startswith(b"HTTP/1.1 408")
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"error": "the JSON body stalled: nothing arrived for 0.5 s"}


def test_a_dripping_body_misses_the_request_deadline():
    body = b'{"text": "' + b"a" * 100 + b'"}'
    with live(body_timeout_seconds=5, request_timeout_seconds=1.0) as (port, _):
        s = _connect(port)
        s.sendall(_head(len(body)))
        t0 = time.monotonic()
        try:
            for i in range(len(body)):  # one byte every 0.1 s: never idle for 5 s, ~11 s in all
                s.sendall(body[i:i + 1])
                time.sleep(0.1)
                if time.monotonic() - t0 > 1.0 + SLACK:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_all(s)
        assert time.monotonic() - t0 < 1.0 + SLACK + 1
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within the 1 s request deadline" in answer


def test_waiting_for_the_model_past_the_deadline_is_503():
    agent = ScriptedAgent()
    agent.gate = threading.Event()
    with live(agent, request_timeout_seconds=1.0) as (port, _):
        url = f"http://127.0.0.1:{port}/v1/predict"
        first: dict = {}
        holder = threading.Thread(target=lambda: first.update(r=httpx.post(url, json={"text": "one"}, timeout=30)))
        holder.start()
        assert agent.entered.wait(10)
        t0 = time.monotonic()
        second = httpx.post(url, json={"text": "two"}, timeout=30)
        waited = time.monotonic() - t0
        agent.gate.set()
        holder.join(30)
    assert second.status_code == 503 and second.headers["retry-after"] == "5"
    assert "waited" in second.json()["error"] and "request deadline" in second.json()["error"]
    assert 0.9 <= waited < 1.0 + SLACK and first["r"].status_code == 200


def test_a_client_that_disconnects_is_info_not_an_internal_error(caplog):
    caplog.set_level(logging.INFO, logger="affectagent.service")
    with live() as (port, _):
        s = _connect(port)
        s.sendall(_head(5000) + b'{"text": "I was going to say')
        time.sleep(0.2)
        s.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("disconnected" in r.getMessage() for r in caplog.records):
            time.sleep(0.05)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
    ours = [r for r in caplog.records if r.name == "affectagent.service"]
    assert any(r.levelno == logging.INFO and "the client disconnected" in r.getMessage() for r in ours)
    assert not [r for r in ours if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info]
    assert health.status_code == 200


# ---- bounded fields ---------------------------------------------------------------------------------------------
@pytest.fixture
def client():
    return TestClient(create_app(ScriptedAgent()))


@pytest.mark.parametrize("kwargs,needle", [
    ({"json": {"text": "hi", "speaker": "x" * 900_000}}, "speaker is 900000 characters; the limit is 100"),
    ({"data": {"text": "hi", "speaker": "x" * 5000}}, "speaker is 5000 characters; the limit is 100"),
    ({"json": {"text": "hi", "context": [{"speaker": "y" * 300, "text": "a"}]}},
     "the speaker of context turn 1 is 300 characters"),
    ({"data": {"text": "hi", "context": "z" * 300 + ": a line"}}, "the speaker of context turn 1 is 300 characters"),
    ({"json": {"text": "hi", "labels": "happy," * 50_000}}, "labels is 300000 characters; the limit is 1000"),
    ({"json": {"text": "hi", "labels": ["sad"] * 500}}, "labels has 500 items"),
    ({"data": {"text": "hi", "explain": "maybe" * 10_000}}, "explain must be true or false; got 'maybemaybe"),
])
def test_every_text_field_is_bounded_and_errors_stay_short(client, kwargs, needle):
    r = client.post("/v1/predict", **kwargs)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert needle in error and len(error) < 300


def test_a_speaker_at_the_limit_is_fine(client):
    r = client.post("/v1/predict", json={"text": "hi", "speaker": "s" * 100, "labels": "happy,sad"})
    assert r.status_code == 200 and r.json()["label"] == "happy"


# ---- allowed hosts ------------------------------------------------------------------------------------------------
def test_allowed_hosts_check_host_and_origin():
    app = create_app(ScriptedAgent(), allowed_hosts=("emotions.example.com", "*.lab.example.org"))
    good = TestClient(app, base_url="http://emotions.example.com:8000")
    assert good.get("/health").status_code == 200
    assert TestClient(app, base_url="http://gpu1.lab.example.org").get("/v1/labels").status_code == 200
    r = TestClient(app).get("/health")  # Host: testserver
    assert r.status_code == 400 and r.json() == {"error": "host 'testserver' is not served here (--allowed-host)"}
    r = good.post("/v1/predict", json={"text": "hi"}, headers={"Origin": "https://evil.example.net"})
    assert r.status_code == 403 and "requests from origin 'https://evil.example.net' are not allowed" in r.json()["error"]
    assert good.post("/v1/predict", json={"text": "hi"}, headers={"Origin": "null"}).status_code == 403
    ok = good.post("/v1/predict", json={"text": "hi"}, headers={"Origin": "https://emotions.example.com"})
    assert ok.status_code == 200
    assert TestClient(create_app(ScriptedAgent())).get("/health").status_code == 200  # default: any host


def test_allowed_host_option_and_validation():
    args = build_parser().parse_args(["serve", "--allowed-host", "a.example.com", "--allowed-host", "*.b.org",
                                      "--header-timeout", "3", "--body-timeout", "4", "--request-timeout", "60"])
    assert args.allowed_host == ["a.example.com", "*.b.org"]
    assert (args.header_timeout, args.body_timeout, args.request_timeout) == (3.0, 4.0, 60.0)
    assert ServiceSettings(allowed_hosts=["A.Example.COM.", "[::1]"]).allowed_hosts == ("a.example.com", "::1")
    for bad in ("https://a.example.com", "a.example.com:8000", "a/b", ""):
        with pytest.raises(Exception, match="allowed host must be a host name"):
            ServiceSettings(allowed_hosts=(bad,))
    for field in ("header_timeout_seconds", "body_timeout_seconds", "request_timeout_seconds", "max_speaker_chars"):
        with pytest.raises(Exception, match=f"{field} must be > 0"):
            ServiceSettings(**{field: 0})


# ---- /health -----------------------------------------------------------------------------------------------------
def test_health_names_files_not_server_paths(tmp_path):
    ckpt = tmp_path / "deep" / "private" / "agents.pt"
    h = TestClient(create_app(ScriptedAgent(), spec=AgentSpec(checkpoint=str(ckpt)))).get("/health").json()
    assert h["checkpoint"] == "agents.pt" and h["kb"] == "kb"
    assert str(tmp_path) not in json.dumps(h) and "/srv/private" not in json.dumps(h)
