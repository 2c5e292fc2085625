"""Media decoding with PyAV (bundled ffmpeg): probe a file, load 16 kHz mono audio, sample RGB frames.

    info = probe("clip.mp4")                       # MediaInfo(duration, has_video, has_audio, fps, size, ...)
    wave = load_audio("clip.mp4")                  # (T,) float32 mono 16 kHz
    frames, times = load_frames("clip.mp4", fps=2.0, max_frames=32)   # list of (H, W, 3) uint8 RGB, (N,) s
    frame = load_image("face.jpg")                 # a still image: (H, W, 3) uint8 RGB (also one frame of load_frames)

Every failure is a typed ``MediaError`` (an ``InputError``): see ``media.errors``.
"""
from .audio import load_audio
from .config import MediaConfig
from .errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    MediaTooLargeError,
    NoAudioStreamError,
    NoVideoStreamError,
    SilentAudioError,
    UnsupportedFormatError,
)
from .image import is_image_path, load_image
from .levels import peak_dbfs, rms_dbfs
from .probe import MediaInfo, probe
from .sampling import sample_times
from .video import load_frames

__all__ = [
    "MediaConfig", "MediaInfo", "probe", "load_audio", "load_frames", "load_image", "is_image_path", "sample_times",
    "rms_dbfs", "peak_dbfs",
    "MediaError", "MediaNotFoundError", "CorruptMediaError", "EmptyMediaError", "NoVideoStreamError",
    "NoAudioStreamError", "SilentAudioError", "UnsupportedFormatError", "MediaTooLargeError",
]
