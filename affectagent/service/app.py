"""``create_app(agent | agent_factory, settings=..., **limits)``: the FastAPI app of ``affectagent serve``.

Endpoints
    GET  /             the web page (one self-contained HTML file, no external assets)
    POST /v1/predict   multipart (file + fields) or JSON -> Prediction JSON (+ trace with explain) + timing;
                       ``model: "nanoemox"`` (+ ``task``) answers with Nano-EmoX and adds ``tasks`` (loaded on the
                       first such request; 503 when this server has no Nano-EmoX checkpoint); ``timeline`` adds the
                       per-segment predictions, ``preview`` the first frame with its face boxes (``media.frame``,
                       ``media.face_boxes``); ``?job=ID`` records the stages for /v1/progress and adds ``progress``
    GET  /v1/progress/{job}  the stages of a prediction sent with ``?job=ID``, while it runs and for a while after
                       (``progress.ProgressBoard``; 404 for an unknown job)
    GET  /v1/labels    canonical emotions and the default candidate set
    GET  /health       status, checkpoint, KB, encoders, queue, whether the API token is on
    GET  /metrics      this process's request counts, latencies, queue and memory, Prometheus text format 0.0.4
                       (``metrics.py``; every request is recorded by the ``RecordRequests`` middleware)
    GET  /openapi.json the OpenAPI schema (FastAPI's /docs page is off: it loads its scripts from a CDN)
    GET  /arena        the arena's human voting page, and /v1/arena/* (``arena_routes.py``; needs ``arena_run``)

The agent is loaded once, when the app is created; one lock serialises the model calls (``runner.py``). Every
error answers ``{"error": "<one line>"}`` with a 4xx status for bad input (``errors.py``); an unexpected
exception is logged with its traceback and answered with a generic 500. A client that goes away before its request
is read is logged at INFO (it is not a server error). With ``allowed_hosts`` set, a request for another Host gets 400
and one whose Origin names another site 403 (``AllowedHosts``). /health names files, never the server's paths.
With ``api_token`` set, predict, progress and the arena vote need ``Authorization: Bearer <token>`` (``auth.py``).
"""
# No ``from __future__ import annotations``: FastAPI reads endpoint annotations at definition time.
import dataclasses
import json
import logging
import secrets
import time
from importlib import resources
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import anyio.to_thread
import fastapi
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from .. import __version__
from ..schema import CANONICAL_EMOTIONS, SENTIMENTS
from .errors import (HostNotAllowedError, OriginNotAllowedError, RequestTimeoutError, ServerBusyError, one_line,
                     status_of)
from .arena_routes import add_arena_routes
from .auth import token_dependencies
from .inputs import short
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import MetricsRegistry, RecordRequests, render, resident_memory_bytes
from .nanoemox import NanoEmoXSlot
from .progress import JOB_ID, Job, ProgressBoard
from .reading import read_predict_request
from .runner import ModelRunner, RunResult
from .schemas import (ErrorResponse, HealthResponse, LabelsResponse, MediaOut, PredictResponse, ProgressOut,
                      TimelineOut, TimingOut)
from .settings import ServiceSettings
from .spec import AgentSpec
from .uploads import RequestFolder

log = logging.getLogger("affectagent.service")

# The page is one file with inline CSS and JS; the policy makes the browser refuse anything from elsewhere.
PAGE_SECURITY_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                        "connect-src 'self'; img-src 'self' data: blob:; media-src blob:; base-uri 'none'; form-action 'self'; "
                        "frame-ancestors 'none'")


MAX_PROGRESS_WAIT = 5.0
# Retry-After of a busy (503) answer; the server keeps an idle connection open longer than this (server.py), so a
# client that waits exactly this long and reuses its connection does not race the server closing it
RETRY_AFTER_SECONDS = 5  # GET /v1/progress/{job}?wait=: longest wait for a job that has not arrived yet


def page_html() -> str:
    """The web page (``static/index.html``, shipped as package data)."""
    return resources.files(__package__).joinpath("static", "index.html").read_text(encoding="utf-8")


# The client closed the connection (before or while sending its body): nobody is left to answer.
DISCONNECTS: tuple[type[BaseException], ...] = (ClientDisconnect, ConnectionResetError, BrokenPipeError,
                                                anyio.BrokenResourceError, anyio.ClosedResourceError)


