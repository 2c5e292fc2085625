"""The ``ray`` batch engine: inputs go through a Ray Data pool of actors, each loading the models once.

    engine = RayEngine(config=RayEngineConfig(concurrency=2, num_cpus_per_actor=1))
    summary = run_batch(items, predict=LazyPredict(load), out=Path("preds.parquet"), engine=engine)

How it runs (``RayEngine.map``): the inputs (already discovered and checked on the driver, so ids and error rows are
the local engine's) are pickled into ``ray.data.from_items`` -> ``map_batches(_Worker, concurrency=A,
num_cpus=C)``: every actor calls ``make()`` once in ``__init__`` (checkpoint, KB, encoders), then turns each batch of
inputs into results (a failing input is already a row with its error: ``runner.predict_item``). Results stream back
to the driver in input order (``preserve_order``); the driver writes them with the local engine's writers, so the
outputs, resuming and the summary are the same as ``--engine local``.

Cluster: ``address`` None starts a local Ray instance for the run (``num_cpus``: its CPUs, default all) and shuts it
down at the end; an address (``auto``, ``ray://host:10001``, ``host:6379``) connects to a running cluster and only
disconnects. When Ray is already initialised in this process (a test, a notebook), that cluster is used as it is.
On a cluster every node needs this package installed and the inputs (media files, checkpoint, KB) at the same paths,
e.g. on a shared file system; the output is written by the driver only.
"""
from __future__ import annotations

import logging
import math
import pickle
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator, Sequence

from ..errors import InputError, MissingDependencyError
from .engine import ENGINES

RAY_PIP = "ray[data]==2.60.0"
MAX_BATCH = 64  # inputs per actor call at most when batch_size is automatic


def require_ray():
    """The ``ray`` module with Ray Data, or a ``MissingDependencyError`` with the install line."""
    try:
        import ray  # noqa: PLC0415 - optional and heavy
        import ray.data  # noqa: F401, PLC0415
    except ImportError:
        raise MissingDependencyError(f"--engine ray needs Ray Data: pip install '{RAY_PIP}' "
                                     "(or pip install -e '.[ray]')") from None
    return ray


@dataclass(frozen=True)
class RayEngineConfig:
    """address: a running Ray cluster to connect to: `auto` (the one `ray start --head` started on this machine),
        HOST:PORT or ray://HOST:10001 (default: start a local cluster for the run and shut it down after).
    concurrency: actors in the pool (default: as many as the cluster's CPUs hold at --num-cpus-per-actor each).
    num_cpus_per_actor: CPUs Ray reserves for each actor; its torch / BLAS threads follow it.
    batch_size: inputs per actor call (default: about four calls per actor, at most 64 inputs each).
    num_cpus: CPUs of the local cluster started when there is no address (None: every core of this machine).
    log_to_driver: show what the actors print on this process's stderr.
    """

    address: str | None = None
    concurrency: int | None = None
    num_cpus_per_actor: float = 1.0
    batch_size: int | None = None
    num_cpus: int | None = None
    log_to_driver: bool = True

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise InputError("--concurrency must be >= 1")
        if not self.num_cpus_per_actor > 0:
            raise InputError("--num-cpus-per-actor must be > 0")
        if self.batch_size is not None and self.batch_size < 1:
            raise InputError("the Ray batch size must be >= 1")
        if self.num_cpus is not None and self.num_cpus < 1:
            raise InputError("the local Ray cluster needs num_cpus >= 1")
        if self.address is not None and not self.address.strip():
            raise InputError("--address is empty (give auto, HOST:PORT or ray://HOST:PORT)")


@dataclass(frozen=True)
class PoolPlan:
    """How ``map`` splits the work: ``actors`` actors of ``cpus`` CPUs, ``batch_size`` inputs per call, ``blocks``
    Ray Data blocks, on a cluster of ``cluster_cpus`` CPUs."""

    actors: int
    cpus: float
    batch_size: int
    blocks: int
    cluster_cpus: float

    def format(self) -> str:
        return (f"{self.actors} actor{'s' if self.actors != 1 else ''} x {self.cpus:g} CPU, {self.batch_size} "
                f"input{'s' if self.batch_size != 1 else ''} per call (cluster: {self.cluster_cpus:g} CPUs)")


