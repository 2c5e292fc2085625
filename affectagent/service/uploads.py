"""Uploaded media on disk: a byte budget on the request stream, a per-request temp folder, the copy into it.

The request body is counted while it streams in (``limit_receive``), so an oversized upload is refused without
being stored whole, with or without a Content-Length header. Starlette spools the file part in an anonymous
temporary file (nothing named on disk); ``save_upload`` copies it into the request's own folder under a fixed
name, and ``RequestFolder`` deletes that folder when the request ends, whatever happened.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Awaitable, Callable

import anyio

from .errors import PayloadTooLargeError, RequestTimeoutError
from .inputs import disk_name

Receive = Callable[[], Awaitable[dict[str, Any]]]
COPY_CHUNK = 1 << 20


def limit_receive(receive: Receive, *, max_bytes: int, what: str, limit_text: str | None = None,
                  idle_timeout: float | None = None, deadline: float | None = None,
                  deadline_text: str = "the request deadline") -> Receive:
    """Wrap an ASGI ``receive`` so the body raises ``PayloadTooLargeError`` once it passes ``max_bytes``, and
    ``RequestTimeoutError`` when a chunk takes longer than ``idle_timeout`` seconds to arrive or the body is not in
    by ``deadline`` (a ``time.monotonic()`` value; ``deadline_text`` names it in the message).

    ``limit_text`` is the limit as the user knows it (e.g. "200 MiB"; default: ``max_bytes`` in MiB).
    """
    stated = limit_text or f"{max_bytes / (1 << 20):.1f} MiB"
    seen = 0

    async def wrapped() -> dict[str, Any]:
        nonlocal seen
        wait = idle_timeout
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RequestTimeoutError(f"{what} did not arrive within {deadline_text}")
            wait = left if wait is None else min(wait, left)
        try:
            with anyio.fail_after(wait):
                message = await receive()
        except TimeoutError:
            if deadline is not None and time.monotonic() >= deadline - 1e-3:
                raise RequestTimeoutError(f"{what} did not arrive within {deadline_text}") from None
            raise RequestTimeoutError(f"{what} stalled: nothing arrived for {idle_timeout:g} s") from None
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise PayloadTooLargeError(f"{what} is over the {stated} limit")
        return message

    return wrapped


class RequestFolder:
    """A temporary folder for one request (created on first use, removed by ``cleanup``; a context manager)."""

    def __init__(self, *, parent: Path | None) -> None:
        self.parent = parent
        self.path: Path | None = None

    def create(self) -> Path:
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix="affectagent-upload-", dir=self.parent))
        return self.path

    def cleanup(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None

    def __enter__(self) -> "RequestFolder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def save_upload(src: IO[bytes], *, filename: str | None, folder: RequestFolder, max_bytes: int) -> tuple[Path, int]:
    """Copy an uploaded file object into ``folder`` (as ``disk_name(filename)``); returns (path, size in bytes).

    Blocking (run it in a worker thread). Raises ``PayloadTooLargeError`` past ``max_bytes``.
    """
    dest = folder.create() / disk_name(filename)
    size = 0
    src.seek(0)
    with open(dest, "wb") as out:
        while chunk := src.read(COPY_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLargeError(f"the uploaded file is over the {max_bytes / (1 << 20):g} MiB limit")
            out.write(chunk)
    return dest, size
