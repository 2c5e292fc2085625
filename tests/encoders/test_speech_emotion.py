"""The speech-emotion branch: its pure model (scores, fusion, temperature, files) and, on real EmoDB clips, the views,
a small fitted model and the extract stage that puts its posterior into ``Features.branch_probs``."""
import numpy as np
import pytest

from affectagent.encoders.speech_emotion import (LinearView, SpeechEmotionBranch, SpeechEmotionModel,
                                                 resolve_model_path, softmax)
from affectagent.errors import InputError

from .emodb_speakers import emodb_by_speaker


def _view(name, k=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return LinearView(view=name, version=f"{name}-v1", mean=rng.normal(size=d), scale=rng.uniform(0.5, 2, d),
                      weight=rng.normal(size=(k, d)), bias=rng.normal(size=k), ref_mean=rng.normal(size=k),
                      ref_std=rng.uniform(0.5, 2, k))


def test_linear_view_scores_are_the_standardised_decision_function():
    v = _view("a")
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    raw = ((x - v.mean) / v.scale) @ v.weight.T + v.bias
    np.testing.assert_allclose(v.raw_scores(x), raw)
    np.testing.assert_allclose(v.scores(x), (raw - v.ref_mean) / v.ref_std)


def test_late_fusion_is_the_mean_of_view_scores_and_posterior_sums_to_one():
    a, b = _view("a", seed=1), _view("b", d=2, seed=2)
    m = SpeechEmotionModel(classes=("angry", "happy", "sad"), views=(a, b), temperature=2.0)
    xs = {"a": np.ones((5, 4)), "b": np.zeros((5, 2))}
    np.testing.assert_allclose(m.scores(xs), (a.scores(xs["a"]) + b.scores(xs["b"])) / 2)
    p = m.posterior(xs)
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_allclose(p, softmax(2.0 * m.scores(xs)))
    with pytest.raises(ValueError, match="missing speech views: b"):
        m.scores({"a": xs["a"]})


def test_model_file_round_trip_keeps_numbers_and_version(tmp_path):
    m = SpeechEmotionModel(classes=("angry", "happy", "sad"), views=(_view("a"),), temperature=1.5,
                           meta={"n": 3})
    path = m.save(tmp_path / "m.npz")
    back = SpeechEmotionModel.load(path)
    assert back.classes == m.classes and back.temperature == 1.5 and back.meta == {"n": 3}
    assert back.version() == m.version()
    x = {"a": np.arange(8.0).reshape(2, 4)}
    np.testing.assert_allclose(back.posterior(x), m.posterior(x), atol=1e-5)
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a speech-emotion model"):
        SpeechEmotionModel.load(tmp_path / "bad.npz")


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(InputError, match="unknown speech-emotion model 'nope'"):
        resolve_model_path("nope")


# ---- real clips -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def emodb_rows():
    by_speaker = emodb_by_speaker()
    return [s for g in list(by_speaker)[:4] for s in by_speaker[g][:12]]


def test_whisper_view_on_real_clips_is_deterministic_and_768_wide(emodb_rows, tmp_path):
    from affectagent.encoders import FeatureCache
    from affectagent.train.speech_emotion import view_matrix

    cache = FeatureCache(tmp_path / "cache")
    x1 = view_matrix(emodb_rows[:3], "whisper", cache=cache, progress=False)
    x2 = view_matrix(emodb_rows[:3], "whisper", cache=FeatureCache(enabled=False), progress=False)
    assert x1.shape == (3, 768) and np.isfinite(x1).all()
    np.testing.assert_allclose(x1, x2, atol=1e-5)
    assert not np.allclose(x1[0], x1[1])  # different clips, different vectors


def test_fit_on_real_speakers_gives_out_of_speaker_fold_posteriors(emodb_rows, tmp_path):
    from affectagent.encoders import FeatureCache
    from affectagent.train.speech_emotion import SpeechTrainConfig, fit_speech_emotion, view_matrix

    cfg = SpeechTrainConfig(views=("whisper",), folds=2, progress=False)
    xs = {"whisper": view_matrix(emodb_rows, "whisper", cache=FeatureCache(tmp_path / "c"), progress=False)}
    res = fit_speech_emotion(emodb_rows, xs, config=cfg)
    assert res.oof_probs.shape == (len(emodb_rows), len(res.classes))
    np.testing.assert_allclose(res.oof_probs.sum(1), 1.0)
    assert res.report["speakers"] == 4 and 0.0 <= res.report["oof_uar"] <= 1.0
    assert set(res.classes) == {s.label for s in emodb_rows}
    # in-sample the full model fits its training rows better than the out-of-fold posteriors do
    full = res.model.posterior(xs)
    y = np.array([res.classes.index(s.label) for s in emodb_rows])
    assert (full.argmax(1) == y).mean() >= (res.oof_probs.argmax(1) == y).mean()
    again = fit_speech_emotion(emodb_rows, xs, config=cfg)
    assert again.model.version() == res.model.version()  # deterministic

    path = res.model.save(tmp_path / "m.npz")
    branch = SpeechEmotionBranch.load(str(path))
    from affectagent.media import load_audio

    probs = branch.probs(load_audio(emodb_rows[0].audio))
    assert set(probs) == set(res.classes) and sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose([probs[c] for c in res.classes], full[0], atol=1e-4)


def test_extract_puts_the_branch_posterior_into_features(emodb_rows, tmp_path):
    from affectagent.encoders import ExtractConfig, FeatureCache, extract
    from affectagent.train.speech_emotion import SpeechTrainConfig, fit_speech_emotion, view_matrix

    cfg = SpeechTrainConfig(views=("whisper",), folds=2, progress=False)
    xs = {"whisper": view_matrix(emodb_rows, "whisper", cache=FeatureCache(tmp_path / "c"), progress=False)}
    path = fit_speech_emotion(emodb_rows, xs, config=cfg).model.save(tmp_path / "m.npz")
    cache = FeatureCache(tmp_path / "cache")
    ecfg = ExtractConfig(transcribe=False, speech_emotion=str(path))
    f = extract(emodb_rows[0], config=ecfg, cache=cache)
    assert sum(f.branch_probs["audio"].values()) == pytest.approx(1.0, abs=1e-4)
    assert f.info["encoders"]["speech_emotion"].startswith("speech-emotion:")
    again = extract(emodb_rows[0], config=ecfg, cache=cache)
    assert "speech_emotion" in again.info["cached"] and again.branch_probs == f.branch_probs
    off = extract(emodb_rows[0], config=ExtractConfig(transcribe=False), cache=cache)
    assert off.branch_probs == {}  # the default extract config runs no branch
