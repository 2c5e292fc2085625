"""The HTTP service and web page of ``affectagent serve`` (FastAPI + uvicorn, imported lazily).

    from affectagent.service import create_app, ServiceSettings
    app = create_app(AffectAgent.load(), max_upload_mb=50)     # or create_app(AgentSpec(checkpoint=...))

Modules: ``app`` (routes), ``reading`` (HTTP body -> ``PredictInput``), ``inputs`` (pure parsing and checks),
``uploads`` (byte budget, temp folders), ``runner`` (the model lock), ``progress`` (the stages of ``?job=``
predictions for /v1/progress), ``preview`` (the first frame and its face boxes), ``schemas`` (pydantic bodies),
``errors`` (status codes), ``settings``, ``spec`` (which agent to load), ``server`` (uvicorn), ``metrics`` (GET
/metrics, Prometheus text format), ``auth`` (the optional API token), ``static/index.html`` (the page).
"""
from __future__ import annotations

from typing import Any

from .settings import ServiceSettings
from .spec import AgentSpec

__all__ = ["AgentSpec", "ServiceSettings", "create_app", "serve"]


INSTALL_HINT = ("the web service needs fastapi, uvicorn and python-multipart: pip install fastapi==0.165.0 "
                "uvicorn==0.54.0 python-multipart==0.0.34")


def load_app_module():
    """``affectagent.service.app`` (imports FastAPI), or ``MissingDependencyError`` with the install command."""
    from ..errors import MissingDependencyError

    try:
        from . import app
    except ImportError as exc:
        raise MissingDependencyError(f"{INSTALL_HINT} ({exc})") from None
    return app


def __getattr__(name: str) -> Any:  # fastapi / uvicorn load only when the app is built
    if name == "create_app":
        return load_app_module().create_app
    if name == "serve":
        from .server import serve

        return serve
    raise AttributeError(name)
