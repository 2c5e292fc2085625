"""Fill a knowledge base from already-encoded, labelled inputs (the SFT recipe's KB: the training corpora themselves).

Entry ↔ input: id = sample id; text_emb = the utterance embedding; audio_emb / visual_emb = the z-scored utterance
acoustic descriptor / mean face feature (``vectors.kb_vector``), so perceptual search compares standardised features.
"""
from __future__ import annotations

from typing import Sequence

from tqdm.auto import tqdm

from ..schema import EncodedInput, FeatureNorm
from .entry import KBEntry
from .knowledge_base import KnowledgeBase
from .vectors import face_vector, kb_vector


def entries_from_inputs(inputs: Sequence[EncodedInput], *, labels: Sequence[str | None],
                        sentiments: Sequence[str | None], sources: Sequence[str], splits: Sequence[str],
                        texts: Sequence[str | None], norm: FeatureNorm,
                        meta: Sequence[dict] | None = None) -> list[KBEntry]:
    """One ``KBEntry`` per input that has any vector (inputs without text, audio and face are skipped)."""
    out = []
    for i, x in enumerate(inputs):
        f = x.features
        fv = face_vector(f)
        if f.text_emb is None and f.audio_emb is None and fv is None:
            continue
        out.append(KBEntry(id=x.sample_id, text=texts[i] or "", label=labels[i], sentiment=sentiments[i],
                           source=sources[i], split=splits[i], text_emb=f.text_emb,
                           audio_emb=kb_vector("audio", f.audio_emb, norm), visual_emb=kb_vector("visual", fv, norm),
                           meta=(meta[i] if meta else {})))
    return out


def build_kb(path, entries: Sequence[KBEntry], *, text_dim: int | None, audio_dim: int | None, visual_dim: int | None,
             encoders: dict[str, str] | None = None, progress: bool = True, batch: int = 2000) -> KnowledgeBase:
    """Create a KB at ``path`` and add ``entries`` in batches (indexes built once at the end).

    encoders: modality -> encoder name, recorded in the KB (e.g. ``{"text": "minilm-emotion"}``) so that loading it
    with a checkpoint that embeds queries differently is refused (``api.AffectAgent.load``)."""
    kb = KnowledgeBase.create(path, text_dim=text_dim, audio_dim=audio_dim, visual_dim=visual_dim, encoders=encoders)
    with kb.deferred_indexing():
        for i in tqdm(range(0, len(entries), batch), desc="knowledge base", disable=not progress, unit_scale=batch):
            kb.add(entries[i:i + batch])
    return kb
