"""Detect(y_t, R) of Algorithm 1, measured, not asked: does the retrieved evidence back the step's emotion?

For step emotion e and evidence R = {(label_j, sim_j)} (labelled items only):
    w_j = softmax_j(sim_j / T)                      similarity weights (T = vote temperature)
    agreement(e, R) = Σ_j w_j · [label_j = e]       share of the evidence, by similarity, that carries e
    ambiguous ⟺ R has no labelled item, or agreement < min_agreement, or max_j sim_j < min_similarity
A step that asserts no emotion is ambiguous only through the similarity test. Pure functions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from ..schema import Evidence


@dataclass(frozen=True)
class Detection:
    """ambiguous: the verdict; agreement: Σ w·[label = emotion] (None without labelled evidence); max_similarity;
    evidence_label: the evidence's top label by weight; reason: why (empty when not ambiguous)."""

    ambiguous: bool
    agreement: float | None
    max_similarity: float | None
    evidence_label: str | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        r = (lambda x: None if x is None else round(float(x), 4))
        return {"ambiguous": self.ambiguous, "agreement": r(self.agreement), "max_similarity": r(self.max_similarity),
                "evidence_label": self.evidence_label, "reason": self.reason}


def label_distribution(evidence: Sequence[Evidence], *, temperature: float) -> dict[str, float]:
    """Similarity-weighted label distribution of the labelled evidence (empty dict when none is labelled)."""
    rows = [(e.label, float(e.score)) for e in evidence if e.label is not None]
    if not rows:
        return {}
    top = max(s for _, s in rows)
    ws = [math.exp((s - top) / temperature) for _, s in rows]
    z = sum(ws)
    out: dict[str, float] = {}
    for (lab, _), w in zip(rows, ws):
        out[lab] = out.get(lab, 0.0) + w / z
    return out


def detect(emotion: str | None, evidence: Sequence[Evidence], *, min_agreement: float, min_similarity: float,
           temperature: float) -> Detection:
    """The ambiguity verdict of one step against its retrieved evidence (see module docstring)."""
    if not evidence:
        return Detection(True, None, None, None, "no evidence retrieved")
    max_sim = max(float(e.score) for e in evidence)
    dist = label_distribution(evidence, temperature=temperature)
    top = max(dist, key=dist.get) if dist else None
    reasons = []
    agreement = None
    if emotion is not None:
        if not dist:
            reasons.append("no labelled evidence")
        else:
            agreement = dist.get(emotion, 0.0)
            if agreement < min_agreement:
                reasons.append(f"evidence agrees {agreement:.2f} < {min_agreement:.2f} (evidence says {top})")
    if max_sim < min_similarity:
        reasons.append(f"best similarity {max_sim:.2f} < {min_similarity:.2f}")
    return Detection(bool(reasons), agreement, max_sim, top, "; ".join(reasons))
