"""OpenAI-compatible chat backend: any server exposing ``POST {base_url}/chat/completions`` (vLLM, llama.cpp server,
Ollama, ``affectagent llm-serve``). This is how the LLM agents scale out to GPU servers.

Settings come from the arguments, else the environment: AFFECTAGENT_OPENAI_BASE_URL / AFFECTAGENT_OPENAI_MODEL /
AFFECTAGENT_OPENAI_API_KEY, then OPENAI_BASE_URL / OPENAI_API_KEY. Without a model name the first id listed by
``GET {base_url}/models`` is used. Requests retry with exponential backoff (``backoff * 2**attempt`` seconds, capped,
or the server's Retry-After) on 429, 5xx and connection errors; a semaphore caps requests in flight per backend and
``chat_many`` runs several chats concurrently within that cap. Token log-probs are requested and returned when the
server supports them (a server that rejects the ``logprobs`` field is asked again without it, once per backend).

Deadline: every call (``chat``, the model lookup) has one total deadline, ``timeout`` seconds (the ``timeout`` option,
else AFFECTAGENT_LLM_TIMEOUT, else 120 s), that covers waiting for a request slot, connecting, waiting for the first
byte, reading the whole answer, and every retry and backoff sleep. httpx's own timeouts are per socket operation, so a
server that drips one byte at a time would never trip them; here every socket read, write and connect is clamped to
what is left of the call's deadline (``_DeadlineNetwork``), and a call that runs out raises ``LLMTimeoutError``.
"""
from __future__ import annotations

import functools
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import urlparse

from ..errors import InputError, MissingDependencyError
from .backend import LLM_BACKENDS, ChatMessage, Completion, as_messages, validate_sampling

if TYPE_CHECKING:
    from .choice import Choice
from .errors import (LLMAuthError, LLMRequestError, LLMResponseError, LLMServerError, LLMTimeoutError,
                     LLMUnreachableError)

ENV_BASE_URL = ("AFFECTAGENT_OPENAI_BASE_URL", "OPENAI_BASE_URL")
ENV_MODEL = ("AFFECTAGENT_OPENAI_MODEL",)
ENV_API_KEY = ("AFFECTAGENT_OPENAI_API_KEY", "OPENAI_API_KEY")
ENV_TIMEOUT = "AFFECTAGENT_LLM_TIMEOUT"
DEFAULT_TIMEOUT = 120.0
CHOICE_PARAMS = ("guided_choice", "structured_outputs")
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


def parse_timeout(value: str | float, *, what: str) -> float:
    """A deadline in seconds (> 0, finite) from an option or environment value; anything else is an InputError."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number of seconds > 0; got {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise InputError(f"{what} must be a number of seconds > 0; got {value!r}")
    return seconds


def env_timeout() -> float | None:
    """The LLM deadline from AFFECTAGENT_LLM_TIMEOUT (None when unset or empty)."""
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    return parse_timeout(raw, what=ENV_TIMEOUT) if raw else None


@dataclass(frozen=True)
class OpenAIConfig:
    """Client settings.

    base_url: endpoint root ending in /v1. model: model id sent with each request (None: first of GET /models).
    api_key: bearer token (None: no Authorization header). timeout: total deadline of one call in seconds: the wait
    for a request slot, connecting (itself capped at 10 s per attempt), the first byte, the whole answer, and all
    retries and backoff sleeps together (``build_openai_backend`` defaults it from AFFECTAGENT_LLM_TIMEOUT).
    max_retries: retries after the first attempt on 429/5xx/connection errors, as long as the deadline leaves time.
    backoff: first retry delay in seconds, doubled each retry up to max_backoff. max_concurrency: requests in flight
    at once per backend.
    request_logprobs: ask the server for per-token log-probs.
    choice_param: how ``choose`` asks for a constrained answer: "guided_choice" (vLLM up to 0.10, and
    ``affectagent llm-serve``) or "structured_outputs" (``{"choice": [...]}``, newer vLLM).
    """

    base_url: str
    model: str | None = None
    api_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_concurrency: int = 4
    request_logprobs: bool = True
    choice_param: str = "guided_choice"

    def __post_init__(self) -> None:
        parse_timeout(self.timeout, what="timeout")
        if self.choice_param not in CHOICE_PARAMS:
            raise InputError(f"choice_param must be one of {', '.join(CHOICE_PARAMS)}; got {self.choice_param!r}")
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


class _Deadline(threading.local):
    """The deadline (``time.monotonic()`` value) of the call this thread is making; None outside a call."""

    at: float | None = None

    def clamp(self, timeout: float | None, *, what: str, error: type[Exception]) -> float | None:
        """``timeout`` shortened to what is left of the deadline; ``error`` once nothing is left."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise error(f"the call's deadline passed while {what}")
        return left if timeout is None else min(timeout, left)


