"""Emotion Generator (AffectAgent §3.1): the final label and sentiment from the shared state, the kept evidence and
the fused audio-visual representation; plus its explanation (open-vocabulary set, rationale citing cues and evidence).

Head: the state attends over the kept evidence tokens; a similarity-weighted vote of the kept evidence labels
(``evidence_vote``) is concatenated with [state; fused audio; fused visual; attended evidence] → label logits (masked to
the candidates) and sentiment logits. The unimodal branches' posteriors (the speech-emotion branch) enter the label
logits as a product of experts: + Σ_m g_m · (log p_m(y) − mean_y log p_m), with g learned from 1 (0 in older
checkpoints). Action distribution: y ~ Cat(softmax(label logits)); ``sample=False`` = argmax.
Shapes: B batch · C canonical labels · N evidence · D width.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import torch
from torch import nn

from ..encoders.face_pooling import EXPRESSIONS
from ..fusion.masked import cross_attend
from ..schema import CANONICAL_EMOTIONS, SENTIMENTS, Evidence, Features
from .distributions import NEG_INF, categorical_entropy
from .layers import branch_term, initial_branch_gains, mlp
from .observation import EvidenceBatch

# FER2013 expression order used by the face encoder's probabilities.
FER_ORDER = EXPRESSIONS


class GeneratorHead(nn.Module):
    def __init__(self, *, dim: int, heads: int, dropout: float, vote_temperature: float) -> None:
        super().__init__()
        c = len(CANONICAL_EMOTIONS)
        self.vote_temperature = vote_temperature
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.label_mlp = nn.Sequential(nn.LayerNorm(4 * dim + c), mlp(4 * dim + c, 2 * dim, c, dropout))
        self.sentiment_mlp = nn.Sequential(nn.LayerNorm(4 * dim + c), mlp(4 * dim + c, dim, len(SENTIMENTS), dropout))
        # weight of each unimodal branch's centred log-posterior in the label logits, without / with a face in view
        # (``branch_term``), learned by SFT (``initial_branch_gains``); checkpoints from before a branch load with 0
        self.branch_gain, self.branch_gain_face = initial_branch_gains()

    def evidence_vote(self, ev: EvidenceBatch, keep: torch.Tensor) -> torch.Tensor:
        """(B, C) similarity-weighted label distribution of the kept evidence (zeros when nothing is kept)."""
        c = len(CANONICAL_EMOTIONS)
        valid = keep & ev.mask & (ev.label >= 0)
        w = (ev.score / self.vote_temperature).masked_fill(~valid, NEG_INF).softmax(dim=-1) * valid
        onehot = torch.nn.functional.one_hot(ev.label.clamp_min(0), c).float()
        return torch.einsum("bn,bnc->bc", w, onehot)

    def forward(self, h: torch.Tensor, tokens: torch.Tensor, ev: EvidenceBatch, keep: torch.Tensor,
                audio: torch.Tensor, visual: torch.Tensor, cand: torch.Tensor,
                branch: torch.Tensor | None = None,
                face: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """h (B, D); tokens (B, N, D); keep (B, N); audio / visual (B, D) fused; branch (B, M, C) the branches'
        centred log-posteriors, face (B,) bool: the input has a face (selects the branch weight). Returns label logits
        (B, C), sentiment logits (B, 3), evidence attention (B, N)."""
        kmask = keep & ev.mask
        has = kmask.any(dim=1)
        pooled = torch.zeros_like(h)
        attn = h.new_zeros(ev.mask.shape)
        if has.any():
            out, w = cross_attend(self.attn, h[has].unsqueeze(1), tokens[has], ~kmask[has], need_weights=True)
            pooled[has] = out.squeeze(1)
            attn[has] = w.squeeze(1)
        x = torch.cat([h, audio, visual, pooled, self.evidence_vote(ev, keep)], dim=-1)
        logits = self.label_mlp(x) + branch_term(self.branch_gain, self.branch_gain_face, branch, face)
        return logits.masked_fill(~cand, NEG_INF), self.sentiment_mlp(x), attn


class GenerateAction(NamedTuple):
    label: torch.Tensor  # (B,)
    log_prob: torch.Tensor  # (B,)
    entropy: torch.Tensor  # (B,)
    probs: torch.Tensor  # (B, C)


def generate_action(logits: torch.Tensor, *, sample: bool, actions: torch.Tensor | None = None,
                    generator: torch.Generator | None = None) -> GenerateAction:
    logp = logits.log_softmax(-1)
    if actions is not None:
        y = actions
    elif sample:
        y = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
    else:
        y = logits.argmax(-1)
    return GenerateAction(label=y, log_prob=logp.gather(1, y.unsqueeze(1)).squeeze(1),
                          entropy=categorical_entropy(logp), probs=logp.exp())


# ---- explanation (pure functions over already-computed numbers) --------------------------------------------------
def open_vocabulary_set(probs: Mapping[str, float], *, min_prob: float = 0.12, rel: float = 0.35,
                        max_words: int = 3) -> tuple[str, ...]:
    """Emotion words whose probability is at least ``min_prob`` and ``rel`` × the top probability (top first).
    Neutral is kept only when it is the top label."""
    if not probs:
        return ()
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])
    top_p = ranked[0][1]
    out = [lab for lab, p in ranked if p >= min_prob and p >= rel * top_p]
    out = [lab for i, lab in enumerate(out) if lab != "neutral" or i == 0]
    return tuple(out[:max_words])


def describe_face(expr_mean: Sequence[float] | None, n_face_frames: int | None) -> str | None:
    if expr_mean is None or not n_face_frames:
        return None
    pairs = sorted(zip(FER_ORDER, expr_mean), key=lambda kv: -kv[1])
    top = ", ".join(f"{name} {p:.2f}" for name, p in pairs[:2])
    return f"face in {n_face_frames} frames, expression {top}"


def describe_voice(stats: Mapping[str, float] | None) -> str | None:
    if not stats:
        return None
    parts = []
    for key, name, fmt in (("rms_dbfs", "level", "{:.0f} dBFS"), ("f0_semitone_mean", "mean pitch", "{:.1f} st"),
                           ("voiced_segments_per_s", "voiced segments", "{:.1f}/s"), ("speech_ratio", "speech", "{:.0%}")):
        if key in stats and stats[key] is not None:
            parts.append(f"{name} {fmt.format(stats[key])}")
    return "voice: " + ", ".join(parts) if parts else None


def describe_branch(probs: Mapping[str, float] | None, labels: Sequence[str], *, top: int = 2,
                    weighed: bool = True) -> str | None:
    """"voice alone: angry 0.71, fear 0.12" — the speech-emotion branch's posterior over the task's labels;
    ``weighed=False`` (its weight is 0 for this input, e.g. a face in view) says so."""
    if not probs:
        return None
    kept = {k: float(probs[k]) for k in labels if k in probs}
    total = sum(kept.values())
    if total <= 0:
        return None
    ranked = sorted(kept.items(), key=lambda kv: -kv[1])[:top]
    note = "" if weighed else " (not weighed: the branch's weight with a face in view is 0)"
    return "voice alone: " + ", ".join(f"{k} {v / total:.2f}" for k, v in ranked) + note


NOTHING_PERCEIVED = ("Nothing was perceived: no text, no speech and no face{where}, so this answer reflects the "
                     "model's prior rather than the input; do not trust it.")


def nothing_perceived_note(features: Features, text: str | None) -> str | None:
    """The note for an input without words (no text, no transcript, no detected speech) and without a face, from the
    modality mask and the encoders' facts (``Features.info``: speech ratio, face frames); None otherwise."""
    if text and text.strip():
        return None
    if features.face_seq is not None and len(features.face_seq):
        return None
    speech = features.mask.audio and (features.info.get("speech_ratio") or 0) > 0
    if speech:
        return None
    frames = features.info.get("n_frames")
    where = f" in {frames} sampled frames" if features.mask.visual and frames else ""
    return NOTHING_PERCEIVED.format(where=where)


