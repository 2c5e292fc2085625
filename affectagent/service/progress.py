"""``ProgressBoard``: the stages of the predictions that asked to be watched (``POST /v1/predict?job=ID``), read by
``GET /v1/progress/{job}`` while they run.

A ``Job`` collects ``affectagent.progress.StageEvent``s (the runner listens to the agent's stage reports: the
feature extractor's decode / voice / ASR / text / face stages inside "features", then "agents") and the stages the
service itself knows: the upload arriving ("receive"), the wait for the model ("queue"), the file check, the face
box preview and the timeline's segments (with a done / total count). Stages are kept in the order they started;
a stage that starts again (the content hash runs for the audio and for the video) accumulates its seconds.

Jobs are written from the model's worker thread and read from the event loop: one lock guards the board. Finished
jobs are kept ``keep_seconds`` (so the page's last poll still finds them), at most ``max_jobs`` in all (the oldest
finished go first, then the oldest running).
"""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import InputError
from ..progress import StageEvent
from .errors import JobConflictError

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JOB_ID_RULE = "1 to 64 letters, digits, '-' or '_'"

# What each stage is called on the page; an unknown stage shows its name.
STAGE_TITLES: dict[str, str] = {
    "receive": "upload received by the server",
    "queue": "waiting for the model",
    "check": "check the file",
    "predict": "prediction",
    "features": "encode the inputs",
    "probe": "read the media headers",
    "hash": "content hash (feature-cache key)",
    "decode_audio": "decode the audio",
    "audio": "voice features",
    "vad": "voice activity (VAD)",
    "language_id": "identify the spoken language",
    "asr": "speech recognition (ASR)",
    "text": "text encoder",
    "decode_video": "decode the video frames",
    "face": "face analysis",
    "visual": "scene features",
    "agents": "agents: plan, retrieve, filter, fuse, generate",
    "nanoemox": "Nano-EmoX model",
    "preview": "face box on the first frame",
    "timeline": "timeline: predict each segment",
}
STAGE_STATES: tuple[str, ...] = ("active", "done", "cached", "failed")
JOB_STATES: tuple[str, ...] = ("running", "done", "failed")


def check_job_id(value: str) -> str:
    """``value`` when it is a valid job id (``JOB_ID_RULE``), else ``InputError``."""
    if not JOB_ID.match(value or ""):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise InputError(f"job must be {JOB_ID_RULE}; got {shown!r}")
    return value


@dataclass
class _Stage:
    path: tuple[str, ...]
    started: float  # clock value
    state: str = "active"
    seconds: float = 0.0  # finished runs, summed
    running_since: float | None = None
    done: int | None = None
    total: int | None = None


class Job:
    """One watched prediction: its stages and whether it is still running (thread-safe through the board's lock)."""

    def __init__(self, job_id: str, *, lock: threading.Lock, clock: Callable[[], float]) -> None:
        self.id = job_id
        self._lock, self._clock = lock, clock
        self.created = clock()
        self.finished: float | None = None
        self.state = "running"
        self.error: str | None = None
        self._stages: OrderedDict[tuple[str, ...], _Stage] = OrderedDict()

    # -- writing --------------------------------------------------------------------------------------------------
    def on_event(self, event: StageEvent) -> None:
        """A ``progress.StageListener``: record an event of the agent's stages."""
        with self._lock:
            now = self._clock()
            st = self._stages.get(event.path)
            if st is None:
                st = self._stages[event.path] = _Stage(path=event.path, started=now)
            if event.event == "start":
                st.state, st.running_since = "active", now
                return
            if st.running_since is not None:
                st.seconds += now - st.running_since if event.seconds is None else event.seconds
                st.running_since = None
            elif event.seconds is not None:  # reported after the fact (the extractor's timings)
                st.seconds = max(st.seconds, event.seconds)
            st.state = {"end": "done", "cached": "cached", "failed": "failed"}.get(event.event, "done")

    def start(self, name: str) -> None:
        """A stage of the service itself begins (top level)."""
        self.on_event(StageEvent(path=(name,), event="start"))

    def end(self, name: str, *, failed: bool = False) -> None:
        self.on_event(StageEvent(path=(name,), event="failed" if failed else "end"))

    def count(self, name: str, done: int, total: int | None) -> None:
        """Stage ``name`` (top level) has finished ``done`` of ``total`` items (timeline segments)."""
        with self._lock:
            st = self._stages.get((name,))
            if st is not None:
                st.done, st.total = int(done), None if total is None else int(total)

    def finish(self, *, error: str | None = None) -> None:
        """The prediction ended (``error``: its one-line message); stages still open are closed as failed."""
        with self._lock:
            now = self._clock()
            for st in self._stages.values():
                if st.state == "active":
                    if st.running_since is not None:
                        st.seconds += now - st.running_since
                        st.running_since = None
                    st.state = "failed" if error is not None else "done"
            self.state, self.error, self.finished = ("failed" if error is not None else "done"), error, now

    # -- reading --------------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The JSON of ``GET /v1/progress/{job}`` (``schemas.ProgressOut``)."""
        with self._lock:
            now = self._clock() if self.finished is None else self.finished
            stages = []
            for st in self._stages.values():
                seconds = st.seconds + (now - st.running_since if st.running_since is not None else 0.0)
                stages.append({"key": "/".join(st.path), "name": st.path[-1],
                               "title": STAGE_TITLES.get(st.path[-1], st.path[-1].replace("_", " ")),
                               "depth": len(st.path) - 1, "state": st.state,
                               "started": round(st.started - self.created, 3), "seconds": round(seconds, 3),
                               "done": st.done, "total": st.total})
            active = [s["key"] for s in stages if s["state"] == "active"]
            return {"job": self.id, "state": self.state, "error": self.error,
                    "seconds": round(now - self.created, 3), "active": active[-1] if active else None,
                    "stages": stages}


class ProgressBoard:
    """The watched predictions of one server process (see the module docstring)."""

    def __init__(self, *, max_jobs: int = 256, keep_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_jobs < 1 or not keep_seconds > 0:
            raise ValueError("max_jobs must be >= 1 and keep_seconds > 0")
        self.max_jobs, self.keep_seconds, self._clock = max_jobs, keep_seconds, clock
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def open(self, job_id: str) -> Job:
        """A new job ``job_id`` (``check_job_id``); ``JobConflictError`` while a running job has that id (a finished
        one is replaced)."""
        check_job_id(job_id)
        with self._lock:
            self._forget_expired()
            old = self._jobs.get(job_id)
            if old is not None and old.state == "running":
                raise JobConflictError(f"job {job_id!r} is already running; use a new job id for each prediction")
            job = Job(job_id, lock=self._lock, clock=self._clock)
            self._jobs.pop(job_id, None)
            self._jobs[job_id] = job
            while len(self._jobs) > self.max_jobs:
                done = next((k for k, j in self._jobs.items() if j.state != "running"), None)
                self._jobs.pop(done if done is not None else next(iter(self._jobs)))
            return job

    def snapshot(self, job_id: str) -> dict[str, Any] | None:
        """The job's progress, or None for an unknown (or long finished) job."""
        with self._lock:
            self._forget_expired()
            job = self._jobs.get(job_id)
        return None if job is None else job.snapshot()

    def __len__(self) -> int:
        return len(self._jobs)

    def _forget_expired(self) -> None:  # under the lock
        now = self._clock()
        for key in [k for k, j in self._jobs.items()
                    if j.finished is not None and now - j.finished > self.keep_seconds]:
            del self._jobs[key]