_DEADLINE = _Deadline()


@functools.lru_cache(maxsize=1)
def _deadline_network():
    """httpcore network backend + stream wrappers that clamp every connect/read/write to ``_DEADLINE``."""
    import httpcore

    class Stream(httpcore.NetworkStream):
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._inner.read(max_bytes, _DEADLINE.clamp(timeout, what="reading the answer",
                                                               error=httpcore.ReadTimeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, _DEADLINE.clamp(timeout, what="sending the request", error=httpcore.WriteTimeout))

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None):
            t = _DEADLINE.clamp(timeout, what="the TLS handshake", error=httpcore.ConnectTimeout)
            return Stream(self._inner.start_tls(ssl_context, server_hostname=server_hostname, timeout=t))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class Network(httpcore.NetworkBackend):
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                        socket_options: Any = None):
            t = _DEADLINE.clamp(timeout, what="connecting", error=httpcore.ConnectTimeout)
            return Stream(self._inner.connect_tcp(host, port, timeout=t, local_address=local_address,
                                                  socket_options=socket_options))

        def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None):
            t = _DEADLINE.clamp(timeout, what="connecting", error=httpcore.ConnectTimeout)
            return Stream(self._inner.connect_unix_socket(path, timeout=t, socket_options=socket_options))

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return Network


