"""Command-line entry point: ``affectagent SUBCOMMAND ...``.

Each subcommand lives in its own module ``affectagent.cli.<name>`` exposing ``register(subparsers)``, which adds
its parser and sets ``func(args) -> int``. The CLI is thin: parse, call the library, print.
Errors derived from ``AffectAgentError`` print one line to stderr and exit 2.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from ..errors import AffectAgentError

# Order = order in --help.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "features", "predict", "evaluate", "train", "raer", "arena", "datasets", "kb", "score", "serve", "llm_serve",
)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="affectagent", description="Multimodal emotion understanding, offline on CPU.")
    parser.add_argument("--version", action="version", version=f"affectagent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        modname = f"{__name__}.{name}"
        if importlib.util.find_spec(modname) is None:  # subcommand not built yet in this checkout
            continue
        importlib.import_module(modname).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe / TFLite start-up chatter
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except AffectAgentError as exc:
        print(f"affectagent: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("affectagent: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
