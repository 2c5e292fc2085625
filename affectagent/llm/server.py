"""A minimal OpenAI-compatible HTTP server in front of any LLM backend.

Endpoints: ``POST /v1/chat/completions`` (messages, max_tokens, temperature, seed, stop, logprobs; no streaming;
vLLM's ``guided_choice`` / ``structured_outputs: {"choice": [...]}`` answer with exactly one of the choices, scored
by ``llm.choice`` on a local model),
``GET /v1/models``, ``GET /health``. Bad requests get OpenAI-style JSON errors
(``{"error": {"message", "type", "param", "code"}}``) with a 4xx status. An optional API key is checked as a bearer
token. Run it with ``affectagent llm-serve --model qwen-0.5b`` or ``python -m affectagent.llm.server`` (the same command).

Requests run in the server's worker threads; the hf backend serialises generation on its model, so concurrent
requests queue rather than oversubscribe the CPU.
"""
# No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations at definition time and the
# request models are defined inside create_app (pydantic is imported lazily).
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import AffectAgentError, InputError, MissingDependencyError
from .backend import ChatMessage, LLMBackend, load_backend

MAX_STOP_STRINGS = 4


@dataclass(frozen=True)
class ServerSettings:
    """What to serve and how.

    kind/model/options: the backend, as for ``load_backend`` (options e.g. {"num_threads": 1}).
    model_id: the id clients send and /v1/models lists (default: ``model`` or the backend kind).
    api_key: if set, every /v1 request must carry ``Authorization: Bearer <api_key>``.
    max_tokens_limit: largest max_tokens accepted (bigger requests get HTTP 400).
    """

    kind: str = "hf"
    model: str | None = "qwen-0.5b"
    options: dict[str, Any] = field(default_factory=dict)
    model_id: str | None = None
    api_key: str | None = None
    max_tokens_limit: int = 4096

    def __post_init__(self) -> None:
        if self.max_tokens_limit < 1:
            raise InputError(f"max_tokens_limit must be >= 1; got {self.max_tokens_limit}")

    @property
    def served_id(self) -> str:
        return self.model_id or self.model or self.kind


def _fastapi():
    try:
        import fastapi
        import pydantic
    except ImportError:
        raise MissingDependencyError("the LLM server needs fastapi and uvicorn: pip install fastapi==0.165.0 "
                                     "uvicorn==0.54.0") from None
    return fastapi, pydantic


def _error(status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None,
           code: str | None = None):
    from fastapi.responses import JSONResponse

    return JSONResponse(status_code=status,
                        content={"error": {"message": message, "type": kind, "param": param, "code": code}})


