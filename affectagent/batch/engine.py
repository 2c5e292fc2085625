"""Batch engines: where the slow per-input work (decode, encoders, agents) runs. ``ENGINES`` names them:

- ``local``: in this process, one input after the other (the default);
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


def make_engine(name: str, **options: Any) -> BatchEngine:
    """The engine ``name`` built with ``options`` (the ray engine: ``config=RayEngineConfig(...)``, ``log=``)."""
    try:
        factory = ENGINES.get(name)
    except UnknownNameError as exc:
        raise InputError(str(exc)) from None
    return factory(**options)


from . import ray_engine as _ray_engine  # noqa: E402,F401 - registers "ray" (imports Ray only when it runs)
