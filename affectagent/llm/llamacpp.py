"""llama.cpp backend (optional extra): fast CPU inference of the packaged GGUF files through llama-cpp-python.

llama-cpp-python compiles llama.cpp when installed (no prebuilt wheel here). On this kind of machine the default
build segfaults; build it with the flags in ``LLAMA_CPP_BUILD_COMMAND`` (about 16 minutes on 2 cores). Without it,
``load_backend("llamacpp", ...)`` raises MissingDependencyError carrying that command. See docs/llm-backends.md.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataNotFoundError, InputError, MissingDependencyError
from .backend import LLM_BACKENDS, ChatMessage, Completion, as_messages, validate_sampling
from .packaged import is_packaged_alias, join_parts, packaged_model

LLAMA_CPP_VERSION = "0.3.36"
LLAMA_CPP_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)
LLAMA_CPP_BUILD_COMMAND = (
    f'CMAKE_ARGS="{LLAMA_CPP_CMAKE_ARGS}" pip install --no-cache-dir --no-binary llama-cpp-python '
    f"llama-cpp-python=={LLAMA_CPP_VERSION}"
)


def import_llama_cpp() -> Any:
    """The llama_cpp module, or MissingDependencyError with the documented build command."""
    try:
        import llama_cpp
    except ImportError:
        raise MissingDependencyError(
            "the llamacpp backend needs llama-cpp-python (optional, compiled on install; ~16 min on 2 cores). "
            f"Build it with: {LLAMA_CPP_BUILD_COMMAND}  -- or use --agents llm with the hf backend"
        ) from None
    return llama_cpp


def resolve_gguf(model: str) -> Path:
    """A packaged alias (joined once into the cache) or a path to a .gguf file."""
    if is_packaged_alias(model):
        return join_parts(packaged_model(model))
    p = Path(model).expanduser()
    if p.suffix.lower() != ".gguf":
        raise InputError(f"the llamacpp backend takes a packaged alias or a .gguf file; got {model!r}")
    if not p.is_file():
        raise DataNotFoundError(f"GGUF file {p} does not exist")
    return p


class LlamaCppBackend:
    """Chat with a GGUF model through llama-cpp-python.

    model: alias ("qwen-0.5b" | "qwen-1.5b") or a .gguf path. n_ctx: context length in tokens. num_threads: llama.cpp
    threads (None: its default). logprobs: keep all logits so every generated token's log-prob is returned (slower).
    Sampling is the plain temperature softmax (top-k/top-p/min-p and repeat penalty disabled).
    """

    def __init__(
        self, *, model: str = "qwen-0.5b", n_ctx: int = 4096, num_threads: int | None = None, logprobs: bool = False
    ) -> None:
        llama_cpp = import_llama_cpp()
        path = resolve_gguf(model)
        self.name = f"llamacpp:{model}"
        self.logprobs = logprobs
        kwargs: dict[str, Any] = {"model_path": str(path), "n_ctx": n_ctx, "verbose": False, "logits_all": logprobs}
        if num_threads:
            kwargs["n_threads"] = num_threads
        self.llm = llama_cpp.Llama(**kwargs)
        self._lock = threading.Lock()

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
        with self._lock:
            out = self.llm.create_chat_completion(
                messages=[m.to_dict() for m in as_messages(messages)],
                max_tokens=max_tokens,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                min_p=0.0,
                repeat_penalty=1.0,
                seed=seed,
                stop=list(stop) if stop else None,
                logprobs=self.logprobs or None,
            )
        choice = out["choices"][0]
        logprobs = None
        content = (choice.get("logprobs") or {}).get("content")
        if content:
            logprobs = [float(t["logprob"]) for t in content]
        usage = out.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.perf_counter() - t0,
            token_logprobs=logprobs,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
        )


@LLM_BACKENDS.register("llamacpp")
def build_llamacpp_backend(
    *, model: str | None = None, base_url: str | None = None, api_key: str | None = None, **options: Any
) -> LlamaCppBackend:
    """Factory used by ``load_backend("llamacpp", model=...)``; options: n_ctx, num_threads, logprobs."""
    if base_url is not None or api_key is not None:
        raise InputError("the llamacpp backend runs a local GGUF: base_url/api_key belong to the openai backend")
    unknown = set(options) - {"n_ctx", "num_threads", "logprobs"}
    if unknown:
        raise InputError(f"unknown option(s) for the llamacpp backend: {', '.join(sorted(unknown))}")
    return LlamaCppBackend(model=model or "qwen-0.5b", **options)
