"""Still images (jpg / png / webp / bmp) as inputs: one RGB face frame, no audio.

    frame = load_image("face.jpg")                 # (H, W, 3) uint8 RGB, upright, longer side <= max_side
    is_image_path("face.png")                      # by extension, no I/O

ffmpeg opens a still image as a one-frame video, so ``probe`` reports it with ``has_video`` and ``is_image`` and
``load_frames`` returns its single frame at t = 0; everything downstream (face encoder, scene encoder, KB queries)
treats it as a clip of one frame without sound.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .config import MediaConfig
from .container import IMAGE_EXTENSIONS, import_av, is_image_format, open_media
from .errors import CorruptMediaError, EmptyMediaError, UnsupportedFormatError
from .sampling import fit_within
from .video import frame_rotation, upright

_DEFAULTS = MediaConfig()


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the file name ends in a still-image extension (``IMAGE_EXTENSIONS``)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def decode_image(container: Any, *, name: str, max_side: int | None) -> np.ndarray:
    """The first frame of an opened still-image container as (H, W, 3) uint8 RGB (downscaled to ``max_side``, turned
    upright by its display rotation when the decoder reports one)."""
    av = import_av()
    try:
        for frame in container.decode(container.streams.video[0]):
            w, h = fit_within(frame.width, frame.height, max_side)
            return upright(frame.to_ndarray(format="rgb24", width=w, height=h), frame_rotation(frame))
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"cannot decode the image {name}: corrupt or truncated ({exc})") from None
    raise EmptyMediaError(f"{name}: the image decodes to no pixels")


def load_image(path: str | os.PathLike[str], *, max_side: int | None = _DEFAULTS.max_side,
               max_bytes: int = _DEFAULTS.max_bytes) -> np.ndarray:
    """Decode a still image to (H, W, 3) uint8 RGB. A file that is media but not a still image (a clip, a sound) is
    ``UnsupportedFormatError``; a damaged image is ``CorruptMediaError``."""
    with open_media(path, max_bytes=max_bytes) as container:
        name = os.path.basename(os.fspath(path))
        if not is_image_format(container.format.name) or not container.streams.video:
            raise UnsupportedFormatError(f"{name} is not a still image (detected as {container.format.long_name!r})")
        return decode_image(container, name=name, max_side=max_side)
