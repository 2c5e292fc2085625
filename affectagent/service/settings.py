"""``ServiceSettings``: the limits and folders of the HTTP service (one typed config, validated on creation)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

MIB = 1 << 20
MIN_TOKEN_CHARS = 16
MAX_TOKEN_CHARS = 4096  # a header line, not a document


def check_api_token(token: object) -> str:
    """``token`` when it can be an API token (a str of MIN_TOKEN_CHARS..MAX_TOKEN_CHARS visible ASCII characters,
    so it survives an HTTP header unchanged), else ``InputError``; the message never quotes the token."""
    if not isinstance(token, str):
        raise InputError(f"api_token must be a string; got {type(token).__name__}")
    if len(token) < MIN_TOKEN_CHARS:
        raise InputError(f"the API token must be at least {MIN_TOKEN_CHARS} characters; got {len(token)} (make one "
                         "with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    if len(token) > MAX_TOKEN_CHARS:
        raise InputError(f"the API token must be at most {MAX_TOKEN_CHARS} characters; got {len(token)}")
    bad = next((i for i, c in enumerate(token) if not "!" <= c <= "~"), None)
    if bad is not None:
        raise InputError(f"the API token must be visible ASCII characters (no spaces, tabs, newlines or other "
                         f"characters); character {bad + 1} is not")
    return token


@dataclass(frozen=True)
class ServiceSettings:
    """How the web service treats requests.

    max_upload_mb:     largest uploaded media file in MiB (bigger: HTTP 413, refused while streaming, before decoding).
    max_media_seconds: longest accepted media duration in seconds (longer: HTTP 413).
    max_text_chars:    longest accepted utterance text (and each context turn), in characters.
    max_speaker_chars: longest accepted speaker name (of the utterance and of each context turn), in characters.
    max_context_turns: most dialogue-context turns accepted in one request.
    max_json_kb:       largest JSON body in KiB.
    max_pending:       predictions allowed to wait for the model at once; one more gets HTTP 503 (server busy).
    upload_dir:        parent folder of the per-request temporary folders (default: the system temp folder).
                       Each request's folder is deleted when the request ends, whatever happened.
    header_timeout_seconds:  time a client has to send a request's line and headers, from opening the connection
                       (or from the previous answer on a kept-alive one); past it the server answers 408 and closes.
    body_timeout_seconds:    longest pause while a request body streams in; a client that stalls longer gets 408.
    request_timeout_seconds: deadline of one prediction request from its arrival to the model starting on it: the
                       whole body plus the wait behind other requests (408 while the body is still arriving, 503 with
                       Retry-After while waiting for the model). A prediction that has started runs to its end (its
                       length is bounded by max_media_seconds and max_text_chars).
    allowed_hosts:     host names the service answers to (the Host header, without the port; "*.example.com" for
                       subdomains); an Origin header, when a browser sends one, must name one of them too. Empty:
                       any host and origin (the default, for 127.0.0.1 behind a proxy). Otherwise 400 / 403.
    arena_run:         an arena run folder (``affectagent arena run --out DIR``) whose stored matches the ``/arena``
                       page puts to human judges; None: the page says no arena run is configured.
    arena_votes:       the SQLite file the human votes are stored in (default: ``<arena_run>/votes.sqlite``).
    max_timeline_segments: most segments a ``timeline`` request may cut its clip into (more: HTTP 400 saying which
                       hop would fit); each segment is one more prediction under the model lock.
    nanoemox_checkpoint: the Nano-EmoX model folder answering requests with ``model: "nanoemox"`` (loaded on the
                       first such request; None: ``$AFFECTAGENT_NANOEMOX``, else the shipped folder when it exists,
                       else those requests get HTTP 503 saying how to train one).
    api_token:         when set, POST /v1/predict, GET /v1/progress/{job} and POST /v1/arena/votes need the header
                       ``Authorization: Bearer <api_token>`` (else HTTP 401); the page, /health, /v1/labels,
                       /openapi.json and /metrics stay open. At least 16 visible ASCII characters (no whitespace: it
                       travels in a header). Kept out of the settings' repr, so it never reaches a log line.
    """

    max_upload_mb: float = 200.0
    max_media_seconds: float = 600.0
    max_text_chars: int = 10_000
    max_speaker_chars: int = 100
    max_context_turns: int = 50
    max_json_kb: int = 1024
    max_pending: int = 16
    upload_dir: Path | None = None
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    request_timeout_seconds: float = 300.0
    allowed_hosts: tuple[str, ...] = ()
    arena_run: Path | None = None
    arena_votes: Path | None = None
    max_timeline_segments: int = 120
    nanoemox_checkpoint: Path | None = None
    api_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        positive = {"max_upload_mb": self.max_upload_mb, "max_media_seconds": self.max_media_seconds,
                    "max_text_chars": self.max_text_chars, "max_speaker_chars": self.max_speaker_chars,
                    "max_context_turns": self.max_context_turns,
                    "max_json_kb": self.max_json_kb, "max_pending": self.max_pending,
                    "header_timeout_seconds": self.header_timeout_seconds,
                    "body_timeout_seconds": self.body_timeout_seconds,
                    "request_timeout_seconds": self.request_timeout_seconds,
                    "max_timeline_segments": self.max_timeline_segments}
        for name, value in positive.items():
            if not value > 0:
                raise InputError(f"{name} must be > 0; got {value}")
        if self.upload_dir is not None:
            path = Path(self.upload_dir)
            if not path.is_dir():
                raise InputError(f"upload folder not found: {path}")
            object.__setattr__(self, "upload_dir", path)
        hosts = (self.allowed_hosts,) if isinstance(self.allowed_hosts, str) else tuple(self.allowed_hosts)
        clean = []
        for h in hosts:
            name = str(h).strip().lower().rstrip(".")
            if not name or any(c in name for c in "/ :@") and not name.startswith("["):
                raise InputError(f"allowed host must be a host name such as example.com or *.example.com (no scheme, "
                                 f"port or path); got {h!r}")
            if name.startswith("[") and name.endswith("]"):
                name = name[1:-1]  # [::1] -> ::1, as the Host header is compared without brackets
            clean.append(name)
        object.__setattr__(self, "allowed_hosts", tuple(dict.fromkeys(clean)))
        if self.arena_run is not None:
            run = Path(self.arena_run).expanduser()
            if not (run / "run.json").is_file():
                raise InputError(f"arena run folder not found or not a run (no run.json): {run}")
            object.__setattr__(self, "arena_run", run)
        if self.arena_votes is not None:
            if self.arena_run is None:
                raise InputError("arena_votes needs arena_run (the votes are about that run's matches)")
            votes = Path(self.arena_votes).expanduser()
            if votes.is_dir():
                raise InputError(f"arena votes file is a folder: {votes}")
            object.__setattr__(self, "arena_votes", votes)
        if self.api_token is not None:
            check_api_token(self.api_token)
        if self.nanoemox_checkpoint is not None:  # a folder named at start-up must be a model folder: fail fast
            from ..nanoemox.predictor import resolve_checkpoint

            object.__setattr__(self, "nanoemox_checkpoint", resolve_checkpoint(self.nanoemox_checkpoint))

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MIB)

    @property
    def max_json_bytes(self) -> int:
        return self.max_json_kb * 1024

    @property
    def max_form_bytes(self) -> int:
        """Whole multipart body: the file plus room for the text fields and the multipart framing."""
        chars = (self.max_text_chars + self.max_speaker_chars) * (self.max_context_turns + 2)
        fields = chars * 4  # UTF-8: at most 4 bytes per character
        return self.max_upload_bytes + fields + 64 * 1024
