"""``affectagent llm-serve``: serve a language model over an OpenAI-compatible HTTP API (see affectagent.llm.server).

``python -m affectagent.llm.server ...`` runs the same command.
"""
from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "llm-serve",
        help="serve a local LLM over an OpenAI-compatible API (/v1/chat/completions)",
        description="Serve a language model (default: the packaged Qwen 0.5B through transformers) at "
        "http://HOST:PORT/v1 for `affectagent predict --agents openai --base-url ...` or any OpenAI client.",
    )
    add_server_arguments(p)
    p.set_defaults(func=run)


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The llm-serve options."""
    parser.add_argument("--backend", default="hf", help="backend kind: hf | llamacpp | openai (default hf)")
    parser.add_argument("--model", default="qwen-0.5b",
                        help="hf/llamacpp: qwen-0.5b | qwen-1.5b | folder | HF id (default qwen-0.5b)")
    parser.add_argument("--model-id", help="id clients use and /v1/models lists (default: --model)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--api-key", help="require this bearer token on /v1 requests (default: none)")
    parser.add_argument("--num-threads", type=int, help="hf: torch threads per request (default: torch's)")
    parser.add_argument("--dtype", help="hf: float32 | bfloat16 | float16 (default float32)")
    parser.add_argument("--max-tokens-limit", type=int, default=4096, help="largest max_tokens accepted")
    parser.add_argument("--llm-timeout", type=float, metavar="SECONDS",
                        help="openai: total deadline of each upstream call in seconds, retries included "
                             "(default $AFFECTAGENT_LLM_TIMEOUT, else 120)")


def settings_from_args(args: argparse.Namespace):
    from ..errors import InputError
    from ..llm.server import ServerSettings

    options: dict[str, Any] = {}
    if args.num_threads is not None:
        options["num_threads"] = args.num_threads
    if args.dtype is not None:
        options["dtype"] = args.dtype
    if getattr(args, "llm_timeout", None) is not None:
        if args.backend != "openai":
            raise InputError("--llm-timeout is for --backend openai")
        from ..llm.openai_backend import parse_timeout

        options["timeout"] = parse_timeout(args.llm_timeout, what="--llm-timeout")
    if not 0 < args.port < 65536:
        raise InputError(f"--port must be in 1..65535; got {args.port}")
    return ServerSettings(kind=args.backend, model=args.model, options=options, model_id=args.model_id,
                          api_key=args.api_key, max_tokens_limit=args.max_tokens_limit)


def run(args: argparse.Namespace) -> int:
    from ..llm.server import serve

    serve(settings_from_args(args), host=args.host, port=args.port)
    return 0
