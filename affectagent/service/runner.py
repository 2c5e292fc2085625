"""``ModelRunner``: the one loaded ``AffectAgent`` of a server process, called by one request at a time.

The encoders and agents are not thread-safe, so every model call (probing the upload, encoding, the pipeline, or
the Nano-EmoX model for a ``model: "nanoemox"`` request, loaded on first use by ``nanoemox.NanoEmoXSlot``; the
preview frame's face boxes and a timeline's segments) holds one lock. Requests run the call in a worker thread, so
the event loop keeps answering (/health, the page, uploads, /v1/progress) while a prediction computes; waiting
requests queue on the lock, and past ``max_pending`` waiting requests a new one is refused with ``ServerBusyError``
instead of piling up.

A request watched as a ``progress.Job`` gets its stages recorded: "queue" (the wait for the lock), "check" (probe),
"predict" (with the agent's own stage reports inside: ``affectagent.progress``), "preview", "timeline" (a count of
segments; their inner stages are not reported). Without a job nothing is recorded and nothing listens.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import anyio.to_thread

from .. import progress
from ..errors import AffectAgentError, InputError
from ..media import MediaConfig
from ..media.errors import MediaError
from ..schema import Prediction
from .errors import ModelUnavailableError, ServerBusyError
from .inputs import PredictInput
from .preview import FaceBoxes, FramePreview

if TYPE_CHECKING:
    from ..timeline import Timeline
    from .progress import Job


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
    Nano-EmoX answers (task -> ``TaskAnswer.to_dict()``) of a ``model: "nanoemox"`` request, else None;
    ``preview``: the first frame with its face boxes (asked for, video / image); ``timeline``: the per-segment
    predictions (asked for)."""

    prediction: Prediction
    media: MediaFacts | None
    queued_seconds: float
    model_seconds: float
    tasks: dict[str, Any] | None = None
    preview: FramePreview | None = None
    timeline: "Timeline | None" = None


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
        self.faces = FaceBoxes()  # preview boxes and the timeline's face track (loads on first use)
        extract = getattr(getattr(agent, "encoding", None), "extract", None)
        self.media_config: MediaConfig = getattr(extract, "media", None) or MediaConfig()

    @property
    def pending(self) -> int:
        return self._pending

    async def predict(self, request: PredictInput, *, deadline: float | None = None,
                      job: "Job | None" = None) -> RunResult:
        """Run ``request`` in a worker thread under the model lock (raises ``ServerBusyError`` when the queue is full,
        or when the lock is not free by ``deadline``, a ``time.monotonic()`` value); ``job`` records its stages.

        A cancelled request still waits for its thread to finish, so the caller may delete the upload afterwards.
        """
        if self._pending >= self.max_pending:
            raise ServerBusyError(f"server busy: {self._pending} predictions are waiting; retry shortly")
        self._pending += 1
        try:
            result = await anyio.to_thread.run_sync(functools.partial(self.predict_blocking, request,
                                                                      deadline=deadline, job=job))
        finally:
            self._pending -= 1
        self.served += 1
        return result

    def predict_blocking(self, request: PredictInput, *, deadline: float | None = None,
                         job: "Job | None" = None) -> RunResult:
        """The same, in the calling thread (waits for the lock, until ``deadline`` when given)."""
        asked = time.perf_counter()
        wait = -1 if deadline is None else max(deadline - time.monotonic(), 0.0)
        if job is not None:
            job.start("queue")
        if not self._lock.acquire(timeout=wait):
            if job is not None:
                job.end("queue", failed=True)
            raise ServerBusyError(f"server busy: waited {time.perf_counter() - asked:.0f} s for the model, up to the "
                                  "request deadline; retry shortly")
        if job is not None:
            job.end("queue")
        try:
            started = time.perf_counter()
            with (progress.listen(job.on_event) if job is not None else nullcontext()), _without_temp_path(request):
                result = self._run(request, job=job)
            done = time.perf_counter()
        finally:
            self._lock.release()
        return dataclasses.replace(result, queued_seconds=started - asked, model_seconds=done - started)

    def _run(self, request: PredictInput, *, job: "Job | None") -> RunResult:
        """Probe, predict, then the extras asked for (under the lock; times are filled in by the caller)."""
        with progress.stage("check"):
            media = self._probe(request)
            n_segments = self._plan_timeline(request, media)
        sample = request.to_sample(has_video=media is not None and media.kind in ("video", "image"))
        tasks = None
        with progress.stage("predict"):
            if request.model == "nanoemox":
                with progress.stage("nanoemox"):
                    pred, tasks = self._nanoemox(sample, request)
            else:
                kw = {"raer": True} if request.raer else {}
                [pred] = self.agent.predict([sample], label_set=request.labels, explain=request.explain, **kw)
        preview = None
        if request.preview and media is not None and media.kind in ("video", "image"):
            with progress.stage("preview"):
                preview = self.faces.preview(request.media, media=self.media_config)  # type: ignore[arg-type]
        timeline = None
        if request.timeline is not None:
            with progress.stage("timeline"):
                timeline = self._timeline(request, n_segments, job=job)
        return RunResult(prediction=pred, media=media, queued_seconds=0.0, model_seconds=0.0, tasks=tasks,
                         preview=preview, timeline=timeline)

    def _plan_timeline(self, request: PredictInput, media: MediaFacts | None) -> int | None:
        """How many segments the asked-for timeline will have; a still image, a clip of unknown length or too many
        segments is a ``TimelineError`` now, before any prediction runs."""
        if request.timeline is None or media is None:
            return None
        from ..timeline import TimelineError, plan_segments

        name = request.filename or "the upload"
        if media.kind == "image":
            raise TimelineError(f"{name} is a still image; a timeline needs a video or audio file that lasts")
        if not media.duration:
            raise TimelineError(f"{name}: the container does not say how long it lasts, so it cannot be segmented")
        return len(plan_segments(media.duration, request.timeline))

    def _timeline(self, request: PredictInput, total: int | None, *, job: "Job | None") -> "Timeline":
        """``timeline.run_timeline`` over the upload: each segment predicted by the agents with ``explain`` (so the
        rows keep their transcripts), the face track from ``self.faces``; ``job`` counts the finished segments."""
        from ..timeline import run_timeline

        finished = 0

        def predict_segment(sample: Any) -> Prediction:
            [pred] = self.agent.predict([sample], label_set=request.labels, explain=True)
            return pred

        def on_row(row: Any) -> None:
            nonlocal finished
            finished += 1
            if job is not None:
                job.count("timeline", finished, total)

        if job is not None:
            job.count("timeline", 0, total)
        with progress.listen(None):  # each segment's own stages would bury the list: the count says how far it is
            timeline = run_timeline(request.media, predict_segment=predict_segment,  # type: ignore[arg-type]
                                    config=request.timeline, media=self.media_config, face_detector=self.faces,
                                    on_row=on_row, workdir=request.media.parent)  # type: ignore[union-attr]
        hide = _without_temp_path(request)  # a failed row's error or a note may name a slice in the temp folder
        for row in timeline.rows:
            row.error = None if row.error is None else hide.clean(row.error)
        timeline.notes = [hide.clean(n) for n in timeline.notes]
        return timeline

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

    def clean(self, message: str) -> str:
        """``message`` with the upload's name for the temp file, and for any other path in its temp folder."""
        if not self.paths:
            return message
        file, folder = self.paths
        message = message.replace(file, self.name)
        return re.sub(re.escape(folder) + r"[^\s'\"]*", self.name, message)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, AffectAgentError) and any(p in str(exc) for p in self.paths):
            message = self.clean(str(exc))
            try:
                clean = type(exc)(message)
            except TypeError:  # an error type with a different constructor
                clean = InputError(message) if isinstance(exc, InputError) else AffectAgentError(message)
            raise clean from None
        return False