def plan_pool(config: RayEngineConfig, *, n_inputs: int, cluster_cpus: float) -> PoolPlan:
    """The pool for ``n_inputs`` on a cluster with ``cluster_cpus`` CPUs (an ``InputError`` when the asked actors
    cannot all be placed: Ray would wait for them forever)."""
    fit = int(cluster_cpus // config.num_cpus_per_actor)
    if fit < 1:
        raise InputError(f"--num-cpus-per-actor {config.num_cpus_per_actor:g} is more than the Ray cluster's "
                         f"{cluster_cpus:g} CPUs")
    actors = config.concurrency or fit
    if actors > fit:
        raise InputError(f"--concurrency {actors} x --num-cpus-per-actor {config.num_cpus_per_actor:g} needs "
                         f"{actors * config.num_cpus_per_actor:g} CPUs; the Ray cluster has {cluster_cpus:g}")
    batch = config.batch_size or max(1, min(MAX_BATCH, n_inputs // (actors * 4)))
    blocks = max(1, math.ceil(n_inputs / batch))
    return PoolPlan(actors=max(1, min(actors, blocks)), cpus=config.num_cpus_per_actor, batch_size=batch,
                    blocks=blocks, cluster_cpus=cluster_cpus)


@contextmanager
def ray_cluster(config: RayEngineConfig, *, log: Callable[[str], None] | None = None) -> Iterator[Any]:
    """The ``ray`` module connected to the cluster of ``config`` for the duration of the block (see the module
    docstring: started and shut down, connected and disconnected, or the caller's own, left as it is)."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": config.log_to_driver}
    if config.address:
        kwargs["address"] = config.address
    else:
        kwargs.update(num_cpus=config.num_cpus, include_dashboard=False)
    if log is not None:
        log(f"Ray: connecting to {config.address}" if config.address else "Ray: starting a local cluster")
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"the Ray cluster at {config.address}" if config.address else "a local Ray cluster"
        raise InputError(f"cannot start or reach {where}: {' '.join(str(exc).split())[:300]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


@dataclass(frozen=True)
class _Fatal:
    """What an actor whose ``make()`` failed returns instead of results: the driver raises ``error`` (so a bad
    checkpoint stops the run with its own one-line message, as with the local engine)."""

    error: BaseException


class _Worker:
    """One actor of the pool: ``make()`` once (models load here), then batches of pickled inputs -> pickled results.

    An exception in ``make()`` is kept and sent back in place of the results (``_Fatal``): Ray would otherwise
    report an actor that died in its constructor (or a wrapped user-code error) instead of the original error."""

    def __init__(self, make: Callable[[], Callable[[Any], Any]]) -> None:
        self.fatal: _Fatal | None = None
        try:
            self.fn = make()
        except Exception as exc:  # noqa: BLE001 - re-raised on the driver
            self.fatal = _Fatal(_picklable(exc))

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa  # noqa: PLC0415

        inputs = batch.column("blob").to_pylist()
        if self.fatal is not None:
            results: list[Any] = [self.fatal] * len(inputs)
        else:
            results = [self.fn(pickle.loads(b)) for b in inputs]
        blobs = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in results]
        return pa.table({"pos": batch.column("pos"), "blob": pa.array(blobs, type=pa.large_binary())})


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` (without its traceback) if it survives pickling, else a ``RuntimeError`` with its type and message."""
    exc = exc.with_traceback(None)
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def quiet_ray_data() -> None:
    """Ray Data's console log down to errors (its INFO lines about every execution would mix with the rows; its
    log file under /tmp/ray keeps everything)."""
    # the logger's own level, not its handlers' (those can be shared with other loggers, e.g. a test's capture)
    logging.getLogger("ray.data").setLevel(logging.ERROR)


@ENGINES.register("ray")
@dataclass(frozen=True)
class RayEngine:
    """The ``ray`` engine (module docstring). ``log``: one-line notes (cluster, pool) for the user, e.g. stderr."""

    config: RayEngineConfig = field(default_factory=RayEngineConfig)
    log: Callable[[str], None] | None = None
    progress_bars: bool = False  # Ray Data's own per-operator bars (the batch has its own)

    name: ClassVar[str] = "ray"
    in_process: ClassVar[bool] = False

    def map(self, make: Callable[[], Callable[[Any], Any]], inputs: Sequence[Any]) -> Iterator[Any]:
        if not inputs:
            return
        with ray_cluster(self.config, log=self.log) as ray:
            quiet_ray_data()
            ctx = ray.data.DataContext.get_current()
            saved = (ctx.execution_options.preserve_order, ctx.enable_progress_bars)
            ctx.execution_options.preserve_order = True
            ctx.enable_progress_bars = self.progress_bars
            try:
                plan = plan_pool(self.config, n_inputs=len(inputs),
                                 cluster_cpus=float(ray.cluster_resources().get("CPU", 0.0)))
                if self.log is not None:
                    self.log(f"Ray: {plan.format()}")
                ds = ray.data.from_items([{"pos": i, "blob": pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL)}
                                          for i, x in enumerate(inputs)], override_num_blocks=plan.blocks)
                ds = ds.map_batches(_Worker, fn_constructor_kwargs={"make": make}, batch_size=plan.batch_size,
                                    batch_format="pyarrow", num_cpus=plan.cpus,
                                    compute=ray.data.ActorPoolStrategy(size=plan.actors))
                for out in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                    for blob in out.column("blob").to_pylist():
                        result = pickle.loads(blob)
                        if isinstance(result, _Fatal):
                            raise result.error
                        yield result
            finally:
                ctx.execution_options.preserve_order, ctx.enable_progress_bars = saved
