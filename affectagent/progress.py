"""Stage reporting: long calls name their stages, and a caller that wants to watch them listens.

    from affectagent import progress
    with progress.listen(lambda event: print(event)):       # the caller (e.g. the HTTP service's progress board)
        agent.predict([sample])
    # inside library code:
    with progress.stage("features"):                          # StageEvent(path=("features",), event="start") ...
        ...                                                   # ... StageEvent(path=("features",), event="end", seconds)
    progress.report_done("asr", 0.84)                         # a stage known only afterwards (timings of a result)

Nothing happens unless someone listens (a ``ContextVar``: per thread / per task, so two requests in two worker
threads never see each other's stages), and a listener's error never breaks the call it watches: it is dropped for
the rest of the ``listen`` block. Stages nest: an event's ``path`` holds the names of the open enclosing stages.
"""
from __future__ import annotations

import contextvars
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Literal

log = logging.getLogger("affectagent.progress")

StageEventKind = Literal["start", "end", "cached", "failed"]


@dataclass(frozen=True)
class StageEvent:
    """One thing that happened to a stage.

    path:    the stage's name after the names of the stages it runs inside, e.g. ("predict", "features", "asr").
    event:   "start"; "end" (with ``seconds``, the stage's wall time); "cached" (the stage's result came from a
             cache: it ended in ``seconds``, the time of the cache lookup, often 0); "failed" (it raised).
    seconds: wall time of the stage, None for "start".
    """

    path: tuple[str, ...]
    event: StageEventKind
    seconds: float | None = None

    @property
    def name(self) -> str:
        return self.path[-1]


StageListener = Callable[[StageEvent], None]


class _Listening:
    """The listener of a ``listen`` block and the stages open inside it."""

    def __init__(self, listener: StageListener | None) -> None:
        self.listener = listener
        self.open: tuple[str, ...] = ()

    def send(self, event: StageEvent) -> None:
        if self.listener is None:
            return
        try:
            self.listener(event)
        except Exception:  # noqa: BLE001 - watching must never break the watched call
            log.warning("stage listener failed on %s; it gets no more events", event, exc_info=True)
            self.listener = None


_CURRENT: contextvars.ContextVar[_Listening | None] = contextvars.ContextVar("affectagent_stage_listener",
                                                                              default=None)


def listening() -> bool:
    """Whether a listener is set here (report only what is cheap to report otherwise)."""
    current = _CURRENT.get()
    return current is not None and current.listener is not None


@contextmanager
def listen(listener: StageListener | None) -> Iterator[None]:
    """Send the stage events of the code inside the block to ``listener`` (None: mute any outer listener)."""
    token = _CURRENT.set(_Listening(listener))
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Report the block as stage ``name``: a "start" event, then "end" with its seconds ("failed" when it raises)."""
    current = _CURRENT.get()
    if current is None or current.listener is None:
        yield
        return
    outer = current.open
    path = outer + (name,)
    current.open = path
    current.send(StageEvent(path=path, event="start"))
    t0 = time.perf_counter()
    kind: StageEventKind = "failed"
    try:
        yield
        kind = "end"
    finally:
        current.open = outer
        current.send(StageEvent(path=path, event=kind, seconds=round(time.perf_counter() - t0, 4)))


def report_done(name: str, seconds: float, *, cached: bool = False) -> None:
    """Report stage ``name``, inside the open stages, as already finished in ``seconds`` (or served from a cache)."""
    current = _CURRENT.get()
    if current is None or current.listener is None:
        return
    current.send(StageEvent(path=current.open + (name,), event="cached" if cached else "end",
                            seconds=round(float(seconds), 4)))
