"""``ModelRunner``: the one loaded ``AffectAgent`` of a server process, called by one request at a time.

The encoders and agents are not thread-safe, so every model call (probing the upload, encoding, the pipeline, or
the Nano-EmoX model for a ``model: "nanoemox"`` request, loaded on first use by ``nanoemox.NanoEmoXSlot``) holds one
lock. Requests run the call in a worker thread, so the event loop keeps answering (/health, the page,
uploads) while a prediction computes; waiting requests queue on the lock, and past ``max_pending`` waiting
requests a new one is refused with ``ServerBusyError`` instead of piling up.
"""
from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import anyio.to_thread

from ..errors import AffectAgentError, InputError
from ..media.errors import MediaError
from ..schema import Prediction
from .errors import ModelUnavailableError, ServerBusyError
from .inputs import PredictInput


@dataclass(frozen=True)
class MediaFacts:
    """What the uploaded file turned out to be."""

    filename: str | None
    kind: str  # "video" (with or without sound), "audio" or "image" (a still image: one face frame, no audio)
    duration: float | None
    size: int


@dataclass(frozen=True)
class RunResult:
    """One answered request: the prediction, the media facts and where the time went (seconds); ``tasks``: the
    Nano-EmoX answers (task -> ``TaskAnswer.to_dict()``) of a ``model: "nanoemox"`` request, else None."""

    prediction: Prediction
    media: MediaFacts | None
    queued_seconds: float
    model_seconds: float
    tasks: dict[str, Any] | None = None


class ModelRunner:
    """Serialises calls to one agent (anything with ``predict(samples, label_set=, explain=)``)."""

    def __init__(self, agent: Any, *, max_pending: int, max_media_bytes: int, max_media_seconds: float,
                 nanoemox: Any = None) -> None:
        self.agent = agent
        self.nanoemox = nanoemox  # a NanoEmoXSlot (None: requests for model nanoemox get 503)
        self.max_pending = max_pending
        self.max_media_bytes = max_media_bytes
        self.max_media_seconds = max_media_seconds
        self._lock = threading.Lock()
        self._pending = 0  # touched only from the event loop thread
        self.served = 0

    @property
    def pending(self) -> int:
        return self._pending

    async def predict(self, request: PredictInput, *, deadline: float | None = None) -> RunResult:
        """Run ``request`` in a worker thread under the model lock (raises ``ServerBusyError`` when the queue is full,
        or when the lock is not free by ``deadline``, a ``time.monotonic()`` value).

        A cancelled request still waits for its thread to finish, so the caller may delete the upload afterwards.
        """
        if self._pending >= self.max_pending:
            raise ServerBusyError(f"server busy: {self._pending} predictions are waiting; retry shortly")
        self._pending += 1
        try:
            result = await anyio.to_thread.run_sync(functools.partial(self.predict_blocking, request,
                                                                      deadline=deadline))
        finally:
            self._pending -= 1
        self.served += 1
        return result

    def predict_blocking(self, request: PredictInput, *, deadline: float | None = None) -> RunResult:
        """The same, in the calling thread (waits for the lock, until ``deadline`` when given)."""
        asked = time.perf_counter()
        wait = -1 if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not self._lock.acquire(timeout=wait):
            raise ServerBusyError(f"server busy: waited {time.perf_counter() - asked:.0f} s for the model, up to the "
                                  "request deadline; retry shortly")
        try:
            started = time.perf_counter()
            with _without_temp_path(request):
                media = self._probe(request)
                sample = request.to_sample(has_video=media is not None and media.kind in ("video", "image"))
                tasks = None
                if request.model == "nanoemox":
                    pred, tasks = self._nanoemox(sample, request)
                else:
                    kw = {"raer": True} if request.raer else {}
                    [pred] = self.agent.predict([sample], label_set=request.labels, explain=request.explain, **kw)
            done = time.perf_counter()
        finally:
            self._lock.release()
        return RunResult(prediction=pred, media=media, queued_seconds=started - asked, model_seconds=done - started,
                         tasks=tasks)

    def _nanoemox(self, sample: Any, request: PredictInput) -> tuple[Prediction, dict[str, Any]]:
        if self.nanoemox is None:
            raise ModelUnavailableError("model nanoemox is not served by this server")
        result = self.nanoemox.get().answer(sample, request.tasks, labels=request.labels)
        return result.to_prediction(), result.tasks_dict()

    def _probe(self, request: PredictInput) -> MediaFacts | None:
        if request.media is None:
            return None
        from ..media import probe

        info = probe(request.media, max_bytes=self.max_media_bytes, max_seconds=self.max_media_seconds)
        if not info.has_video and not info.has_audio:
            raise MediaError(f"{request.filename or 'the upload'} has neither a video nor an audio stream")
        return MediaFacts(filename=request.filename, kind=info.kind,
                          duration=info.duration, size=info.size)

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(agent)`` under the model lock (start-up warm-up, maintenance)."""
        with self._lock:
            return fn(self.agent)


class _without_temp_path:
    """Re-raise user errors with the uploaded file's name in place of the server's temp path."""

    def __init__(self, request: PredictInput) -> None:
        self.paths = () if request.media is None else (str(request.media), str(request.media.parent))
        self.name = request.filename or "the upload"

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, AffectAgentError) and any(p in str(exc) for p in self.paths):
            message = str(exc)
            for p in self.paths:  # the file first, then its folder
                message = message.replace(p, self.name)
            try:
                clean = type(exc)(message)
            except TypeError:  # an error type with a different constructor
                clean = InputError(message) if isinstance(exc, InputError) else AffectAgentError(message)
            raise clean from None
        return False
