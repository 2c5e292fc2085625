"""Real media files shared by the media and encoder tests (required: a test fails when its file is absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

from .resources import shared


def _shared(rel: str) -> Path:
    return shared(rel) / rel


@pytest.fixture
def talking_clip() -> Path:
    """Real talking-head mp4 (h264 + aac stereo 44.1 kHz, 6.1 s, English speech)."""
    return _shared("clips/video_retalking/face1.mp4")


@pytest.fixture
def silent_video() -> Path:
    """Real mp4 with NO audio track (4.6 s)."""
    return _shared("clips/fer/test.mp4")


@pytest.fixture
def digital_silence_clip() -> Path:
    """Real mp4 whose audio track is digital silence."""
    return _shared("clips/pyfeat/WolfgangLanger_Pexels.mp4")


@pytest.fixture
def ravdess_flac() -> Path:
    """Real RAVDESS speech, 16 kHz mono FLAC, 3.27 s ("Dogs are sitting by the door")."""
    return _shared("ravdess_speech/Actor_01/03-01-08-01-02-02-01.flac")


@pytest.fixture
def emodb_flac() -> Path:
    """Real EmoDB speech, 22.05 kHz mono FLAC, 2.0 s."""
    return _shared("emodb/audio/08a01Ab.flac")


@pytest.fixture
def still_image() -> Path:
    return _shared("clips/fer/justin.jpg")
