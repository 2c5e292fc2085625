"""Every bad-input kind, on real files made in the test: each raises its typed error (an InputError)."""
import os

import numpy as np
import pytest

from affectagent.errors import InputError
from affectagent.media import (
    CorruptMediaError,
    EmptyMediaError,
    MediaNotFoundError,
    MediaTooLargeError,
    NoAudioStreamError,
    NoVideoStreamError,
    SilentAudioError,
    UnsupportedFormatError,
    load_audio,
    load_frames,
    probe,
)
from affectagent.media.riff import wav_missing_bytes


def test_missing_file(tmp_path):
    with pytest.raises(MediaNotFoundError, match="not found"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(MediaNotFoundError):
        load_audio(tmp_path)  # a directory


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(EmptyMediaError, match="0 bytes"):
        load_frames(p)


@pytest.mark.parametrize("fraction", [0.3, 0.9, 0.999])
def test_truncated_real_clip(talking_clip, tmp_path, fraction):
    data = talking_clip.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: int(len(data) * fraction)])
    for load in (probe, load_audio, load_frames):
        with pytest.raises(CorruptMediaError, match="corrupt or truncated"):
            load(p)


def test_truncated_flac_and_wav(ravdess_flac, tmp_path):
    import soundfile as sf

    data = ravdess_flac.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMediaError):
        load_audio(cut)
    wave, sr = sf.read(ravdess_flac, dtype="float32")
    full = tmp_path / "full.wav"
    sf.write(full, wave, sr, subtype="PCM_16")
    assert wav_missing_bytes(full) == 0
    wav = full.read_bytes()
    cut_wav = tmp_path / "cut.wav"
    cut_wav.write_bytes(wav[: len(wav) - 20000])
    assert wav_missing_bytes(cut_wav) == 20000
    with pytest.raises(CorruptMediaError, match="truncated"):
        load_audio(cut_wav)


def test_random_bytes(tmp_path):
    p = tmp_path / "noise.mp4"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptMediaError):
        probe(p)


def test_silent_wav(tmp_path):
    import soundfile as sf

    p = tmp_path / "silence.wav"
    sf.write(p, np.zeros(32000, np.float32), 16000)
    with pytest.raises(SilentAudioError, match="silent"):
        load_audio(p)
    assert load_audio(p, allow_silent=True).shape == (32000,)


def test_real_clip_with_digital_silence(digital_silence_clip):
    with pytest.raises(SilentAudioError):
        load_audio(digital_silence_clip)


def test_unsupported_formats(tmp_path, still_image):
    txt = tmp_path / "notes.txt"
    txt.write_text("not a video\n" * 200)
    with pytest.raises(UnsupportedFormatError, match="not an audio/video"):
        probe(txt)  # ffmpeg "opens" text as ANSI art
    frames, times = load_frames(still_image)  # a still image is one frame (media.image), not an unsupported file
    assert len(frames) == 1 and frames[0].ndim == 3 and list(times) == [0.0]
    bogus = tmp_path / "data.xyz"
    bogus.write_bytes(os.urandom(5000))
    with pytest.raises(UnsupportedFormatError):
        load_audio(bogus)


def test_over_limits(talking_clip):
    size = talking_clip.stat().st_size
    with pytest.raises(MediaTooLargeError, match="MB"):
        probe(talking_clip, max_bytes=size - 1)
    with pytest.raises(MediaTooLargeError, match="limit"):
        probe(talking_clip, max_seconds=5.0)
    with pytest.raises(MediaTooLargeError):
        load_audio(talking_clip, max_seconds=3.0)
    with pytest.raises(MediaTooLargeError):
        load_frames(talking_clip, max_seconds=3.0)


def test_missing_streams(silent_video, ravdess_flac):
    with pytest.raises(NoAudioStreamError):
        load_audio(silent_video)
    with pytest.raises(NoVideoStreamError):
        load_frames(ravdess_flac)


def test_all_media_errors_are_input_errors():
    for cls in (MediaNotFoundError, CorruptMediaError, EmptyMediaError, NoVideoStreamError, NoAudioStreamError,
                SilentAudioError, UnsupportedFormatError, MediaTooLargeError):
        assert issubclass(cls, InputError)
