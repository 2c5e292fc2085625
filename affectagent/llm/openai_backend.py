"""OpenAI-compatible chat backend: any server exposing ``POST {base_url}/chat/completions`` (vLLM, llama.cpp server,
Ollama, ``affectagent llm-serve``). This is how the LLM agents scale out to GPU servers.

Settings come from the arguments, else the environment: AFFECTAGENT_OPENAI_BASE_URL / AFFECTAGENT_OPENAI_MODEL /
AFFECTAGENT_OPENAI_API_KEY, then OPENAI_BASE_URL / OPENAI_API_KEY. Without a model name the first id listed by
``GET {base_url}/models`` is used. Requests retry with exponential backoff (``backoff * 2**attempt`` seconds, capped,
or the server's Retry-After) on 429, 5xx and connection errors; a semaphore caps requests in flight per backend and
``chat_many`` runs several chats concurrently within that cap. Token log-probs are requested and returned when the
server supports them (a server that rejects the ``logprobs`` field is asked again without it, once per backend).
"""
from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import urlparse

from ..errors import InputError, MissingDependencyError
from .backend import LLM_BACKENDS, ChatMessage, Completion, as_messages, validate_sampling
from .errors import LLMAuthError, LLMRequestError, LLMResponseError, LLMServerError, LLMUnreachableError

ENV_BASE_URL = ("AFFECTAGENT_OPENAI_BASE_URL", "OPENAI_BASE_URL")
ENV_MODEL = ("AFFECTAGENT_OPENAI_MODEL",)
ENV_API_KEY = ("AFFECTAGENT_OPENAI_API_KEY", "OPENAI_API_KEY")
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def _env(names: Sequence[str]) -> str | None:
    for n in names:
        if os.environ.get(n):
            return os.environ[n]
    return None


def normalise_base_url(url: str) -> str:
    """Strip trailing slashes; a bare host ("http://h:8000") gets the conventional "/v1" path."""
    url = url.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(f"base URL must look like http://host:port/v1; got {url!r}")
    if parsed.path in ("", "/"):
        url += "/v1"
    return url


@dataclass(frozen=True)
class OpenAIConfig:
    """Client settings.

    base_url: endpoint root ending in /v1. model: model id sent with each request (None: first of GET /models).
    api_key: bearer token (None: no Authorization header). timeout: seconds per request (connect capped at 10 s).
    max_retries: retries after the first attempt on 429/5xx/connection errors. backoff: first retry delay in seconds,
    doubled each retry up to max_backoff. max_concurrency: requests in flight at once per backend.
    request_logprobs: ask the server for per-token log-probs.
    """

    base_url: str
    model: str | None = None
    api_key: str | None = None
    timeout: float = 120.0
    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_concurrency: int = 4
    request_logprobs: bool = True

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise InputError(f"timeout must be > 0 seconds; got {self.timeout}")
        if self.max_retries < 0:
            raise InputError(f"max_retries must be >= 0; got {self.max_retries}")
        if self.backoff < 0 or self.max_backoff < 0:
            raise InputError("backoff and max_backoff must be >= 0 seconds")
        if self.max_concurrency < 1:
            raise InputError(f"max_concurrency must be >= 1; got {self.max_concurrency}")

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based): Retry-After if given, else exponential."""
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), self.max_backoff)
            except ValueError:
                pass
        return min(self.backoff * (2**attempt), self.max_backoff)


def _httpx():
    try:
        import httpx
    except ImportError:
        raise MissingDependencyError("the openai backend needs httpx: pip install httpx==0.28.1") from None
    return httpx


def _server_message(resp: Any) -> str:
    """The error text an OpenAI-style server put in its JSON body (or the start of the raw body)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200].strip()
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err)
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(err or body)[:200]


def parse_chat_response(body: Any) -> tuple[str, int, int, list[float] | None, str]:
    """(text, prompt_tokens, completion_tokens, token_logprobs, finish_reason) from a chat.completion JSON body."""
    try:
        choice = body["choices"][0]
        text = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise LLMResponseError(f"server answer has no choices[0].message.content: {str(body)[:200]}") from None
    usage = body.get("usage") or {}
    logprobs = None
    content = (choice.get("logprobs") or {}).get("content") if isinstance(choice.get("logprobs"), dict) else None
    if isinstance(content, list):
        try:
            logprobs = [float(t["logprob"]) for t in content]
        except (KeyError, TypeError, ValueError):
            logprobs = None
    completion_tokens = int(usage.get("completion_tokens") or (len(logprobs) if logprobs else 0))
    finish = choice.get("finish_reason")
    return text, int(usage.get("prompt_tokens") or 0), completion_tokens, logprobs, "length" if finish == "length" else "stop"


