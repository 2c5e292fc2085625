"""One metrics-logger interface for every trainer: stdout, JSON lines and TensorBoard behind ``log`` / ``close``.

    logger = make_logger(jsonl=out / "log.jsonl", tensorboard=out / "tb")      # or stdout=True
    logger.log({"step": 1, "kind": "train", "task_reward": 0.41})
    logger.close()                                                             # or: with make_logger(...) as logger:

A record is a JSON-serialisable dict. ``JSONLLogger`` appends one line per record and flushes it at once, so a crashed
run keeps every line it wrote and a resumed run appends to the same file. ``TensorBoardLogger`` writes the record's
numeric scalars (nested dicts flattened as ``a/b``; strings, booleans, None and non-finite numbers skipped) under
``<kind>/<key>`` (``kind`` defaults to "train") at ``record["step"]`` (a record without a step reuses the last step
seen). ``StdoutLogger`` prints each record as one JSON line. Implementations are registered in ``METRICS_LOGGERS``.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import IO, Any, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from ..errors import MissingDependencyError
from ..registry import Registry


@runtime_checkable
class MetricsLogger(Protocol):
    """Receives a trainer's metric records. ``close()`` flushes and releases files; calling it twice is harmless."""

    def log(self, record: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class _Closing:
    """Context-manager support shared by the implementations."""

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


METRICS_LOGGERS: Registry[type] = Registry("metrics logger")


@METRICS_LOGGERS.register("stdout")
class StdoutLogger(_Closing):
    """Prints every record as one JSON line (flushed) to ``stream`` (default: sys.stdout at call time)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream

    def log(self, record: Mapping[str, Any]) -> None:
        print(json.dumps(dict(record)), file=self._stream or sys.stdout, flush=True)

    def close(self) -> None:
        pass


@METRICS_LOGGERS.register("jsonl")
class JSONLLogger(_Closing):
    """Appends every record to ``path`` as one JSON line and flushes it (parent folders are created)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = open(self.path, "a", encoding="utf-8")

    def log(self, record: Mapping[str, Any]) -> None:
        if self._fh is None:
            raise ValueError(f"JSONLLogger({self.path}) is closed")
        self._fh.write(json.dumps(dict(record)) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def scalars(record: Mapping[str, Any], *, prefix: str = "") -> Iterator[tuple[str, float]]:
    """(key, value) of the finite int/float entries of ``record``, nested mappings flattened as ``outer/inner``."""
    for k, v in record.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            yield from scalars(v, prefix=f"{key}/")
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            yield key, v


@METRICS_LOGGERS.register("tensorboard")
class TensorBoardLogger(_Closing):
    """Scalars of every record to a TensorBoard event file in ``log_dir`` (torch.utils.tensorboard, imported lazily).

    Tag = ``<record[group_key]>/<key>`` (group default ``default_group``), step = ``record[step_key]``; the step and
    group keys themselves are not written."""

    def __init__(self, log_dir: str | Path, *, step_key: str = "step", group_key: str = "kind",
                 default_group: str = "train") -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise MissingDependencyError("TensorBoard logging needs the tensorboard package: pip install tensorboard "
                                         "(or turn TensorBoard logging off)") from None
        self.log_dir = Path(log_dir)
        self._writer = SummaryWriter(str(self.log_dir))
        self.step_key, self.group_key, self.default_group = step_key, group_key, default_group
        self._last_step = 0

    def log(self, record: Mapping[str, Any]) -> None:
        if self._writer is None:
            raise ValueError(f"TensorBoardLogger({self.log_dir}) is closed")
        step = record.get(self.step_key, self._last_step)
        self._last_step = step
        group = record.get(self.group_key, self.default_group)
        skip = {self.step_key, self.group_key}
        for key, value in scalars({k: v for k, v in record.items() if k not in skip}):
            self._writer.add_scalar(f"{group}/{key}", value, step)
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class MultiLogger(_Closing):
    """Sends every record to each of ``loggers`` in order; ``close()`` closes them all."""

    def __init__(self, loggers: Sequence[MetricsLogger] = ()) -> None:
        self.loggers = list(loggers)

    def log(self, record: Mapping[str, Any]) -> None:
        for logger in self.loggers:
            logger.log(record)

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()


def make_logger(*, jsonl: str | Path | None = None, tensorboard: str | Path | None = None,
                stdout: bool = False) -> MultiLogger:
    """The loggers asked for, in the order stdout, JSONL, TensorBoard (none at all: a logger that drops records)."""
    loggers: list[MetricsLogger] = []
    if stdout:
        loggers.append(METRICS_LOGGERS.get("stdout")())
    if jsonl is not None:
        loggers.append(METRICS_LOGGERS.get("jsonl")(jsonl))
    if tensorboard is not None:
        try:
            loggers.append(METRICS_LOGGERS.get("tensorboard")(tensorboard))
        except BaseException:
            MultiLogger(loggers).close()
            raise
    return MultiLogger(loggers)


__all__ = ["METRICS_LOGGERS", "JSONLLogger", "MetricsLogger", "MultiLogger", "StdoutLogger", "TensorBoardLogger",
           "make_logger", "scalars"]
