"""The retriever the agents use (part of the environment, never trained): an ``EvidenceSource`` over a ``KnowledgeBase``,
and the function that fills a KB from encoded, labelled inputs.

Query groups (AffectAgent §3.1, definitions shared with ``kb/retrieval.py``), for hypothesis h from the planner:
  support   : nearest entries labelled h
  confusion : nearest entries of the planner's confusable label c, topped up with the nearest of any label ≠ h
  counter   : nearest entries of opposite valence to h (for a neutral h: any non-neutral valence)
  plain     : nearest entries, unconstrained (naive RAG; the planner-bypass counterfactual)
The perceptual pathway returns nearest audio / face neighbours with their stored vectors (RAAF input).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from .agents.observation import FeatureNorm, face_vector
from .kb import KnowledgeBase
from .kb.entry import KBEntry
from .kb.filters import EntryFilter
from .pipeline import EncodedInput, QueryPlan
from .schema import CANONICAL_EMOTIONS, EMOTION_SENTIMENT, SENTIMENT_SIGN, SENTIMENTS, Evidence


def kb_vector(modality: str, vec: np.ndarray | None, norm: FeatureNorm) -> np.ndarray | None:
    """The vector stored in / queried against the KB: text as is; audio and face features z-scored with the
    checkpoint's statistics (the KB L2-normalises every vector, so cosine then compares standardised features)."""
    if vec is None:
        return None
    key = {"text": None, "audio": "audio", "visual": "fseq"}[modality]
    v = np.asarray(vec, np.float32)
    return v if key is None else norm.apply(key, v).astype(np.float32)


class KBEvidenceSource:
    def __init__(self, kb: KnowledgeBase, norm: FeatureNorm) -> None:
        self.kb = kb
        self.norm = norm
        self.dims = dict(kb.dims)
        self._centroids: dict[tuple[str, str], np.ndarray | None] = {}

    def _search(self, modality: str, query: np.ndarray, k: int, *, exclude: frozenset[str], where: EntryFilter | None,
                kind: str) -> list[Evidence]:
        return self.kb.search(modality, query, k, exclude_ids=exclude, where=where, kind=kind, with_vectors=True)[0]

    def cognitive(self, *, query: np.ndarray, modality: str, plan: QueryPlan, top_k: int, use_confusion: bool,
                  use_counter: bool, exclude: frozenset[str]) -> list[Evidence]:
        if modality not in self.dims or len(query) != self.dims[modality]:
            return []
        query = kb_vector(modality, query, self.norm)
        if plan.plain or plan.support is None:
            return self._search(modality, query, 3 * top_k, exclude=exclude, where=None, kind="plain")
        h = plan.support
        out = self._search(modality, query, top_k, exclude=exclude, where=EntryFilter(labels=frozenset({h})),
                           kind="support")
        if use_confusion:
            # The planner's confusable label first; topped up with the nearest items of any other label.
            got: list[Evidence] = []
            if plan.confusion:
                got = self._search(modality, query, top_k, exclude=exclude, kind="confusion",
                                   where=EntryFilter(labels=frozenset({plan.confusion})))
            if len(got) < top_k:
                seen = exclude | {e.id for e in got}
                got += self._search(modality, query, top_k - len(got), exclude=frozenset(seen), kind="confusion",
                                    where=EntryFilter(exclude_labels=frozenset({h}), labelled_only=True))
            out += got
        if use_counter:
            sign = SENTIMENT_SIGN[EMOTION_SENTIMENT[h]]
            signs = frozenset({-sign}) if sign else frozenset({-1, 1})
            where = EntryFilter(valence_signs=signs, exclude_labels=frozenset({h}))
            out += self._search(modality, query, top_k, exclude=exclude, where=where, kind="counter")
        return out

    def perceptual(self, *, audio: np.ndarray | None, visual: np.ndarray | None, k: int,
                   exclude: frozenset[str], complete: str | None = None) -> tuple[list[Evidence], list[Evidence]]:
        found = []
        for modality, vec in (("audio", audio), ("visual", visual)):
            if modality not in self.dims or k == 0:
                found.append([])
            elif vec is not None and len(vec) == self.dims[modality]:
                found.append(self.kb.search_perceptual(kb_vector(modality, vec, self.norm), modality, k,
                                                       exclude_ids=exclude))
            elif vec is None and complete is not None:
                found.append(self.exemplars(modality, complete, k, exclude=exclude))
            else:
                found.append([])
        return found[0], found[1]

    def exemplars(self, modality: str, label: str, k: int, *, exclude: frozenset[str] = frozenset()) -> list[Evidence]:
        """The ``k`` stored ``modality`` entries of ``label`` nearest to that label's centroid (prototypical
        examples; the stand-in for a missing modality)."""
        key = (modality, label)
        if key not in self._centroids:
            self._centroids[key] = self.kb.centroid(modality, where=EntryFilter(labels=frozenset({label})))
        c = self._centroids[key]
        if c is None:
            return []
        return self.kb.search_perceptual(c, modality, k, exclude_ids=exclude,
                                         where=EntryFilter(labels=frozenset({label})))


def entries_from_inputs(inputs: Sequence[EncodedInput], *, labels: Sequence[str | None],
                        sentiments: Sequence[str | None], sources: Sequence[str], splits: Sequence[str],
                        texts: Sequence[str | None], norm: FeatureNorm,
                        meta: Sequence[dict] | None = None) -> list[KBEntry]:
    """KB entries: text = utterance embedding, audio = z-scored utterance acoustic descriptor, visual = z-scored mean
    face feature (see ``kb_vector``)."""
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
             progress: bool = True, batch: int = 2000) -> KnowledgeBase:
    kb = KnowledgeBase.create(path, text_dim=text_dim, audio_dim=audio_dim, visual_dim=visual_dim)
    with kb.deferred_indexing():
        for i in tqdm(range(0, len(entries), batch), desc="knowledge base", disable=not progress, unit_scale=batch):
            kb.add(entries[i:i + batch])
    return kb


__all__ = ["KBEvidenceSource", "entries_from_inputs", "build_kb", "SENTIMENTS", "CANONICAL_EMOTIONS"]
