"""What a knowledge base holds: ``KBEntry`` (one item), ``KBInfo`` (a summary) and the vector checks they share.

Embedding shapes (each optional, at least one present):
  text_emb   (D_t,)   sentence embedding of ``text`` (cognitive pathway)
  audio_emb  (D_a,)   utterance-level acoustic embedding (perceptual pathway)
  visual_emb (D_v,)   pooled face/visual embedding (perceptual pathway)
Vectors are stored L2-normalised, so inner product = cosine similarity.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..schema import CANONICAL_EMOTIONS, EMOTION_SENTIMENT, MODALITIES, SENTIMENT_SIGN, SENTIMENTS
from ..textsafe import log as text_log
from ..textsafe import replaced_note, scrub_attributes
from .errors import KBInputError

VECTOR_FIELDS: Mapping[str, str] = {"text": "text_emb", "audio": "audio_emb", "visual": "visual_emb"}


@dataclass
class KBEntry:
    """One knowledge-base item.

    ``label``: canonical emotion (``schema.CANONICAL_EMOTIONS``) or None for unlabelled items.
    ``sentiment``: "negative"/"neutral"/"positive" as given by the corpus; when None the valence used by counter
    retrieval is derived from ``label`` through ``schema.EMOTION_SENTIMENT`` (see ``valence``).
    ``ov_labels``: open-vocabulary emotion words. ``rationale``: optional explanation (RAER reasoning steps).
    ``source``/``split``: where the item comes from (e.g. "meld"/"train"); callers use them to keep evaluation
    samples out of their own evidence. ``meta``: JSON-serialisable extras (speaker, dialogue context, file path).
    """

    id: str
    text: str = ""
    label: str | None = None
    sentiment: str | None = None
    ov_labels: tuple[str, ...] = ()
    rationale: str | None = None
    source: str = ""
    split: str = ""
    text_emb: np.ndarray | None = None
    audio_emb: np.ndarray | None = None
    visual_emb: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise KBInputError(f"KBEntry.id must be a non-empty string, got {self.id!r}")
        if self.label is not None and self.label not in CANONICAL_EMOTIONS:
            raise KBInputError(f"KBEntry {self.id}: label {self.label!r} is not a canonical emotion "
                               f"({', '.join(CANONICAL_EMOTIONS)})")
        if self.sentiment is not None and self.sentiment not in SENTIMENTS:
            raise KBInputError(f"KBEntry {self.id}: sentiment {self.sentiment!r} not in {SENTIMENTS}")
        self.ov_labels = tuple(str(w) for w in self.ov_labels)
        self.text = "" if self.text is None else str(self.text)
        self._scrub_text()
        if all(getattr(self, f) is None for f in VECTOR_FIELDS.values()):
            raise KBInputError(f"KBEntry {self.id}: needs at least one embedding (text_emb, audio_emb or visual_emb)")

    def _scrub_text(self) -> None:
        """Stored text is valid UTF-8: lone surrogates (undecodable bytes of a file name, a JSON "\\ud800") become
        U+FFFD here, so SQLite never sees them (``textsafe``; the edges already said what they replaced)."""
        total = scrub_attributes(self, ("id", "text", "rationale", "source", "split"), ("ov_labels", "meta"))
        if total:
            text_log.warning(replaced_note(f"knowledge-base entry {self.id}", total))

    @property
    def valence(self) -> str | None:
        """Sentiment used for counter retrieval: the given one, else the label's default valence, else None."""
        if self.sentiment is not None:
            return self.sentiment
        if self.label is not None:
            return EMOTION_SENTIMENT[self.label]
        return None

    @property
    def valence_sign(self) -> int | None:
        v = self.valence
        return None if v is None else SENTIMENT_SIGN[v]

    def vector(self, modality: str) -> np.ndarray | None:
        return getattr(self, VECTOR_FIELDS[modality])


def as_unit_rows(x: np.ndarray, *, dim: int, what: str) -> np.ndarray:
    """Validate and L2-normalise a stack of vectors.

    x: (N, dim) or (dim,) real values → (N, dim) float32, C-contiguous, rows of unit norm.
    Raises ``KBInputError`` on a wrong size, non-finite values or an all-zero row.
    """
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise KBInputError(f"{what}: expected vectors of size {dim}, got shape {tuple(np.shape(x))}")
    if not np.isfinite(arr).all():
        raise KBInputError(f"{what}: vectors contain NaN or infinite values")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if (norms == 0).any():
        raise KBInputError(f"{what}: an all-zero vector cannot be normalised")
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


@dataclass(frozen=True)
class KBInfo:
    """Summary of a knowledge base (``KnowledgeBase.info``; printed by ``affectagent kb info``).

    ``dims``: declared embedding size per modality. ``vectors``: how many entries carry each modality.
    ``labels``/``sentiments``: counts over entries (sentiment = given or derived valence; "(none)" when unknown).
    ``sources``: counts per "source/split". ``indexes``: description of the live vector index per modality.
    """

    path: str
    schema_version: int
    entries: int
    dims: dict[str, int]
    vectors: dict[str, int]
    labels: dict[str, int]
    sentiments: dict[str, int]
    sources: dict[str, int]
    indexes: dict[str, str]
    encoders: dict[str, str]
    backend: str
    created: str

    def format(self) -> str:
        """Human-readable multi-line summary."""
        lines = [f"knowledge base {self.path}", f"  schema v{self.schema_version}, backend {self.backend}, "
                 f"created {self.created}", f"  entries: {self.entries}"]
        for m in MODALITIES:
            if m in self.dims:
                enc = f", encoder {self.encoders[m]}" if m in self.encoders else ""
                lines.append(f"  {m:<7} dim {self.dims[m]:>5}  vectors {self.vectors.get(m, 0):>9}  "
                             f"index {self.indexes.get(m, '-')}{enc}")
        for title, counts in (("labels", self.labels), ("sentiments", self.sentiments), ("source/split", self.sources)):
            lines.append(f"  {title}:")
            width = max((len(k) for k in counts), default=0)
            for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"    {k:<{width}}  {v:>9}")
        return "\n".join(lines)
