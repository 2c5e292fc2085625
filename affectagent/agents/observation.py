"""Tensor observations for the neural agents, built from ``Features`` and retrieved ``Evidence``.

Shape legend: B batch · C canonical labels (len(CANONICAL_EMOTIONS)) · N evidence candidates · K perceptual neighbours
    Observation.text (B, Dt) · ctx (B, Dt) · audio (B, Da) · aseq (B, Ta, Das) · fseq (B, Tv, Df) · visual (B, Dv)
    *_on (B,) bool presence · aseq_mask (B, Ta) · fseq_mask (B, Tv) · cand (B, C) bool candidate labels
    branch (B, M, C) the unimodal branches' centred log-posteriors (M = len(BRANCHES); 0 where a branch is absent
    or has no such class; ``branch_scores``)
    EvidenceBatch.emb (B, N, Dt) · label (B, N) long (−1 = none) · sent (B, N) long · kind (B, N) long · score (B, N) · mask (B, N)
    PerceptualBatch.audio (B, K, Da) / visual (B, K, Df) with masks (B, K); the visual perceptual vector of a sample is
    the mean of its face sequence (``face_vector``), so neighbours are found by facial expression, not scenery.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from ..encoders.face_pooling import expression_posterior
from ..schema import CANONICAL_EMOTIONS, SENTIMENTS, Evidence, FeatureNorm, Features

LABEL_INDEX = {e: i for i, e in enumerate(CANONICAL_EMOTIONS)}
SENT_INDEX = {s: i for i, s in enumerate(SENTIMENTS)}
KIND_INDEX = {"support": 0, "confusion": 1, "counter": 2, "plain": 3}
# Modalities whose unimodal branch posterior reaches the planner and the generator: the speech-emotion branch
# (``Features.branch_probs["audio"]``) and the face branch (the FER CNN's expression posterior pooled over the frames,
# ``face_pooling.expression_posterior``; computed here from ``Features.face_seq``).
BRANCHES: tuple[str, ...] = ("audio", "face")
BRANCH_FLOOR = 1e-4  # probabilities are floored here before the log


def input_branch_probs(f: Features) -> dict[str, Mapping[str, float]]:
    """Every branch posterior of one input: ``f.branch_probs`` plus the face branch when the input has a face."""
    out: dict[str, Mapping[str, float]] = dict(f.branch_probs or {})
    if "face" not in out:
        face = expression_posterior(f.face_seq)
        if face is not None:
            out["face"] = face
    return out


def branch_scores(branch_probs: Sequence[Mapping[str, Mapping[str, float]]]) -> np.ndarray:
    """Per sample and branch, log p(label) − its mean over the branch's classes, on the canonical label axis
    (B, M, C); labels the branch does not know and absent branches are 0 (no vote). Pure."""
    out = np.zeros((len(branch_probs), len(BRANCHES), len(CANONICAL_EMOTIONS)), np.float32)
    for i, probs in enumerate(branch_probs):
        for m, name in enumerate(BRANCHES):
            p = {k: v for k, v in (probs.get(name) or {}).items() if k in LABEL_INDEX}
            if not p:
                continue
            logs = np.log(np.maximum(np.asarray(list(p.values()), np.float64), BRANCH_FLOOR))
            for k, v in zip(p, logs - logs.mean()):
                out[i, m, LABEL_INDEX[k]] = v
    return out


@dataclass(frozen=True)
class FeatureSpec:
    """Input widths the actor is built for (stored in checkpoints)."""

    text_dim: int
    audio_dim: int
    aseq_dim: int
    face_dim: int
    visual_dim: int
    max_aseq: int = 64
    max_fseq: int = 32


@dataclass
class Observation:
    text: torch.Tensor
    text_on: torch.Tensor
    ctx: torch.Tensor
    ctx_on: torch.Tensor
    audio: torch.Tensor
    audio_on: torch.Tensor
    aseq: torch.Tensor
    aseq_mask: torch.Tensor
    fseq: torch.Tensor
    fseq_mask: torch.Tensor
    visual: torch.Tensor
    visual_on: torch.Tensor
    cand: torch.Tensor
    branch: torch.Tensor

    @property
    def batch(self) -> int:
        return self.text.shape[0]


@dataclass
class EvidenceBatch:
    emb: torch.Tensor
    label: torch.Tensor
    sent: torch.Tensor
    kind: torch.Tensor
    score: torch.Tensor
    mask: torch.Tensor


@dataclass
class PerceptualBatch:
    audio: torch.Tensor
    audio_mask: torch.Tensor
    visual: torch.Tensor
    visual_mask: torch.Tensor


def candidate_mask(label_sets: Sequence[Sequence[str]]) -> torch.Tensor:
    m = torch.zeros(len(label_sets), len(CANONICAL_EMOTIONS), dtype=torch.bool)
    for i, labels in enumerate(label_sets):
        for lab in labels:
            m[i, LABEL_INDEX[lab]] = True
    return m


def _seq(x: np.ndarray | None, max_len: int, dim: int, norm: FeatureNorm, key: str) -> tuple[np.ndarray, int]:
    out = np.zeros((max_len, dim), np.float32)
    if x is None or len(x) == 0:
        return out, 0
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    if len(x) > max_len:  # uniform subsample keeps the whole time span
        x = x[np.linspace(0, len(x) - 1, max_len).round().astype(int)]
    x = norm.apply(key, x)
    out[: len(x)] = x
    return out, len(x)


def build_observation(
    feats: Sequence[Features], *, ctx_embs: Sequence[np.ndarray | None], label_sets: Sequence[Sequence[str]],
    spec: FeatureSpec, norm: FeatureNorm,
) -> Observation:
    b = len(feats)
    text = np.zeros((b, spec.text_dim), np.float32)
    ctx = np.zeros((b, spec.text_dim), np.float32)
    audio = np.zeros((b, spec.audio_dim), np.float32)
    visual = np.zeros((b, spec.visual_dim), np.float32)
    aseq = np.zeros((b, spec.max_aseq, spec.aseq_dim), np.float32)
    fseq = np.zeros((b, spec.max_fseq, spec.face_dim), np.float32)
    alen = np.zeros(b, np.int64)
    flen = np.zeros(b, np.int64)
    on = {k: np.zeros(b, bool) for k in ("text", "ctx", "audio", "visual")}
    for i, f in enumerate(feats):
        if f.text_emb is not None:
            text[i], on["text"][i] = f.text_emb, True
        if ctx_embs[i] is not None:
            ctx[i], on["ctx"][i] = ctx_embs[i], True
        if f.audio_emb is not None:
            audio[i], on["audio"][i] = norm.apply("audio", np.asarray(f.audio_emb, np.float32)), True
            aseq[i], alen[i] = _seq(f.audio_seq, spec.max_aseq, spec.aseq_dim, norm, "aseq")
        if f.face_seq is not None and len(f.face_seq):
            fseq[i], flen[i] = _seq(f.face_seq, spec.max_fseq, spec.face_dim, norm, "fseq")
        if f.visual_emb is not None:
            visual[i], on["visual"][i] = norm.apply("visual", np.asarray(f.visual_emb, np.float32)), True
    # Trim the padding to the batch's longest sequence (≥ 1): a text-only batch then carries 1-token audio / face
    # sequences instead of max_aseq / max_fseq zeros (every consumer masks padding, so results do not change).
    ta, tf = max(int(alen.max(initial=0)), 1), max(int(flen.max(initial=0)), 1)
    aseq, fseq = np.ascontiguousarray(aseq[:, :ta]), np.ascontiguousarray(fseq[:, :tf])
    t = torch.from_numpy
    ar_a = torch.arange(ta).unsqueeze(0)
    ar_f = torch.arange(tf).unsqueeze(0)
    return Observation(
        text=t(text), text_on=t(on["text"]), ctx=t(ctx), ctx_on=t(on["ctx"]),
        audio=t(audio), audio_on=t(on["audio"]), aseq=t(aseq), aseq_mask=ar_a < t(alen).unsqueeze(1),
        fseq=t(fseq), fseq_mask=ar_f < t(flen).unsqueeze(1), visual=t(visual), visual_on=t(on["visual"]) | (t(flen) > 0),
        cand=candidate_mask(label_sets), branch=t(branch_scores([input_branch_probs(f) for f in feats])),
    )


def build_evidence_batch(groups: Sequence[Sequence[Evidence]], *, text_dim: int, max_n: int | None = None) -> EvidenceBatch:
    """One row per sample; each row concatenates the sample's cognitive evidence (all kinds) in order.
    Evidence.vector must carry the entry's text embedding (D_t) — zeros when absent."""
    b = len(groups)
    n = max([len(g) for g in groups] + [1]) if max_n is None else max_n
    emb = np.zeros((b, n, text_dim), np.float32)
    label = np.full((b, n), -1, np.int64)
    sent = np.full((b, n), SENT_INDEX["neutral"], np.int64)
    kind = np.full((b, n), KIND_INDEX["plain"], np.int64)
    score = np.zeros((b, n), np.float32)
    mask = np.zeros((b, n), bool)
    for i, g in enumerate(groups):
        for j, ev in enumerate(g[:n]):
            if ev.vector is not None and len(ev.vector) == text_dim:
                emb[i, j] = ev.vector
            label[i, j] = LABEL_INDEX.get(ev.label, -1) if ev.label else -1
            sent[i, j] = SENT_INDEX.get(ev.sentiment or "neutral", 1)
            kind[i, j] = KIND_INDEX.get(ev.kind, KIND_INDEX["plain"])
            score[i, j] = ev.score
            mask[i, j] = True
    t = torch.from_numpy
    return EvidenceBatch(emb=t(emb), label=t(label), sent=t(sent), kind=t(kind), score=t(score), mask=t(mask))


def build_perceptual_batch(
    audio_groups: Sequence[Sequence[np.ndarray]], visual_groups: Sequence[Sequence[np.ndarray]], *, spec: FeatureSpec,
    k: int,
) -> PerceptualBatch:
    """Neighbour vectors come from the KB already z-scored and L2-normalised (``retriever.kb_vector``); they are
    scaled by √D to match the scale of z-scored inputs."""
    b = len(audio_groups)
    a = np.zeros((b, k, spec.audio_dim), np.float32)
    v = np.zeros((b, k, spec.face_dim), np.float32)
    am = np.zeros((b, k), bool)
    vm = np.zeros((b, k), bool)
    sa, sv = np.sqrt(spec.audio_dim), np.sqrt(spec.face_dim)
    for i in range(b):
        for j, vec in enumerate(audio_groups[i][:k]):
            a[i, j], am[i, j] = np.asarray(vec, np.float32) * sa, True
        for j, vec in enumerate(visual_groups[i][:k]):
            v[i, j], vm[i, j] = np.asarray(vec, np.float32) * sv, True
    t = torch.from_numpy
    return PerceptualBatch(audio=t(a), audio_mask=t(am), visual=t(v), visual_mask=t(vm))
