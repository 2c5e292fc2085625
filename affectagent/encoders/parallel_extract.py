"""``extract`` over many samples on several CPU cores: worker processes, each with its own encoders, writing to the
same feature cache (its writes are atomic, so workers never see partial entries).

Why processes: the slow stages of a media sample (openSMILE, the face mesh, the FER CNN at small batch, Whisper)
hold the GIL or a per-encoder lock, so threads would not overlap them; each worker runs one sample at a time with one
torch thread. Why only sometimes: a worker pays a few seconds to import and load its encoders, which a cached run
(every stage a cache hit, milliseconds per sample) must not pay. ``extract_many`` therefore probes the first samples
in this process and hands the rest to the pool only when those were mostly cache misses and enough remain
(``worth_a_pool``).

    feats = extract_many(samples, config=cfg, workers=0)   # 0 = one worker per core (``resolve_workers``)

Default (``workers=None``): ``$AFFECTAGENT_WORKERS`` if set, else 1 — in-process for the Python API, because a
spawned worker re-imports the caller's ``__main__`` (a script without an ``if __name__ == "__main__":`` guard would
run again); the ``affectagent`` CLI sets ``AFFECTAGENT_WORKERS=0`` (one per core) unless the user set it.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterator, Literal, Sequence

from ..errors import InputError
from ..schema import Features, Sample
from .cache import FeatureCache
from .config import ExtractConfig

# samples probed in this process before deciding; samples per task sent to a worker; fewer remaining → no pool
PROBE = 8
CHUNK = 32
MIN_PARALLEL = 48


def resolve_workers(workers: int | None) -> int:
    """``workers`` as given; None = ``$AFFECTAGENT_WORKERS`` or 1; 0 = one per core
    (``os.cpu_count()``, at most 8). Negative or non-integer values are refused."""
    if workers is None:
        env = os.environ.get("AFFECTAGENT_WORKERS", "").strip()
        if env:
            try:
                workers = int(env)
            except ValueError:
                raise InputError(f"AFFECTAGENT_WORKERS must be an integer (0 = one per core); got {env!r}") from None
        else:
            workers = 1
    if workers < 0:
        raise InputError(f"workers must be >= 0 (0 = one per core); got {workers}")
    return workers or max(1, min(os.cpu_count() or 1, 8))


def worth_a_pool(*, workers: int, probed: Sequence[Features], remaining: int) -> bool:
    """True when a pool of ``workers`` pays off: more than one worker, at least ``MIN_PARALLEL`` samples left and at
    most half of the ``probed`` samples fully served by the cache (a cache hit has no timed encoder stage). Pure."""
    if workers < 2 or remaining < MIN_PARALLEL or not probed:
        return False
    misses = sum(1 for f in probed if "error" not in f.info and not _fully_cached(f))
    return misses * 2 >= len(probed)


# stages timed even when every result comes from the cache (hashing, probing, the cached text lookup)
_CHEAP_STAGES = frozenset({"hash", "probe", "text"})


def _fully_cached(f: Features) -> bool:
    return bool(f.info.get("cached")) and not set(f.info.get("timings") or {}) - _CHEAP_STAGES


def _init_worker() -> None:
    """One torch / OpenMP thread per worker: the workers already fill the cores."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass


def _run_chunk(chunk: list[Sample], config: ExtractConfig, cache_root: str, cache_enabled: bool,
               on_error: str) -> list[Features]:
    from .extract import extract_many  # noqa: PLC0415 - runs in the worker

    return extract_many(chunk, config=config, cache=FeatureCache(cache_root, enabled=cache_enabled), progress=False,
                        on_error=on_error, workers=1)  # type: ignore[arg-type]


def extract_in_pool(samples: Sequence[Sample], *, config: ExtractConfig, cache: FeatureCache, workers: int,
                    on_error: Literal["raise", "record"], advance: Callable[[int], None] | None = None,
                    ) -> Iterator[Features]:
    """``extract`` of every sample in ``workers`` spawned processes, yielded in input order (``advance(n)`` after
    each finished chunk of n). A sample error is raised or recorded per ``on_error``, as in ``extract_many``; a
    worker that dies (e.g. killed for memory) raises ``InputError`` naming the samples it held."""
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    chunks = [list(samples[i:i + CHUNK]) for i in range(0, len(samples), CHUNK)]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds torch / OpenMP threads
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=ctx, initializer=_init_worker) as pool:
        futures = [pool.submit(_run_chunk, c, config, str(cache.root), cache.enabled, on_error) for c in chunks]
        try:
            for chunk, fut in zip(chunks, futures):
                try:
                    feats = fut.result()
                except BrokenProcessPool as exc:
                    raise InputError(f"a feature-extraction worker died while encoding {chunk[0].id} … "
                                     f"{chunk[-1].id} ({exc}); retry with --workers 1 to find the input") from None
                if advance is not None:
                    advance(len(chunk))
                yield from feats
        finally:
            for fut in futures:
                fut.cancel()
