"""nanoemox.evaluate: each task's metrics against hand-computed values, missing optional metrics as notes, and
evaluate_task end to end with the tiny model (hand-made examples and a real dev source)."""
import json

import pytest

from affectagent.errors import InputError, MissingDependencyError
from affectagent.nanoemox.evaluate import (DIST_NOTE, PRIMARY, evaluate_task, fallback_summary, score_answers,
                                           task_sources)
from affectagent.nanoemox.tasks import TASKS, TaskAnswer, msa_examples, parse_answer
from affectagent.schema import Sample

EMOTIONS = ("happy", "sad", "angry")


def gold(task, **kw):
    return TaskAnswer(task=task, text=kw.pop("text", ""), **kw)


def answers(task, texts, options=()):
    return [parse_answer(task, t, options=options) for t in texts]


def test_mer_classification_and_hit_rate_by_hand():
    golds = [gold("mer", label=x) for x in ("happy", "sad", "sad", "angry")]
    got = answers("mer", ["happy", "happy", "no idea at all", "angry"], EMOTIONS)
    m, notes = score_answers("mer", golds, got, options=[EMOTIONS] * 4)
    # y_true h s s a, y_pred h h <none> a: recall h 1, s 0, a 1; precision h .5, a 1; F1 h 2/3, s 0, a 1
    assert m["war"] == pytest.approx(0.5) and m["uar"] == pytest.approx(2 / 3)
    assert m["weighted_f1"] == pytest.approx((2 / 3 + 0 + 0 + 1) / 4) and m["macro_f1"] == pytest.approx(5 / 9)
    assert "accuracy" not in m and m["hit_rate"] == pytest.approx(0.5)  # happy and angry hit, both sads miss
    assert fallback_summary(got) == (0.25, {"no_label": 1})


def test_msa_waf_drops_gold_neutral_and_counts_neutral_as_negative():
    golds = [gold("msa", label=x) for x in ("positive", "negative", "neutral", "positive")]
    got = answers("msa", ["positive", "neutral", "positive", "hmm"])
    m, notes = score_answers("msa", golds, got)
    # kept: y = T F T, y_hat = T F F -> accuracy 2/3; F1(T) = F1(F) = 2/3 -> WAF 2/3
    assert m == {"waf": pytest.approx(2 / 3), "accuracy": pytest.approx(2 / 3)}
    assert "3 items" in notes[0] and "1 gold-neutral dropped" in notes[0]


def test_mir_accuracy_and_weighted_f1():
    golds = [gold("mir", label=x) for x in ("Thank", "Complain", "Thank")]
    got = answers("mir", ["Thank", "Thank", "???"], ("Thank", "Complain"))
    m, _ = score_answers("mir", golds, got, options=[("Thank", "Complain")] * 3)
    assert m["accuracy"] == pytest.approx(1 / 3) and m["weighted_f1"] == pytest.approx(1 / 3) and "war" not in m


def test_ov_is_the_emotion_wheel_set_score():
    from affectagent.metrics.ov_set import ov_set_score

    golds = [gold("ov", labels=("joy",)), gold("ov", labels=("anger", "annoyance"))]
    got = answers("ov", ["joy, excitement", "sadness"])
    m, _ = score_answers("ov", golds, got)
    ref = ov_set_score([["joy", "excitement"], ["sadness"]], [["joy"], ["anger", "annoyance"]], level=1)
    assert (m["ov_f"], m["ov_precision"], m["ov_recall"]) == (ref.fscore, ref.precision, ref.recall)
    perfect, _ = score_answers("ov", golds, answers("ov", ["joy", "anger, annoyance"]))
    assert perfect["ov_f"] == pytest.approx(1.0)


