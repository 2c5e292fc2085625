"""``load_frames``: sample RGB frames from the first video stream at a fixed rate, capped in count."""
from __future__ import annotations

import os

import numpy as np

from .config import MediaConfig
from .container import import_av, is_image_format, open_media
from .errors import CorruptMediaError, EmptyMediaError, MediaTooLargeError, NoVideoStreamError
from .probe import stream_seconds
from .sampling import fit_within, sample_times

_DEFAULTS = MediaConfig()


def frame_rotation(frame: object) -> float:
    """Display-matrix rotation of a decoded frame in degrees counter-clockwise (phones store portrait video as
    landscape plus this matrix); 0 when absent."""
    try:
        return float(getattr(frame, "rotation", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def upright(image: np.ndarray, rotation_ccw: float) -> np.ndarray:
    """Apply a display rotation (multiple of 90°, counter-clockwise; -90 = a quarter turn clockwise) to (H, W, 3)."""
    k = int(round(rotation_ccw / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(image, k=k)) if k else image


def load_frames(
    path: str | os.PathLike[str],
    *,
    fps: float = _DEFAULTS.fps,
    max_frames: int = _DEFAULTS.max_frames,
    max_side: int | None = _DEFAULTS.max_side,
    max_seconds: float = _DEFAULTS.max_seconds,
    max_bytes: int = _DEFAULTS.max_bytes,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Decode ``path`` and keep the frames nearest the times of ``sampling.sample_times``.

    Returns (frames, timestamps): frames is a list of N RGB uint8 arrays (H, W, 3) (downscaled so the longer
    side is <= ``max_side``, turned upright by the container's display matrix), timestamps is (N,) float64 seconds of the kept frames. N <= max_frames; a video
    with fewer frames than requested returns each decoded frame at most once.
    A still image (jpg / png / webp / bmp) is one frame at t = 0 (``media.image``).
    Raises ``NoVideoStreamError`` without a video stream, ``EmptyMediaError`` when no frame decodes,
    ``CorruptMediaError`` when decoding fails before any frame, ``MediaTooLargeError`` past ``max_seconds``.
    """
    av = import_av()
    with open_media(path, max_bytes=max_bytes) as container:
        name = os.path.basename(os.fspath(path))
        if not container.streams.video:
            raise NoVideoStreamError(f"{name} has no video stream")
        if is_image_format(container.format.name):
            from .image import decode_image  # noqa: PLC0415

            return [decode_image(container, name=name, max_side=max_side)], np.zeros(1, np.float64)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = stream_seconds(stream)
        if duration is None and container.duration is not None:
            duration = container.duration / 1_000_000
        if duration is not None and duration > max_seconds:
            raise MediaTooLargeError(f"{name}: video lasts {duration:.1f} s, over the {max_seconds:.0f} s limit")
        targets = sample_times(duration, fps=fps, max_frames=max_frames)
        rate = float(stream.average_rate or stream.guessed_rate or 25.0)
        half_period = 0.5 / rate
        frames: list[np.ndarray] = []
        stamps: list[float] = []
        k = 0
        index = 0
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else index / rate
                index += 1
                if t > max_seconds + 1.0:
                    raise MediaTooLargeError(f"{name}: video is longer than the {max_seconds:.0f} s limit")
                if t + half_period < targets[k]:
                    continue
                w, h = fit_within(frame.width, frame.height, max_side)
                frames.append(upright(frame.to_ndarray(format="rgb24", width=w, height=h), frame_rotation(frame)))
                stamps.append(t)
                while k < len(targets) and targets[k] <= t + half_period:
                    k += 1
                if k >= len(targets):
                    break
        except av.error.FFmpegError as exc:
            if not frames:
                raise CorruptMediaError(f"cannot decode the video of {name}: corrupt or truncated ({exc})") from None
        if not frames:
            raise EmptyMediaError(f"{name}: the video stream decodes to no frames")
        if duration and duration > 1.0 and stamps[-1] < 0.5 * duration and len(frames) < len(targets):
            raise CorruptMediaError(f"{name}: video is truncated (frames stop at {stamps[-1]:.2f} s of {duration:.2f} s)")
    return frames, np.asarray(stamps, dtype=np.float64)
