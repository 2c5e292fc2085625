"""The one protocol every language-model backend speaks, its registry and ``load_backend()``.

A backend turns a list of chat messages into a :class:`Completion` (text, token counts, wall time and, where the
backend can, the log-probability of every generated token under the sampling policy). Backends:

- ``hf``       transformers causal LM: packaged alias (``qwen-0.5b``, ``qwen-1.5b``), local path or HF id (offline cache)
- ``openai``   any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, llama.cpp server, Ollama, ``affectagent llm-serve``)
- ``llamacpp`` llama-cpp-python over the packaged GGUF files (optional extra; see docs/llm-backends.md)
- ``dpo``      a LoRA adapter folder (``affectagent train dpo --out runs/dpo/X``): its base model + the adapter, run by hf

Implementations live in their own modules and register themselves on import; ``load_backend`` imports the module of
the requested kind on demand so nothing heavy is imported before it is needed.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

from ..errors import InputError
from ..registry import Registry, UnknownNameError

ROLES: tuple[str, ...] = ("system", "user", "assistant")
FINISH_REASONS: tuple[str, ...] = ("stop", "length", "error")


@dataclass(frozen=True)
class ChatMessage:
    """One chat turn. ``role`` is "system", "user" or "assistant"."""

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError(f"chat message role must be one of {', '.join(ROLES)}; got {self.role!r}")
        if not isinstance(self.content, str):
            raise InputError(f"chat message content must be a string; got {type(self.content).__name__}")

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass
class Completion:
    """The result of one ``chat`` call.

    text: the generated text only (no prompt). token_logprobs: one log-probability per generated token under the
    sampling policy (None if the backend cannot report them). finish_reason: "stop" (EOS or a stop string),
    "length" (hit max_tokens) or "error".
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    token_logprobs: list[float] | None = None
    finish_reason: str = "stop"


@runtime_checkable
class LLMBackend(Protocol):
    """A chat model. ``name`` identifies it in logs and result files, e.g. "hf:qwen-0.5b"."""

    name: str

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Completion: ...


BackendFactory = Callable[..., LLMBackend]
LLM_BACKENDS: Registry[BackendFactory] = Registry("LLM backend")

# kind -> module that registers it (imported on first use so that e.g. torch is only imported for "hf").
BACKEND_MODULES: dict[str, str] = {
    "hf": "affectagent.llm.hf",
    "openai": "affectagent.llm.openai_backend",
    "llamacpp": "affectagent.llm.llamacpp",
    "dpo": "affectagent.llm.adapter",
}


def backend_kinds() -> list[str]:
    """All backend kinds that can be requested (registered or importable on demand)."""
    return sorted(set(BACKEND_MODULES) | set(LLM_BACKENDS.names()))


def get_backend_factory(kind: str) -> BackendFactory:
    """The factory registered for ``kind``, importing its module first if needed; unknown kind -> InputError."""
    if kind not in LLM_BACKENDS and kind in BACKEND_MODULES:
        importlib.import_module(BACKEND_MODULES[kind])
    try:
        return LLM_BACKENDS.get(kind)
    except UnknownNameError:
        raise InputError(f"unknown LLM backend {kind!r}; known: {', '.join(backend_kinds())}") from None


def load_backend(
    kind: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    **options: Any,
) -> LLMBackend:
    """Build a backend by kind.

    kind "hf": ``model`` = alias ("qwen-0.5b" | "qwen-1.5b") | local path | HF id (must be in the local HF cache).
    kind "openai": base_url/model/api_key from the arguments, else from the environment
    (AFFECTAGENT_OPENAI_BASE_URL / _MODEL / _API_KEY, then OPENAI_BASE_URL / OPENAI_API_KEY); options: timeout,
    max_retries, backoff, max_concurrency.
    kind "llamacpp": ``model`` = alias or a .gguf path; needs llama-cpp-python (MissingDependencyError otherwise).
    Errors (unknown kind, missing model, unreachable server) are AffectAgentError subclasses.
    """
    factory = get_backend_factory(kind)
    kwargs: dict[str, Any] = dict(options)
    if model is not None:
        kwargs["model"] = model
    if base_url is not None:
        kwargs["base_url"] = base_url
    if api_key is not None:
        kwargs["api_key"] = api_key
    return factory(**kwargs)


def as_messages(messages: Sequence[ChatMessage | dict[str, str]]) -> list[ChatMessage]:
    """Normalise dicts ({"role", "content"}) or ChatMessages into ChatMessages; empty list -> InputError."""
    out: list[ChatMessage] = []
    for m in messages:
        if isinstance(m, ChatMessage):
            out.append(m)
        elif isinstance(m, dict) and "role" in m and "content" in m:
            out.append(ChatMessage(role=str(m["role"]), content=m["content"]))
        else:
            raise InputError(f"a chat message must have 'role' and 'content'; got {m!r}")
    if not out:
        raise InputError("a chat needs at least one message")
    return out


def validate_sampling(*, max_tokens: int, temperature: float) -> None:
    """Shared argument checks for every backend's ``chat``."""
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise InputError(f"max_tokens must be a positive integer; got {max_tokens!r}")
    if temperature < 0:
        raise InputError(f"temperature must be >= 0; got {temperature!r}")


def truncate_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """Cut ``text`` at the earliest occurrence of any stop string; returns (text, whether a stop string was found)."""
    if not stop:
        return text, False
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    if cut < 0:
        return text, False
    return text[:cut], True


__all__ = [
    "ChatMessage",
    "Completion",
    "LLMBackend",
    "LLM_BACKENDS",
    "BACKEND_MODULES",
    "load_backend",
    "backend_kinds",
    "get_backend_factory",
    "as_messages",
    "validate_sampling",
    "truncate_at_stop",
]
