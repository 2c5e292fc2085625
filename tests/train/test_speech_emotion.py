"""Training the speech-emotion branch: the label-space-masked softmax regression (loss, gradient, fit), speaker folds,
the temperature, and the recipe's hand-over of out-of-speaker-fold posteriors to the agents on real EmoDB clips."""
import numpy as np
import pytest

from affectagent.train.speech_emotion import (SpeechTrainConfig, fit_masked_softmax, fit_temperature, label_spaces,
                                              masked_softmax_loss, speaker_folds)


def test_label_spaces_follow_each_corpus():
    y = np.array(["angry", "boredom", "angry", "calm"])
    m = label_spaces(y, ["emodb", "emodb", "ravdess", "ravdess"], ("angry", "boredom", "calm"))
    assert m.tolist() == [[True, True, False], [True, True, False], [True, False, True], [True, False, True]]


def test_masked_softmax_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(12, 5)), rng.integers(0, 3, 12)
    mask = np.ones((12, 3), bool)
    mask[:6, 2] = False
    y[:6] = rng.integers(0, 2, 6)  # rows whose space lacks class 2 are never labelled 2
    w = rng.normal(size=3 * 5 + 3) * 0.3
    _, g = masked_softmax_loss(w, z, y, mask, 0.1)
    num = np.zeros_like(w)
    for i in range(len(w)):
        e = np.zeros_like(w)
        e[i] = 1e-6
        num[i] = (masked_softmax_loss(w + e, z, y, mask, 0.1)[0] - masked_softmax_loss(w - e, z, y, mask, 0.1)[0]) / 2e-6
    np.testing.assert_allclose(g, num, atol=1e-5)


def test_a_class_outside_a_rows_space_gets_no_gradient_from_that_row():
    z = np.array([[1.0, 0.0]])
    mask = np.array([[True, True, False]])
    _, g = masked_softmax_loss(np.zeros(3 * 2 + 3), z, np.array([0]), mask, 0.0)
    assert np.all(g.reshape(-1)[4:6] == 0) and g[-1] == 0  # class 2's weights and bias


def test_fit_separates_a_separable_problem_deterministically():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 20)
    z = np.eye(3)[y] * 3 + rng.normal(size=(60, 3)) * 0.3
    w1, b1 = fit_masked_softmax(z, y, np.ones((60, 3), bool), lam=1e-3)
    w2, b2 = fit_masked_softmax(z, y, np.ones((60, 3), bool), lam=1e-3)
    assert ((z @ w1.T + b1).argmax(1) == y).all()
    np.testing.assert_array_equal(w1, w2)


def test_speaker_folds_never_split_a_speaker():
    groups = ["a", "a", "b", "c", "c", "d", "e"]
    folds = speaker_folds(groups, 2)
    assert sorted(np.concatenate(folds).tolist()) == list(range(7))
    for f in folds:
        inside = {groups[i] for i in f}
        outside = {groups[i] for i in range(7) if i not in set(f.tolist())}
        assert not inside & outside


def test_temperature_sharpens_scores_that_are_right():
    s = np.array([[2.0, 0.0], [0.0, 2.0]] * 10)
    y = np.array([0, 1] * 10)
    assert fit_temperature(s, y) > fit_temperature(s, 1 - y)


def test_recipe_gives_training_rows_out_of_speaker_fold_posteriors(tmp_path):
    from affectagent.encoders import ExtractConfig, FeatureCache
    from affectagent.encoders.inputs import EncodingConfig
    from affectagent.encoders.speech_emotion import SpeechEmotionModel
    from affectagent.train.recipe import CorpusSpec, encode_corpus, load_corpus
    from affectagent.train.speech_emotion import attach_speech_branch, view_matrix

    samples = load_corpus(CorpusSpec("emodb", "all", exclude_groups=("13", "14", "15", "16")), data_root=None)
    samples = [s for g in sorted({s.group for s in samples}) for s in samples if s.group == g][:160:4]
    assert {s.group for s in samples} <= {"03", "08", "09", "10", "11", "12"}
    cache = FeatureCache(tmp_path / "cache")
    part = encode_corpus(samples, dataset="emodb", cache=cache, progress=False,
                         encoding=EncodingConfig(extract=ExtractConfig(speech_emotion="none")))
    assert all(not x.features.branch_probs for x in part.inputs)
    model = attach_speech_branch([part], [samples], ["emodb"], out=tmp_path / "speech_emotion.npz", cache=cache,
                                 log=lambda m: None, config=SpeechTrainConfig(views=("whisper",), folds=2, progress=False))
    saved = SpeechEmotionModel.load(tmp_path / "speech_emotion.npz")
    assert saved.version() == model.version()
    oof = np.array([[x.features.branch_probs["audio"][c] for c in model.classes] for x in part.inputs])
    np.testing.assert_allclose(oof.sum(1), 1.0, atol=1e-5)
    in_sample = model.posterior({"whisper": view_matrix(samples, "whisper", cache=cache, progress=False)})
    assert not np.allclose(oof, in_sample, atol=1e-3)  # the agents train on posteriors that never heard the speaker
    y = np.array([model.classes.index(s.label) for s in samples])
    assert (in_sample.argmax(1) == y).mean() >= (oof.argmax(1) == y).mean()


def test_train_speech_cli_refuses_bad_input_in_one_line(capsys, tmp_path):
    from affectagent.cli import main

    out = str(tmp_path / "m.npz")
    for argv, msg in ((["--views", "nope"], "unknown speech view(s) nope"),
                      (["--corpora", "nope:all"], "unknown dataset 'nope'"),
                      (["--corpora", "meld:dev"], "meld:dev has no labelled audio"),
                      (["--l2", "0"], "l2 must be > 0")):
        assert main(["train", "speech", "--out", out, *argv]) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()
