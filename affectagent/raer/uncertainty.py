"""Uncertainty(y) of Algorithm 1 (the growth gate: a prediction enters the KB when uncertainty ≤ ε). Pure functions,
each in [0, 1]:
    max_prob  : 1 − max_c p(c)                          of the final label distribution (neural agents)
    entropy   : H(p) / log |C|                           normalised entropy over the candidate labels (neural agents)
    logprob   : 1 − exp(Σ_t log p(token_t))             probability of the answer's label tokens (LLM, one answer)
    agreement : 1 − #{k : answer_k = answer} / K         over K sampled answers (LLM, self-consistency)
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence


def max_prob_uncertainty(probs: Mapping[str, float]) -> float:
    if not probs:
        return 1.0
    return float(min(1.0, max(0.0, 1.0 - max(probs.values()))))


def entropy_uncertainty(probs: Mapping[str, float]) -> float:
    ps = [p for p in probs.values() if p > 0]
    if len(probs) <= 1:
        return 0.0
    h = -sum(p * math.log(p) for p in ps)
    return float(min(1.0, max(0.0, h / math.log(len(probs)))))


def logprob_uncertainty(token_logprobs: Sequence[float]) -> float:
    if not token_logprobs:
        return 1.0
    return float(min(1.0, max(0.0, 1.0 - math.exp(sum(token_logprobs)))))


def agreement_uncertainty(answer: str | None, samples: Sequence[str | None]) -> float:
    if not samples or answer is None:
        return 1.0
    return float(1.0 - sum(1 for s in samples if s == answer) / len(samples))
