"""``evaluate`` on a sentiment corpus (CMU-MOSI): MER-UniBench WAF on the predicted sentiments, by hand and through the
CLI on the real dev split with the tiny real checkpoint."""
from __future__ import annotations

import json

import pytest

from affectagent.cli import main
from affectagent.metrics.evaluate import score_sentiment
from affectagent.schema import Prediction, Sample

from ..resources import shared


def _pred(i: int, sentiment: str) -> Prediction:
    return Prediction(sample_id=f"s{i}", label="neutral", probs={"neutral": 1.0}, sentiment=sentiment)


def test_waf_drops_zero_valence_and_counts_neutral_as_negative():
    valences = [2.0, 1.2, -0.6, -2.4, 0.0, 1.0]
    said = ["positive", "neutral", "negative", "negative", "positive", "positive"]
    samples = [Sample(id=f"s{i}", text="t", valence=v) for i, v in enumerate(valences)]
    m = score_sentiment(samples, [_pred(i, s) for i, s in enumerate(said)], dataset="cmumosi")
    # scored: 5 non-zero; truth pos,pos,neg,neg,pos vs predicted pos,neg(neutral),neg,neg,pos -> 4/5 right
    assert (m["waf_scored"], m["waf_dropped_zero_valence"], m["n"]) == (5, 1, 6)
    assert m["waf_accuracy"] == pytest.approx(0.8)
    # weighted F1 by hand: positive P=1 R=2/3 F=0.8 (support 3); negative P=2/3 R=1 F=0.8 (support 2)
    assert m["waf"] == pytest.approx(0.8)
    assert m["per_class"]["neutral"]["support"] == 1  # the three-class view keeps the zero-valence sample


def test_cli_evaluate_cmumosi_dev(tiny_checkpoint, tmp_path, capsys):
    shared("cmumosi")
    assert main(["evaluate", "--dataset", "cmumosi", "--split", "dev", "--limit", "24", "--checkpoint",
                 str(tiny_checkpoint), "--out", str(tmp_path), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["task"] == "sentiment" and m["n"] == 24 and m["waf_scored"] + m["waf_dropped_zero_valence"] == 24
    assert 0.0 <= m["waf"] <= 1.0 and 0.0 <= m["sentiment_weighted_f1"] <= 1.0
    rows = [json.loads(x) for x in open(m["files"]["predictions"])]
    assert len(rows) == 24 and all(isinstance(r["gold_valence"], float) for r in rows)
    assert all(r["sentiment"] in ("positive", "negative", "neutral") for r in rows)


def test_a_corpus_with_neither_labels_nor_valence_is_refused(capsys):
    assert main(["evaluate", "--dataset", "mintrec", "--split", "dev"]) == 2
    assert "neither an emotion label space nor a valence" in capsys.readouterr().err
