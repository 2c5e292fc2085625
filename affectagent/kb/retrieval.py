"""Query-group retrieval over a ``KnowledgeBase`` — the one retrieval path of the toolkit (AffectAgent §3.1 Retriever,
RAER's per-step evidence). The neural agents, the LLM agents, ``affectagent kb search`` and the test doubles all
run the groups defined here.

Cognitive pathway: one evidence group per query kind. With hypothesis h (the planner's supportive label), its
valence sign s(h) (``schema.EMOTION_SENTIMENT`` → ``schema.SENTIMENT_SIGN``) and query vector q (the input's
embedding, or several embedded free-text queries merged by best score per entry):
  support   = top-k by ⟨q, x⟩ among entries labelled h
  confusion = top-k by ⟨q, x⟩ among entries of the planner's confusable label c, topped up with the nearest labelled
              entries of any label ≠ h — "similar to the input in surface semantics but likely to induce affective
              confusion" (paper §1): the closest items that carry a different label, the named confusable label first
  counter   = top-k by ⟨q, x⟩ among entries of the counter valence whose label ≠ h — "samples with opposite affective
              tendencies". The counter valence is the planner's stated counter sentiment when it gives one, else the
              opposite of s(h); for a neutral-valence hypothesis (s = 0) both polarities count (``counter_signs``)
  plain     = unconstrained top-k (naive RAG; 3·top_k items when it replaces the three groups)
Cognitive queries use the text index; an input without text queries its audio or face index instead (``query_vector``).

Perceptual pathway: nearest neighbours of the input's audio / face vector in that modality's index, each with its
stored vector (``Evidence.vector``) for RAAF. For a modality the input lacks, missing-modality completion returns the
stored vectors most typical of the hypothesis (nearest to the centroid of that label's vectors; ``exemplars``).

Audio and face vectors live in the KB z-scored with the checkpoint's ``FeatureNorm`` (``vectors.kb_vector``); the
``Retriever`` standardises its queries the same way. Excluded ids (the input's own id, its dialogue / speaker during
training) never appear in any group.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..schema import (
    CANONICAL_EMOTIONS,
    EMOTION_SENTIMENT,
    QUERY_KINDS,
    SENTIMENT_SIGN,
    SENTIMENTS,
    Evidence,
    FeatureNorm,
    QueryPlan,
)
from .errors import KBInputError
from .filters import EntryFilter
from .knowledge_base import KnowledgeBase
from .vectors import kb_vector

COGNITIVE_KINDS: tuple[str, ...] = (*QUERY_KINDS, "plain")
DEFAULT_KINDS: tuple[str, ...] = QUERY_KINDS
PERCEPTUAL_MODALITIES: tuple[str, ...] = ("audio", "visual")


# ---- the group definitions (pure) ---------------------------------------------------------------------------------
def counter_signs(hypothesis: str | None, counter: str | None = None) -> frozenset[int]:
    """Valence signs of the counter group: the stated counter sentiment's sign (positive / negative), else the
    opposite of the hypothesis's sign, both signs for a neutral-valence hypothesis."""
    if counter is not None and SENTIMENT_SIGN[counter] != 0:
        return frozenset({SENTIMENT_SIGN[counter]})
    if hypothesis is None:
        raise KBInputError("counter retrieval needs a hypothesis or a counter sentiment")
    s = SENTIMENT_SIGN[EMOTION_SENTIMENT[hypothesis]]
    return frozenset({-s}) if s else frozenset({-1, 1})


def group_filters(kind: str, *, hypothesis: str | None, confusion: Sequence[str] = (),
                  counter: str | None = None, support: Sequence[str] = ()) -> list[EntryFilter]:
    """The entry constraints of one query group, in fill order: the group takes the nearest entries of the first
    filter, then tops up from the next (only ``confusion`` has two). ``support`` overrides the support labels
    (default {h}); ``confusion`` names the confusable label(s); ``counter`` the stated counter sentiment."""
    h = hypothesis
    if kind == "plain":
        return [EntryFilter()]
    if kind == "support":
        labels = tuple(support) or ((h,) if h else ())
        if not labels:
            raise KBInputError("support retrieval needs a hypothesis or support labels")
        return [EntryFilter(labels=frozenset(labels))]
    if kind == "confusion":
        named = frozenset(confusion) - {h}
        if h is None and not named:
            raise KBInputError("confusion retrieval needs a hypothesis or confusion labels")
        rest = EntryFilter(exclude_labels=frozenset({h}) if h else frozenset(), labelled_only=True)
        return ([EntryFilter(labels=named)] if named else []) + [rest]
    if kind == "counter":
        return [EntryFilter(valence_signs=counter_signs(h, counter),
                            exclude_labels=frozenset({h}) if h else frozenset())]
    raise KBInputError(f"unknown query kind {kind!r} (kinds: {', '.join(COGNITIVE_KINDS)})")