def create_app(settings: ServerSettings, *, backend: LLMBackend | None = None):
    """The FastAPI app. ``backend`` is built from ``settings`` (kind, model, options) unless given."""
    fastapi, pydantic = _fastapi()
    from fastapi.exceptions import RequestValidationError

    class Message(pydantic.BaseModel):
        role: str
        content: str

    class ChatRequest(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="ignore")
        model: str | None = None
        messages: list[Message]
        max_tokens: int | None = None
        max_completion_tokens: int | None = None
        temperature: float = 1.0
        seed: int | None = None
        stop: str | list[str] | None = None
        logprobs: bool = False
        stream: bool = False
        n: int = 1
        guided_choice: list[str] | None = None  # vLLM's constrained choice (llm/choice.py)
        structured_outputs: dict[str, Any] | None = None  # newer vLLM: {"choice": [...]}

    llm = backend if backend is not None else load_backend(settings.kind, model=settings.model, **settings.options)
    served = settings.served_id
    created = int(time.time())
    app = fastapi.FastAPI(title="affectagent LLM server", version="1")
    app.state.backend = llm
    app.state.settings = settings

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request, exc):  # FastAPI's 422 -> OpenAI-style 400
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return _error(400, f"invalid request: {loc or 'body'}: {first.get('msg', 'malformed')}", param=loc)

    @app.exception_handler(fastapi.HTTPException)
    async def _http_error(request, exc):
        return _error(exc.status_code, str(exc.detail), kind="invalid_request_error")

    def _check_key(request) -> Any:
        if not settings.api_key:
            return None
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not secrets.compare_digest(token, settings.api_key):
            return _error(401, "invalid or missing API key", kind="authentication_error", code="invalid_api_key")
        return None

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model": served, "backend": llm.name}

    @app.get("/v1/models")
    def models(request: fastapi.Request):
        denied = _check_key(request)
        if denied is not None:
            return denied
        return {"object": "list", "data": [{"id": served, "object": "model", "created": created,
                                            "owned_by": "affectagent"}]}

    @app.post("/v1/chat/completions")
    def chat_completions(req: ChatRequest, request: fastapi.Request):
        denied = _check_key(request)
        if denied is not None:
            return denied
        if req.model is not None and req.model not in (served, llm.name):
            return _error(404, f"model {req.model!r} is not served here; this server serves {served!r}",
                          param="model", code="model_not_found")
        if req.stream:
            return _error(400, "streaming is not supported by this server; send stream=false", param="stream")
        if req.n != 1:
            return _error(400, "only n=1 is supported", param="n")
        max_tokens = req.max_completion_tokens or req.max_tokens or min(256, settings.max_tokens_limit)
        if not 1 <= max_tokens <= settings.max_tokens_limit:
            return _error(400, f"max_tokens must be in 1..{settings.max_tokens_limit}; got {max_tokens}",
                          param="max_tokens")
        if req.temperature < 0 or req.temperature > 2:
            return _error(400, f"temperature must be in [0, 2]; got {req.temperature}", param="temperature")
        stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
        if len(stop) > MAX_STOP_STRINGS:
            return _error(400, f"at most {MAX_STOP_STRINGS} stop strings", param="stop")
        if not req.messages:
            return _error(400, "messages must not be empty", param="messages")
        choices = req.guided_choice
        if req.structured_outputs is not None:
            if set(req.structured_outputs) != {"choice"} or choices is not None:
                return _error(400, "structured_outputs supports only {\"choice\": [...]} here (and not together "
                                   "with guided_choice)", param="structured_outputs")
            choices = req.structured_outputs["choice"]
        if choices is not None:
            return _choice_answer(llm, served, req.messages, choices, logprobs=req.logprobs)
        try:
            messages = [ChatMessage(role=m.role, content=m.content) for m in req.messages]
            out = llm.chat(messages, max_tokens=max_tokens, temperature=req.temperature, seed=req.seed,
                           stop=stop or None)
        except InputError as exc:
            return _error(400, str(exc))
        except AffectAgentError as exc:
            return _error(502, str(exc), kind="server_error")
        logprobs = None
        if req.logprobs and out.token_logprobs is not None:
            # token strings are not part of the backend protocol; the log-probs are what clients train on
            logprobs = {"content": [{"token": "", "logprob": lp, "bytes": None, "top_logprobs": []}
                                    for lp in out.token_logprobs]}
        finish = out.finish_reason if out.finish_reason in ("stop", "length") else "stop"
        return {
            "id": f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": served,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": out.text},
                         "finish_reason": finish, "logprobs": logprobs}],
            "usage": {"prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
                      "total_tokens": out.prompt_tokens + out.completion_tokens},
        }

    return app


def _choice_answer(llm: LLMBackend, served: str, messages: Sequence[Any], choices: Any, *, logprobs: bool):
    """A chat completion whose content is exactly one of ``choices`` (``llm.choice``), or an OpenAI-style error."""
    from .choice import can_choose, check_choices

    if not can_choose(llm):
        return _error(400, f"constrained choice is not supported by the {llm.name} backend", param="guided_choice")
    try:
        if not isinstance(choices, list):
            raise InputError("choices must be a list of strings")
        picked = llm.choose([ChatMessage(role=m.role, content=m.content) for m in messages], check_choices(choices))
    except InputError as exc:
        return _error(400, str(exc), param="guided_choice")
    except AffectAgentError as exc:
        return _error(502, str(exc), kind="server_error")
    lp = None
    if logprobs:
        lp = {"content": [{"token": picked.choice, "logprob": picked.logprobs.get(picked.choice), "bytes": None,
                           "top_logprobs": [{"token": c, "logprob": v, "bytes": None}
                                            for c, v in sorted(picked.logprobs.items(), key=lambda kv: -kv[1])]}]}
    return {"id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion", "created": int(time.time()),
            "model": served, "choices": [{"index": 0, "message": {"role": "assistant", "content": picked.choice},
                                          "finish_reason": "stop", "logprobs": lp}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def serve(settings: ServerSettings, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning") -> None:
    """Build the backend, then serve until interrupted (blocking)."""
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("the LLM server needs uvicorn: pip install uvicorn==0.54.0") from None
    app = create_app(settings)
    print(f"affectagent: serving {settings.served_id} ({app.state.backend.name}) at http://{host}:{port}/v1",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m affectagent.llm.server ...`` is ``affectagent llm-serve ...`` (options in ``cli/llm_serve.py``)."""
    from ..cli import main as cli_main

    return cli_main(["llm-serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
