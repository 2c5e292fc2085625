"""The optional API token of ``affectagent serve``: where it comes from, and the check on the routes that need it.

With ``ServiceSettings.api_token`` set, the prediction routes (POST /v1/predict, GET /v1/progress/{job}) and the
arena's vote (POST /v1/arena/votes) answer HTTP 401 ``{"error": ...}`` with ``WWW-Authenticate: Bearer`` unless the
request carries ``Authorization: Bearer <token>``; the token is compared in constant time
(``secrets.compare_digest``). Everything else (the pages, /health, /v1/labels, /openapi.json, /metrics) stays open.

The token never travels on a command line (``ps`` shows those to every user): the CLI reads it from the first line
of a file (``--api-token-file``) or from ``$AFFECTAGENT_API_TOKEN`` (``token_from_sources``).
"""
# No ``from __future__ import annotations``: FastAPI reads the dependency's annotations at definition time.
import secrets
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError
from .settings import check_api_token

ENV_API_TOKEN = "AFFECTAGENT_API_TOKEN"
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def token_from_file(path: str | Path) -> str:
    """The first line of ``path``, stripped, checked as an API token (``InputError`` for a missing, unreadable or
    empty file, or a token that is too short; the messages never quote the file's content)."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"--api-token-file is a folder, not a file: {p}")
    try:
        with p.open("r", encoding="utf-8") as f:
            first = f.readline()
    except FileNotFoundError:
        raise InputError(f"API token file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the API token file {p}: {getattr(exc, 'strerror', None) or exc}") from None
    token = first.strip()
    if not token:
        raise InputError(f"the API token file {p} is empty (its first line must be the token)")
    return check_api_token(token)


def token_from_sources(*, token_file: str | Path | None, environ: Mapping[str, str]) -> str | None:
    """The API token of ``affectagent serve``: from ``token_file`` or from ``environ[AFFECTAGENT_API_TOKEN]``
    (stripped); None when neither is given. Both given is an ``InputError``: one must not silently beat the other."""
    from_env = environ.get(ENV_API_TOKEN)
    if token_file is not None and from_env is not None:
        raise InputError(f"the API token is given twice (--api-token-file and ${ENV_API_TOKEN}): give one of them")
    if token_file is not None:
        return token_from_file(token_file)
    if from_env is None:
        return None
    if not from_env.strip():
        raise InputError(f"${ENV_API_TOKEN} is set but empty: unset it, or set it to the token")
    return check_api_token(from_env.strip())


def token_dependencies(token: str | None) -> list[Any]:
    """FastAPI ``dependencies=`` for a route that needs the API token: none when the server has no token, else one
    check that raises HTTP 401 (the app's handler turns it into ``{"error": ...}`` and keeps the challenge header).
    Declared through ``HTTPBearer``, so /openapi.json shows the bearer scheme on exactly those routes."""
    if token is None:
        return []
    import fastapi
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    expected = check_api_token(token).encode("ascii")
    bearer = HTTPBearer(auto_error=False, scheme_name="apiToken",
                        description="the server's API token (affectagent serve --api-token-file)")

    async def require_token(request: fastapi.Request,
                            credentials: HTTPAuthorizationCredentials | None = fastapi.Depends(bearer)) -> None:
        if credentials is None:
            given = request.headers.get("authorization")
            why = ("this server needs an API token: send the header Authorization: Bearer <token>" if not given
                   else "the Authorization header must be 'Bearer <token>'")
            raise fastapi.HTTPException(status_code=401, detail=why, headers=CHALLENGE)
        # latin-1: the bytes the header arrived as (any str from Starlette encodes), compared in constant time
        if not secrets.compare_digest(credentials.credentials.encode("latin-1", errors="replace"), expected):
            raise fastapi.HTTPException(status_code=401, detail="wrong API token", headers=CHALLENGE)

    return [fastapi.Depends(require_token)]
