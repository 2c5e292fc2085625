"""One output row per batch input, and its two file formats (JSON lines and CSV), read and written the same way.

Fields (``ROW_FIELDS``, in this order):
    id            the input's id (unique in the batch; what a resumed run matches on)
    path          the media file (or ``manifest.jsonl:LINE`` for a manifest row without media)
    kind          video | audio | image | text (None when the input failed before its kind was known)
    label         predicted emotion (canonical)                          - None when the input failed
    probs         {emotion: probability} over the candidate labels        - {} when it failed
    sentiment     negative | neutral | positive
    ov_set        the open-vocabulary emotion set (list)
    rationale     the generator's rationale
    evidence_ids  ids of the knowledge-base evidence the answer kept (list)
    seconds       wall time of this input (decode + encoders + agents)
    error         why this input failed (one line), None when it did not
    gold          the manifest's label when it has one
    intent        the speaker's intent (Nano-EmoX's mir answer; None for the other models)
    reply         an empathetic reply to the input (Nano-EmoX's erg answer; None for the other models)
JSON lines: one object per line with exactly these fields. CSV: the same columns; ``probs`` is a JSON object and
``ov_set`` / ``evidence_ids`` are JSON lists in their cells; an empty cell is None. ``read_rows`` also reads
``affectagent evaluate``'s predictions.jsonl (``evidence`` objects instead of ``evidence_ids``).

Backward compatible: ``intent`` and ``reply`` were added last. Files written before them (``LEGACY_ROW_FIELDS``) read
as rows with None there, and a CSV with the old header is resumed in its own columns (new rows append without the two).
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..errors import InputError
from ..schema import Prediction

ROW_FORMATS: dict[str, str] = {".jsonl": "jsonl", ".csv": "csv"}
JSON_CELLS: frozenset[str] = frozenset({"probs", "ov_set", "evidence_ids"})


@dataclass
class PredictionRow:
    """One input's outcome; see the module docstring for the fields."""

    id: str
    path: str | None = None
    kind: str | None = None
    label: str | None = None
    probs: dict[str, float] = field(default_factory=dict)
    sentiment: str | None = None
    ov_set: tuple[str, ...] = ()
    rationale: str | None = None
    evidence_ids: tuple[str, ...] = ()
    seconds: float | None = None
    error: str | None = None
    gold: str | None = None
    intent: str | None = None
    reply: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_prediction(cls, pred: Prediction, *, id: str, path: str | None, kind: str | None,
                        seconds: float, gold: str | None = None) -> "PredictionRow":
        trace = pred.trace or {}
        extra = {k: trace[k] if isinstance(trace.get(k), str) else None for k in ("intent", "reply")}
        return cls(id=id, path=path, kind=kind, label=pred.label,
                   probs={k: round(float(v), 6) for k, v in pred.probs.items()}, sentiment=pred.sentiment,
                   ov_set=tuple(pred.ov_set), rationale=pred.rationale, evidence_ids=pred.evidence_ids,
                   seconds=round(seconds, 4), gold=gold, **extra)

    @classmethod
    def failed(cls, *, id: str, error: str, path: str | None = None, kind: str | None = None,
               seconds: float | None = None, gold: str | None = None) -> "PredictionRow":
        return cls(id=id, path=path, kind=kind, error=error,
                   seconds=None if seconds is None else round(seconds, 4), gold=gold)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready dict with every field of ``ROW_FIELDS`` (lists for the tuples)."""
        d = asdict(self)
        d["ov_set"], d["evidence_ids"] = list(self.ov_set), list(self.evidence_ids)
        return d

    @classmethod
    def from_record(cls, rec: Mapping[str, Any], *, where: str = "") -> "PredictionRow":
        """A row from a JSON object / CSV record of this format, or from a line of ``evaluate``'s predictions.jsonl
        (``name`` for ``id``, ``openset`` for ``ov_set``, ``evidence`` objects for ``evidence_ids`` are accepted)."""
        sid = rec.get("id", rec.get("name"))
        if sid is None or not str(sid).strip():
            raise InputError(f"{where}: a prediction row without an id")
        evidence = rec.get("evidence_ids")
        if evidence is None and isinstance(rec.get("evidence"), list):
            evidence = [e.get("id") if isinstance(e, Mapping) else e for e in rec["evidence"]]
        ov = rec.get("ov_set", rec.get("openset"))
        seconds = rec.get("seconds")
        probs = rec.get("probs") or {}
        if not isinstance(probs, Mapping):
            raise InputError(f"{where}: probs must be an object, got {type(probs).__name__}")
        try:
            seconds = None if seconds in (None, "") else float(seconds)
            probs = {str(k): float(v) for k, v in probs.items()}
        except (TypeError, ValueError):
            raise InputError(f"{where}: seconds / probs must be numbers") from None
        return cls(id=str(sid), path=_opt(rec.get("path")), kind=_opt(rec.get("kind")), label=_opt(rec.get("label")),
                   probs=probs, sentiment=_opt(rec.get("sentiment")), ov_set=_strings(ov, where, "ov_set"),
                   rationale=_opt(rec.get("rationale")), evidence_ids=_strings(evidence, where, "evidence_ids"),
                   seconds=seconds, error=_opt(rec.get("error")), gold=_opt(rec.get("gold")),
                   intent=_opt(rec.get("intent")), reply=_opt(rec.get("reply")))


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PredictionRow))
LEGACY_ROW_FIELDS: tuple[str, ...] = ROW_FIELDS[:ROW_FIELDS.index("intent")]  # before intent / reply existed
HEADERS: tuple[tuple[str, ...], ...] = (ROW_FIELDS, LEGACY_ROW_FIELDS)


def _opt(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _strings(value: Any, where: str, what: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{where}: {what} must be a list, got {type(value).__name__}")
    return tuple(str(v) for v in value)


def row_format(path: str | os.PathLike[str]) -> str:
    """"jsonl" or "csv" from the file extension (anything else is an ``InputError``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in ROW_FORMATS:
        raise InputError(f"--out {Path(path).name}: the extension picks the format: use .jsonl or .csv")
    return ROW_FORMATS[suffix]


# ---------------------------------------------------------------- encoding one row
def _csv_cells(row: PredictionRow, columns: tuple[str, ...] = ROW_FIELDS) -> list[str]:
    rec = row.to_record()
    out = []
    for name in columns:
        v = rec[name]
        out.append(json.dumps(v, ensure_ascii=False) if name in JSON_CELLS else "" if v is None else str(v))
    return out


def _csv_record(cells: Mapping[str, str], where: str) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    for name, cell in cells.items():
        if name is None:
            raise InputError(f"{where}: more cells than header columns")
        if name in JSON_CELLS and cell not in (None, ""):
            try:
                rec[name] = json.loads(cell)
            except json.JSONDecodeError:
                raise InputError(f"{where}: column {name} is not JSON: {cell[:40]!r}") from None
        else:
            rec[name] = None if cell in (None, "") else cell
    return rec


# ---------------------------------------------------------------- files
def iter_rows(path: str | os.PathLike[str]) -> Iterator[PredictionRow]:
    """The rows of a .jsonl / .csv prediction file (this module's format or ``evaluate``'s predictions.jsonl)."""
    from ..jsonlines import parse_json_lines  # noqa: PLC0415

    path = Path(path)
    fmt = row_format(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"prediction file not found: {path}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    if fmt == "jsonl":
        text = text[:len(text) - len(_cut_tail(text))]
        for n, obj in parse_json_lines(text, where=lambda n: f"{path} line {n}"):
            yield PredictionRow.from_record(obj, where=f"{path} line {n}")
        return
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        return
    if "id" not in reader.fieldnames and "name" not in reader.fieldnames:
        raise InputError(f"{path}: no 'id' column (columns: {', '.join(reader.fieldnames)})")
    for cells in reader:
        where = f"{path} line {reader.line_num}"
        yield PredictionRow.from_record(_csv_record(cells, where), where=where)


def read_rows(path: str | os.PathLike[str]) -> list[PredictionRow]:
    return list(iter_rows(path))


def check_output(path: Path) -> tuple[str, ...]:
    """The columns of an existing output CSV, which must be this module's header or the legacy one (so a manifest
    or any other table given as ``--out`` by mistake is refused before it is appended to or rewritten); a JSON-lines,
    new or empty file: ``ROW_FIELDS``."""
    if row_format(path) != "csv" or not path.exists() or path.stat().st_size == 0:
        return ROW_FIELDS
    with open(path, encoding="utf-8-sig", newline="") as f:
        header = tuple(next(csv.reader(f), []))
    if header not in HEADERS:
        raise InputError(f"{path} is a CSV with other columns ({', '.join(header[:5])}, ...), not a predict output; "
                         "give another --out (or --fresh to replace it)")
    return header


class RowWriter:
    """Appends rows to a .jsonl / .csv file, one flushed line (or CSV record) per row, so an interrupted batch
    keeps every finished row. A new or empty CSV gets the header first; an existing CSV must have this header.

        with RowWriter(path) as w:
            w.write(row)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.format = row_format(self.path)
        self._file: Any = None
        self._csv: Any = None
        self.columns: tuple[str, ...] = ROW_FIELDS  # an existing CSV keeps its own (possibly legacy) columns

    def __enter__(self) -> "RowWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if not fresh:
            self.columns = check_output(self.path)
            _repair_tail(self.path, jsonl=self.format == "jsonl")
        self._file = open(self.path, "a", encoding="utf-8", newline="")
        if self.format == "csv":
            self._csv = csv.writer(self._file, lineterminator="\n")
            if fresh:
                self._csv.writerow(ROW_FIELDS)
                self._file.flush()
        return self

    def write(self, row: PredictionRow) -> None:
        if self._csv is not None:
            self._csv.writerow(_csv_cells(row, self.columns))
        else:
            self._file.write(json.dumps(row.to_record(), ensure_ascii=False) + "\n")
        self._file.flush()

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _cut_tail(text: str) -> str:
    """The unfinished last line of a JSON-lines text (a run killed mid-write): the text after the last newline when
    it is not a complete JSON object, else ""."""
    if not text or text.endswith("\n"):
        return ""
    tail = text[text.rfind("\n") + 1:]
    try:
        json.loads(tail)
    except json.JSONDecodeError:
        return tail
    return ""


def _repair_tail(path: Path, *, jsonl: bool) -> None:
    """Before appending: drop an unfinished JSON line (``_cut_tail``), or end a last line that lacks its newline."""
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    tail = _cut_tail(data.decode("utf-8", errors="replace")) if jsonl else ""
    with open(path, "rb+") as f:
        if tail:
            f.truncate(data.rfind(b"\n") + 1)
        else:
            f.seek(0, os.SEEK_END)
            f.write(b"\n")


def write_rows(path: str | os.PathLike[str], rows: Iterable[PredictionRow]) -> Path:
    """Replace ``path`` with ``rows`` (written to a temp file beside it, then renamed: never half-written)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    tmp.unlink(missing_ok=True)
    with RowWriter(tmp) as w:
        for row in rows:
            w.write(row)
    os.replace(tmp, path)
    return path
