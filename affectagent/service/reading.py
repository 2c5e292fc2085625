"""Turn an HTTP request to POST /v1/predict into a ``PredictInput``: multipart form (file + fields), url-encoded
form or JSON. Sizes are enforced while the body streams in; every problem is a typed error (see ``errors.py``).

Form fields: ``file`` (video/audio), ``text``, ``context`` (lines "Speaker: text"), ``speaker``, ``labels``
(comma-separated), ``explain`` (true/false), ``model`` (agents | nanoemox), ``task`` (Nano-EmoX tasks, comma-separated
or all), ``timeline`` (true/false) with ``window`` / ``hop`` (seconds: "2", "2s", "500ms"), ``preview``
(true/false). Blank form fields count as absent (browsers send every field).
JSON: ``{"text", "context": [{"speaker", "text"}] | "lines", "speaker", "labels": [...] | "a,b", "explain", "raer",
"model", "task": "mer" | "mer,ov" | [...] | "all", "timeline", "window", "hop", "preview"}``; there an explicit
empty text is an error (and a timeline, which needs a file, is refused with a message saying so).
"""
from __future__ import annotations

import functools
from typing import Any

import anyio.to_thread
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ..errors import InputError
from ..schema import Turn
from .errors import PayloadTooLargeError, RequestSchemaError, UnsupportedContentTypeError
from .inputs import (PredictInput, check_input, check_labels_size, parse_context_lines, parse_flag, parse_labels,
                     safe_filename, short)
from .schemas import PredictJSON
from .settings import ServiceSettings
from .uploads import RequestFolder, limit_receive, save_upload

FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
FORM_FIELDS = frozenset({"file", "text", "context", "speaker", "labels", "explain", "raer", "model", "task",
                         "timeline", "window", "hop", "preview"})
