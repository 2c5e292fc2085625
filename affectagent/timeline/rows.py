"""One row per timeline segment and its two file formats (JSON lines and CSV, from the extension).

Fields (``TIMELINE_FIELDS``, in this order):
    index         segment number, 0-based, in time order
    start, end    seconds from the start of the clip
    label         predicted emotion (canonical)                              - None when the segment failed
    probs         {emotion: probability} over the candidate labels            - {} when it failed
    sentiment     negative | neutral | positive
    ov_set        the open-vocabulary emotion set (list)
    face_present  a face was detected in the segment (None: no video, or no face-track sample in it)
    face_ratio    share of the segment's face-track samples with a face (None as above)
    transcript    what ASR heard in the segment, when the predictor records it (``Prediction.trace["transcript"]``)
    seconds       wall time of the segment (cutting + prediction)
    error         why the segment failed (one line), None when it did not
CSV: the same columns; ``probs`` is a JSON object and ``ov_set`` a JSON list in their cells, an empty cell is None
(the conventions of ``batch.rows``).
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from ..batch.rows import row_format
from ..schema import Prediction
from .segments import Segment

JSON_CELLS: frozenset[str] = frozenset({"probs", "ov_set"})


@dataclass
class TimelineRow:
    """One segment's outcome; see the module docstring for the fields."""

    index: int
    start: float
    end: float
    label: str | None = None
    probs: dict[str, float] = field(default_factory=dict)
    sentiment: str | None = None
    ov_set: tuple[str, ...] = ()
    face_present: bool | None = None
    face_ratio: float | None = None
    transcript: str | None = None
    seconds: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def mid(self) -> float:
        return 0.5 * (self.start + self.end)

    @classmethod
    def from_prediction(cls, segment: Segment, pred: Prediction, *, seconds: float, face_present: bool | None = None,
                        face_ratio: float | None = None) -> "TimelineRow":
        transcript = (pred.trace or {}).get("transcript")
        return cls(index=segment.index, start=segment.start, end=segment.end, label=pred.label,
                   probs={k: round(float(v), 6) for k, v in pred.probs.items()}, sentiment=pred.sentiment,
                   ov_set=tuple(pred.ov_set), face_present=face_present, face_ratio=face_ratio,
                   transcript=transcript if isinstance(transcript, str) else None, seconds=round(seconds, 4))

    @classmethod
    def failed(cls, segment: Segment, *, error: str, seconds: float, face_present: bool | None = None,
               face_ratio: float | None = None) -> "TimelineRow":
        return cls(index=segment.index, start=segment.start, end=segment.end, face_present=face_present,
                   face_ratio=face_ratio, seconds=round(seconds, 4), error=error)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready dict with every field of ``TIMELINE_FIELDS`` (a list for ``ov_set``)."""
        d = asdict(self)
        d["ov_set"] = list(self.ov_set)
        return d


TIMELINE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TimelineRow))


def _cells(row: TimelineRow) -> list[str]:
    rec = row.to_record()
    return [json.dumps(rec[n], ensure_ascii=False) if n in JSON_CELLS else "" if rec[n] is None else str(rec[n])
            for n in TIMELINE_FIELDS]


def write_timeline_rows(path: str | os.PathLike[str], rows: Iterable[TimelineRow]) -> Path:
    """Replace ``path`` (.jsonl or .csv, from the extension; anything else is an InputError) with ``rows``, written to
    a temp file beside it and renamed (never half-written). Returns the path."""
    path = Path(path)
    fmt = row_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        if fmt == "csv":
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(TIMELINE_FIELDS)
            for row in rows:
                writer.writerow(_cells(row))
        else:
            for row in rows:
                f.write(json.dumps(row.to_record(), ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path
