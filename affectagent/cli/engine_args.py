"""``--engine local|ray`` and the Ray options, shared by ``affectagent predict`` (a batch) and ``affectagent kb build``.

The Ray options are ``RayEngineConfig``'s fields (batch/ray_engine.py; one default, one help text each):
``--address``, ``--concurrency``, ``--num-cpus-per-actor``, ``--ray-batch-size``. They need ``--engine ray``; given
with the local engine they are refused (no flag changes another silently). ``--threads N`` is the threads engine's
pool size (it needs ``--engine threads``). docs/scale-out.md tells how to run them.
"""
from __future__ import annotations

import argparse
from typing import Callable

from ..batch.engine import ENGINES, BatchEngine, make_engine
from ..batch.ray_engine import RayEngineConfig
from ..errors import InputError
from .config_args import ConfigArgs

RAY_ARGS = ConfigArgs(RayEngineConfig, exclude={"num_cpus", "log_to_driver"}, dest_prefix="ray_",
                      flags={"batch_size": ("--ray-batch-size",)})


def add_engine_arguments(parser: argparse.ArgumentParser, *, work: str = "the inputs are predicted") -> None:
    """The engine group of ``parser``; ``work`` names what the engine processes in the help text."""
    g = parser.add_argument_group("engine", "where the slow part runs: this process, or Ray actors on this machine "
                                            "or a cluster (docs/scale-out.md)")
    g.add_argument("--engine", choices=ENGINES.names(), default="local",
                   help=f"local: {work} one after the other in this process (default); ray: in a pool of Ray "
                        "actors that load the models once each (needs ray[data]; without --address a local Ray "
                        "cluster is started for the run); threads: N inputs at once in this process, for predictors "
                        "that wait on a server (--agents openai), not for local models")
    g.add_argument("--threads", type=int, metavar="N",
                   help="--engine threads: inputs in flight at once (default 4)")
    RAY_ARGS.add_to(g)


def _ray_flags_given(args: argparse.Namespace) -> list[str]:
    defaults = RayEngineConfig()
    return [flags[0] for path, flags in RAY_ARGS.option_strings().items()
            if getattr(args, RAY_ARGS.dest_prefix + path) != getattr(defaults, path)]


def engine_from_args(args: argparse.Namespace, *, log: Callable[[str], None] | None = None) -> BatchEngine:
    """The engine the options name (``InputError`` for Ray options without ``--engine ray``)."""
    threads = getattr(args, "threads", None)
    if threads is not None and args.engine != "threads":
        raise InputError("--threads is for --engine threads")
    if args.engine != "ray":
        given = _ray_flags_given(args)
        if given:
            raise InputError(f"{' / '.join(given)} {'is' if len(given) == 1 else 'are'} for --engine ray")
        if args.engine == "threads":
            return make_engine("threads", workers=4 if threads is None else threads)
        return make_engine(args.engine)
    from .. import quiet

    # the actors' own output (third-party warnings, native log chatter) reaches this terminal only with --verbose
    return make_engine("ray", config=RAY_ARGS.build(args, log_to_driver=quiet.level() == "verbose"), log=log)


def check_local_engine(args: argparse.Namespace, what: str) -> None:
    """Refuse ``--engine ray`` (and its options) where only the local engine runs (``what``: e.g. "one input")."""
    if getattr(args, "engine", "local") != "local":
        raise InputError(f"--engine {args.engine} runs batches; {what} runs in this process (give several PATHs, a "
                         "folder, a manifest or --out for a batch)")
    engine_from_args(args)
