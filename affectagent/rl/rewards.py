"""Shared and local incremental rewards (AffectAgent Eq. 1–4).

    R          = F1(ŷ_full, y)                        shared by all agents (generator gets R only)
    R_planner  = R + (F1(ŷ_full, y) − F1(ŷ_plan⁻, y))  ŷ_plan⁻: planner replaced by a plain "emotion label" query
    R_filter   = R + (F1(ŷ_full, y) − F1(ŷ_filt⁻, y))  ŷ_filt⁻: filter bypassed, top-K of each group passed on
Per-sample F1 is the set F1 between predicted and gold label sets (single label: 1 if equal else 0).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np


def set_f1(pred: Iterable[str] | str, gold: Iterable[str] | str) -> float:
    p = {pred} if isinstance(pred, str) else set(pred)
    g = {gold} if isinstance(gold, str) else set(gold)
    if not p and not g:
        return 1.0
    tp = len(p & g)
    if tp == 0:
        return 0.0
    prec, rec = tp / len(p), tp / len(g)
    return 2 * prec * rec / (prec + rec)


def batch_weighted_f1(pred: Sequence[str], gold: Sequence[str]) -> float:
    """Batch-level variant: support-weighted F1 over the gold classes of the batch."""
    if len(pred) != len(gold):
        raise ValueError("pred and gold differ in length")
    if not gold:
        return 0.0
    total = 0.0
    for c in set(gold):
        tp = sum(1 for p, g in zip(pred, gold) if p == c and g == c)
        fp = sum(1 for p, g in zip(pred, gold) if p == c and g != c)
        fn = sum(1 for p, g in zip(pred, gold) if p != c and g == c)
        f1 = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
        total += f1 * sum(1 for g in gold if g == c)
    return total / len(gold)


class AgentRewards(NamedTuple):
    """Each (B,) float arrays."""

    shared: np.ndarray
    planner: np.ndarray
    filter: np.ndarray
    generator: np.ndarray


def agent_rewards(*, full: Sequence[str], no_planner: Sequence[str], no_filter: Sequence[str],
                  gold: Sequence[str]) -> AgentRewards:
    f_full = np.array([set_f1(p, g) for p, g in zip(full, gold)], dtype=np.float64)
    f_plan = np.array([set_f1(p, g) for p, g in zip(no_planner, gold)], dtype=np.float64)
    f_filt = np.array([set_f1(p, g) for p, g in zip(no_filter, gold)], dtype=np.float64)
    return AgentRewards(shared=f_full, planner=f_full + (f_full - f_plan), filter=f_full + (f_full - f_filt), generator=f_full)


def marginal_weighted_f1(pred: Sequence[str], gold: Sequence[str]) -> np.ndarray:
    """Batch-level reward with per-sample credit (a difference reward): B·(WF1(ŷ) − WF1(ŷ with sample i unanswered)).

    Removing answer i: a correct answer loses a true positive of its class (it becomes a miss); a wrong answer loses
    a false positive of the class it predicted. Correct answers in rare classes and wrong answers that pollute a
    frequent class move weighted F1 the most, so the policy is pushed toward the WF1-optimal decision rule.
    Returns (B,) floats (mean roughly the per-sample accuracy scale)."""
    if len(pred) != len(gold):
        raise ValueError("pred and gold differ in length")
    b = len(gold)
    if b == 0:
        return np.zeros(0)
    classes = sorted(set(gold) | set(pred))
    ix = {c: i for i, c in enumerate(classes)}
    tp = np.zeros(len(classes))
    fp = np.zeros(len(classes))
    fn = np.zeros(len(classes))
    sup = np.zeros(len(classes))
    for p, g in zip(pred, gold):
        sup[ix[g]] += 1
        if p == g:
            tp[ix[g]] += 1
        else:
            fp[ix[p]] += 1
            fn[ix[g]] += 1

    def wf1(tp_, fp_, fn_) -> float:
        den = 2 * tp_ + fp_ + fn_
        f1 = np.divide(2 * tp_, den, out=np.zeros_like(tp_), where=den > 0)
        return float((f1 * sup).sum() / b)

    base = wf1(tp, fp, fn)
    out = np.empty(b)
    for i, (p, g) in enumerate(zip(pred, gold)):
        t, f, n = tp.copy(), fp.copy(), fn.copy()
        if p == g:
            t[ix[g]] -= 1
            n[ix[g]] += 1
        else:
            f[ix[p]] -= 1
        out[i] = b * (base - wf1(t, f, n))
    return out
