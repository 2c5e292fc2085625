"""Paired tri-modal episodes for the missing-modality study.

No corpus available offline labels the same moment in text, voice and face together: MELD ships text only, EmoDB and
RAVDESS speech only, FER2013 faces only. The study therefore builds *paired* episodes: a MELD utterance, an acted speech
clip and a face image that carry the same gold emotion (drawn at random within that emotion, with a fixed seed),
so each modality is a real, independent observation of the episode's label. Train and test episodes are paired from
disjoint sources (MELD train / dev, RAVDESS actors, FER2013 train / dev) so no test clip, face or utterance is seen in
training. This is a controlled stand-in for real tri-modal data; the README and BENCHMARKS say so where it is used.

Functions are pure (no I/O): ``pair_corpora``, ``drop_modality``, ``replace_modality``, ``modality_dropout``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from ..schema import CANONICAL_EMOTIONS, EncodedInput, Features, ModalityMask
from ..train.sft import EncodedCorpus

PAIRED_LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")
MODALITIES = ("text", "audio", "visual")


def _merge(t: EncodedInput, a: EncodedInput, v: EncodedInput, label_set: tuple[str, ...]) -> EncodedInput:
    ft, fa, fv = t.features, a.features, v.features
    info = {"audio_stats": fa.info.get("audio_stats")} if fa.info.get("audio_stats") else {}
    feats = Features(text_emb=ft.text_emb, audio_emb=fa.audio_emb, audio_seq=fa.audio_seq, face_seq=fv.face_seq,
                     visual_emb=fv.visual_emb, transcript=None,
                     mask=ModalityMask(text=ft.text_emb is not None, audio=fa.audio_emb is not None,
                                       visual=fv.face_seq is not None and len(fv.face_seq) > 0),
                     info=info)
    sid = f"pair/{t.sample_id}+{a.sample_id}+{v.sample_id}"
    return EncodedInput(sample_id=sid, features=feats, ctx_emb=t.ctx_emb, label_set=label_set,
                        exclude=frozenset({sid}) | t.exclude | a.exclude | v.exclude, text=t.text)


def pair_corpora(*, text: EncodedCorpus, audio: EncodedCorpus, visual: EncodedCorpus, seed: int,
                 labels: Sequence[str] = PAIRED_LABELS, limit: int | None = None,
                 exclude_related: bool = False) -> EncodedCorpus:
    """One episode per text item whose label is in ``labels`` and has audio and visual items of the same label.

    Audio and visual partners are drawn uniformly within the label (with replacement), seeded; ``limit`` keeps a
    seeded random subset of the text items first. Gold sentiment comes from the text corpus.
    ``exclude_related`` (training episodes whose KB holds the other training episodes): an episode may not retrieve
    any episode that shares its dialogue, its speaker / actor or its face image (the components' own exclusion sets
    name those relations), so training-time neighbours are as unfamiliar as test-time ones."""
    rng = np.random.default_rng(seed)
    label_set = tuple(labels)
    idx_of = {lab: CANONICAL_EMOTIONS.index(lab) for lab in label_set}
    pools = {}
    for name, corpus in (("audio", audio), ("visual", visual)):
        pools[name] = {lab: np.flatnonzero(corpus.gold == i) for lab, i in idx_of.items()}
    usable = [i for i in range(len(text)) if text.gold[i] in idx_of.values()
              and all(len(pools[m][CANONICAL_EMOTIONS[text.gold[i]]]) for m in ("audio", "visual"))]
    if limit is not None and limit < len(usable):
        usable = sorted(rng.choice(usable, limit, replace=False).tolist())
    inputs, gold, sent, source, parts = [], [], [], [], []
    for i in usable:
        lab = CANONICAL_EMOTIONS[text.gold[i]]
        a = int(rng.choice(pools["audio"][lab]))
        v = int(rng.choice(pools["visual"][lab]))
        parts.append((i, a, v))
        inputs.append(_merge(text.inputs[i], audio.inputs[a], visual.inputs[v], label_set))
        gold.append(text.gold[i])
        sent.append(text.gold_sentiment[i])
        source.append("paired")
    if exclude_related:
        inputs = _relate(inputs, [(text.inputs[i], audio.inputs[a], visual.inputs[v]) for i, a, v in parts])
    return EncodedCorpus(inputs=inputs, gold=np.asarray(gold, np.int64), gold_sentiment=np.asarray(sent, np.int64),
                         source=source)


def _relate(inputs: list[EncodedInput], comps: list[tuple[EncodedInput, EncodedInput, EncodedInput]]) -> list[EncodedInput]:
    """Adds to each episode's exclusions every episode sharing a component group (keyed by the component's own
    exclusion set, which holds its dialogue / speaker / id)."""
    groups: dict[tuple[int, frozenset[str]], set[str]] = {}
    keys = []
    for x, comp in zip(inputs, comps):
        k = [(m, c.exclude) for m, c in enumerate(comp)]
        keys.append(k)
        for key in k:
            groups.setdefault(key, set()).add(x.sample_id)
    out = []
    for x, k in zip(inputs, keys):
        related = set().union(*(groups[key] for key in k))
        out.append(replace(x, exclude=x.exclude | frozenset(related)))
    return out


def drop_modality(x: EncodedInput, modality: str) -> EncodedInput:
    """The same episode with one modality absent (features removed, mask off)."""
    f = x.features
    if modality == "text":
        nf = replace(f, text_emb=None, mask=replace(f.mask, text=False))
        return replace(x, features=nf, ctx_emb=None, text=None)
    if modality == "audio":
        nf = replace(f, audio_emb=None, audio_seq=None, mask=replace(f.mask, audio=False),
                     info={k: v for k, v in f.info.items() if k != "audio_stats"})
        return replace(x, features=nf)
    if modality == "visual":
        return replace(x, features=replace(f, face_seq=None, visual_emb=None, mask=replace(f.mask, visual=False)))
    raise ValueError(f"unknown modality {modality!r}; use one of {MODALITIES}")


def replace_modality(x: EncodedInput, donor: EncodedInput, modality: str) -> EncodedInput:
    """The episode with ``modality`` taken from ``donor`` (used to build audio-led / visual-led / conflict inputs)."""
    f, d = x.features, donor.features
    if modality == "audio":
        info = dict(f.info)
        if d.info.get("audio_stats"):
            info["audio_stats"] = d.info["audio_stats"]
        nf = replace(f, audio_emb=d.audio_emb, audio_seq=d.audio_seq, mask=replace(f.mask, audio=d.mask.audio),
                     info=info)
    elif modality == "visual":
        nf = replace(f, face_seq=d.face_seq, visual_emb=d.visual_emb, mask=replace(f.mask, visual=d.mask.visual))
    else:
        raise ValueError(f"replace_modality takes audio or visual, got {modality!r}")
    return replace(x, features=nf, exclude=x.exclude | donor.exclude)


def modality_dropout(corpus: EncodedCorpus, *, seed: int, p_keep_all: float = 0.4) -> EncodedCorpus:
    """Training-time augmentation: each episode keeps every modality with probability ``p_keep_all``, otherwise one
    modality (uniformly among text / audio / visual) is dropped, so the agents learn all four input settings."""
    if not 0 <= p_keep_all <= 1:
        raise ValueError("p_keep_all must be in [0, 1]")
    rng = np.random.default_rng(seed)
    out = []
    for x in corpus.inputs:
        if rng.random() < p_keep_all:
            out.append(x)
        else:
            out.append(drop_modality(x, MODALITIES[int(rng.integers(3))]))
    return EncodedCorpus(inputs=out, gold=corpus.gold.copy(), gold_sentiment=corpus.gold_sentiment.copy(),
                         source=list(corpus.source))