def plan_kinds(plan: QueryPlan, *, use_confusion: bool = True, use_counter: bool = True) -> tuple[str, ...]:
    """The groups a plan runs, in order."""
    if plan.plain or plan.support is None:
        return ("plain",)
    return tuple(k for k, on in (("support", True), ("confusion", use_confusion), ("counter", use_counter)) if on)


def both(a: EntryFilter, b: EntryFilter | None) -> EntryFilter:
    """Conjunction of two filters (b may be None)."""
    if b is None or b.is_empty:
        return a

    def meet(x, y):
        if x is None:
            return y
        return x if y is None else x & y

    return EntryFilter(labels=meet(a.labels, b.labels), exclude_labels=a.exclude_labels | b.exclude_labels,
                       labelled_only=a.labelled_only or b.labelled_only,
                       valence_signs=meet(a.valence_signs, b.valence_signs), sources=meet(a.sources, b.sources),
                       splits=meet(a.splits, b.splits))


def merge_by_best(groups: Sequence[Sequence[Evidence]], k: int) -> list[Evidence]:
    """Union of several ranked lists, each id once with its best score, top-k by score (ties: first seen)."""
    if len(groups) == 1:
        return list(groups[0][:k])
    best: dict[str, Evidence] = {}
    for items in groups:
        for e in items:
            if e.id not in best or e.score > best[e.id].score:
                best[e.id] = e
    return sorted(best.values(), key=lambda e: -e.score)[:k]


# ---- the query object of ``kb search`` / ``kb query`` -------------------------------------------------------------
@dataclass
class RetrievalQuery:
    """What to retrieve for one input (the explicit form; the agents pass a ``QueryPlan``).

    text_emb: (D_t,) embedding of the input text; the query of every cognitive kind without its own queries.
    query_embs: kind → (Q, D_t) embedded free-text queries for that kind (e.g. the planner's queries).
    query_texts: kind → free-text queries, embedded by the Retriever's text encoder.
    hypothesis: the current label hypothesis (canonical emotion); needed by support/confusion/counter.
    support_labels: labels that count as support (default: the hypothesis).
    confusion_labels: the confusable label(s), retrieved first in the confusion group (then any other label).
    counter_sentiment: valence of the counter group (default: opposite of the hypothesis, see ``counter_signs``).
    kinds: cognitive kinds to run, in order. top_k: per-kind size (int for all kinds, or kind → int).
    audio_emb / visual_emb: (D,) input embeddings (raw features; standardised like the KB's) for the perceptual
    pathway; perceptual_k results per modality.
    fill_missing: for KB modalities the input lacks, return hypothesis-typical stored vectors instead.
    sample_id: the input's own id (always excluded); exclude_ids: more ids to exclude (e.g. the evaluated split).
    where: extra constraint applied to every group (e.g. ``EntryFilter(splits={"train"})``).
    """

    text_emb: np.ndarray | None = None
    query_embs: Mapping[str, np.ndarray] = field(default_factory=dict)
    query_texts: Mapping[str, Sequence[str]] = field(default_factory=dict)
    hypothesis: str | None = None
    support_labels: Sequence[str] | None = None
    confusion_labels: Sequence[str] | None = None
    counter_sentiment: str | None = None
    kinds: Sequence[str] = DEFAULT_KINDS
    top_k: int | Mapping[str, int] = 5
    audio_emb: np.ndarray | None = None
    visual_emb: np.ndarray | None = None
    perceptual_k: int = 5
    fill_missing: bool = False
    sample_id: str | None = None
    exclude_ids: Sequence[str] | frozenset[str] = ()
    where: EntryFilter | None = None

    def __post_init__(self) -> None:
        for kind in self.kinds:
            if kind not in COGNITIVE_KINDS:
                raise KBInputError(f"unknown query kind {kind!r} (kinds: {', '.join(COGNITIVE_KINDS)})")
        for kind in (*self.query_embs, *self.query_texts):
            if kind not in COGNITIVE_KINDS:
                raise KBInputError(f"queries given for unknown kind {kind!r}")
        for lab in [self.hypothesis, *(self.support_labels or ()), *(self.confusion_labels or ())]:
            if lab is not None and lab not in CANONICAL_EMOTIONS:
                raise KBInputError(f"{lab!r} is not a canonical emotion ({', '.join(CANONICAL_EMOTIONS)})")
        if self.counter_sentiment is not None and self.counter_sentiment not in SENTIMENTS:
            raise KBInputError(f"counter_sentiment must be one of {SENTIMENTS}")
        if self.perceptual_k < 0:
            raise KBInputError("perceptual_k must be >= 0")

    def k_for(self, kind: str) -> int:
        k = self.top_k.get(kind, 5) if isinstance(self.top_k, Mapping) else self.top_k
        if not isinstance(k, (int, np.integer)) or k < 0:
            raise KBInputError(f"top_k for {kind} must be a non-negative integer, got {k!r}")
        return int(k)

    def filters(self, kind: str) -> list[EntryFilter]:
        return group_filters(kind, hypothesis=self.hypothesis, confusion=tuple(self.confusion_labels or ()),
                             counter=self.counter_sentiment, support=tuple(self.support_labels or ()))


