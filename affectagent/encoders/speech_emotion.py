"""The speech-emotion branch: a class posterior over emotion labels from one utterance's voice alone.

Model (pure NumPy, ``SpeechEmotionModel``): for each view v (``speech_views.py``: ComParE 2016 functionals, pooled
Whisper tiny.en states) a linear model on standardised features (a softmax regression trained over each corpus's
own label space, ``train/speech_emotion.py``),
    s_v(x) = W_v · ((x − μ_v) / σ_v) + b_v                        (K logits, K classes)
standardised by its scores' mean / std over the training rows, ŝ_v = (s_v − m_v) / d_v; late fusion is the mean
    s(x) = (1/V) Σ_v ŝ_v(x),        p(k | x) = softmax(τ · s(x))_k
with the temperature τ fitted on out-of-speaker-fold scores (``train/speech_emotion.py``). No statistic of the test
speaker is used: one file is scored the same alone or in a batch (the one-file protocol of BENCHMARKS.md).

Shipped models (``affectagent train speech`` rebuilds them from EmoDB + RAVDESS):
  default   ComParE + Whisper late fusion (openSMILE's licence: research / personal use only),
            affectagent/assets/default/speech_emotion.npz — the default checkpoint's branch
  whisper   Whisper only (MIT-licensed end to end), affectagent/assets/speech/speech_emotion_whisper.npz
  speaker-norm  ComParE + Whisper on speaker-standardised views (``speaker_norm.py``): for batches of one speaker's
            files only (``--speaker-norm``), affectagent/assets/speech/speech_emotion_spknorm.npz
``SpeechEmotionBranch(model).probs(wave16k) -> {label: p}`` computes the model's views and its posterior.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InputError
from ..paths import PACKAGE_DIR
from .speech_views import get_speech_view

ASSET_DIR = PACKAGE_DIR / "assets"
# the default checkpoint's branch (written beside agents.pt by its recipe) and the MIT-licensed variant
SHIPPED_MODELS = {"default": "default/speech_emotion.npz", "whisper": "speech/speech_emotion_whisper.npz",
                  "speaker-norm": "speech/speech_emotion_spknorm.npz"}
OFF = ("", "none", "off")


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@dataclass(frozen=True)
class LinearView:
    """A fitted linear model over one view. mean / scale (D,): feature standardisation; weight (K, D), bias (K,):
    logits; ref_mean / ref_std (K,): its scores' statistics over the training rows."""

    view: str
    version: str
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    ref_mean: np.ndarray
    ref_std: np.ndarray

    def raw_scores(self, x: np.ndarray) -> np.ndarray:
        """(N, D) -> (N, K) decision scores."""
        z = (np.asarray(x, np.float64) - self.mean) / self.scale
        return z @ self.weight.T.astype(np.float64) + self.bias

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(N, D) -> (N, K) decision scores standardised by the training rows' score statistics."""
        return (self.raw_scores(x) - self.ref_mean) / self.ref_std


