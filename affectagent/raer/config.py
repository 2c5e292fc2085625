"""RAER settings (raer-sab.txt Algorithm 1 and Table 7) and the growth run's settings; the CLI is built from them."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from ..errors import InputError

UNCERTAINTY_METHODS: tuple[str, ...] = ("auto", "max_prob", "entropy", "logprob", "agreement")
PROTOCOLS: tuple[str, ...] = ("honest", "paper")


@dataclass(frozen=True)
class RAERConfig:
    """RAER settings.

    top_k: evidence items retrieved per reasoning step (paper Table 7: K = 5).
    epsilon: the growth gate — a prediction enters the knowledge base when its uncertainty is at most epsilon
      (in [0, 1]).
    min_agreement: a step is ambiguous when the similarity-weighted share of its retrieved evidence that carries the
      step's emotion is below this value (in [0, 1]).
    min_similarity: a step is also ambiguous when its best retrieved evidence is less similar than this (cosine).
    vote_temperature: softmax temperature over evidence similarities when weighting the evidence's labels.
    uncertainty: auto (max_prob for the neural agents, logprob for LLMs), max_prob (1 − top probability of the label distribution; neural), entropy (its normalised entropy;
      neural), logprob (1 − probability of the answer's label tokens; LLM), agreement (1 − share of k sampled
      answers that agree with the answer; LLM).
    samples: k, the number of sampled answers for the agreement uncertainty.
    sample_temperature: temperature of those sampled answers.
    max_steps: reasoning steps kept from the segmented answer (LLM backbones).
    """

    top_k: int = 5
    epsilon: float = 0.2
    min_agreement: float = 0.5
    min_similarity: float = 0.3
    vote_temperature: float = 0.05
    uncertainty: Literal["auto", "max_prob", "entropy", "logprob", "agreement"] = "auto"
    samples: int = 3
    sample_temperature: float = 0.7
    max_steps: int = 4

    def for_backbone(self, backbone: str) -> "RAERConfig":
        """``uncertainty="auto"`` resolved: max_prob for the neural agents, logprob for an LLM backbone."""
        if self.uncertainty != "auto":
            return self
        return replace(self, uncertainty="max_prob" if backbone == "neural" else "logprob")

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


@dataclass(frozen=True)
class GrowthConfig:
    """One RAER growth run.

    dataset: the corpus scored (an emotion corpus with labels).
    split: its scored split.
    epochs: growth epochs after epoch 0 (epoch 0 = RAER with the untouched KB).
    protocol: honest (a disjoint pool read without labels; default) or paper (the scored split is the pool and only
      correct gated predictions enter — transductive, reads the gold labels).
    pool: the honest pool: "half" (the scored split partitioned by dialogue / speaker into an unlabelled pool and a
      scored part), a split name of the same corpus, or a manifest of unlabelled files.
    pool_fraction: share of the dialogues / speakers that go to the pool with pool "half".
    limit: score a seeded sample of N utterances of the scored split.
    pool_limit: reason over a seeded sample of at most N pool samples per epoch.
    seed: partition and sampling seed.
    batch_size: samples per reasoning batch.
    """

    dataset: str
    split: str = "dev"
    epochs: int = 6
    protocol: Literal["honest", "paper"] = "honest"
    pool: str = "half"
    pool_fraction: float = 0.5
    limit: int | None = None
    pool_limit: int | None = None
    seed: int = 0
    batch_size: int = 128
    raer: RAERConfig = field(default_factory=RAERConfig)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise InputError(f"unknown RAER protocol {self.protocol!r}; known: {', '.join(PROTOCOLS)}")
        if self.epochs < 0:
            raise InputError("epochs must be >= 0")
        if not 0.0 < self.pool_fraction < 1.0:
            raise InputError("pool_fraction must be in (0, 1)")
        if self.batch_size < 1 or (self.limit is not None and self.limit < 1) or (
                self.pool_limit is not None and self.pool_limit < 1):
            raise InputError("batch_size, limit and pool_limit must be >= 1")