def test_erg_text_metrics_dist_pinned_to_corpus_level():
    r1, r2 = "we won we won the cup", "we lost the cup today"
    golds = [gold("erg", label="happy", reply=r1), gold("erg", label="sad", reply=r2)]
    got = answers("erg", [f"<think>\nEmotion: A feels happy\n</think>\n{r1}", r2])
    m, notes = score_answers("erg", golds, got, text_metrics=("bleu", "dist", "rouge_l"))
    assert m["bleu"] == pytest.approx(1.0) and m["rouge_l"] == pytest.approx(1.0)
    # unigrams: 6 distinct of 11 pooled (corpus level) vs mean(4/6, 5/5) per response; bigrams: 7 distinct of 9
    assert m["dist1"] == pytest.approx(6 / 11) and m["dist1_response_mean"] == pytest.approx((4 / 6 + 1) / 2)
    assert m["dist2"] == pytest.approx(7 / 9) and m["emotion_accuracy"] == pytest.approx(0.5)
    assert DIST_NOTE in notes and "meteor" not in m


def test_eri_scores_the_sentence_and_a_missing_metric_is_a_note(monkeypatch):
    import affectagent.metrics.generation as G

    real = G.generation_scores

    def no_bertscore(hyps, refs, *, metrics, **kw):
        if "bertscore" in metrics:
            raise MissingDependencyError("BERTScore needs bert-score: pip install bert-score")
        return real(hyps, refs, metrics=metrics, **kw)

    monkeypatch.setattr(G, "generation_scores", no_bertscore)
    target = "The speaker feels happy because they won."
    golds = [gold("eri", label="happy", text=target, reason="they won.")]
    m, notes = score_answers("eri", golds, answers("eri", [target]), text_metrics=("rouge_l", "bertscore"))
    assert m == {"rouge_l": pytest.approx(1.0), "emotion_accuracy": 1.0}
    assert any(n.startswith("bertscore left out: BERTScore needs bert-score") for n in notes)


def test_bad_calls_are_input_errors():
    with pytest.raises(InputError, match="unknown task"):
        score_answers("emotion", [gold("mer", label="happy")], answers("mer", ["happy"]))
    with pytest.raises(InputError, match="1 answers for 2 gold"):
        score_answers("mer", [gold("mer", label="happy")] * 2, answers("mer", ["happy"]))
    assert task_sources("mer") == ("mer/meld", "mer/speech", "mer/face", "mer/paired")
    assert task_sources("erg") == ("erg/reccon",) and set(PRIMARY) == set(TASKS)


def test_evaluate_task_with_the_tiny_model(tiny_model):
    samples = [Sample(id=f"m{i}", text=t, sentiment=s) for i, (t, s) in enumerate(
        [("I love it", "positive"), ("This is awful", "negative"), ("It is fine", "positive")])]
    exs = msa_examples(samples)
    seen = []
    score = evaluate_task(tiny_model, exs, progress=False, batch_size=2, on_batch=seen.append)
    assert (score.task, score.source, score.n, score.primary) == ("msa", "msa/cmumosi", 3, "waf")
    assert 0 <= score.value <= 1 and 0 <= score.fallback_rate <= 1 and [len(b) for b in seen] == [2, 1]
    assert [p.sample_id for p in score.predictions] == ["m0", "m1", "m2"]
    rec = score.predictions[0].to_record()
    assert rec["gold"]["label"] == "positive" and rec["task"] == "msa" and "fallback" in rec
    d = score.to_dict()
    assert "predictions" not in d and json.loads(json.dumps(d))["metrics"]["waf"] == score.value
    with pytest.raises(InputError, match="one task at a time"):
        evaluate_task(tiny_model, exs + answers_as_examples(), progress=False)
    with pytest.raises(InputError, match="no examples"):
        evaluate_task(tiny_model, [], progress=False)


def answers_as_examples():
    from affectagent.nanoemox.tasks import ov_examples

    return ov_examples([Sample(id="g", text="so happy", labels=("joy",))])


def test_evaluate_task_on_a_real_dev_source(tiny_model):
    from affectagent.nanoemox.data import DataConfig, dev_examples

    exs = dev_examples("mir/mintrec", data=DataConfig(dev_limit=4))
    score = evaluate_task(tiny_model, exs, progress=False)
    assert score.n == len(exs) == 4 and score.source == "mir/mintrec"
    assert set(score.metrics) >= {"accuracy", "weighted_f1"} and score.primary == "accuracy"
