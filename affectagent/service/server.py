"""``serve(spec, settings, host=, port=, workers=)``: load the agent once, warm it up, print the URL, run uvicorn.

With ``workers > 1`` every uvicorn worker process loads its own copy of the agent (``app_from_env``); this
process loads it first anyway, so a bad checkpoint fails fast with one line and a missing knowledge base is
built once, not by every worker at the same time.

The workers get the spec and settings through environment variables (spawned processes inherit them). The API
token travels in its own variable, never inside the settings JSON, and each worker removes it from its environment
once read, so the processes it starts (ffmpeg, a llama.cpp server) do not inherit it; nothing here prints it.
"""
from __future__ import annotations

import dataclasses
import gc
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any, MutableMapping

from ..errors import InputError, MissingDependencyError
from . import INSTALL_HINT, load_app_module
from .settings import ServiceSettings
from .spec import AgentSpec

ENV_SPEC = "AFFECTAGENT_SERVICE_SPEC"
ENV_SETTINGS = "AFFECTAGENT_SERVICE_SETTINGS"
ENV_TOKEN = "AFFECTAGENT_SERVICE_API_TOKEN"  # the API token for worker processes (kept out of ENV_SETTINGS)
WARM_UP_TEXT = "Hello, how are you?"
# ServiceSettings fields that are paths (None or Path)
PATH_SETTINGS = ("upload_dir", "arena_run", "arena_votes", "nanoemox_checkpoint")


def _uvicorn():
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError(INSTALL_HINT) from None
    return uvicorn


def warm_up(app) -> None:
    """One text prediction, so the text encoder is loaded before the first request (media encoders load on the
    first media request and stay loaded)."""
    app.state.runner.call(lambda agent: agent.predict_texts([WARM_UP_TEXT]))


def check_port_free(host: str, port: int) -> None:
    """A one-line error instead of uvicorn's bind failure when the port is taken."""
    if not 0 < port < 65536:
        raise InputError(f"--port must be in 1..65535; got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _settings_to_json(settings: ServiceSettings) -> str:
    """The settings as JSON for worker processes, without the API token (``worker_environment`` passes it)."""
    d = dataclasses.asdict(settings)
    del d["api_token"]
    for name in PATH_SETTINGS:
        d[name] = str(d[name]) if d[name] is not None else None
    d["allowed_hosts"] = list(settings.allowed_hosts)
    return json.dumps(d)


def _settings_from_json(text: str, *, api_token: str | None = None) -> ServiceSettings:
    d = json.loads(text)
    for name in PATH_SETTINGS:
        d[name] = Path(d[name]) if d.get(name) else None
    return ServiceSettings(**d, api_token=api_token)


def worker_environment(spec: AgentSpec, settings: ServiceSettings) -> dict[str, str | None]:
    """The variables ``serve`` sets for its worker processes (None: remove it, so no stale token from an earlier
    call lingers)."""
    return {ENV_SPEC: spec.to_json(), ENV_SETTINGS: _settings_to_json(settings), ENV_TOKEN: settings.api_token}


def settings_from_environment(environ: MutableMapping[str, str]) -> ServiceSettings:
    """A worker's settings from ``worker_environment``'s variables; the token variable is removed from ``environ``
    once read (the worker's own subprocesses need not see it)."""
    return _settings_from_json(environ[ENV_SETTINGS], api_token=environ.pop(ENV_TOKEN, None))


def app_from_env():
    """uvicorn factory for worker processes: the spec and settings come from the environment."""
    from .protocol import HeaderTimeoutProtocol

    _configure_logging()
    settings = settings_from_environment(os.environ)
    HeaderTimeoutProtocol.header_timeout = settings.header_timeout_seconds  # this worker's connections
    app = load_app_module().create_app(AgentSpec.from_json(os.environ[ENV_SPEC]), settings=settings)
    warm_up(app)
    return app


def uvicorn_options(settings: ServiceSettings, *, host: str, port: int, log_level: str,
                    workers: int = 1) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` for the service: the h11 protocol with the request
    head deadline (``protocol.py``), a keep-alive timeout no longer than it (``keep_alive_seconds``), and uvicorn's
    own logging."""
    from .protocol import protocol_class

    http: Any = protocol_class(settings.header_timeout_seconds) if workers == 1 else \
        "affectagent.service.protocol:HeaderTimeoutProtocol"  # by name: worker processes import it
    return {"host": host, "port": port, "log_level": log_level, "http": http,
            "timeout_keep_alive": keep_alive_seconds(settings)}


def keep_alive_seconds(settings: ServiceSettings) -> int:
    """How long an idle kept-alive connection stays open: longer than a busy answer's Retry-After (a client that
    comes back after exactly that long would otherwise race the close and lose its request: measured with
    bench/load_service.py), but never longer than the time a client has to send its headers."""
    from .app import RETRY_AFTER_SECONDS

    return max(1, min(RETRY_AFTER_SECONDS + 3, int(settings.header_timeout_seconds)))


def _configure_logging() -> None:
    """Warnings from libraries, and the service's own log (errors with their id and traceback) at INFO."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("affectagent").setLevel(logging.INFO)


def serve(spec: AgentSpec, settings: ServiceSettings, *, host: str = "127.0.0.1", port: int = 8000,
          workers: int = 1, log_level: str = "info") -> None:
    """Load, warm up and serve until interrupted (blocking)."""
    create_app = load_app_module().create_app
    uvicorn = _uvicorn()
    if workers < 1:
        raise InputError(f"--workers must be >= 1; got {workers}")
    check_port_free(host, port)
    _configure_logging()

    def say(message: str) -> None:
        print(f"affectagent: {message}", file=sys.stderr, flush=True)

    say(f"loading {spec.checkpoint_path} (variant {spec.variant}) ...")
    app = create_app(spec.load(log=say), settings=settings, spec=spec)
    warm_up(app)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    token = "; API token required" if settings.api_token is not None else ""  # whether, never which
    print(f"affectagent: serving at {url}  (web page; API: {url}v1/predict, {url}health, {url}metrics{token}; "
          "Ctrl-C stops)", flush=True)
    if workers == 1:
        uvicorn.run(app, **uvicorn_options(settings, host=host, port=port, log_level=log_level))
        return
    del app
    gc.collect()
    for name, value in worker_environment(spec, settings).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    say(f"starting {workers} worker processes (each loads its own copy of the agent)")
    uvicorn.run(f"{__name__}:app_from_env", factory=True, workers=workers,
                **uvicorn_options(settings, host=host, port=port, log_level=log_level, workers=workers))
