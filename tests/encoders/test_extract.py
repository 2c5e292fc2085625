"""extract() end to end on real clips, with a private cache directory."""
import warnings

import numpy as np
import pytest

from affectagent.encoders import ExtractConfig, FeatureCache, MissingEncoderWarning, encode_texts, extract, extract_many
from affectagent.media import CorruptMediaError
from affectagent.schema import Sample


@pytest.fixture
def cache(tmp_path):
    return FeatureCache(tmp_path / "cache")


def test_talking_clip(talking_clip, cache):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingEncoderWarning)
        f = extract(Sample(id="face1", video=talking_clip), cache=cache)
    assert f.mask.text and f.mask.audio
    assert "help" in f.transcript.lower()
    assert f.text_emb.shape == (384,) and abs(np.linalg.norm(f.text_emb) - 1) < 1e-5
    assert f.audio_emb.shape == (88,) and f.audio_seq.shape[1] == 25
    info = f.info
    assert info["duration"] == pytest.approx(6.13, abs=0.05)
    assert 0.3 < info["speech_ratio"] <= 1.0 and -40 < info["rms_dbfs"] < -15
    assert info["transcript_language"] == "en"
    assert set(info["encoders"]) >= {"text", "audio", "asr"}
    if "face" in info["encoders"]:  # the face encoder is registered and built
        assert info["n_frames"] == 12 and info["n_face_frames"] >= 9  # a talking head in (almost) every frame
        assert f.face_seq.shape[0] == info["n_face_frames"] and f.mask.visual
    else:  # not available: said so, visibly
        assert any(n.startswith("visual:") for n in info["notes"])
    if "visual" in info["encoders"]:
        assert f.visual_emb.ndim == 1 and f.mask.visual
    # second run: every stage from the cache, same arrays
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingEncoderWarning)
        g = extract(Sample(id="face1", video=talking_clip), cache=cache)
    assert {"audio", "asr", "text"} <= set(g.info["cached"])
    np.testing.assert_array_equal(f.audio_emb, g.audio_emb)
    np.testing.assert_array_equal(f.text_emb, g.text_emb)
    assert g.transcript == f.transcript and "asr" not in g.info["timings"]


def test_given_text_skips_asr(ravdess_flac, cache):
    f = extract(Sample(id="r", audio=ravdess_flac, text="Dogs are sitting by the door."), cache=cache)
    assert f.transcript is None and f.mask.text and f.mask.audio and not f.mask.visual
    assert "asr" not in f.info["encoders"]


def test_video_without_audio_marks_audio_missing(silent_video, cache):
    cfg = ExtractConfig(face_encoder="no-such-face", visual_encoder="no-such-visual")
    with pytest.warns(MissingEncoderWarning):
        f = extract(Sample(id="t", video=silent_video), config=cfg, cache=cache)
    assert not f.mask.audio and f.audio_emb is None and f.transcript is None
    assert any("no audio stream" in n for n in f.info["notes"])
    assert "no-such-face" in f.info["visual_error"] and not f.mask.visual


def test_silent_track_marks_audio_missing(digital_silence_clip, cache):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingEncoderWarning)
        f = extract(Sample(id="s", video=digital_silence_clip), cache=cache)
    assert not f.mask.audio and any("silent" in n for n in f.info["notes"])


def test_text_only_and_encode_texts_cache(cache):
    f = extract(Sample(id="t", text="I can't believe you did that!"), cache=cache)
    assert f.mask.as_dict() == {"text": True, "audio": False, "visual": False}
    texts = ["so happy for you", "this is awful", "so happy for you"]
    a = encode_texts(texts, cache=cache)
    assert a.shape == (3, 384) and a.dtype == np.float32
    np.testing.assert_allclose(a[0], a[2], atol=1e-6)
    hits = cache.hits
    np.testing.assert_array_equal(encode_texts(texts, cache=cache), a)
    assert cache.hits == hits + 1


def test_bad_input_raises_or_is_recorded(talking_clip, tmp_path, cache):
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(talking_clip.read_bytes()[:100_000])
    with pytest.raises(CorruptMediaError):
        extract(Sample(id="bad", video=bad), cache=cache)
    out = extract_many([Sample(id="bad", video=bad), Sample(id="ok", text="fine, thanks")], cache=cache,
                       progress=False, on_error="record")
    assert "CorruptMediaError" in out[0].info["error"] and not out[0].mask.present()
    assert out[1].mask.text


def test_too_short_audio_marks_audio_missing(ravdess_flac, tmp_path, cache):
    import soundfile as sf

    wave, sr = sf.read(ravdess_flac, dtype="float32")
    short = tmp_path / "blip.wav"
    sf.write(short, wave[int(1.5 * sr): int(1.5 * sr) + 400], sr)  # 25 ms of real speech
    f = extract(Sample(id="blip", audio=short, text="hi"), cache=cache)
    assert not f.mask.audio and any("too short" in n for n in f.info["notes"])
    assert extract(Sample(id="blip", audio=short, text="hi"), cache=cache).info["cached"][0] == "audio"


def test_face_image_sample_goes_through_the_face_registry(cache):
    """A FER2013 48×48 face (Sample.image) -> face features via the registered face encoder's encode_crops."""
    from affectagent.encoders import get_face_encoder

    from ..resources import shared

    path = shared("fer2013/validation.npz") / "fer2013" / "validation.npz"
    face = get_face_encoder("default")   # mediapipe and the FER checkpoint ship with the install
    with np.load(path, allow_pickle=False) as z:
        img = z["images"][0]
    f = extract(Sample(id="fer0", image=img), cache=cache)
    assert f.mask.visual and f.face_seq.shape == (1, face.info.dim)
    assert f.info["n_face_frames"] == 1 and "face" in f.info["encoders"]
    # the second extraction of the same pixels is served from the cache with identical features
    again = extract(Sample(id="fer0-copy", image=img.copy()), cache=cache)
    assert "visual" in again.info["cached"] and "visual" not in f.info["cached"]
    assert np.array_equal(again.face_seq, f.face_seq) and np.array_equal(again.visual_emb, f.visual_emb)
    # different pixels are a different entry
    other = extract(Sample(id="fer0-flip", image=img[:, ::-1].copy()), cache=cache)
    assert "visual" not in other.info["cached"]
