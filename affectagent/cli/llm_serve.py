"""``affectagent llm-serve``: serve a language model over an OpenAI-compatible HTTP API (see affectagent.llm.server)."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..llm.server import add_server_arguments

    p = subparsers.add_parser(
        "llm-serve",
        help="serve a local LLM over an OpenAI-compatible API (/v1/chat/completions)",
        description="Serve a language model (default: the packaged Qwen 0.5B through transformers) at "
        "http://HOST:PORT/v1 for `affectagent predict --agents openai --base-url ...` or any OpenAI client.",
    )
    add_server_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..llm.server import serve, settings_from_args

    serve(settings_from_args(args), host=args.host, port=args.port)
    return 0