def error_response(exc: BaseException, *, where: str):
    """``{"error": ...}`` with the status of ``exc``; unexpected exceptions are logged with an id and hidden; a
    client that disconnected is logged at INFO and gets an empty 499-style answer nobody will read."""
    if isinstance(exc, DISCONNECTS):
        log.info("%s: the client disconnected before the request was read (%s)", where, type(exc).__name__)
        return Response(status_code=400)
    status = status_of(exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(exc, ServerBusyError) else None
    if isinstance(exc, RequestTimeoutError):  # the rest of that body is not worth waiting for: end the connection
        headers = {"Connection": "close"}
    if status is None:
        ref = secrets.token_hex(4)
        log.error("%s failed [error id %s]", where, ref, exc_info=exc)
        return JSONResponse({"error": f"internal server error (error id {ref}; details in the server log)"},
                            status_code=500)
    if status >= 500:
        log.warning("%s: %s", where, one_line(str(exc)))
    return JSONResponse({"error": one_line(str(exc))}, status_code=status, headers=headers)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether host name ``host`` (no port) matches an entry of ``allowed`` ("name", "*.name", or "*")."""
    host = host.strip().lower().rstrip(".")
    for pattern in allowed:
        if pattern == "*" or host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def _host_name(value: str) -> str:
    """The host of a Host header ("example.com:8000" -> "example.com", "[::1]:8000" -> "::1")."""
    value = value.strip()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class AllowedHosts:
    """ASGI middleware: answer only requests whose Host (and, when present, Origin) is in ``allowed``."""

    def __init__(self, app: Any, *, allowed: tuple[str, ...]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.allowed:
            return await self.app(scope, receive, send)
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = _host_name(headers.get(b"host", ""))
        error: Exception | None = None
        if not host_allowed(host, self.allowed):
            error = HostNotAllowedError(f"host {host[:60]!r} is not served here (--allowed-host)")
        elif b"origin" in headers:
            origin = headers[b"origin"]
            name = urlsplit(origin).hostname if origin != "null" else None
            if not name or not host_allowed(name, self.allowed):
                error = OriginNotAllowedError(f"requests from origin {origin[:80]!r} are not allowed (--allowed-host)")
        if error is None:
            return await self.app(scope, receive, send)
        body = json.dumps({"error": str(error)}).encode()
        await send({"type": "http.response.start", "status": status_of(error) or 400,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def create_app(agent: Any, *, settings: ServiceSettings | None = None, spec: AgentSpec | None = None,
               **limits: Any):
    """The web app serving ``agent``.

    agent:    an ``AffectAgent`` (anything with ``predict``), or a factory called once here to load it
              (e.g. an ``AgentSpec``; a loading error propagates to the caller).
    settings: limits and upload folder (``ServiceSettings``); ``**limits`` override its fields by name,
              e.g. ``create_app(agent, max_upload_mb=50)``.
    spec:     what the agent was loaded from, reported by /health (default: ``agent`` itself when it is an
              ``AgentSpec``).
    """
    settings = dataclasses.replace(settings or ServiceSettings(), **limits)
    if spec is None and isinstance(agent, AgentSpec):
        spec = agent
    if not hasattr(agent, "predict"):
        factory: Callable[[], Any] = agent
        agent = factory()
    nanoemox = NanoEmoXSlot(settings.nanoemox_checkpoint, feature_cache=bool(spec and spec.feature_cache))
    runner = ModelRunner(agent, max_pending=settings.max_pending, max_media_bytes=settings.max_upload_bytes,
                         max_media_seconds=settings.max_media_seconds, nanoemox=nanoemox)
    page = page_html()
    described = agent.describe()
    labels_body = {"canonical": list(CANONICAL_EMOTIONS), "default": list(agent.default_labels),
                   "sentiments": list(SENTIMENTS)}

    app = fastapi.FastAPI(title="affectagent", version=__version__, docs_url=None, redoc_url=None,
                          description="Multimodal emotion understanding: upload a clip or send a text.")
    board = ProgressBoard()
    registry = MetricsRegistry()
    app.state.runner = runner
    app.state.settings = settings
    app.state.progress = board
    app.state.metrics = registry
    if settings.allowed_hosts:
        app.add_middleware(AllowedHosts, allowed=settings.allowed_hosts)
    app.add_middleware(RecordRequests, registry=registry)  # added last: outermost, so refused hosts count too
    needs_token = token_dependencies(settings.api_token)  # [] without a token

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc):  # 404, 405 ... as {"error": ...}
        return JSONResponse({"error": one_line(str(exc.detail))}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}"}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request, exc):
        return error_response(exc, where=f"{request.method} {request.url.path}")

    auth_doc = (401,) if needs_token else ()
    errors_doc = {code: {"model": ErrorResponse} for code in (400, *auth_doc, 409, 413, 415, 422, 500, 503)}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_SECURITY_POLICY,
                                           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():  # browsers ask for it; no icon, and no 404 in their consoles
        return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})

    add_arena_routes(app, settings)

    kb_name = Path(described["kb"]).name if described.get("kb") else None

    @app.get("/health", response_model=HealthResponse)
    async def health():  # file and folder names only: the server's paths are nobody else's business
        return {"status": "ok", "version": __version__,
                "checkpoint": spec.checkpoint_path.name if spec else None,
                "recipe": described.get("checkpoint"), "kb": kb_name,
                "encoders": dict(described.get("encoders") or {}), "variant": spec.variant if spec else None,
                "max_upload_mb": settings.max_upload_mb, "pending": runner.pending, "served": runner.served,
                "auth": settings.api_token is not None}

    @app.get("/metrics", include_in_schema=False)
    async def metrics():  # open like /health: counts and timings, no request content
        snap = registry.snapshot(queue_depth=runner.pending, predictions_served=runner.served, version=__version__,
                                 resident_memory=resident_memory_bytes())
        return Response(render(snap), media_type=METRICS_CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    @app.get("/v1/labels", response_model=LabelsResponse)
    async def labels():
        return labels_body

    @app.post("/v1/predict", response_model=PredictResponse, responses=errors_doc,
              openapi_extra={"requestBody": _predict_body_doc(), "parameters": [_job_parameter_doc()]},
              dependencies=needs_token)
    async def predict(request: fastapi.Request):
        started = time.perf_counter()
        deadline = time.monotonic() + settings.request_timeout_seconds  # body + queue, see ServiceSettings
        folder = RequestFolder(parent=settings.upload_dir)
        job: Job | None = None
        try:
            if "job" in request.query_params:  # registered before the body is read: the upload is a stage too
                job = board.open(request.query_params["job"])
                job.start("receive")
            parsed = await read_predict_request(request, folder=folder, settings=settings, deadline=deadline)
            if job is not None:
                job.end("receive")
            result = await runner.predict(parsed, deadline=deadline, job=job)
            body = _response_body(result, explain=parsed.explain, raer=parsed.raer,
                                  seconds=time.perf_counter() - started)
            if job is not None:
                job.finish()
                body["progress"] = ProgressOut(**job.snapshot()).model_dump(mode="json")
            return JSONResponse(body)
        except Exception as exc:  # noqa: BLE001  (every failure becomes a JSON error; bugs are logged)
            if isinstance(exc, ServerBusyError):
                registry.count_rejected_busy()
            response = error_response(exc, where="POST /v1/predict")
            if job is not None:
                job.finish(error=_job_error(exc, response.status_code))
            return response
        finally:
            await anyio.to_thread.run_sync(folder.cleanup)

    @app.get("/v1/progress/{job}", response_model=ProgressOut,
             responses={code: {"model": ErrorResponse} for code in (*auth_doc, 404)},
             dependencies=needs_token)
    async def job_progress(job: str, wait: float = fastapi.Query(0.0, ge=0.0, le=MAX_PROGRESS_WAIT, description=(
            "seconds to wait for a job the server has not seen yet (its request may still be on the way) before "
            "answering 404"))):
        snapshot = board.snapshot(job)
        until = time.monotonic() + wait
        while snapshot is None and time.monotonic() < until:
            await anyio.sleep(0.05)
            snapshot = board.snapshot(job)
        if snapshot is None:
            return JSONResponse({"error": f"unknown job {short(job)!r}: no prediction was sent with ?job= this id, or "
                                          f"it finished more than {board.keep_seconds:g} s ago"}, status_code=404)
        return JSONResponse(snapshot, headers={"Cache-Control": "no-store"})

    return app


def _job_error(exc: BaseException, status: int) -> str:
    """What the progress of a failed job says: the answer's one-line error (never an internal detail)."""
    if status_of(exc) is None:
        return "internal server error (details in the server log)"
    return one_line(str(exc)) if not isinstance(exc, DISCONNECTS) else "the client disconnected"


def _job_parameter_doc() -> dict[str, Any]:
    return {"name": "job", "in": "query", "required": False,
            "schema": {"type": "string", "pattern": JOB_ID.pattern},
            "description": "a client-made id (1-64 letters, digits, - or _): GET /v1/progress/{job} then reports "
                           "the prediction's stages while it runs, and the answer adds `progress`; 409 while another "
                           "running prediction uses it"}


def _response_body(result: RunResult, *, explain: bool, seconds: float, raer: bool = False) -> dict[str, Any]:
    """``Prediction.to_dict`` + timing + media (+ the RAER record when asked for), checked against
    ``PredictResponse``."""
    pred = result.prediction.to_dict(with_trace=explain)
    facts = None
    if result.media is not None:
        extra: dict[str, Any] = {}
        if result.preview is not None:
            extra = {"frame": result.preview.frame_dict(),
                     "face_boxes": [dataclasses.asdict(b) for b in result.preview.face_boxes]}
        facts = MediaOut(**dataclasses.asdict(result.media), **extra)
    timing = TimingOut(seconds=round(seconds, 4), queued_seconds=round(result.queued_seconds, 4),
                       model_seconds=round(result.model_seconds, 4))
    timeline = None if result.timeline is None else TimelineOut(**_timeline_dict(result.timeline))
    body = PredictResponse(**pred, tasks=result.tasks, timing=timing, media=facts, timeline=timeline)
    out = body.model_dump(mode="json")
    if "trace" not in pred:
        out.pop("trace")
    for key in ("tasks", "timeline", "progress"):  # fields of options not asked for stay out of the answer
        if out[key] is None:
            out.pop(key)
    if out["media"] is not None and result.preview is None:
        out["media"].pop("frame")
        out["media"].pop("face_boxes")
    if raer:
        out["raer"] = (result.prediction.trace or {}).get("raer")
    return out


def _timeline_dict(tl: Any) -> dict[str, Any]:
    """A ``timeline.Timeline`` as ``TimelineOut`` fields (never its source path: that is the server's temp file)."""
    faces = None
    if tl.faces is not None:
        faces = {"times": [round(float(t), 3) for t in tl.faces.times], "found": [bool(f) for f in tl.faces.found],
                 "detector": tl.faces.detector}
    from ..timeline.plot import emotion_colour  # noqa: PLC0415 - matplotlib itself loads only to draw

    return {"window": tl.config.window, "hop": tl.config.hop, "duration": tl.duration, "kind": tl.kind,
            "labels": list(tl.labels), "colours": {lab: emotion_colour(lab) for lab in tl.labels},
            "rows": tl.to_rows(), "faces": faces, "notes": list(tl.notes), "seconds": tl.seconds}


def _predict_body_doc() -> dict[str, Any]:
    """OpenAPI description of the two accepted bodies (the endpoint parses them itself)."""
    text = {"type": "string"}
    return {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "video, audio or still-image file (jpg / png / webp / bmp)"},
            "text": text, "context": {"type": "string", "description": "one 'Speaker: text' per line"},
            "speaker": text, "labels": {"type": "string", "description": "comma-separated canonical emotions"},
            "explain": {"type": "boolean"}, "raer": {"type": "boolean"},
            "timeline": {"type": "boolean", "description": "also predict each segment of the clip (video / audio)"},
            "window": {"type": "string", "description": "timeline segment seconds: 2, 2s, 1.5s, 500ms (default 2)"},
            "hop": {"type": "string", "description": "seconds between timeline segment starts, <= window (default 1)"},
            "preview": {"type": "boolean", "description": "video / image: return the first sampled frame with its "
                                                          "face boxes (media.frame, media.face_boxes)"},
            "model": {"type": "string", "enum": ["agents", "nanoemox"]},
            "task": {"type": "string", "description": "Nano-EmoX tasks: mer, msa, ov, eri, mir, erg, comma-separated, "
                                                      "or all (default)"}}}},
        "application/json": {"schema": {"type": "object", "additionalProperties": False, "properties": {
            "text": text, "speaker": text, "explain": {"type": "boolean", "default": False},
            "raer": {"type": "boolean", "default": False},
            "timeline": {"type": "boolean", "default": False, "description": "needs a file: use multipart"},
            "window": {"anyOf": [{"type": "number"}, text]}, "hop": {"anyOf": [{"type": "number"}, text]},
            "preview": {"type": "boolean", "default": False},
            "model": {"type": "string", "enum": ["agents", "nanoemox"], "default": "agents"},
            "task": {"anyOf": [{"type": "array", "items": text}, text]},
            "context": {"anyOf": [{"type": "array", "items": {"type": "object", "required": ["text"], "properties": {
                "speaker": text, "text": text}}}, {"type": "string", "description": "'Speaker: text' lines"}]},
            "labels": {"anyOf": [{"type": "array", "items": text}, text]}}}},
    }}