@dataclass(frozen=True)
class SpeechEmotionModel:
    classes: tuple[str, ...]
    views: tuple[LinearView, ...]
    temperature: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.views:
            raise ValueError("a speech-emotion model needs at least one view")
        for v in self.views:
            if v.weight.shape[0] != len(self.classes):
                raise ValueError(f"view {v.view}: {v.weight.shape[0]} rows for {len(self.classes)} classes")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0")

    @property
    def view_names(self) -> tuple[str, ...]:
        return tuple(v.view for v in self.views)

    @property
    def speaker_norm(self) -> bool:
        """Trained on speaker-standardised views (``encoders/speaker_norm.py``): valid only over a speaker's batch."""
        return bool(self.meta.get("speaker_norm"))

    def scores(self, xs: Mapping[str, np.ndarray]) -> np.ndarray:
        """{view: (N, D_v)} -> (N, K) fused standardised scores."""
        missing = [v.view for v in self.views if v.view not in xs]
        if missing:
            raise ValueError(f"missing speech views: {', '.join(missing)}")
        return np.mean([v.scores(xs[v.view]) for v in self.views], axis=0)

    def posterior(self, xs: Mapping[str, np.ndarray]) -> np.ndarray:
        """{view: (N, D_v)} -> (N, K) class probabilities."""
        return softmax(self.temperature * self.scores(xs))

    def version(self) -> str:
        """Content digest (part of every cache key that holds this model's outputs)."""
        h = hashlib.sha1(json.dumps({"classes": self.classes, "t": self.temperature}).encode())
        for v in self.views:
            h.update(v.version.encode())
            for a in (v.mean, v.scale, v.weight, v.bias, v.ref_mean, v.ref_std):
                h.update(np.ascontiguousarray(a, np.float32).tobytes())
        return h.hexdigest()[:12]

    # ---- files ---------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        for i, v in enumerate(self.views):
            for name in ("mean", "scale", "weight", "bias", "ref_mean", "ref_std"):
                arrays[f"{i}.{name}"] = np.asarray(getattr(v, name), np.float32)
        header = {"classes": list(self.classes), "temperature": self.temperature, "meta": self.meta,
                  "views": [{"view": v.view, "version": v.version} for v in self.views], "format": 1}
        with open(path, "wb") as fh:
            np.savez_compressed(fh, header=np.array(json.dumps(header)), **arrays)
        return path

    @staticmethod
    def load(path: str | Path) -> "SpeechEmotionModel":
        path = Path(path)
        if not path.is_file():
            raise InputError(f"speech-emotion model not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                views = tuple(
                    LinearView(view=h["view"], version=h["version"],
                               **{n: z[f"{i}.{n}"].astype(np.float64)
                                  for n in ("mean", "scale", "weight", "bias", "ref_mean", "ref_std")})
                    for i, h in enumerate(header["views"]))
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{path} is not a speech-emotion model ({type(exc).__name__}: {exc})") from None
        return SpeechEmotionModel(classes=tuple(header["classes"]), views=views,
                                  temperature=float(header["temperature"]), meta=header.get("meta", {}))


def resolve_model_path(name: str) -> Path:
    """``default`` / ``whisper`` (shipped) or a path to a ``.npz`` written by ``affectagent train speech``."""
    if name in SHIPPED_MODELS:
        return ASSET_DIR / SHIPPED_MODELS[name]
    path = Path(name).expanduser()
    if not path.is_file():
        raise InputError(f"unknown speech-emotion model {name!r}: not one of {', '.join(SHIPPED_MODELS)} "
                         f"and not a file (train one with: affectagent train speech --out DIR)")
    return path


class SpeechEmotionBranch:
    """A model + the views it needs: ``probs(wave16k)`` -> {label: probability}."""

    def __init__(self, model: SpeechEmotionModel, *, name: str = "custom") -> None:
        if model.speaker_norm:
            raise InputError(f"speech-emotion model {name!r} scores speaker-normalised features, which one file does "
                             "not have; use it with --speaker-norm over a batch of the speaker's files")
        self.model = model
        self.name = name
        self.tag = f"speech-emotion:{name}@{model.version()}"

    @staticmethod
    def load(name: str) -> "SpeechEmotionBranch":
        return SpeechEmotionBranch(SpeechEmotionModel.load(resolve_model_path(name)), name=name)

    def views(self, wave: np.ndarray) -> dict[str, np.ndarray]:
        return {v: get_speech_view(v)(wave)[None] for v in self.model.view_names}

    def probs_from_views(self, xs: Mapping[str, np.ndarray]) -> dict[str, float]:
        p = self.model.posterior(xs)[0]
        return {c: float(round(q, 6)) for c, q in zip(self.model.classes, p)}

    def probs(self, wave: np.ndarray) -> dict[str, float]:
        return self.probs_from_views(self.views(wave))