@dataclass
class RetrievalResult:
    """cognitive: kind → evidence (best first); perceptual: modality → evidence with ``vector`` set."""

    cognitive: dict[str, list[Evidence]]
    perceptual: dict[str, list[Evidence]]

    def all_cognitive(self) -> list[Evidence]:
        """Every cognitive item, group by group (an id may occur in two groups)."""
        return [e for items in self.cognitive.values() for e in items]

    @property
    def ids(self) -> set[str]:
        return {e.id for items in (*self.cognitive.values(), *self.perceptual.values()) for e in items}


# ---- the retriever ------------------------------------------------------------------------------------------------
class Retriever:
    """The ``schema.EvidenceSource`` over a KB, plus ``retrieve(RetrievalQuery)`` for explicit queries.

    norm: the checkpoint's feature statistics (audio / face queries are z-scored with them, as the stored vectors
    are); None = vectors are used as given. text_encoder: an object with ``encode(texts) -> (N, D)`` or a registered
    encoder name; only needed for ``RetrievalQuery.query_texts``. where: a constraint on every search (e.g. a split).
    """

    def __init__(self, kb: KnowledgeBase, *, norm: FeatureNorm | None = None, text_encoder: Any = None,
                 where: EntryFilter | None = None) -> None:
        self.kb = kb
        self.norm = norm if norm is not None else FeatureNorm()
        self.where = where
        self._encoder_spec = text_encoder
        self._encoder: Any = None
        self._centroids: dict[tuple[str, str, str, int], np.ndarray | None] = {}

    @property
    def dims(self) -> dict[str, int]:
        return dict(self.kb.dims)

    # -- one group ------------------------------------------------------------------------------------------------
    def group(self, kind: str, modality: str, queries: np.ndarray, k: int, *, filters: Sequence[EntryFilter],
              exclude: frozenset[str] | set[str], where: EntryFilter | None = None,
              with_vectors: bool = True) -> list[Evidence]:
        """Fill one group of ≤ k items from ``filters`` in order (``group_filters``); ``queries`` (Q, D) in KB space."""
        got: list[Evidence] = []
        where = both(self.where, where) if self.where is not None else where
        for flt in filters:
            need = k - len(got)
            if need <= 0:
                break
            seen = frozenset(exclude) | {e.id for e in got}
            rows = self.kb.search(modality, queries, need, exclude_ids=seen, where=both(flt, where), kind=kind,
                                  with_vectors=with_vectors)
            got += merge_by_best(rows, need)
        return got

    # -- EvidenceSource ---------------------------------------------------------------------------------------------
    def cognitive(self, *, query: np.ndarray, modality: str, plan: QueryPlan, top_k: int, use_confusion: bool = True,
                  use_counter: bool = True, exclude: frozenset[str] = frozenset()) -> list[Evidence]:
        """The plan's groups, concatenated in order (support, confusion, counter; or 3·top_k plain items)."""
        if modality not in self.kb.dims or len(query) != self.kb.dims[modality]:
            return []
        q = kb_vector(modality, np.asarray(query, np.float32), self.norm).reshape(1, -1)
        out: list[Evidence] = []
        for kind in plan_kinds(plan, use_confusion=use_confusion, use_counter=use_counter):
            k = 3 * top_k if kind == "plain" else top_k
            flts = group_filters(kind, hypothesis=plan.support, confusion=(plan.confusion,) if plan.confusion else (),
                                 counter=plan.counter_sentiment)
            out += self.group(kind, modality, q, k, filters=flts, exclude=exclude)
        return out

    def nearest(self, *, query: np.ndarray, modality: str, k: int,
                exclude: frozenset[str] | set[str] = frozenset()) -> list[Evidence]:
        """The ``k`` nearest entries of one raw query vector (kind "plain"; [] when the KB lacks the modality or the
        dimension differs) — RAER's per-step retrieval."""
        if modality not in self.kb.dims or len(query) != self.kb.dims[modality] or k < 1:
            return []
        q = kb_vector(modality, np.asarray(query, np.float32), self.norm).reshape(1, -1)
        return self.group("plain", modality, q, k, filters=group_filters("plain", hypothesis=None),
                          exclude=frozenset(exclude))

    def perceptual(self, *, audio: np.ndarray | None, visual: np.ndarray | None, k: int,
                   exclude: frozenset[str] = frozenset(), complete: str | None = None,
                   where: EntryFilter | None = None) -> tuple[list[Evidence], list[Evidence]]:
        return (self.neighbours("audio", audio, k, exclude=exclude, complete=complete, where=where),
                self.neighbours("visual", visual, k, exclude=exclude, complete=complete, where=where))

    def neighbours(self, modality: str, vec: np.ndarray | None, k: int, *,
                   exclude: frozenset[str] | set[str] = frozenset(), complete: str | None = None,
                   where: EntryFilter | None = None) -> list[Evidence]:
        """One modality of the perceptual pathway: the nearest stored vectors to ``vec`` (raw features), or for an
        absent ``vec`` the exemplars of the ``complete`` label; [] when the KB lacks the modality or k = 0."""
        where = both(self.where, where) if self.where is not None else where
        if modality not in self.kb.dims or k == 0:
            return []
        if vec is not None and len(vec) == self.kb.dims[modality]:
            return self.kb.search_perceptual(kb_vector(modality, vec, self.norm), modality, k, exclude_ids=exclude,
                                             where=where)
        if vec is None and complete is not None:
            return self.exemplars(modality, complete, k, exclude=exclude, where=where)
        return []

    def exemplars(self, modality: str, label: str, k: int, *, exclude: frozenset[str] | set[str] = frozenset(),
                  where: EntryFilter | None = None) -> list[Evidence]:
        """The ``k`` stored ``modality`` entries of ``label`` nearest to that label's centroid (prototypical
        examples; the stand-in for a missing modality)."""
        if self.where is not None:
            where = both(self.where, where)
        flt = both(EntryFilter(labels=frozenset({label})), where)
        key = (modality, label, repr(where), len(self.kb))
        if key not in self._centroids:
            self._centroids[key] = self.kb.centroid(modality, where=flt)
        c = self._centroids[key]
        if c is None:
            return []
        return self.kb.search_perceptual(c, modality, k, exclude_ids=exclude, where=flt)

    # -- explicit queries -----------------------------------------------------------------------------------------
    @property
    def text_encoder(self) -> Any:
        if self._encoder is None and self._encoder_spec is not None:
            enc = self._encoder_spec
            if isinstance(enc, str):
                from ..encoders import get_text_encoder  # noqa: PLC0415 - heavy, lazy

                enc = get_text_encoder(enc)
            dim = getattr(getattr(enc, "info", None), "dim", None)
            if dim is not None and "text" in self.kb.dims and dim != self.kb.dims["text"]:
                raise KBInputError(f"text encoder gives {dim}-d vectors, the KB's text index is "
                                   f"{self.kb.dims['text']}-d (built with {self.kb.encoders.get('text', '?')})")
            self._encoder = enc
        return self._encoder

    def _queries_for(self, kind: str, query: RetrievalQuery) -> np.ndarray | None:
        rows: list[np.ndarray] = []
        if kind in query.query_embs:
            rows.append(np.atleast_2d(np.asarray(query.query_embs[kind], dtype=np.float32)))
        if query.query_texts.get(kind):
            if self.text_encoder is None:
                raise KBInputError("query_texts need a Retriever(text_encoder=...)")
            rows.append(np.asarray(self.text_encoder.encode(list(query.query_texts[kind])), dtype=np.float32))
        if not rows and query.text_emb is not None:
            rows.append(np.asarray(query.text_emb, dtype=np.float32).reshape(1, -1))
        return np.concatenate(rows) if rows else None

    def retrieve(self, query: RetrievalQuery) -> RetrievalResult:
        exclude = set(query.exclude_ids)
        if query.sample_id is not None:
            exclude.add(query.sample_id)
        cognitive: dict[str, list[Evidence]] = {}
        for kind in query.kinds:
            k = query.k_for(kind)
            q = self._queries_for(kind, query)
            if q is None or k == 0 or "text" not in self.kb.dims:
                cognitive[kind] = []
                continue
            cognitive[kind] = self.group(kind, "text", q, k, filters=query.filters(kind), exclude=frozenset(exclude),
                                         where=query.where, with_vectors=False)
        perceptual: dict[str, list[Evidence]] = {}
        for m in PERCEPTUAL_MODALITIES:
            if m not in self.kb.dims or query.perceptual_k == 0:
                continue
            emb = getattr(query, f"{m}_emb")
            if emb is None and not (query.fill_missing and query.hypothesis is not None):
                continue
            perceptual[m] = self.neighbours(m, emb, query.perceptual_k, exclude=exclude, where=query.where,
                                            complete=query.hypothesis if query.fill_missing else None)
        return RetrievalResult(cognitive=cognitive, perceptual=perceptual)
