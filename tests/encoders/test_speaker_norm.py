"""Speaker normalisation of the speech-emotion branch: the pure per-group z-score, a model fitted on real EmoDB
speakers with it, the batch re-scoring by speaker (and its refusal for one file), evaluate's option."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from affectagent.encoders import ExtractConfig, FeatureCache, extract_many
from affectagent.encoders.speaker_norm import MIN_UTTERANCES, renormalised_branch, speaker_key, standardise_by_group
from affectagent.encoders.speech_emotion import SpeechEmotionBranch, SpeechEmotionModel
from affectagent.errors import InputError
from affectagent.schema import Sample

from .emodb_speakers import emodb_by_speaker


def test_standardise_by_group_z_scores_each_group_alone():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [20.0, 2.0], [30.0, 4.0]])
    z = standardise_by_group(x, ["a", "a", "b", "b", "b"])
    np.testing.assert_allclose(z[:2, 0], [-1.0, 1.0])
    assert (z[:2, 1] == 0).all()  # a constant column inside a group
    np.testing.assert_allclose(z[2:].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[2:].std(axis=0), 1.0)
    # a shift of one speaker's voice (e.g. a higher pitch) disappears
    np.testing.assert_allclose(standardise_by_group(x + np.array([[100.0, 0]] * 2 + [[0, 0]] * 3), list("aabbb")), z)
    with pytest.raises(ValueError):
        standardise_by_group(x, ["a"])


def test_speaker_key_prefers_the_corpus_speaker_then_the_name_then_the_batch():
    assert speaker_key(Sample(id="1", group="03", speaker="Ann")) == "03"
    assert speaker_key(Sample(id="2", speaker="Ann")) == "Ann"
    assert speaker_key(Sample(id="3")) == "batch"


@pytest.fixture(scope="module")
def emodb_split():
    by = emodb_by_speaker()
    speakers = list(by)
    train = [s for g in speakers[:4] for s in by[g][:12]]
    held = by[speakers[4]][:10]
    return train, held


@pytest.fixture(scope="module")
def spk_model(emodb_split, tmp_path_factory):
    from affectagent.train.speech_emotion import SpeechTrainConfig, fit_speech_emotion, view_matrix

    train, _ = emodb_split
    tmp = tmp_path_factory.mktemp("spk")
    cfg = SpeechTrainConfig(views=("whisper",), folds=2, progress=False, speaker_norm=True)
    xs = {"whisper": view_matrix(train, "whisper", cache=FeatureCache(tmp / "c"), progress=False)}
    res = fit_speech_emotion(train, xs, config=cfg)
    plain = fit_speech_emotion(train, xs, config=replace(cfg, speaker_norm=False))
    return res.model.save(tmp / "spk.npz"), plain.model.save(tmp / "plain.npz"), tmp


def test_a_speaker_norm_model_records_it_and_refuses_one_file(spk_model):
    spk, plain, _ = spk_model
    assert SpeechEmotionModel.load(spk).speaker_norm and not SpeechEmotionModel.load(plain).speaker_norm
    with pytest.raises(InputError, match="speaker-normalised features, which one file does not have"):
        SpeechEmotionBranch.load(str(spk))


def test_batch_rescoring_by_speaker_on_a_held_out_speaker(emodb_split, spk_model):
    _, held = emodb_split
    spk, plain, tmp = spk_model
    cache = FeatureCache(tmp / "c")
    cfg = ExtractConfig(transcribe=False, speech_emotion=str(plain))
    lone = Sample(id="lone", audio=held[0].audio, group="someone-else")  # a speaker with one file in the batch
    batch = held + [lone]
    feats = extract_many(batch, config=cfg, cache=cache, progress=False, workers=1)
    out = renormalised_branch(batch, feats, model_name=str(spk), cache=cache)
    model = SpeechEmotionModel.load(spk)
    for f, g in zip(out[:-1], feats[:-1]):
        assert f.info["speaker_norm"].startswith(f"applied over {len(held)} files")
        assert set(f.branch_probs["audio"]) == set(model.classes)
        assert sum(f.branch_probs["audio"].values()) == pytest.approx(1.0, abs=1e-4)
        assert f.branch_probs["audio"] != g.branch_probs["audio"]  # re-scored, not the one-file posterior
    assert out[-1].branch_probs == feats[-1].branch_probs  # too few files: kept, and said so
    assert out[-1].info["speaker_norm"].startswith("not applied: 1 file(s)") and str(MIN_UTTERANCES) in \
        out[-1].info["speaker_norm"]
    with pytest.raises(InputError, match="not trained on speaker-normalised features"):
        renormalised_branch(batch, feats, model_name=str(plain), cache=cache)


def test_the_shipped_speaker_norm_model_is_one():
    from affectagent.encoders.speech_emotion import resolve_model_path

    assert SpeechEmotionModel.load(resolve_model_path("speaker-norm")).speaker_norm
