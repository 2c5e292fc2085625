"""The batch loop: one prediction per input with the models loaded once, a row per input, resumable.

    summary = run_batch(discover(paths).items, predict=lambda s: agent.predict([s])[0], out=Path("preds.csv"))
    summary.exit_code      # 0: every row ok; 1: some inputs failed

An input that fails (corrupt or unreadable file, a bad manifest line, any error while predicting it) is a row with
its ``error``; the batch goes on. Resuming: when ``out`` exists, ids already in it *without* an error are skipped;
ids whose row there failed are tried again and their old row is replaced. Every row is flushed as it is written, so
an interrupted run (Ctrl-C, a crash) loses at most the input in flight (a ``.parquet`` file is written at the end
instead; a Parquet folder keeps every finished part: parquet.py).

Engines (engine.py): ``local`` predicts in this process; ``ray`` (ray_engine.py) in a pool of Ray actors that each
load the models once. Either way the rows are made by ``predict_item`` and written here, so outputs, resuming and
the summary do not depend on the engine.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import AffectAgentError
from ..schema import Prediction, Sample
from .discover import BatchItem
from .outputs import drop, open_sink, out_kind, previous, remove
from .rows import PredictionRow

if TYPE_CHECKING:
    from .engine import BatchEngine

PredictFn = Callable[[Sample], Prediction]


@dataclass
class BatchSummary:
    """What a run did. ``failed_ids``: the inputs of this run whose row has an error."""

    total: int
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    out: Path | None = None
    seconds: float = 0.0
    failed_ids: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every input of this run has a prediction, 1 when some failed."""
        return 1 if self.failed else 0

    def to_dict(self) -> dict:
        return {"total": self.total, "ok": self.ok, "failed": self.failed, "skipped": self.skipped,
                "retried": self.retried, "out": None if self.out is None else str(self.out),
                "seconds": round(self.seconds, 3), "failed_ids": list(self.failed_ids)}

    def format(self) -> str:
        where = f" to {self.out}" if self.out is not None else ""
        n = self.ok + self.failed
        parts = [f"{n} row{'' if n == 1 else 's'} written{where} in {self.seconds:.1f} s: {self.ok} ok, "
                 f"{self.failed} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (already in {self.out.name if self.out else 'the output'})")
        if self.retried:
            parts.append(f"{self.retried} failed before and tried again")
        return "; ".join(parts)


class LazyPredict:
    """A ``PredictFn`` whose models load on the first call (a resumed batch with nothing left loads nothing).

        predict = LazyPredict(lambda: load_agents_and_return_a_predict_fn())
    """

    def __init__(self, load: Callable[[], PredictFn]) -> None:
        self._load = load
        self._fn: PredictFn | None = None

    @property
    def loaded(self) -> bool:
        return self._fn is not None

    def load(self) -> PredictFn:
        if self._fn is None:
            self._fn = self._load()
        return self._fn

    def __call__(self, sample: Sample) -> Prediction:
        return self.load()(sample)


