"""A tiny real HTTP server (stdlib, separate process) that answers like a misbehaving OpenAI-compatible endpoint.

Usage: python scripted_http_server.py PORT SCENARIO
Scenarios (POST /v1/chat/completions):
  flaky        503 for the first two requests (with Retry-After: 0), then a valid completion
  unauthorized 401 with an OpenAI-style error body
  malformed    200 with a body that is not JSON
  nologprobs   400 "logprobs is not supported" when the request asks for logprobs, else a valid completion
  echo         a valid completion whose content is the JSON of what was received (headers of interest + payload)
  slow         sleeps 0.3 s then a valid completion (tracks the most requests in flight at once)
  hang         sleeps 5 s before answering (for client timeouts)
  silent       accepts the request and never answers (sleeps 60 s, then closes)
  drip         sends a valid status line and headers at once, then the body one byte every 0.25 s (~40 s in all)
  dripheaders  sends the status line and headers one byte every 0.25 s (never reaches the body within a test)
  slow503      waits 0.4 s, then 503 with Retry-After: 0 (every request)
GET /health -> 200; GET /stats -> {"requests": n, "max_in_flight": m}; GET /v1/models -> one model "scripted-model".
"""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCENARIO = sys.argv[2] if len(sys.argv) > 2 else "flaky"
STATE = {"requests": 0, "in_flight": 0, "max_in_flight": 0}
LOCK = threading.Lock()


def completion(content: str, logprobs: bool) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop",
                     "logprobs": {"content": [{"token": "joy", "logprob": -0.25}, {"token": "", "logprob": -0.5}]}
                     if logprobs else None}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13},
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        elif self.path == "/stats":
            with LOCK:
                self._send(200, {"requests": STATE["requests"], "max_in_flight": STATE["max_in_flight"]})
        elif self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "scripted-model", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": "no such route"}})

    def do_POST(self):
        payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with LOCK:
            STATE["requests"] += 1
            n = STATE["requests"]
            STATE["in_flight"] += 1
            STATE["max_in_flight"] = max(STATE["max_in_flight"], STATE["in_flight"])
        try:
            self._answer(n, payload)
        finally:
            with LOCK:
                STATE["in_flight"] -= 1

    def _answer(self, n: int, payload: dict) -> None:
        want_lp = bool(payload.get("logprobs"))
        if SCENARIO == "flaky" and n <= 2:
            self._send(503, {"error": {"message": "overloaded"}}, {"Retry-After": "0"})
        elif SCENARIO == "unauthorized":
            self._send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        elif SCENARIO == "malformed":
            self._send(200, b"<html>this is not json")
        elif SCENARIO == "nologprobs" and want_lp:
            self._send(400, {"error": {"message": "logprobs is not supported by this model"}})
        elif SCENARIO == "echo":
            seen = {"authorization": self.headers.get("Authorization"), "path": self.path, "payload": payload}
            self._send(200, completion(json.dumps(seen), want_lp))
        elif SCENARIO == "silent":
            time.sleep(60)
        elif SCENARIO == "drip":
            raw = json.dumps(completion("joy", want_lp)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.flush()
            self._drip(raw)
        elif SCENARIO == "dripheaders":
            raw = json.dumps(completion("joy", want_lp)).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
            self._drip(head.encode() + b"X-Padding: " + b"p" * 400 + b"\r\n\r\n" + raw)
        elif SCENARIO == "slow503":
            time.sleep(0.4)
            self._send(503, {"error": {"message": "overloaded"}}, {"Retry-After": "0"})
        elif SCENARIO in ("slow", "hang"):
            time.sleep(0.3 if SCENARIO == "slow" else 5.0)
            self._send(200, completion("joy", want_lp))
        else:
            self._send(200, completion("joy", want_lp))


    def _drip(self, raw: bytes) -> None:
        """Write ``raw`` one byte every 0.25 s (a client that waits for the whole answer waits ~len/4 s)."""
        try:
            for i in range(len(raw)):
                self.wfile.write(raw[i:i + 1])
                self.wfile.flush()
                time.sleep(0.25)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is what the tests want
            pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
