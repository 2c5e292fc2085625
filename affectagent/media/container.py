"""Opening a media file with PyAV (bundled ffmpeg) and turning every failure into a typed ``MediaError``.

Checks, in order: the path exists and is a file -> size under the byte limit -> not 0 bytes -> ffmpeg can open
it -> the detected container is an audio/video format or a still image (ffmpeg also "opens" text as ANSI art: that
is an ``UnsupportedFormatError``). A still image (jpg / png / webp / bmp) opens as a one-frame video without audio
(``is_image_format``; ``media.image`` decodes it).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import MissingDependencyError
from .errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaNotFoundError,
    MediaTooLargeError,
    UnsupportedFormatError,
)

# ffmpeg demuxer names (PyAV ``container.format.name`` is a comma list of these) that are audio/video containers.
MEDIA_DEMUXERS: frozenset[str] = frozenset({
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "flv", "asf", "mpegts", "mpeg", "mpegvideo",
    "wav", "w64", "mp3", "flac", "ogg", "aac", "aiff", "caf", "au", "wv", "ape", "amr", "opus", "h264", "hevc", "rm",
    "nut", "dv", "gxf", "mxf", "ivf", "oga", "spdif", "ac3", "eac3", "dts", "tta", "voc", "sox", "mlv", "smjpeg",
})
# ffmpeg demuxers of still images (``image2`` picks by file extension, the ``*_pipe`` ones by content).
IMAGE_DEMUXERS: frozenset[str] = frozenset({"image2", "jpeg_pipe", "png_pipe", "webp_pipe", "bmp_pipe"})
# Still-image file extensions that are first-class inputs (one face frame, no audio).
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
# File extensions that claim to be media: a file with one of these that ffmpeg cannot open is corrupt,
# anything else ffmpeg cannot open is an unsupported format.
MEDIA_EXTENSIONS: frozenset[str] = frozenset({
    ".mp4", ".m4v", ".m4a", ".mov", ".mkv", ".webm", ".avi", ".flv", ".wmv", ".asf", ".ts", ".mts", ".m2ts",
    ".mpg", ".mpeg", ".3gp", ".3g2", ".wav", ".wave", ".mp3", ".flac", ".ogg", ".oga", ".ogv", ".opus", ".aac",
    ".aif", ".aiff", ".caf", ".au", ".wma", ".amr", ".w64", ".wv",
}) | IMAGE_EXTENSIONS


def is_image_format(format_name: str) -> bool:
    """True when a PyAV ``container.format.name`` (a comma list of demuxers) is a still-image demuxer."""
    return bool(set(format_name.split(",")) & IMAGE_DEMUXERS)


def import_av() -> Any:
    """Import PyAV lazily (it bundles its own ffmpeg; no system ffmpeg is needed)."""
    try:
        import av  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - av is a core requirement
        raise MissingDependencyError("media decoding needs PyAV: pip install av==18.1.0") from exc
    return av


def check_file(path: str | os.PathLike[str], *, max_bytes: int) -> Path:
    """Existence, size limit and 0-byte checks, before ffmpeg sees the file. Returns the resolved path."""
    p = Path(path).expanduser()
    if not p.exists():
        raise MediaNotFoundError(f"media file not found: {p}")
    if not p.is_file():
        raise MediaNotFoundError(f"not a regular file: {p}")
    size = p.stat().st_size
    if size == 0:
        raise EmptyMediaError(f"media file is empty (0 bytes): {p}")
    if size > max_bytes:
        raise MediaTooLargeError(f"media file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit: {p}")
    return p


@contextmanager
def open_media(path: str | os.PathLike[str], *, max_bytes: int) -> Iterator[Any]:
    """Open ``path`` for decoding; yields a PyAV input container and closes it afterwards."""
    av = import_av()
    p = check_file(path, max_bytes=max_bytes)
    try:
        container = av.open(str(p), mode="r")
    except av.error.FFmpegError as exc:
        if p.suffix.lower() in MEDIA_EXTENSIONS:
            raise CorruptMediaError(f"cannot decode {p.name}: corrupt or truncated ({_reason(exc)})") from None
        raise UnsupportedFormatError(f"unsupported format: {p.name} is not an audio/video/image file ffmpeg can "
                                     "read") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptMediaError(f"cannot read {p.name}: {exc}") from None
    try:
        demuxers = set(container.format.name.split(","))
        if not demuxers & (MEDIA_DEMUXERS | IMAGE_DEMUXERS):
            raise UnsupportedFormatError(
                f"unsupported format: {p.name} was detected as {container.format.long_name!r}, not an audio/video "
                "container or a still image"
            )
        if not container.streams.video and not container.streams.audio:
            raise EmptyMediaError(f"{p.name} has no audio or video stream")
        yield container
    finally:
        container.close()


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip() or type(exc).__name__
