"""Read prediction / gold files for scoring (CSV, JSONL, JSON) and the MER2024 synonym-group zip.

Layouts (the benchmark's own CSVs, or JSONL / JSON with the same field names; one record per sample):
    open-vocabulary sets   name,openset       openset = "['happy', 'relaxed']" | "[happy, relaxed]" | JSON list
    single labels          name,label
    sentiment gold         name,valence       a number; 0 = neutral
    sentiment prediction   name,sentiment     positive | negative | neutral, or a number
    free text              name,reason        (also: description, text) for the offline extractor
A JSONL file may hold several runs (a ``run`` field); pick one with ``run=``.
The project's own prediction files are read as they are (``FIELD_ALIASES``): ``affectagent evaluate``'s
predictions.jsonl and ``affectagent predict ... --out`` rows name a sample ``id`` and its open-vocabulary set
``ov_set``; a batch row with an ``error`` (an input that failed) is no prediction and is left out.
Everything here is I/O; the metrics are pure functions elsewhere.
"""
from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..jsonlines import parse_json_lines
from ..errors import InputError
from .parsing import parse_group_lists, parse_label_list

TEXT_FIELDS: tuple[str, ...] = ("reason", "description", "text")
# field -> the names the project's own files use for it (evaluate's predictions.jsonl, predict --out rows)
FIELD_ALIASES: dict[str, tuple[str, ...]] = {"name": ("id",), "openset": ("ov_set",)}
MAX_GROUP_MEMBER_BYTES = 1 << 20  # one synonym-group .npy holds a short string; refuse anything larger


def read_records(path: str | Path, *, run: str | None = None) -> list[dict[str, Any]]:
    """Records of a .csv, .jsonl or .json file (list of objects, or {name: value}) as dicts.

    ``run``: keep only records whose ``run`` field equals it. A file with several runs and no ``run`` is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    if suffix == ".csv":
        records = _read_csv(text, path)
    elif suffix == ".jsonl":
        records = _read_jsonl(text, path)
    elif suffix == ".json":
        records = _read_json(text, path)
    else:
        raise InputError(f"{path}: unsupported file type {suffix!r} (use .csv, .jsonl or .json)")
    read = len(records)
    records = [with_aliases(r) for r in records if not r.get("error")]
    if not records:
        raise InputError(f"{path}: no records" + (" (every row is a failed input)" if read else ""))
    return _select_run(records, run, path)


def with_aliases(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with each ``FIELD_ALIASES`` field filled from its alias when the field itself is absent."""
    filled = {}
    for name, aliases in FIELD_ALIASES.items():
        alias = next((a for a in aliases if a in record), None)
        if name not in record and alias is not None:
            filled[name] = record[alias]
    return {**record, **filled} if filled else record


def _read_csv(text: str, path: Path) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not any(f and f.strip() for f in reader.fieldnames):
        raise InputError(f"{path}: CSV has no header row")
    reader.fieldnames = [f.strip() for f in reader.fieldnames]
    records = []
    for row in reader:
        if None in row:
            raise InputError(f"{path}:{reader.line_num}: more cells than header columns "
                             "(quote list cells, e.g. \"['happy', 'sad']\")")
        records.append(dict(row))
    return records


def _read_jsonl(text: str, path: Path) -> list[dict[str, Any]]:
    return [obj for _, obj in parse_json_lines(text, where=lambda n: f"{path}:{n}")]


