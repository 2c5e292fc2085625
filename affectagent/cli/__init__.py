"""Command-line entry point: ``affectagent SUBCOMMAND ...``.

Each subcommand lives in its own module ``affectagent.cli.<name>`` exposing ``register(subparsers)``, which adds
its parser and sets ``func(args) -> int``. The CLI is thin: parse, call the library, print.
Errors derived from ``AffectAgentError`` print one line to stderr and exit 2.
``--verbose`` / ``--quiet`` go anywhere on the line (before a ``--``) and set the process's output level
(``affectagent.quiet``): third-party warnings and native log chatter are hidden unless ``--verbose``; ``--quiet``
prints errors only.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys

from ..errors import AffectAgentError

# Order = order in --help.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "features", "predict", "evaluate", "train", "raer", "arena", "datasets", "kb", "score", "serve", "llm_serve",
)


def command_module(argv: list[str]) -> str | None:
    """The subcommand module ``argv`` names as its first word (``"llm-serve"`` -> ``"llm_serve"``), else None
    (no command, an option first, or an unknown word: those need the full parser)."""
    if not argv or argv[0].startswith("-"):
        return None
    name = argv[0].replace("-", "_")
    return name if name in SUBCOMMAND_MODULES else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The CLI parser with every subcommand, or just the ``only`` one (a cold start then imports only the modules
    that subcommand needs; ``affectagent --help`` and errors about an unknown command use the full parser)."""
    from .. import __version__

    parser = argparse.ArgumentParser(prog="affectagent", description="Multimodal emotion understanding, offline on CPU.")
    parser.add_argument("--version", action="version", version=f"affectagent {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show third-party warnings and native library logs (hidden by default); anywhere on the line")
    parser.add_argument("--quiet", action="store_true",
                        help="errors only: no progress bars or messages (results still print); anywhere on the line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only else SUBCOMMAND_MODULES:
        modname = f"{__name__}.{name}"
        if importlib.util.find_spec(modname) is None:  # subcommand not built yet in this checkout
            continue
        importlib.import_module(modname).register(sub)
    return parser


@contextlib.contextmanager
def _stderr_muted(on: bool):
    """--quiet: our own messages and progress bars go nowhere; the error line is printed after the block."""
    if not on:
        yield
        return
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
        yield


def _close_native_encoders() -> None:
    import sys as _sys

    factory = _sys.modules.get("affectagent.encoders.factory")  # only if this run loaded encoders at all
    if factory is not None:
        factory.close_shared()


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def prefer_passive_openmp() -> None:
    """OMP_WAIT_POLICY=PASSIVE for this process unless the user set a policy, before torch loads its libgomp (which
    reads it once). Spinning OpenMP workers collapse when the 2 cores are shared: measured on the loaded reference
    machine, the first torch ops of a cold ``affectagent predict`` took ~1.5 s instead of ~0.01 s (see
    ``encoders/threads.py``; passive waiting costs nothing on an idle machine). Too late once torch is imported."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def split_verbosity(argv: list[str]) -> tuple[list[str], str | None]:
    """Remove ``--verbose`` / ``--quiet`` from anywhere before a ``--``; the last one given wins."""
    out, chosen, literal = [], None, False
    for tok in argv:
        if not literal and tok in ("--verbose", "--quiet"):
            chosen = tok[2:]
            continue
        literal = literal or tok == "--"
        out.append(tok)
    return out, chosen


def main(argv: list[str] | None = None) -> int:
    """Run one command. ``argv=None`` means this is the program (``affectagent ...`` / ``python -m affectagent``):
    the process ends right after, so the live objects are frozen first (``freeze_for_exit``)."""
    code = _main(argv)
    if argv is None:
        freeze_for_exit()
    return code


def freeze_for_exit() -> None:
    """``gc.freeze()``: the interpreter's teardown then skips scanning every live object for reference cycles (with
    torch loaded that scan took ~0.5 s of each CLI call on the loaded reference machine). Objects are still released
    by reference counting and atexit handlers still run; only cyclic garbage left at exit is not collected, which
    the end of the process reclaims anyway. For the end of a process only (a long-lived caller would leak cycles)."""
    import gc

    gc.freeze()


def _main(argv: list[str] | None) -> int:
    from .. import quiet

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    prefer_passive_openmp()
    if argv is None:  # the program, not a caller in its own process: media extraction on every core
        os.environ.setdefault("AFFECTAGENT_WORKERS", "0")  # (encoders/parallel_extract.py; the user's value wins)
    argv, chosen = split_verbosity(list(sys.argv[1:] if argv is None else argv))
    quiet.apply(chosen or quiet.env_level())
    only = command_module(argv)
    parser = build_parser(only)
    if only and argv[0] not in getattr(_subparsers(parser), "choices", {}):
        parser = build_parser()  # the module registers its command under another name
    args = parser.parse_args(argv)
    if hasattr(args, "quiet"):  # subcommands with their own progress switch
        args.quiet = args.quiet or quiet.level() == "quiet"
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with quiet.native_stderr_filtered_for_process(), _stderr_muted(quiet.level() == "quiet"):
            try:
                return int(args.func(args) or 0)
            finally:
                _close_native_encoders()
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
