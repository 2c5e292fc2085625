"""An ``EvidenceSource`` wrapper that remembers answers: the retriever is a fixed environment, so the same query
(vector, plan, sizes, exclusions) always returns the same evidence. MAPPO revisits each training sample many times with
a handful of distinct plans; memoising turns repeated KB searches into dictionary look-ups."""
from __future__ import annotations

import hashlib

import numpy as np

from ..schema import Evidence, EvidenceSource, QueryPlan


def _key(*parts) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.tobytes() if isinstance(p, np.ndarray) else repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()


class MemoEvidenceSource:
    def __init__(self, inner: EvidenceSource) -> None:
        self.inner = inner
        self._cog: dict[str, list[Evidence]] = {}
        self._per: dict[str, tuple[list[Evidence], list[Evidence]]] = {}
        self.hits = self.misses = 0

    def cognitive(self, *, query: np.ndarray, modality: str, plan: QueryPlan, top_k: int, use_confusion: bool,
                  use_counter: bool, exclude: frozenset[str]) -> list[Evidence]:
        k = _key(np.asarray(query, np.float32), modality, plan, top_k, use_confusion, use_counter, sorted(exclude))
        if k not in self._cog:
            self.misses += 1
            self._cog[k] = self.inner.cognitive(query=query, modality=modality, plan=plan, top_k=top_k,
                                                use_confusion=use_confusion, use_counter=use_counter, exclude=exclude)
        else:
            self.hits += 1
        return list(self._cog[k])

    def perceptual(self, *, audio: np.ndarray | None, visual: np.ndarray | None, k: int,
                   exclude: frozenset[str], complete: str | None = None) -> tuple[list[Evidence], list[Evidence]]:
        a = None if audio is None else np.asarray(audio, np.float32)
        v = None if visual is None else np.asarray(visual, np.float32)
        key = _key(a if a is not None else "none", v if v is not None else "none", k, sorted(exclude), complete)
        if key not in self._per:
            self.misses += 1
            kw = {"complete": complete} if complete else {}
            self._per[key] = self.inner.perceptual(audio=audio, visual=visual, k=k, exclude=exclude, **kw)
        else:
            self.hits += 1
        a_ev, v_ev = self._per[key]
        return list(a_ev), list(v_ev)

    def __len__(self) -> int:
        return len(self._cog) + len(self._per)