def _read_json(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(obj, list) and all(isinstance(x, dict) for x in obj):
        return obj
    if isinstance(obj, dict):
        return [{"name": k, "value": v} for k, v in obj.items()]
    raise InputError(f"{path}: expected a list of objects or a {{name: value}} object")


def _select_run(records: list[dict[str, Any]], run: str | None, path: Path) -> list[dict[str, Any]]:
    runs = sorted({str(r["run"]) for r in records if "run" in r})
    if run is not None:
        kept = [r for r in records if str(r.get("run")) == run]
        if not kept:
            raise InputError(f"{path}: no records with run={run!r} (runs: {', '.join(runs) or 'none'})")
        return kept
    if len(runs) > 1:
        raise InputError(f"{path}: holds {len(runs)} runs ({', '.join(runs)}); choose one with --run")
    return records


def column_map(records: Sequence[Mapping[str, Any]], field: str | Sequence[str], path: str | Path) -> tuple[str, dict[str, Any]]:
    """(field used, {name: value}) for the first of ``field`` present in the records.

    Records need a non-empty ``name``; a duplicate name is an error. A ``.json`` {name: value} file is read
    as the column ``value`` and accepted for any field.
    """
    fields = [field] if isinstance(field, str) else list(field)
    available = set().union(*(r.keys() for r in records))
    if "name" not in available:
        raise InputError(f"{path}: no 'name' column/field (found: {', '.join(sorted(available))})")
    chosen = next((f for f in fields if f in available), None)
    if chosen is None and available == {"name", "value"}:
        chosen = "value"
    if chosen is None:
        raise InputError(f"{path}: needs a column/field {' or '.join(repr(f) for f in fields)} "
                         f"(found: {', '.join(sorted(available))})")
    out: dict[str, Any] = {}
    for i, rec in enumerate(records, start=1):
        name = str(rec.get("name") or "").strip()
        if not name:
            raise InputError(f"{path}: record {i} has an empty name")
        if name in out:
            raise InputError(f"{path}: duplicate name {name!r}")
        if chosen not in rec:
            raise InputError(f"{path}: record {name!r} lacks {chosen!r}")
        out[name] = rec[chosen]
    return chosen, out


def read_label_sets(path: str | Path, *, field: str | Sequence[str] = "openset", run: str | None = None) -> dict[str, list[str]]:
    """{name: word list} from an open-vocabulary file (benchmark list strings or JSON lists)."""
    _, col = column_map(read_records(path, run=run), field, path)
    return {k: parse_label_list(v) for k, v in col.items()}


def read_labels(path: str | Path, *, field: str | Sequence[str] = "label", run: str | None = None) -> dict[str, str]:
    """{name: label string} from a single-label file."""
    _, col = column_map(read_records(path, run=run), field, path)
    out = {}
    for name, value in col.items():
        if value is None or not str(value).strip():
            raise InputError(f"{path}: sample {name!r} has an empty label")
        out[name] = str(value).strip()
    return out


def read_numbers(path: str | Path, *, field: str = "valence", run: str | None = None) -> dict[str, float]:
    """{name: float} from a numeric column (e.g. gold valence)."""
    _, col = column_map(read_records(path, run=run), field, path)
    out = {}
    for name, value in col.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{path}: sample {name!r} has a non-numeric {field} {value!r}") from None
        if math.isnan(number):
            raise InputError(f"{path}: sample {name!r} has a NaN {field}")
        out[name] = number
    return out


def has_field(path: str | Path, field: str, *, run: str | None = None) -> bool:
    """True if any record of the file has ``field``."""
    return any(field in r for r in read_records(path, run=run))


def align(gold: Mapping[str, Any], pred: Mapping[str, Any], *, what: str, missing_as: Any = None) -> tuple[list[str], int]:
    """(gold names in file order, number of extra predicted names). Missing predictions are an error unless
    ``missing_as`` is given (then the caller fills them with it)."""
    names = list(gold)
    missing = [n for n in names if n not in pred]
    if missing and missing_as is None:
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        raise InputError(f"{len(missing)} of {len(names)} gold samples have no {what} prediction ({shown})")
    return names, len(set(pred) - set(gold))


def _npy_string(payload: bytes, member: str) -> str:
    try:
        arr = np.load(io.BytesIO(payload), allow_pickle=False)
    except ValueError as exc:
        raise InputError(f"{member}: not a plain string array (pickled objects are refused): {exc}") from None
    if arr.dtype.kind not in ("U", "S") or arr.size != 1:
        raise InputError(f"{member}: expected one string, got dtype {arr.dtype} shape {arr.shape}")
    value = arr.reshape(()).item()
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_synonym_groups(path: str | Path) -> dict[str, list[list[str]]]:
    """{sample name: synonym groups} from MER2024's ``openset-synonym.zip`` (one ``<name>.npy`` string per
    sample) or a JSON/JSONL file with ``name`` and ``groups`` fields. ``.npy`` members are read with
    ``allow_pickle=False``; oversized members are refused."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"synonym-group file not found: {path}")
    if path.suffix.lower() in (".json", ".jsonl"):
        _, col = column_map(read_records(path), "groups", path)
        return {k: (parse_group_lists(v) if isinstance(v, str) else [[str(w) for w in g] for g in v]) for k, v in col.items()}
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(f"{path}: not a zip file") from None
    groups: dict[str, list[list[str]]] = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(".npy"):
                continue
            if info.file_size > MAX_GROUP_MEMBER_BYTES:
                raise InputError(f"{path}: member {info.filename} is {info.file_size} bytes; refusing")
            name = Path(info.filename).name[: -len(".npy")]
            if name in groups:
                raise InputError(f"{path}: two members for sample {name!r}")
            groups[name] = parse_group_lists(_npy_string(archive.read(info), info.filename))
    if not groups:
        raise InputError(f"{path}: no .npy members")
    return groups

