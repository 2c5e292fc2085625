"""Which inputs a batch holds: files, folders (recursive, by extension) and manifests, each with a unique id.

    items = discover(["a.mp4", "clips/", "mine.jsonl"])
    [BatchItem(id="a.mp4", path="a.mp4", kind="video"), BatchItem(id="fer/justin.jpg", ...), ...]

Rules:
- a file whose extension is a manifest's (``MANIFEST_EXTENSIONS``) is read as a manifest (``datasets.manifest``;
  labels optional): one item per line; a line that cannot become a sample (missing media file, unknown label) is an
  item carrying its error, so it becomes one failed row;
- any other file is one media item, whatever its extension (what it is shows when it is decoded);
- a folder contributes every file below it whose extension is a video, audio or still image one (hidden files and
  folders skipped), sorted by relative path.
Ids: a file's name; a folder's files their path relative to that folder (``fer/justin.jpg``); a manifest row its
``id``. When two inputs would share an id, the later one is named by its path as given, then ``#2``, ``#3``.
A PATH that does not exist, or a folder without any media file, is an ``InputError`` before anything runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import AffectAgentError, InputError
from ..media.container import IMAGE_EXTENSIONS
from ..schema import Sample

VIDEO_EXTENSIONS: frozenset[str] = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".wmv", ".asf", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg",
    ".3gp", ".3g2", ".ogv",
})
AUDIO_EXTENSIONS: frozenset[str] = frozenset({
    ".wav", ".wave", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".caf", ".au", ".wma",
    ".amr", ".w64", ".wv",
})
MANIFEST_EXTENSIONS: frozenset[str] = frozenset({".jsonl", ".ndjson", ".csv", ".tsv"})


def media_kind(path: str | Path) -> str | None:
    """"video", "audio" or "image" by extension; None for any other file."""
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    return None


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch.

    id:     unique in the batch (the key a resumed run matches on).
    path:   what the output row shows as the input's path (the media file, or ``manifest:LINE`` for a text row).
    kind:   video | audio | image | text, as far as known before decoding (None: an unrecognised extension).
    media:  a media file to probe and predict (file and folder inputs); None for manifest rows.
    sample: the manifest row's sample; None for media files.
    error:  the manifest row's error (the item becomes a failed row without running anything).
    """

    id: str
    path: str | None
    kind: str | None = None
    media: Path | None = None
    sample: Sample | None = None
    error: str | None = None


@dataclass
class Discovery:
    """The items of a batch plus what the folders held that is not an input (``ignored``: count of other files)."""

    items: list[BatchItem] = field(default_factory=list)
    ignored: int = 0


def _manifest_items(path: Path) -> list[BatchItem]:
    from ..datasets.manifest import ManifestDataset  # noqa: PLC0415

    out = []
    for line, sid, got in ManifestDataset().read_each(path):
        where = f"{path}:{line}"
        if isinstance(got, AffectAgentError):
            out.append(BatchItem(id=sid, path=where, error=str(got)))
            continue
        media = got.video or got.audio
        kind = ("audio" if got.audio is not None and got.video is None else media_kind(media) or "video") if media \
            else "text"
        out.append(BatchItem(id=got.id, path=str(media) if media else where, kind=kind, sample=got))
    return out


def _folder_items(folder: Path) -> tuple[list[BatchItem], int]:
    items, ignored = [], 0
    for p in sorted(folder.rglob("*"), key=lambda q: q.relative_to(folder).as_posix()):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        kind = media_kind(p)
        if kind is None:
            ignored += 1
            continue
        items.append(BatchItem(id=rel.as_posix(), path=str(p), kind=kind, media=p))
    return items, ignored


def discover(paths: Sequence[str | Path]) -> Discovery:
    """The batch of ``paths`` (see the module docstring)."""
    found = Discovery()
    for given in paths:
        p = Path(given).expanduser()
        if p.is_dir():
            items, ignored = _folder_items(p)
            if not items:
                raise InputError(f"{given}: no video, audio or image files in this folder")
            found.items += items
            found.ignored += ignored
        elif p.is_file():
            if p.suffix.lower() in MANIFEST_EXTENSIONS:
                found.items += _manifest_items(p)
            else:
                found.items.append(BatchItem(id=p.name, path=str(given), kind=media_kind(p), media=p))
        else:
            raise InputError(f"input not found: {given}")
    found.items = unique_ids(found.items)
    return found


def unique_ids(items: Sequence[BatchItem]) -> list[BatchItem]:
    """``items`` with clashing ids renamed: the later item takes its path as given, then ``#2``, ``#3``, ..."""
    from dataclasses import replace  # noqa: PLC0415

    seen: set[str] = set()
    out = []
    for it in items:
        sid = it.id
        if sid in seen and it.path:
            sid = it.path
        n = 2
        base = sid
        while sid in seen:
            sid = f"{base}#{n}"
            n += 1
        seen.add(sid)
        out.append(it if sid == it.id else replace(it, id=sid))
    return out
