"""Detect(y_t, R) and Uncertainty(y) against hand-computed values."""
import math

import pytest

from affectagent.errors import InputError
from affectagent.raer.config import RAERConfig
from affectagent.raer.detect import detect, label_distribution
from affectagent.raer.uncertainty import (agreement_uncertainty, entropy_uncertainty, logprob_uncertainty,
                                          max_prob_uncertainty)
from affectagent.schema import Evidence


def ev(label, score, i=0):
    return Evidence(id=f"e{i}{label}{score}", text="", label=label, kind="plain", score=score)


def test_label_distribution_is_a_softmax_over_similarities():
    d = label_distribution([ev("happy", 0.9), ev("sad", 0.8), ev("happy", 0.7, 1), ev(None, 0.99)], temperature=0.1)
    w = [math.exp(9), math.exp(8), math.exp(7)]
    z = sum(w)
    assert d["happy"] == pytest.approx((w[0] + w[2]) / z) and d["sad"] == pytest.approx(w[1] / z)
    assert label_distribution([ev(None, 0.5)], temperature=0.1) == {}


def test_detect_flags_disagreement_low_similarity_and_no_evidence():
    r = [ev("happy", 0.9), ev("sad", 0.8)]
    agree = detect("happy", r, min_agreement=0.5, min_similarity=0.3, temperature=0.1)
    assert not agree.ambiguous and agree.evidence_label == "happy" and agree.reason == ""
    assert agree.agreement == pytest.approx(math.exp(1) / (math.exp(1) + 1))
    contra = detect("sad", r, min_agreement=0.5, min_similarity=0.3, temperature=0.1)
    assert contra.ambiguous and "evidence says happy" in contra.reason
    far = detect("happy", [ev("happy", 0.2)], min_agreement=0.5, min_similarity=0.3, temperature=0.1)
    assert far.ambiguous and far.agreement == pytest.approx(1.0) and "similarity" in far.reason
    assert detect("happy", [], min_agreement=0.5, min_similarity=0.3, temperature=0.1).ambiguous
    # a step asserting no emotion is judged by similarity only
    assert not detect(None, r, min_agreement=0.5, min_similarity=0.3, temperature=0.1).ambiguous


def test_uncertainties():
    assert max_prob_uncertainty({"happy": 0.7, "sad": 0.3}) == pytest.approx(0.3)
    assert entropy_uncertainty({"a": 0.5, "b": 0.5}) == pytest.approx(1.0)
    assert entropy_uncertainty({"a": 1.0, "b": 0.0}) == pytest.approx(0.0)
    assert logprob_uncertainty([math.log(0.5), math.log(0.8)]) == pytest.approx(0.6)
    assert logprob_uncertainty([]) == 1.0
    assert agreement_uncertainty("happy", ["happy", "sad", "happy", "happy"]) == pytest.approx(0.25)
    assert agreement_uncertainty(None, ["happy"]) == 1.0


@pytest.mark.parametrize("kw", [dict(epsilon=1.5), dict(epsilon=-0.1), dict(min_agreement=2), dict(top_k=0),
                                dict(uncertainty="vibes"), dict(uncertainty="agreement", samples=1)])
def test_config_rejects_bad_values(kw):
    with pytest.raises(InputError):
        RAERConfig(**kw)
