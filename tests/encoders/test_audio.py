"""eGeMAPS on real speech: shapes, determinism, and a real acoustic effect (EmoDB anger is louder than neutral)."""
import csv

import numpy as np

from affectagent.encoders import get_audio_encoder
from affectagent.encoders.audio import EGEMAPS_FUNCTIONALS, EGEMAPS_LLDS
from affectagent.media import load_audio

from ..resources import shared


def test_egemaps_shapes_on_real_flac(ravdess_flac, emodb_flac):
    enc = get_audio_encoder("egemaps")
    assert enc.info.dim == EGEMAPS_FUNCTIONALS == 88
    for path, seconds in ((ravdess_flac, 3.27), (emodb_flac, 2.0)):
        out = enc.encode(load_audio(path))
        assert out.emb.shape == (88,) and out.emb.dtype == np.float32 and np.all(np.isfinite(out.emb))
        # 100 Hz LLDs pooled by 4 -> 25 Hz
        assert out.seq.shape[1] == EGEMAPS_LLDS and abs(out.seq.shape[0] - seconds * 25) <= 3
        assert not out.stats["too_short"] and out.stats["rms_dbfs"] > -50
    assert len(enc.func_names) == 88 and enc.func_names[0].startswith("F0semitone")


def test_egemaps_is_deterministic_and_works_at_native_rate(emodb_flac):
    import soundfile as sf

    enc = get_audio_encoder("egemaps")
    wave = load_audio(emodb_flac)
    a, b = enc.encode(wave), enc.encode(wave.copy())
    np.testing.assert_array_equal(a.emb, b.emb)
    np.testing.assert_array_equal(a.seq, b.seq)
    native, sr = sf.read(emodb_flac, dtype="float32")  # bare waveform at 22.05 kHz
    c = enc.encode(native, sr)
    assert c.emb.shape == (88,) and np.all(np.isfinite(c.emb))


def test_sequence_is_capped():
    from affectagent.encoders.audio import EGeMAPSConfig, EGeMAPSEncoder

    enc = EGeMAPSEncoder(config=EGeMAPSConfig(pool=4, max_seq_len=16))
    rng = np.random.default_rng(0)
    out = enc.encode((0.1 * rng.standard_normal(16000 * 3)).astype(np.float32))
    assert out.seq.shape == (16, 25)


def test_too_short_signal_gives_zeros():
    out = get_audio_encoder("egemaps").encode(np.zeros(200, np.float32))
    assert out.stats["too_short"] and out.emb.shape == (88,) and not np.any(out.emb)


def test_emodb_anger_has_more_vocal_effort_than_neutral():
    """Vocal-effort markers of eGeMAPS (Eyben et al. 2016): angry speech has a higher alpha ratio and a lower
    Hammarberg index (more high-frequency energy) than neutral speech of the same speaker. (Loudness is not
    usable here: the EmoDB copy was level-normalised by the repository it came from.)"""
    root = shared("emodb/labels.csv") / "emodb"
    with open(root / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["speaker"] == "08" and r["emotion"] in ("anger", "neutral")]
    enc = get_audio_encoder("egemaps")
    feats: dict[str, list[np.ndarray]] = {"anger": [], "neutral": []}
    for r in rows:
        feats[r["emotion"]].append(enc.encode(load_audio(root / "audio" / r["file"])).emb)
    anger, neutral = np.array(feats["anger"]), np.array(feats["neutral"])
    assert len(anger) >= 5 and len(neutral) >= 5
    alpha = enc.func_names.index("alphaRatioV_sma3nz_amean")
    hammarberg = enc.func_names.index("hammarbergIndexV_sma3nz_amean")
    assert anger[:, alpha].mean() > neutral[:, alpha].mean() + 3.0  # dB
    assert anger[:, hammarberg].mean() < neutral[:, hammarberg].mean() - 3.0  # dB
