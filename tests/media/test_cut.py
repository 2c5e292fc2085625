"""``media.cut`` on the real talking-head clip: exact spans, the kept frames, bit-exact slices, WAV round trip."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from affectagent.media import NoVideoStreamError, load_audio, load_frames, probe
from affectagent.media.cut import cut_video, write_wav


def test_a_slice_holds_the_frames_of_its_span(talking_clip, tmp_path):
    piece = cut_video(talking_clip, tmp_path / "s.mkv", start=2.0, end=4.0, keep_times=[2.25, 2.75, 3.9])
    info = probe(piece.path)
    assert info.has_video and not info.has_audio and info.format.startswith("matroska")
    assert info.duration == pytest.approx(2.0, abs=0.1) and (info.width, info.height) == (700, 700)
    assert piece.n_frames == pytest.approx(2.0 * probe(talking_clip).fps, abs=1)  # ~22 fps source
    assert len(piece.frames) == 3 and piece.frames[0].shape == (700, 700, 3)
    assert np.all(np.abs(piece.times - [2.25, 2.75, 3.9]) <= 0.5 / info.fps + 1e-6)  # nearest source frames
    frames, times = load_frames(piece.path, fps=2.0)
    assert len(frames) == 4 and times[0] < 0.5  # starts at the span's start, not at a key frame


def test_the_same_span_gives_the_same_bytes(talking_clip, tmp_path):
    digests = {hashlib.sha256(cut_video(talking_clip, tmp_path / f"{i}.mkv", start=1.0, end=2.5).path.read_bytes())
               .hexdigest() for i in range(2)}
    assert len(digests) == 1


def test_a_span_past_the_video_is_none(talking_clip, tmp_path):
    assert cut_video(talking_clip, tmp_path / "late.mkv", start=7.0, end=9.0) is None
    assert not (tmp_path / "late.mkv").exists()


def test_cutting_video_from_sound_only_is_an_error(ravdess_flac, tmp_path):
    with pytest.raises(NoVideoStreamError):
        cut_video(ravdess_flac, tmp_path / "x.mkv", start=0.0, end=1.0)


def test_wav_round_trip(talking_clip, tmp_path):
    wave = load_audio(talking_clip)[:16000]
    back = load_audio(write_wav(tmp_path / "a.wav", wave, sr=16000))
    assert back.size == 16000
    np.testing.assert_allclose(back, wave, atol=1e-4)
    info = probe(tmp_path / "a.wav")
    assert (info.audio_sr, info.audio_channels) == (16000, 1)
