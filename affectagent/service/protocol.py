"""uvicorn's h11 HTTP protocol with a deadline for the request head (``ServiceSettings.header_timeout_seconds``).

uvicorn times out idle kept-alive connections but not a request head in progress: a client that opens a connection
and sends nothing, or its headers a byte at a time, holds it for as long as it likes. ``HeaderTimeoutProtocol``
starts a timer when a connection opens and again after every answer; the timer stops when a complete request head
has arrived (uvicorn then starts the app on it; body and per-request deadlines are the app's, ``reading.py``). When
it fires, the client gets ``408`` and the connection is closed, logged at INFO.

The served class is made by ``protocol_class(seconds)``; worker processes use the module-level class by name and
set ``HeaderTimeoutProtocol.header_timeout`` from their settings before serving (``server.app_from_env``).
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("affectagent.service")


class HeaderTimeoutProtocol(H11Protocol):
    """``H11Protocol`` + a timer on the request head (see the module docstring)."""

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a complete request head arrived: the app takes it from here
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        self._arm_head_timer()  # before super(): a pipelined request handled there stops it again
        super().on_response_complete()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        who = "%s:%d" % self.client if self.client else "a client"
        log.info("closed the connection of %s: no complete request head within %g s", who, self.header_timeout)
        if self.cycle is None or self.cycle.response_complete:  # nothing is being answered on this connection
            body = json.dumps({"error": f"request head not received within {self.header_timeout:g} s"}).encode()
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                 b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.transport.close()


def protocol_class(header_timeout: float) -> type[HeaderTimeoutProtocol]:
    """A ``HeaderTimeoutProtocol`` subclass with this head deadline (seconds)."""
    attrs: dict[str, Any] = {"header_timeout": float(header_timeout)}
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), attrs)