def speech_note(features: Features) -> str | None:
    """The note for speech whose transcript did not feed the text branch (``encoders.speech_language``): a
    language the English ASR cannot read, or an English decode below the confidence guard; None otherwise."""
    info = features.info or {}
    why = info.get("transcript_skipped")
    if why is None:
        return None
    if why == "language":
        from ..encoders.speech_language import language_name

        lang = info.get("speech_language") or {}
        how = "declared" if lang.get("how") == "declared" else "identified"
        return (f"The speech is {language_name(lang.get('language'))} ({how}); the English-only ASR cannot read it, "
                "so no transcript was used (voice cues still count).")
    return ("The speech recogniser's transcript was dropped for low confidence (speech it likely cannot read), so "
            "no transcript was used (voice cues still count).")


def rationale(
    *, label: str, probs: Mapping[str, float], text: str | None, cues: Sequence[str], kept: Sequence[Evidence],
    dropped: int, routing: Sequence[float] | None = None, filled: Sequence[str] = (), notes: Sequence[str] = (),
) -> str:
    """One paragraph: decision, notes about the input (e.g. ``nothing_perceived_note``), cues used, evidence cited
    by id with its label and similarity, fusion notes."""
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])
    alt = ", ".join(f"{k} {v:.2f}" for k, v in ranked[1:3])
    lines = [f"Predicted {label} (p={probs.get(label, 0.0):.2f}; next: {alt or 'none'})."]
    lines.extend(notes)
    if text:
        snippet = text if len(text) <= 120 else text[:117] + "..."
        lines.append(f'Text: "{snippet}".')
    lines.extend(c.rstrip(".") + "." for c in cues)
    agree = [e for e in kept if e.label == label]
    other = [e for e in kept if e.label != label]
    if kept:
        cite = "; ".join(f"[{e.id}] {e.label} ({e.kind}, sim {e.score:.2f})" for e in (agree + other)[:5])
        lines.append(f"Evidence kept {len(kept)} (dropped {dropped}); {len(agree)} agree with {label}: {cite}.")
    else:
        lines.append("No retrieved evidence was kept; decision rests on the input alone.")
    if filled:
        lines.append("Missing " + " and ".join(filled) + " filled from retrieved neighbours (RAAF).")
    if routing is not None and len(routing):
        top = max(range(len(routing)), key=lambda i: routing[i])
        lines.append(f"MB-MoE routed mostly to expert E{top + 1} ({routing[top]:.2f}).")
    return " ".join(lines)