class OpenAIBackend:
    """Chat over HTTP with an OpenAI-compatible server (see the module docstring for retries and limits)."""

    def __init__(self, config: OpenAIConfig) -> None:
        httpx = _httpx()
        self.config = config
        headers = {"Content-Type": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self._client = httpx.Client(
            base_url=config.base_url,
            headers=headers,
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 10.0)),
            limits=httpx.Limits(max_connections=config.max_concurrency, max_keepalive_connections=config.max_concurrency),
        )
        self._slots = threading.Semaphore(config.max_concurrency)
        self._model = config.model
        self._logprobs_ok = config.request_logprobs
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"openai:{self.config.base_url}#{self._model or '?'}"

    @property
    def model(self) -> str:
        """The model id sent with requests (asks GET /models once when none was configured)."""
        with self._lock:
            if self._model is None:
                body = self._request("GET", "/models")
                try:
                    self._model = str(body["data"][0]["id"])
                except (KeyError, IndexError, TypeError):
                    raise LLMResponseError(
                        f"no model given and {self.config.base_url}/models lists none; pass --model or set "
                        "AFFECTAGENT_OPENAI_MODEL"
                    ) from None
            return self._model

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "OpenAIBackend":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- HTTP ---------------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, payload: dict | None = None) -> Any:
        """One call with retries; returns the decoded JSON body or raises an LLMServerError subclass."""
        httpx = _httpx()
        url = f"{self.config.base_url}{path}"
        last = ""
        for attempt in range(self.config.max_retries + 1):
            retry_after = None
            try:
                with self._slots:
                    resp = self._client.request(method, path, json=payload)
            except (httpx.TransportError,) as exc:  # connect/read timeouts, refused, reset, protocol errors
                last = f"{type(exc).__name__}: {exc}"
                unreachable = True
            else:
                unreachable = False
                if resp.status_code < 400:
                    try:
                        return resp.json()
                    except (ValueError, json.JSONDecodeError):
                        raise LLMResponseError(
                            f"{method} {url} returned malformed JSON: {resp.text[:120]!r}"
                        ) from None
                msg = _server_message(resp)
                if resp.status_code in (401, 403):
                    raise LLMAuthError(
                        f"{url} rejected the API key (HTTP {resp.status_code}: {msg}); set AFFECTAGENT_OPENAI_API_KEY "
                        "or pass --api-key"
                    )
                if resp.status_code not in RETRY_STATUSES:
                    hint = " (is the base URL right? it usually ends in /v1)" if resp.status_code == 404 else ""
                    raise LLMRequestError(f"{method} {url} failed with HTTP {resp.status_code}: {msg}{hint}")
                last = f"HTTP {resp.status_code}: {msg}"
                retry_after = resp.headers.get("retry-after")
            if attempt < self.config.max_retries:
                time.sleep(self.config.delay(attempt, retry_after))
        tries = self.config.max_retries + 1
        if unreachable:
            raise LLMUnreachableError(f"cannot reach {url} after {tries} attempt(s) ({last}); is the server running?")
        raise LLMServerError(f"{method} {url} kept failing after {tries} attempt(s) ({last})")

    # ---- chat ---------------------------------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        validate_sampling(max_tokens=max_tokens, temperature=temperature)
        t0 = time.perf_counter()
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict() for m in as_messages(messages)],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            payload["seed"] = seed
        if stop:
            payload["stop"] = list(stop)
        if self._logprobs_ok:
            payload["logprobs"] = True
        try:
            body = self._request("POST", "/chat/completions", payload)
        except LLMRequestError as exc:
            if not (self._logprobs_ok and "logprob" in str(exc).lower()):
                raise
            self._logprobs_ok = False  # this server does not do log-probs: stop asking
            payload.pop("logprobs")
            body = self._request("POST", "/chat/completions", payload)
        text, n_prompt, n_completion, logprobs, finish = parse_chat_response(body)
        return Completion(
            text=text,
            prompt_tokens=n_prompt,
            completion_tokens=n_completion,
            seconds=time.perf_counter() - t0,
            token_logprobs=logprobs,
            finish_reason=finish,
        )

    def chat_many(self, conversations: Sequence[Sequence[ChatMessage]], **chat_kwargs: Any) -> list[Completion]:
        """Run ``chat`` for every conversation, up to ``max_concurrency`` at once; results keep the input order.

        The first failure is raised after the running requests finish.
        """
        if not conversations:
            return []
        _ = self.model  # resolve the model once before fanning out
        with ThreadPoolExecutor(max_workers=min(self.config.max_concurrency, len(conversations))) as pool:
            futures = [pool.submit(self.chat, conv, **chat_kwargs) for conv in conversations]
            return [f.result() for f in futures]


@LLM_BACKENDS.register("openai")
def build_openai_backend(
    *, model: str | None = None, base_url: str | None = None, api_key: str | None = None, **options: Any
) -> OpenAIBackend:
    """Factory used by ``load_backend("openai", ...)``: arguments, else environment (see the module docstring)."""
    url = base_url or _env(ENV_BASE_URL)
    if not url:
        raise InputError("the openai backend needs a base URL: pass --base-url or set AFFECTAGENT_OPENAI_BASE_URL")
    fields = set(OpenAIConfig.__dataclass_fields__) - {"base_url", "model", "api_key"}
    unknown = set(options) - fields
    if unknown:
        raise InputError(f"unknown option(s) for the openai backend: {', '.join(sorted(unknown))}")
    config = OpenAIConfig(
        base_url=normalise_base_url(url),
        model=model or _env(ENV_MODEL),
        api_key=api_key or _env(ENV_API_KEY),
        **options,
    )
    return OpenAIBackend(config)
