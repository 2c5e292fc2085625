"""Batch engines: where the slow per-input work (decode, encoders, agents) runs. ``ENGINES`` names them:

- ``local``: in this process, one input after the other (the default);
- ``threads``: in this process, N inputs at once in a thread pool; for predictors that wait on a server (``--agents
  openai`` against vLLM / ``affectagent llm-serve``), not for CPU-bound local models (they share the same cores);
- ``ray``: a pool of Ray actors, on this machine or a cluster (ray_engine.py; needs the optional ``ray[data]``).

An engine maps a *maker* over inputs: ``make()`` is called once per worker (that is where models load) and returns
the function applied to each input; results come back in input order. ``make`` must be picklable for an engine that
is not ``in_process`` (a module-level function, a ``functools.partial`` of one, or an unloaded ``LazyPredict``).

    engine = make_engine("ray", config=RayEngineConfig(concurrency=2))
    for row in engine.map(partial(row_maker, predict), items): ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Protocol, Sequence

from ..errors import InputError
from ..registry import Registry, UnknownNameError

Maker = Callable[[], Callable[[Any], Any]]


class BatchEngine(Protocol):
    """name: the registry name. in_process: ``make`` runs in this process (so it may hold unpicklable state)."""

    name: ClassVar[str]
    in_process: ClassVar[bool]

    def map(self, make: Maker, inputs: Sequence[Any]) -> Iterator[Any]:
        """``make()(x)`` for every input, in input order (``make`` is not called when there are no inputs)."""
        ...


ENGINES: Registry[Callable[..., BatchEngine]] = Registry("batch engine")


@ENGINES.register("local")
@dataclass(frozen=True)
class LocalEngine:
    """Every input in this process, in order."""

    name: ClassVar[str] = "local"
    in_process: ClassVar[bool] = True

    def map(self, make: Maker, inputs: Sequence[Any]) -> Iterator[Any]:
        if not inputs:
            return
        fn = make()
        for x in inputs:
            yield fn(x)


@ENGINES.register("threads")
@dataclass(frozen=True)
class ThreadEngine:
    """``workers`` inputs at once in this process's threads (``make()`` is called once: the predictor is shared, so
    it must be thread-safe; the OpenAI-compatible backend caps its requests in flight itself). Results come back in
    input order, each as soon as it and every input before it are done."""

    name: ClassVar[str] = "threads"
    in_process: ClassVar[bool] = True
    workers: int = 4

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise InputError(f"--threads must be >= 1; got {self.workers}")

    def map(self, make: Maker, inputs: Sequence[Any]) -> Iterator[Any]:
        if not inputs:
            return
        from concurrent.futures import ThreadPoolExecutor

        fn = make()
        with ThreadPoolExecutor(max_workers=min(self.workers, len(inputs)), thread_name_prefix="batch") as pool:
            yield from pool.map(fn, inputs)


def make_engine(name: str, **options: Any) -> BatchEngine:
    """The engine ``name`` built with ``options`` (the ray engine: ``config=RayEngineConfig(...)``, ``log=``; the
    threads engine: ``workers=N``)."""
    try:
        factory = ENGINES.get(name)
    except UnknownNameError as exc:
        raise InputError(str(exc)) from None
    return factory(**options)


from . import ray_engine as _ray_engine  # noqa: E402,F401 - registers "ray" (imports Ray only when it runs)
