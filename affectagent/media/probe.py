"""``probe(path) -> MediaInfo``: container facts without decoding the streams."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .config import MediaConfig
from .container import is_image_format, open_media
from .errors import CorruptMediaError, MediaTooLargeError


@dataclass(frozen=True)
class MediaInfo:
    """What a media file contains.

    duration:        seconds (longest of container and streams), ``None`` when the container does not say.
    size:            file size in bytes.
    fps:             video frame rate (average), ``None`` without video.
    width, height:   video frame size in pixels (0 without video).
    is_image:        a still image (jpg / png / webp / bmp): one video frame, no audio, ``duration`` and ``fps`` None.
    audio_sr:        native audio sample rate (Hz), ``None`` without audio.
    audio_channels:  native audio channel count (0 without audio).
    """

    path: Path
    format: str
    duration: float | None
    size: int
    has_video: bool
    has_audio: bool
    fps: float | None = None
    width: int = 0
    height: int = 0
    video_codec: str | None = None
    audio_sr: int | None = None
    audio_channels: int = 0
    audio_codec: str | None = None
    audio_duration: float | None = None
    is_image: bool = False

    @property
    def kind(self) -> str:
        """"image", "video" (with or without sound) or "audio"."""
        return "image" if self.is_image else "video" if self.has_video else "audio"

    @property
    def resolution(self) -> str | None:
        return f"{self.width}x{self.height}" if self.has_video else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def stream_seconds(stream: Any) -> float | None:
    """Declared duration of a PyAV stream in seconds, or ``None``."""
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def probe(path: str | os.PathLike[str], *, max_bytes: int = MediaConfig.max_bytes,
          max_seconds: float | None = None) -> MediaInfo:
    """Read container and stream headers of ``path``.

    Raises the typed errors of ``media.errors`` for a missing, empty, corrupt, unsupported or over-limit file
    (the duration limit applies only when ``max_seconds`` is given). A missing stream is not an error here:
    see ``has_video`` / ``has_audio``.
    """
    with open_media(path, max_bytes=max_bytes) as container:
        p = Path(path)
        durations: list[float] = []
        if container.duration is not None:
            durations.append(container.duration / 1_000_000)
        fps = width = height = None
        vcodec = acodec = None
        sr = None
        channels = 0
        audio_dur = None
        if container.streams.video:
            v = container.streams.video[0]
            rate = v.average_rate or v.guessed_rate
            fps = float(rate) if rate else None
            width, height = int(v.codec_context.width or 0), int(v.codec_context.height or 0)
            vcodec = v.codec_context.name
            if (d := stream_seconds(v)) is not None:
                durations.append(d)
        if container.streams.audio:
            a = container.streams.audio[0]
            sr = int(a.codec_context.sample_rate or a.rate or 0) or None
            channels = int(a.codec_context.channels or 0)
            acodec = a.codec_context.name
            audio_dur = stream_seconds(a)
            if audio_dur is not None:
                durations.append(audio_dur)
        is_image = is_image_format(container.format.name)
        if is_image:  # ffmpeg gives a still image the length of one frame at a nominal 25 fps: not a duration
            durations, fps = [], None
            if not width or not height:
                raise CorruptMediaError(f"cannot read the image {p.name}: corrupt or truncated (no picture size in "
                                        "its header)")
        duration = max(durations) if durations else None
        info = MediaInfo(
            path=p, format=container.format.name, duration=duration, size=p.stat().st_size,
            has_video=bool(container.streams.video), has_audio=bool(container.streams.audio),
            fps=fps, width=width or 0, height=height or 0, video_codec=vcodec,
            audio_sr=sr, audio_channels=channels, audio_codec=acodec, audio_duration=audio_dur, is_image=is_image,
        )
    if max_seconds is not None and duration is not None and duration > max_seconds:
        raise MediaTooLargeError(f"{p.name} lasts {duration:.1f} s, over the {max_seconds:.0f} s limit")
    return info
