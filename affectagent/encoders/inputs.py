"""From ``Sample`` to the agents' ``EncodedInput``: features (through the cache), dialogue-context embedding, candidate
label set and the knowledge-base ids a sample must not see as evidence.

Leakage rule (``leak_key``): during training the KB holds the training set itself, so a sample must not retrieve
itself nor anything that gives its answer away at test time — utterances of its own dialogue (MELD, EmoryNLP, RECCON)
or of its own speaker in acted-speech corpora (EmoDB, RAVDESS are evaluated speaker-independently).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..schema import CANONICAL_EMOTIONS, EncodedInput, Features, ModalityMask, Sample
from .cache import FeatureCache
from .config import ExtractConfig
from .extract import encode_texts, extract_many
from .text_emotion import CONTEXT_FORMATTED_ENCODERS

SPEAKER_INDEPENDENT = frozenset({"emodb", "ravdess"})
_DIALOGUE_ID = re.compile(r"^(?P<dialogue>.+?)_(?:utt|u)\d+$")


@dataclass(frozen=True)
class EncodingConfig:
    """extract: which encoders and decoding settings; context_turns: previous utterances embedded as context
    (0 = none); exclude_related: apply the leakage rule (training) instead of excluding only the sample's own id;
    speaker_norm: a speaker-normalised speech-emotion model (``encoders/speaker_norm.py``) that re-scores the batch's
    audio per speaker, None = every file on its own; speaker_stats: precomputed statistics per speaker
    (``speaker_norm.speaker_statistics``) for batches answered file by file."""

    extract: ExtractConfig = field(default_factory=ExtractConfig)
    context_turns: int = 3
    exclude_related: bool = False
    speaker_norm: str | None = None
    speaker_stats: dict | None = None  # speaker -> view -> (mean, std) computed over a larger batch (``speaker_norm``)

    def __post_init__(self) -> None:
        if self.context_turns < 0:
            raise ValueError("context_turns must be >= 0")


def context_string(sample: Sample, turns: int) -> str | None:
    """The last ``turns`` context utterances as "speaker: text" lines (oldest first), or None."""
    if turns <= 0 or not sample.context:
        return None
    parts = [f"{t.speaker}: {t.text}" if t.speaker else t.text for t in sample.context[-turns:]]
    return "\n".join(parts)


def leak_key(sample: Sample) -> str:
    m = _DIALOGUE_ID.match(sample.id)
    if m:
        return m.group("dialogue")
    if sample.source in SPEAKER_INDEPENDENT and sample.group:
        return f"{sample.source}/speaker/{sample.group}"
    return sample.id


def exclusion_sets(samples: Sequence[Sample], *, related: bool) -> list[frozenset[str]]:
    if not related:
        return [frozenset({s.id}) for s in samples]
    groups: dict[str, set[str]] = defaultdict(set)
    keys = [leak_key(s) for s in samples]
    for s, k in zip(samples, keys):
        groups[k].add(s.id)
    frozen = {k: frozenset(v) for k, v in groups.items()}
    return [frozen[k] | {s.id} for s, k in zip(samples, keys)]


def encoder_text(sample: Sample, config: EncodingConfig) -> str:
    """What the text encoder reads: the emotion-tuned encoder was trained on utterance + context strings
    (``encoders.text_emotion.format_with_context``); generic sentence encoders read the bare utterance."""
    text = (sample.text or "").strip()
    if not text:
        return ""
    if config.extract.text_encoder in CONTEXT_FORMATTED_ENCODERS:
        from .text_emotion import format_with_context

        return format_with_context(text, sample.context, sample.speaker)
    return text


def _is_text_only(s: Sample) -> bool:
    return s.video is None and s.audio is None and s.image is None


def _features(samples: Sequence[Sample], *, config: EncodingConfig, cache: FeatureCache | None,
              progress: bool) -> list[Features]:
    """Text-only samples are embedded in one batched call; media samples go through ``extract_many``."""
    out: list[Features | None] = [None] * len(samples)
    text_idx = [i for i, s in enumerate(samples) if _is_text_only(s)]
    if text_idx:
        texts = [encoder_text(samples[i], config) for i in text_idx]
        nonempty = [j for j, t in enumerate(texts) if t]
        embs = encode_texts([texts[j] for j in nonempty], encoder=config.extract.text_encoder, cache=cache,
                            progress=progress) if nonempty else None
        pos = {j: k for k, j in enumerate(nonempty)}
        for j, i in enumerate(text_idx):
            emb = embs[pos[j]] if j in pos and embs is not None else None
            out[i] = Features(text_emb=emb, mask=ModalityMask(text=emb is not None),
                              info={"encoders": {"text": config.extract.text_encoder}})
    media_idx = [i for i, s in enumerate(samples) if not _is_text_only(s)]
    if media_idx:
        feats = extract_many([samples[i] for i in media_idx], config=config.extract, cache=cache, progress=progress)
        for i, f in zip(media_idx, feats):
            out[i] = f
    return [f for f in out if f is not None]


def encode_inputs(
    samples: Sequence[Sample], *, label_sets: Sequence[Sequence[str]], config: EncodingConfig = EncodingConfig(),
    cache: FeatureCache | None = None, progress: bool = False,
) -> list[EncodedInput]:
    feats = _features(samples, config=config, cache=cache, progress=progress)
    if config.speaker_norm:
        from .speaker_norm import renormalised_branch  # noqa: PLC0415

        feats = renormalised_branch(samples, feats, model_name=config.speaker_norm, cache=cache,
                                    stats=config.speaker_stats)
    # The emotion-tuned encoder already reads the context inside its input string (``encoder_text``).
    turns = 0 if config.extract.text_encoder in CONTEXT_FORMATTED_ENCODERS else config.context_turns
    ctx_texts = [context_string(s, turns) for s in samples]
    need = [i for i, c in enumerate(ctx_texts) if c]
    ctx_embs: list[np.ndarray | None] = [None] * len(samples)
    if need:
        embs = encode_texts([ctx_texts[i] for i in need], encoder=config.extract.text_encoder, cache=cache,
                            progress=progress)
        for j, i in enumerate(need):
            ctx_embs[i] = embs[j]
    excl = exclusion_sets(samples, related=config.exclude_related)
    return [EncodedInput(sample_id=s.id, features=f, ctx_emb=c, label_set=tuple(ls), exclude=e,
                         text=s.text or f.transcript)
            for s, f, c, ls, e in zip(samples, feats, ctx_embs, label_sets, excl)]


def gold_arrays(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """(N,) canonical label index (−1 unlabelled) and (N,) sentiment index (−1 unknown)."""
    from ..agents.observation import SENT_INDEX

    gold = np.array([CANONICAL_EMOTIONS.index(s.label) if s.label else -1 for s in samples], np.int64)
    sent = np.array([SENT_INDEX[s.sentiment] if s.sentiment else -1 for s in samples], np.int64)
    return gold, sent