def describe_error(exc: BaseException) -> str:
    """One line for a failed row: the message of a user-facing error, ``Type: message`` for anything else."""
    text = str(exc) if isinstance(exc, AffectAgentError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def sample_of(item: BatchItem) -> tuple[Sample, str | None]:
    """(sample, kind) of an item: a manifest row's own sample, or a media file probed as ``predict PATH`` does
    (video stream -> video, else audio; a still image is a one-frame video). The kind is the probed one (a manifest's
    ``video`` may hold a sound-only file). Raises the media errors."""
    from ..media import probe  # noqa: PLC0415

    if item.sample is not None:
        media = item.sample.video or item.sample.audio
        return item.sample, probe(media).kind if media is not None else item.kind
    info = probe(item.media)
    video, audio = (item.media, None) if info.has_video else (None, item.media)
    return Sample(id=item.id, video=video, audio=audio), info.kind


def predict_item(item: BatchItem, predict: PredictFn) -> PredictionRow:
    """The row of one item; every ``Exception`` becomes a failed row (``KeyboardInterrupt`` still stops the run)."""
    t0 = time.perf_counter()
    gold = item.sample.label if item.sample is not None else None
    if item.error is not None:
        return PredictionRow.failed(id=item.id, path=item.path, kind=item.kind, error=item.error, gold=gold)
    kind = item.kind
    try:
        sample, kind = sample_of(item)
        pred = predict(sample)
    except Exception as exc:  # noqa: BLE001 - one bad input is one failed row, never the end of the batch
        return PredictionRow.failed(id=item.id, path=item.path, kind=kind, error=describe_error(exc),
                                    seconds=time.perf_counter() - t0, gold=gold)
    return PredictionRow.from_prediction(pred, id=item.id, path=item.path, kind=kind,
                                         seconds=time.perf_counter() - t0, gold=gold)


def row_maker(predict: PredictFn) -> Callable[[BatchItem], PredictionRow]:
    """An engine's maker for prediction rows: loads ``predict`` (a ``LazyPredict``) and returns item -> row."""
    if isinstance(predict, LazyPredict):
        predict.load()
    return partial(predict_item, predict=predict)


def previous_rows(out: Path) -> list[PredictionRow]:
    """The rows already in ``out`` (none when it does not exist or is empty)."""
    return previous(out)


def run_batch(items: Sequence[BatchItem], *, predict: PredictFn, out: Path | None = None, resume: bool = True,
              progress: bool = True, on_row: Callable[[PredictionRow], None] | None = None,
              engine: "BatchEngine | None" = None) -> BatchSummary:
    """Predict every item, writing one row each to ``out`` (.jsonl / .csv / .parquet / a folder; None: rows only go
    to ``on_row``).

    resume: skip ids that already have an ok row in ``out`` and retry the failed ones (``False``: replace ``out``).
    progress: a tqdm bar on stderr. on_row: called with each new row (e.g. to print it).
    engine: where the predictions run (default ``LocalEngine``); an engine that is not in-process pickles
    ``predict`` to its workers, so give it an unloaded ``LazyPredict`` (the models then load in each worker).
    """
    from .engine import LocalEngine  # noqa: PLC0415

    engine = engine or LocalEngine()
    t0 = time.perf_counter()
    summary = BatchSummary(total=len(items), out=out)
    todo = list(items)
    if out is not None:
        out_kind(out)  # the extension is checked before anything runs
        if not resume and out.exists():
            remove(out)
        old = previous(out)
        done = {r.id for r in old if r.ok}
        ids = {it.id for it in items}
        retry = {r.id for r in old if not r.ok and r.id in ids and r.id not in done}
        if retry:  # drop their failed rows: each id keeps one row
            drop(out, old, retry)
        todo = [it for it in items if it.id not in done]
        summary.skipped = len(items) - len(todo)
        summary.retried = len(retry)
    from tqdm.auto import tqdm  # noqa: PLC0415

    if todo and engine.in_process and isinstance(predict, LazyPredict):
        predict.load()  # before the bar: loading errors (a bad checkpoint) stop the run instead of failing each row
    bar = tqdm(total=len(todo), desc="predict", unit="input", disable=not progress or not todo, dynamic_ncols=True)
    sink = open_sink(out) if out is not None else None
    try:
        if sink is not None:
            sink.__enter__()
        for row in engine.map(partial(row_maker, predict), todo):
            if sink is not None:
                sink.write(row)
            if row.ok:
                summary.ok += 1
            else:
                summary.failed += 1
                summary.failed_ids.append(row.id)
            bar.update(1)
            bar.set_postfix(failed=summary.failed, refresh=False)
            if on_row is not None:
                on_row(row)
    finally:
        bar.close()
        if sink is not None:
            sink.__exit__(None, None, None)
    summary.seconds = time.perf_counter() - t0
    return summary