JSON_FIELDS = "text, context, speaker, labels, explain, raer, model, task, timeline, window, hop, preview"
EMPTY_REQUEST = "empty request: upload a video/audio file and/or send a non-empty text"


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _limited(request: Request, *, max_bytes: int, what: str, limit_text: str, settings: ServiceSettings,
             deadline: float | None) -> Request:
    """The request with a byte budget and read timeouts: refused at once when the client announces a bigger body,
    counted while it streams in (chunked uploads have no Content-Length), and cut off when it stalls for
    ``body_timeout_seconds`` or is not complete by ``deadline``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(f"{what} is {int(declared) / (1 << 20):.1f} MiB, over the {limit_text} limit")
    return Request(request.scope, receive=limit_receive(
        request.receive, max_bytes=max_bytes, what=what, limit_text=limit_text,
        idle_timeout=settings.body_timeout_seconds, deadline=deadline,
        deadline_text=f"the {settings.request_timeout_seconds:g} s request deadline"))


async def read_predict_request(request: Request, *, folder: RequestFolder, settings: ServiceSettings,
                               deadline: float | None = None) -> PredictInput:
    """Parse and check the request; an uploaded file is copied into ``folder`` (the caller removes it).
    ``deadline``: ``time.monotonic()`` value by which the body must be in (see ``ServiceSettings``)."""
    kind = content_type(request)
    if kind == "application/json":
        return await _read_json(request, settings, deadline)
    if kind in FORM_TYPES:
        return await _read_form(request, folder=folder, settings=settings, deadline=deadline)
    if not kind and request.headers.get("content-length", "0") == "0" and "transfer-encoding" not in request.headers:
        raise InputError(EMPTY_REQUEST)
    raise UnsupportedContentTypeError(
        f"unsupported content type {kind or '(none)'!r}: send multipart/form-data (a file and/or fields) or "
        "application/json")


async def _read_json(request: Request, settings: ServiceSettings, deadline: float | None) -> PredictInput:
    body = await _limited(request, max_bytes=settings.max_json_bytes, what="the JSON body",
                          limit_text=f"{settings.max_json_kb} KiB", settings=settings, deadline=deadline).body()
    if not body.strip():
        raise InputError(EMPTY_REQUEST)
    try:
        data = PredictJSON.model_validate_json(body)
    except ValidationError as exc:
        raise _schema_error(exc) from None
    if isinstance(data.context, str):
        context = parse_context_lines(data.context)
    else:
        context = tuple(Turn(speaker=t.speaker, text=t.text) for t in data.context or ())
    check_labels_size(data.labels)
    return check_input(text=data.text, context=context, speaker=data.speaker, labels=parse_labels(data.labels),
                       explain=data.explain, raer=data.raer, media=None, filename=None, settings=settings,
                       model=data.model, task=data.task, timeline=data.timeline, window=data.window, hop=data.hop,
                       preview=data.preview)


def _schema_error(exc: ValidationError) -> InputError:
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return InputError(f"malformed JSON: {first.get('ctx', {}).get('error', first.get('msg', 'cannot parse'))}")
    if first.get("type") == "model_type":
        return RequestSchemaError(f"the JSON body must be an object with the fields {JSON_FIELDS}")
    where = short(".".join(str(p) for p in first.get("loc", ())) or "body")
    if first.get("type") == "extra_forbidden":
        return RequestSchemaError(f"unknown field {where!r}; allowed: {JSON_FIELDS}")
    return RequestSchemaError(f"field {where!r}: {first.get('msg', 'invalid value')}")


async def _read_form(request: Request, *, folder: RequestFolder, settings: ServiceSettings,
                     deadline: float | None) -> PredictInput:
    limited = _limited(request, max_bytes=settings.max_form_bytes, what="the upload",
                       limit_text=f"{settings.max_upload_mb:g} MiB", settings=settings, deadline=deadline)
    try:
        form = await limited.form(max_files=1, max_fields=len(FORM_FIELDS),
                                  max_part_size=settings.max_form_bytes - settings.max_upload_bytes)
    except HTTPException as exc:  # Starlette's multipart errors (malformed body, too many files/fields)
        raise InputError(f"bad form data: {exc.detail}") from None
    try:
        unknown = sorted(set(form.keys()) - FORM_FIELDS)
        if unknown:
            raise RequestSchemaError(f"unknown form field(s) {[short(u) for u in unknown[:5]]}; allowed: "
                                     f"{', '.join(sorted(FORM_FIELDS))}")
        fields: dict[str, str | None] = {}
        for name in FORM_FIELDS - {"file"}:
            values = form.getlist(name)
            if len(values) > 1:
                raise RequestSchemaError(f"form field {name!r} is given {len(values)} times")
            value = values[0] if values else None
            if isinstance(value, UploadFile):
                raise RequestSchemaError(f"form field {name!r} must be text, not a file")
            fields[name] = value if value is not None and value.strip() else None
        upload = form.get("file")
        if upload is not None and not isinstance(upload, UploadFile):
            if upload.strip():
                raise RequestSchemaError("form field 'file' must be a file upload")
            upload = None
        media = filename = None
        if isinstance(upload, UploadFile) and (upload.filename or (upload.size or 0) > 0):
            filename = safe_filename(upload.filename) or "upload"
            media, _ = await anyio.to_thread.run_sync(functools.partial(
                save_upload, upload.file, filename=upload.filename, folder=folder,
                max_bytes=settings.max_upload_bytes))
        check_labels_size(fields["labels"])
        return check_input(text=fields["text"], context=parse_context_lines(fields["context"] or ""),
                           speaker=fields["speaker"], labels=parse_labels(fields["labels"]),
                           explain=parse_flag(fields["explain"], name="explain"), media=media, filename=filename,
                           settings=settings, raer=parse_flag(fields["raer"], name="raer"), model=fields["model"],
                           task=fields["task"], timeline=parse_flag(fields["timeline"], name="timeline"),
                           window=fields["window"], hop=fields["hop"],
                           preview=parse_flag(fields["preview"], name="preview"))
    finally:
        await form.close()
