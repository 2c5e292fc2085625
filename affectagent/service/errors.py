"""HTTP status of every error the service can meet, and the errors only the service raises.

Every error body is ``{"error": "<one line>"}``. User errors (``AffectAgentError`` subclasses) keep their message;
anything else is logged server-side with a short id and answered with a generic 500 that quotes the id.
"""
from __future__ import annotations

from ..errors import AffectAgentError, InputError, MissingDependencyError
from ..media.errors import MediaError, MediaTooLargeError


class PayloadTooLargeError(MediaTooLargeError):
    """The request body (or the uploaded file) is over the service's size limit."""


class UnsupportedContentTypeError(InputError):
    """The request is neither multipart/form-data, application/x-www-form-urlencoded nor application/json."""


class RequestSchemaError(InputError):
    """A well-formed body whose fields have the wrong names or types (HTTP 422)."""


class ServerBusyError(AffectAgentError):
    """Too many predictions are already waiting for the model (or one waited past the request deadline)."""


class ModelUnavailableError(AffectAgentError):
    """A request asks for a model this server cannot load (e.g. ``model: "nanoemox"`` without a checkpoint)."""


class RequestTimeoutError(InputError):
    """The client did not send its request body in time (a stall longer than the body timeout, or past the request
    deadline)."""


class JobConflictError(InputError):
    """A prediction asks to be watched under a job id that a running prediction already uses (HTTP 409)."""


class HostNotAllowedError(InputError):
    """The Host header names a host that is not in ``--allowed-host``."""


class OriginNotAllowedError(InputError):
    """A browser's Origin header names a site that is not in ``--allowed-host``."""


# First match wins, so subclasses come before their bases.
ERROR_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (MediaTooLargeError, 413),            # upload / body / media duration over the limit
    (UnsupportedContentTypeError, 415),
    (MediaError, 422),                    # a file arrived but is not decodable media (corrupt, empty, image, text)
    (RequestSchemaError, 422),            # JSON fields of the wrong type, unknown fields
    (RequestTimeoutError, 408),           # the body stalled or missed the request deadline
    (OriginNotAllowedError, 403),         # --allowed-host: a page of another site calling the API
    (JobConflictError, 409),              # ?job=ID while a running prediction uses that id
    (InputError, 400),                    # empty request or text, unknown labels, bad field values
    (ServerBusyError, 503),
    (ModelUnavailableError, 503),         # the asked-for model has no checkpoint on this server
    (MissingDependencyError, 503),        # the server lacks an optional package for this input
    (AffectAgentError, 500),              # environment problems (KB, encoders) with a readable message
)


def status_of(exc: BaseException) -> int | None:
    """HTTP status for a known error type, ``None`` for an unexpected exception (a bug: log it, answer 500)."""
    for kind, status in ERROR_STATUS:
        if isinstance(exc, kind):
            return status
    return None


def one_line(message: str) -> str:
    """Error messages travel as one line."""
    return " ".join(str(message).split()) or "error"
