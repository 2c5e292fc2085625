"""RAER settings (raer-sab.txt Algorithm 1 and Table 7). One dataclass; the CLI is built from it."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

UNCERTAINTY_METHODS: tuple[str, ...] = ("max_prob", "entropy", "logprob", "agreement")


@dataclass(frozen=True)
class RAERConfig:
    """top_k: evidence items retrieved per reasoning step (paper Table 7: K = 5).
    epsilon: the growth gate — a prediction enters the knowledge base when its uncertainty is at most epsilon (in [0, 1]).
    min_agreement: a step is ambiguous when the similarity-weighted share of its retrieved evidence that carries the
    step's emotion is below this value (in [0, 1]).
    min_similarity: a step is also ambiguous when its best retrieved evidence is less similar than this (cosine).
    vote_temperature: softmax temperature over evidence similarities when weighting the evidence's labels.
    uncertainty: how uncertainty is measured — max_prob (1 − top probability of the label distribution; neural),
    entropy (normalised entropy of that distribution; neural), logprob (1 − probability of the answer's tokens under
    the model, from token log-probs; LLM), agreement (1 − share of k sampled answers that agree with the answer; LLM).
    samples: k, the number of sampled answers for the agreement uncertainty. sample_temperature: their temperature.
    max_steps: reasoning steps kept from the segmented answer (LLM backbones).
    """

    top_k: int = 5
    epsilon: float = 0.2
    min_agreement: float = 0.5
    min_similarity: float = 0.3
    vote_temperature: float = 0.05
    uncertainty: str = "max_prob"
    samples: int = 3
    sample_temperature: float = 0.7
    max_steps: int = 4

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise InputError("RAER top_k must be >= 1")
        for name in ("epsilon", "min_agreement"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise InputError(f"RAER {name} must be in [0, 1], got {v}")
        if not -1.0 <= self.min_similarity <= 1.0:
            raise InputError(f"RAER min_similarity must be a cosine in [-1, 1], got {self.min_similarity}")
        if self.vote_temperature <= 0:
            raise InputError("RAER vote_temperature must be > 0")
        if self.uncertainty not in UNCERTAINTY_METHODS:
            raise InputError(f"unknown RAER uncertainty {self.uncertainty!r}; known: {', '.join(UNCERTAINTY_METHODS)}")
        if self.samples < 2 and self.uncertainty == "agreement":
            raise InputError("the agreement uncertainty needs samples >= 2")
        if self.max_steps < 1:
            raise InputError("RAER max_steps must be >= 1")
