"""Batch prediction: many files, folders and manifests in one process, one output row per input.

    from affectagent.batch import discover, run_batch
    found = discover(["clips/", "more.mp4", "mine.jsonl"])
    summary = run_batch(found.items, predict=lambda s: agent.predict([s])[0], out=Path("preds.csv"))

``discover`` (discover.py) turns paths into ``BatchItem``s with unique ids; ``run_batch`` (runner.py) predicts each,
writes a ``PredictionRow`` (rows.py: the fields, and the .jsonl / .csv readers and writers) per input, turns a failing
input into a row with its error, and resumes from an existing output. ``engine=`` runs the predictions elsewhere
(engine.py: ``local`` in this process, ``ray`` in a pool of Ray actors: ray_engine.py); outputs.py / parquet.py add
Parquet outputs (a ``.parquet`` file or a folder of part files). ``affectagent predict PATH... --out FILE`` is the
command line over it.
"""
from .discover import BatchItem, Discovery, discover, media_kind
from .rows import ROW_FIELDS, PredictionRow, RowWriter, read_rows, row_format, write_rows
from .engine import ENGINES, BatchEngine, LocalEngine, make_engine
from .runner import BatchSummary, LazyPredict, run_batch

__all__ = [
    "BatchItem", "Discovery", "discover", "media_kind", "ROW_FIELDS", "PredictionRow", "RowWriter", "read_rows",
    "row_format", "write_rows", "BatchSummary", "LazyPredict", "run_batch", "ENGINES", "BatchEngine", "LocalEngine",
    "make_engine",
]
