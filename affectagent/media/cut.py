"""Cutting a time span out of a clip into files the rest of the package reads like any input (PyAV, no system ffmpeg).

    write_wav(path, wave16k[a:b], sr=16000)                       # 16-bit PCM mono WAV of a decoded span
    piece = cut_video("clip.mp4", "seg.mkv", start=2.0, end=4.0, keep_times=[2.25, 2.75])
    piece.path, piece.n_frames, piece.frames, piece.times          # slice file + the frames nearest keep_times

The video slice is re-encoded (H.264 in Matroska, CRF 18, one thread, bit-exact: the same span gives the same
bytes) from every source frame of [start, end), upright and downscaled like ``load_frames`` (longer side <=
``max_side``), with timestamps from 0; it has no audio track (the audio of the span goes into its own WAV, which
``encoders.extract`` prefers as the audio source). Re-encoding (not a stream copy) makes the slice start exactly at
``start`` instead of at the previous key frame.
"""
from __future__ import annotations

import os
import wave as wave_io
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import MissingDependencyError
from .config import MediaConfig
from .container import import_av, open_media
from .errors import CorruptMediaError, NoVideoStreamError
from .sampling import fit_within
from .video import frame_rotation, upright

_DEFAULTS = MediaConfig()
VIDEO_CODEC = "libx264"
VIDEO_OPTIONS: dict[str, str] = {"crf": "18", "preset": "ultrafast"}
TIME_BASE = Fraction(1, 1000)  # slice timestamps in milliseconds


@dataclass
class VideoSlice:
    """A cut video span. ``path``: the slice file; ``n_frames``: source frames written into it; ``frames`` /
    ``times``: for each asked ``keep_times`` target reached, the RGB uint8 frame nearest it (as the slice holds it)
    and that frame's time in the *source* clip (seconds). ``frames`` may be shorter than ``keep_times`` when the
    video stream ends first."""

    path: Path
    n_frames: int
    frames: list[np.ndarray] = field(default_factory=list)
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, *, sr: int) -> Path:
    """Write float samples in [-1, 1] (mono, (T,)) as a 16-bit PCM WAV at ``sr`` Hz; returns the path."""
    path = Path(path)
    pcm = np.round(np.clip(np.asarray(samples, np.float32).reshape(-1), -1.0, 1.0) * 32767.0).astype("<i2")
    with wave_io.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(pcm.tobytes())
    return path


def _even(image: np.ndarray) -> np.ndarray:
    """H.264 4:2:0 needs even sides: drop the last row/column when odd (a 1 px crop)."""
    h, w = image.shape[:2]
    h2, w2 = max(2, h - h % 2), max(2, w - w % 2)
    return image if (h2, w2) == (h, w) else np.ascontiguousarray(image[:h2, :w2])


class _SliceWriter:
    """Opens the output at the first frame (its size is known then) and encodes RGB frames at ms timestamps."""

    def __init__(self, av: Any, path: Path, rate: float) -> None:
        if VIDEO_CODEC not in av.codecs_available:
            raise MissingDependencyError(f"cutting video needs PyAV with {VIDEO_CODEC}: pip install av==18.1.0")
        self.av, self.path, self.rate = av, path, rate
        self.container: Any = None
        self.stream: Any = None
        self.last_pts = -1

    def write(self, image: np.ndarray, t_rel: float) -> None:
        if self.container is None:
            # bitexact: no random segment id or muxer date, so the same span gives the same bytes (feature cache hits)
            self.container = self.av.open(str(self.path), mode="w", format="matroska",
                                          options={"fflags": "+bitexact"})
            self.stream = self.container.add_stream(VIDEO_CODEC, rate=Fraction(round(self.rate * 1000), 1000))
            self.stream.width, self.stream.height = image.shape[1], image.shape[0]
            self.stream.pix_fmt = "yuv420p"
            self.stream.options = dict(VIDEO_OPTIONS)
            self.stream.codec_context.thread_count = 1
            self.stream.time_base = TIME_BASE
        frame = self.av.VideoFrame.from_ndarray(image, format="rgb24")
        pts = max(self.last_pts + 1, int(round(t_rel / TIME_BASE)))
        frame.pts, frame.time_base = pts, TIME_BASE
        self.last_pts = pts
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        if self.container is not None:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            self.container.close()
            self.container = None


def cut_video(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    start: float,
    end: float,
    keep_times: Sequence[float] = (),
    max_side: int | None = _DEFAULTS.max_side,
    max_bytes: int = _DEFAULTS.max_bytes,
) -> VideoSlice | None:
    """Write the frames of ``src`` whose time t lies in [start − ½ frame, end − ½ frame) to ``out`` (module
    docstring), and keep the frames nearest ``keep_times`` (absolute seconds, increasing). Returns None when the
    video stream has no frame in the span (it ended earlier). Raises ``NoVideoStreamError`` without a video stream
    and ``CorruptMediaError`` when decoding fails before any frame of the span."""
    av = import_av()
    out = Path(out)
    targets = [float(t) for t in keep_times]
    with open_media(src, max_bytes=max_bytes) as container:
        name = os.path.basename(os.fspath(src))
        if not container.streams.video:
            raise NoVideoStreamError(f"{name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 25.0)
        half = 0.5 / rate
        if start > half:
            try:
                container.seek(int(max(0.0, start - 1.0) * 1_000_000), backward=True, any_frame=False)
            except av.error.FFmpegError:
                container.seek(0)
        writer = _SliceWriter(av, out, rate)
        kept: list[np.ndarray] = []
        stamps: list[float] = []
        n = k = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else index / rate
                if t < start - half:
                    continue
                if t >= end - half:
                    break
                w, h = fit_within(frame.width, frame.height, max_side)
                image = _even(upright(frame.to_ndarray(format="rgb24", width=w, height=h), frame_rotation(frame)))
                writer.write(image, t - start)
                n += 1
                while k < len(targets) and targets[k] <= t + half:
                    kept.append(image)
                    stamps.append(t)
                    k += 1
        except av.error.FFmpegError as exc:
            if n == 0:
                writer.close()
                out.unlink(missing_ok=True)
                raise CorruptMediaError(f"cannot decode the video of {name} at {start:.2f} s: corrupt or truncated "
                                        f"({exc})") from None
        finally:
            writer.close()
    if n == 0:
        out.unlink(missing_ok=True)
        return None
    return VideoSlice(path=out, n_frames=n, frames=kept, times=np.asarray(stamps, np.float64))
