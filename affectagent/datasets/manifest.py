"""Generic manifest for user data: ``load("manifest", data_file="my_data.jsonl")``.

Format
------
JSON lines (``.jsonl`` / ``.ndjson``: one JSON object per line, blank lines ignored) or a CSV / TSV table with the same
column names (header row required; delimiter detected from the header). Example::

    {"id": "clip-001", "video": "videos/clip-001.mp4", "label": "happy"}
    {"id": "utt-7", "text": "You did WHAT?", "context": [{"speaker": "Ann", "text": "I sold the car."}],
     "speaker": "Bob", "label": "surprise"}
    {"id": "call-3", "audio": "/data/calls/3.wav"}
    {"id": "face-9", "image": "faces/9.jpg"}

Fields (only one of ``video`` / ``audio`` / ``image`` / ``text`` is required per record):

=========== =========================================================================================================
id          unique string; default ``<file stem>-<line>`` when absent or empty
video       path to a video file (with or without an audio track)
audio       path to an audio file
image       path to a still image (jpg / png / webp / bmp): one face frame, no audio (``Sample.video`` holds the
            path; ``media`` decodes it as a one-frame video). Not together with ``video``.
text        the utterance or transcript
context     previous turns, oldest first: ``[{"speaker": "A", "text": "..."}, ...]`` or ``["...", "..."]``
            (in CSV: the same JSON in the cell)
speaker     speaker of this utterance
label       a canonical emotion (case-insensitive): neutral, happy, sad, angry, fear, disgust, surprise, calm,
            boredom, contempt, powerful, shame, guilt, other; empty / absent = unlabelled
labels      several canonical emotions (JSON list, or comma-separated in CSV) for multi-label data
sentiment   positive / neutral / negative (default: implied by ``label``)
valence, arousal, dominance   numbers (any scale; kept as given)
group       speaker / subject id for speaker-independent folds (``folds(samples, by="group")``)
split       train / dev / test: ``load("manifest", split)`` keeps the matching rows; rows without it are kept and
            get the requested split
meta        JSON object of anything else; unknown columns are added to ``meta`` too
=========== =========================================================================================================

Relative media paths resolve against the manifest's folder; every media file must exist (DataNotFoundError naming the
manifest line). A malformed line (bad JSON, unknown label, no video/audio/text, bad context, duplicate id) raises
InputError naming the file and line. ``ManifestDataset.read_each`` yields each line's sample or its error instead
(batch prediction: a bad line is one failed row, not the end of the run).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ..errors import AffectAgentError, DataNotFoundError
from ..schema import CANONICAL_EMOTIONS, CANONICAL_SPACE, SENTIMENTS, LabelSpace, Sample, Turn
from .base import ALL, DatasetSpec, default_sentiment
from .table import Row, read_rows

MEDIA_FIELDS: tuple[str, ...] = ("video", "audio", "image")
CONTENT_FIELDS: tuple[str, ...] = ("video", "audio", "image", "text")
KNOWN_FIELDS: frozenset[str] = frozenset({
    "id", "video", "audio", "image", "text", "context", "speaker", "label", "labels", "sentiment", "valence", "arousal",
    "dominance", "group", "split", "meta",
})
_ALLOWED = ", ".join(CANONICAL_EMOTIONS)


def parse_context(row: Row) -> tuple[Turn, ...]:
    """``context`` as turns: a list of ``{"speaker", "text"}`` objects or of strings (JSON text in CSV cells)."""
    value: Any = row.get("context")
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise row.error('context must be a JSON list, e.g. [{"speaker": "A", "text": "hi"}] or ["hi"]') from None
    if not isinstance(value, list):
        raise row.error(f"context must be a list, got {type(value).__name__}")
    turns = []
    for i, item in enumerate(value, start=1):
        if isinstance(item, str):
            turns.append(Turn(None, item))
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            speaker = item.get("speaker")
            turns.append(Turn(None if speaker is None else str(speaker), item["text"]))
        else:
            raise row.error(f"context turn {i} must be a string or an object with a 'text' string")
    return tuple(turns)


def _canonical(row: Row, value: Any, what: str) -> str:
    label = str(value).strip().lower()
    if label not in CANONICAL_EMOTIONS:
        raise row.error(f"{what} {value!r} is not a canonical emotion; allowed: {_ALLOWED}")
    return label


def _labels(row: Row) -> tuple[str, ...]:
    value: Any = row.get("labels")
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(dict.fromkeys(_canonical(row, v, "labels entry") for v in items if str(v).strip()))


def _number(row: Row, column: str) -> float | None:
    value = row.get(column)
    return None if value is None or value == "" else row.number(column)


def _media(row: Row, column: str, base: Path) -> Path | None:
    value = row.get(column)
    if value is None or str(value).strip() == "":
        return None
    path = Path(str(value).strip()).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise DataNotFoundError(f"{row.path} line {row.line}: {column} file not found: {path}")
    return path


def _row_id(row: Row) -> str:
    return row.text("id", required=False) or f"{row.path.stem}-{row.line}"


class ManifestDataset(DatasetSpec):
    name = "manifest"
    description = "your own data: JSONL/CSV manifest of video / audio / text with optional context and label"
    folder = ""
    modalities = ("text", "audio", "visual")
    split_files: dict[str, str] = {}

    @property
    def splits(self) -> tuple[str, ...]:
        return ("train", "dev", "test", ALL)

    def label_space(self) -> LabelSpace:
        return CANONICAL_SPACE

    def read(self, path: Path, *, split: str, limit: int | None = None) -> list[Sample]:
        samples = []
        for _, _, got in self.read_each(path, split=split):
            if isinstance(got, AffectAgentError):
                raise got
            samples.append(got)
            if limit is not None and len(samples) >= limit:
                break
        return samples

    def read_each(self, path: Path, *, split: str = ALL) -> Iterator[tuple[int, str, Sample | AffectAgentError]]:
        """(line, id, sample or the error of that line) for every row of ``split``. A file that cannot be read as a
        table at all (not found, bad JSON, no content column) still raises; the id of a failed line is its ``id``
        field or ``<file stem>-<line>``."""
        rows = read_rows(path, required=(), any_of=CONTENT_FIELDS, delimiter=",")
        base = path.parent.resolve()
        for row in rows:
            row_split = (row.text("split", required=False) or split).lower()
            if split != ALL and row.text("split", required=False) and row_split != split:
                continue
            sid = _row_id(row)
            try:
                yield row.line, sid, self._sample(row, row_split, base)
            except AffectAgentError as exc:
                yield row.line, sid, exc

    def _sample(self, row: Row, split: str, base: Path) -> Sample:
        text = row.get("text")
        text = None if text is None or str(text) == "" else str(text)
        video, audio, image = (_media(row, c, base) for c in MEDIA_FIELDS)
        if video is not None and image is not None:
            raise row.error("give either video or image, not both")
        video = video if video is not None else image
        if text is None and video is None and audio is None:
            raise row.error(f"needs at least one of {', '.join(CONTENT_FIELDS)}")
        raw = row.text("label", required=False)
        label = _canonical(row, raw, "label") if raw else None
        sentiment = (row.text("sentiment", required=False) or "").lower() or default_sentiment(label)
        if sentiment is not None and sentiment not in SENTIMENTS:
            raise row.error(f"sentiment {sentiment!r} is not one of {', '.join(SENTIMENTS)}")
        meta = row.get("meta") or {}
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except json.JSONDecodeError:
                raise row.error("meta must be a JSON object") from None
        if not isinstance(meta, dict):
            raise row.error("meta must be a JSON object")
        meta = {**meta, **{k: v for k, v in row.values.items() if k not in KNOWN_FIELDS and v not in (None, "")}}
        return Sample(
            id=_row_id(row),
            text=text, context=parse_context(row), speaker=row.text("speaker", required=False),
            video=video, audio=audio, label=label, raw_label=raw, labels=_labels(row), sentiment=sentiment,
            valence=_number(row, "valence"), arousal=_number(row, "arousal"), dominance=_number(row, "dominance"),
            group=row.text("group", required=False), source=self.name, split=split, meta=meta,
        )
