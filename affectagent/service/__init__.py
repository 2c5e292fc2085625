"""The HTTP service and web page of ``affectagent serve`` (FastAPI + uvicorn, imported lazily).

    from affectagent.service import create_app, ServiceSettings
    app = create_app(AffectAgent.load(), max_upload_mb=50)     # or create_app(AgentSpec(checkpoint=...))

Modules: ``app`` (routes), ``reading`` (HTTP body -> ``PredictInput``), ``inputs`` (pure parsing and checks),
``uploads`` (byte budget, temp folders), ``runner`` (the model lock), ``schemas`` (pydantic bodies), ``errors``
(status codes), ``settings``, ``spec`` (which agent to load), ``server`` (uvicorn), ``static/index.html`` (the page).
"""
from __future__ import annotations

from typing import Any

from .settings import ServiceSettings
from .spec import AgentSpec

__all__ = ["AgentSpec", "ServiceSettings", "create_app", "serve"]


def __getattr__(name: str) -> Any:  # fastapi / uvicorn load only when the app is built
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "serve":
        from .server import serve

        return serve
    raise AttributeError(name)