def install_deadline(client: Any) -> int:
    """Wrap the network backend of every connection pool of an ``httpx.Client`` (the default transport and any proxy
    mounts) so socket operations honour ``_DEADLINE``; returns how many pools were wrapped. httpx has no total
    timeout of its own; its pools keep the backend in ``_network_backend`` (httpcore 1.x)."""
    network = _deadline_network()
    done = 0
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        inner = getattr(pool, "_network_backend", None)
        if inner is not None and not isinstance(inner, network):
            pool._network_backend = network(inner)
            done += 1
    return done


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
    """Chat over HTTP with an OpenAI-compatible server (see the module docstring for retries and limits).

    ``concurrent``: callers may send chats from several threads at once (the server does the work; the semaphore
    caps requests in flight), so e.g. the arena judge sends its two swapped passes together."""

    concurrent = True

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
        if not install_deadline(self._client):  # pragma: no cover - only if httpx/httpcore change their internals
            raise MissingDependencyError("the openai backend cannot enforce its deadline with this httpx/httpcore; "
                                         "pip install httpx==0.28.1 httpcore==1.0.9")
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
        return self._resolve_model(None)

    def _resolve_model(self, deadline: float | None) -> str:
        with self._lock:
            if self._model is None:
                body = self._request("GET", "/models", deadline=deadline)
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
    def _request(self, method: str, path: str, payload: dict | None = None, *, deadline: float | None = None) -> Any:
        """One call with retries, all within ``deadline`` (``time.monotonic()`` value; default: ``timeout`` seconds
        from now); returns the decoded JSON body or raises an LLMServerError subclass."""
        httpx = _httpx()
        url = f"{self.config.base_url}{path}"
        deadline = time.monotonic() + self.config.timeout if deadline is None else deadline
        last, attempts, unreachable = "", 0, False
        ran_into_deadline = budget_spent = False  # an attempt was cut off / no time was left for another retry
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._slots.acquire(timeout=min(left, threading.TIMEOUT_MAX)):
                ran_into_deadline = True
                last = last or "no free request slot (max_concurrency) before the deadline"
                break
            attempts += 1
            retry_after = None
            try:
                _DEADLINE.at = deadline
                left = max(deadline - time.monotonic(), 1e-3)
                resp = self._client.request(method, path, json=payload,
                                            timeout=httpx.Timeout(left, connect=min(left, 10.0)))
            except httpx.TransportError as exc:  # connect/read timeouts, refused, reset, protocol errors
                last = f"{type(exc).__name__}: {exc}"
                unreachable = True
                ran_into_deadline = time.monotonic() >= deadline - 1e-2
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
            finally:
                _DEADLINE.at = None
                self._slots.release()
            if ran_into_deadline or attempts > self.config.max_retries:
                break
            pause = self.config.delay(attempts - 1, retry_after)
            if time.monotonic() + pause >= deadline:  # the retry budget is spent: no time left for another attempt
                budget_spent = True
                break
            time.sleep(pause)
        budget = f"the {self.config.timeout:g} s LLM deadline"
        if ran_into_deadline:
            raise LLMTimeoutError(f"{method} {url}: no complete answer within {budget} ({attempts} attempt(s); last: "
                                  f"{last}); raise it with --llm-timeout or {ENV_TIMEOUT}")
        within = f" within {budget}" if budget_spent else ""
        if unreachable:
            raise LLMUnreachableError(f"cannot reach {url} after {attempts} attempt(s){within} ({last}); is the server "
                                      "running?")
        raise LLMServerError(f"{method} {url} kept failing after {attempts} attempt(s){within} ({last})")

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
        deadline = time.monotonic() + self.config.timeout  # one deadline for the whole call (retries included)
        payload: dict[str, Any] = {
            "model": self._resolve_model(deadline),
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
            body = self._request("POST", "/chat/completions", payload, deadline=deadline)
        except LLMRequestError as exc:
            if not (self._logprobs_ok and "logprob" in str(exc).lower()):
                raise
            self._logprobs_ok = False  # this server does not do log-probs: stop asking
            payload.pop("logprobs")
            body = self._request("POST", "/chat/completions", payload, deadline=deadline)
        text, n_prompt, n_completion, logprobs, finish = parse_chat_response(body)
        return Completion(
            text=text,
            prompt_tokens=n_prompt,
            completion_tokens=n_completion,
            seconds=time.perf_counter() - t0,
            token_logprobs=logprobs,
            finish_reason=finish,
        )

    def choose(self, messages: Sequence[ChatMessage], choices: Sequence[str], *, prefix: str = "",
               max_tokens: int = 32) -> "Choice":
        """Exactly one of ``choices``, asked for with the server's constrained decoding (``choice_param``); a server
        that answers something else (it ignored the parameter) is an ``LLMResponseError`` saying so. ``prefix`` is
        not supported by the server protocol and must be empty (put it in the choices)."""
        from .choice import Choice, check_choices

        if prefix:
            raise InputError("a server backend cannot prefix the answer; put the prefix in the choices")
        options = list(check_choices(choices))
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.config.timeout
        payload: dict[str, Any] = {"model": self._resolve_model(deadline),
                                   "messages": [m.to_dict() for m in as_messages(messages)],
                                   "max_tokens": max_tokens, "temperature": 0.0}
        if self.config.choice_param == "guided_choice":
            payload["guided_choice"] = options
        else:
            payload["structured_outputs"] = {"choice": options}
        body = self._request("POST", "/chat/completions", payload, deadline=deadline)
        text = parse_chat_response(body)[0].strip()
        if text not in options:
            raise LLMResponseError(f"the server answered {text[:60]!r}, not one of the {len(options)} choices: it "
                                   f"does not seem to support {self.config.choice_param} (try choice_param="
                                   f"{'structured_outputs' if self.config.choice_param == 'guided_choice' else 'guided_choice'})")
        return Choice(choice=text, seconds=time.perf_counter() - t0)

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
    """Factory used by ``load_backend("openai", ...)``: arguments, else environment (see the module docstring);
    the ``timeout`` option defaults to AFFECTAGENT_LLM_TIMEOUT, else 120 s."""
    url = base_url or _env(ENV_BASE_URL)
    if not url:
        raise InputError("the openai backend needs a base URL: pass --base-url or set AFFECTAGENT_OPENAI_BASE_URL")
    fields = set(OpenAIConfig.__dataclass_fields__) - {"base_url", "model", "api_key"}
    unknown = set(options) - fields
    if unknown:
        raise InputError(f"unknown option(s) for the openai backend: {', '.join(sorted(unknown))}")
    if options.get("timeout") is None:
        options["timeout"] = env_timeout() or DEFAULT_TIMEOUT
    config = OpenAIConfig(
        base_url=normalise_base_url(url),
        model=model or _env(ENV_MODEL),
        api_key=api_key or _env(ENV_API_KEY),
        **options,
    )
    return OpenAIBackend(config)
