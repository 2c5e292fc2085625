"""The shared vocabulary every module speaks: Sample, Features, Evidence, Prediction and label spaces.

Data flow (DESIGN.md):
    input ──media──▶ Sample ──encoders──▶ Features ──agents/KB──▶ Evidence ──generator──▶ Prediction

Label handling: every corpus keeps its own label space (``LabelSpace``) with an explicit, injective map to the
canonical emotion set ``CANONICAL_EMOTIONS``. Models predict over canonical labels; evaluation maps back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Mapping, Protocol, Sequence

import numpy as np

from .errors import InputError
from .textsafe import log as text_log
from .textsafe import replaced_note, scrub_attributes, scrub_value

MODALITIES: tuple[str, ...] = ("text", "audio", "visual")
Modality = Literal["text", "audio", "visual"]
QueryKind = Literal["support", "confusion", "counter", "plain", "perceptual"]
QUERY_KINDS: tuple[str, ...] = ("support", "confusion", "counter")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

# Canonical emotion set: union of the corpora's categories after merging obvious synonyms
# (joy/happiness/joyful -> happy, anger/mad -> angry, sadness -> sad, scared/fearful -> fear, peaceful -> calm).
CANONICAL_EMOTIONS: tuple[str, ...] = (
    "neutral", "happy", "sad", "angry", "fear", "disgust", "surprise",
    "calm", "boredom", "contempt", "powerful", "shame", "guilt", "other",
)

# Default valence of each canonical emotion (used when a corpus has no sentiment column).
EMOTION_SENTIMENT: Mapping[str, str] = {
    "neutral": "neutral", "happy": "positive", "sad": "negative", "angry": "negative", "fear": "negative",
    "disgust": "negative", "surprise": "neutral", "calm": "positive", "boredom": "negative",
    "contempt": "negative", "powerful": "positive", "shame": "negative", "guilt": "negative", "other": "neutral",
}

# Valence sign used by "counter" retrieval: opposite valence of a hypothesis.
SENTIMENT_SIGN: Mapping[str, int] = {"negative": -1, "neutral": 0, "positive": 1}


def counter_sentiment(label: str | None) -> str | None:
    """Opposite valence of a hypothesis label; a neutral-valence hypothesis (neutral, surprise, other) is countered by
    positive and negative alike, which is ``None`` ("both signs")."""
    if label is None:
        return None
    return {1: "negative", -1: "positive"}.get(SENTIMENT_SIGN[EMOTION_SENTIMENT[label]])


class Role(str, Enum):
    """The three AffectAgent roles, in episode order (t = 0, 1, 2). The one key for actions, rollout steps, LLM role
    records and traces (a ``str`` enum: ``Role.PLANNER == "planner"``)."""

    PLANNER = "planner"
    FILTER = "filter"
    GENERATOR = "generator"

    def __str__(self) -> str:
        return self.value


ROLES: tuple[Role, ...] = tuple(Role)


class LabelError(InputError, ValueError):
    """A label that is not in the label space it is supposed to belong to."""


def parse_label_list(value: str | Sequence[str], *, what: str = "labels") -> tuple[str, ...]:
    """Candidate labels from ``"happy, sad"`` or ``["happy", "sad"]``: lower-cased, de-duplicated, all canonical and
    at least two (one label is no choice: the answer would be it with probability 1). A value that names no label at
    all (``""``, ``",,,"``) is an InputError too, never a silent fall-back to the default set."""
    items = value.split(",") if isinstance(value, str) else list(value)
    labels: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InputError(f"{what} must be strings; got {str(item)[:40]!r}")
        name = item.strip().lower()
        if name and name not in labels:
            labels.append(name)
    bad = [x for x in labels if x not in CANONICAL_EMOTIONS]
    if bad:
        shown = [b if len(b) <= 40 else b[:37] + "..." for b in bad[:5]]
        raise LabelError(f"unknown labels {shown}{' ...' if len(bad) > 5 else ''}; allowed: "
                         f"{', '.join(CANONICAL_EMOTIONS)}")
    if not labels:
        raise InputError(f"{what} names no label; give at least two of: {', '.join(CANONICAL_EMOTIONS)}")
    if len(labels) == 1:
        raise InputError(f"give at least two candidate labels (got only {labels[0]!r})")
    return tuple(labels)


@dataclass(frozen=True)
class LabelSpace:
    """A corpus's label set and its explicit map onto ``CANONICAL_EMOTIONS``.

    ``labels``: the corpus's own label strings, in the corpus's canonical order.
    ``to_canonical``: raw label (case-insensitive) -> canonical emotion. Must be injective so that predictions
    restricted to this space can be mapped back without ambiguity.
    """

    name: str
    labels: tuple[str, ...]
    to_canonical: Mapping[str, str]

    def __post_init__(self) -> None:
        lowered = {k.lower(): v for k, v in self.to_canonical.items()}
        for raw in self.labels:
            if raw.lower() not in lowered:
                raise LabelError(f"label space {self.name!r}: label {raw!r} has no canonical mapping")
        for v in lowered.values():
            if v not in CANONICAL_EMOTIONS:
                raise LabelError(f"label space {self.name!r}: {v!r} is not a canonical emotion")
        images = [lowered[r.lower()] for r in self.labels]
        if len(set(images)) != len(images):
            raise LabelError(f"label space {self.name!r}: map to canonical is not injective: {images}")
        object.__setattr__(self, "to_canonical", lowered)

    @property
    def canonical(self) -> tuple[str, ...]:
        """Canonical images of ``labels`` (same order): the candidate label set given to the agents."""
        return tuple(self.to_canonical[r.lower()] for r in self.labels)

    def canonicalize(self, raw: str) -> str:
        try:
            return self.to_canonical[raw.strip().lower()]
        except KeyError:
            raise LabelError(f"{raw!r} is not a label of {self.name!r} (labels: {', '.join(self.labels)})") from None

    def to_raw(self, canonical: str) -> str:
        for raw in self.labels:
            if self.to_canonical[raw.lower()] == canonical:
                return raw
        raise LabelError(f"canonical emotion {canonical!r} is not in label space {self.name!r}")


CANONICAL_SPACE = LabelSpace("canonical", CANONICAL_EMOTIONS, {e: e for e in CANONICAL_EMOTIONS})


@dataclass(frozen=True)
class Turn:
    """One previous utterance of the dialogue context."""

    speaker: str | None
    text: str


@dataclass
class Sample:
    """One input item. Any of text / audio / video / image may be absent; labels are optional.

    ``label`` is canonical (see ``CANONICAL_EMOTIONS``); ``raw_label`` is the corpus's own string.
    ``group`` is the speaker/actor id used for speaker-independent folds.
    ``image``: a single grayscale/RGB face image (uint8, H×W or H×W×3), for image corpora such as FER2013.
    """

    id: str
    text: str | None = None
    context: tuple[Turn, ...] = ()
    speaker: str | None = None
    video: Path | None = None
    audio: Path | None = None
    image: np.ndarray | None = None
    label: str | None = None
    raw_label: str | None = None
    labels: tuple[str, ...] = ()
    sentiment: str | None = None
    valence: float | None = None
    arousal: float | None = None
    dominance: float | None = None
    ov_labels: tuple[str, ...] = ()
    source: str = "user"
    split: str = "all"
    group: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("Sample.id must be a non-empty string")
        self._scrub_text()
        if self.label is not None and self.label not in CANONICAL_EMOTIONS:
            raise LabelError(f"Sample {self.id}: label {self.label!r} is not canonical")
        if self.sentiment is not None and self.sentiment not in SENTIMENTS:
            raise LabelError(f"Sample {self.id}: sentiment {self.sentiment!r} not in {SENTIMENTS}")
        if self.video is not None:
            self.video = Path(self.video)
        if self.audio is not None:
            self.audio = Path(self.audio)

    def _scrub_text(self) -> None:
        """Text fields as valid UTF-8 (lone surrogates from undecodable bytes -> U+FFFD, ``textsafe``); the edges
        that read user input already did this and said so, this is the safety net for library callers. Media paths
        keep their bytes."""
        total = scrub_attributes(self, ("id", "text", "speaker", "raw_label", "group"))
        if self.context:
            turns, n = scrub_value([(t.speaker, t.text) for t in self.context])
            if n:
                self.context = tuple(Turn(speaker=s, text=t) for s, t in turns)
                total += n
        if self.meta:
            meta, n = scrub_value(self.meta)
            if n:
                self.meta = meta
                total += n
        if total:
            text_log.warning(replaced_note(f"sample {self.id}", total))


@dataclass(frozen=True)
class ModalityMask:
    """Which modalities are present for a sample."""

    text: bool = False
    audio: bool = False
    visual: bool = False

    def as_dict(self) -> dict[str, bool]:
        return {"text": self.text, "audio": self.audio, "visual": self.visual}

    def present(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if getattr(self, m))


@dataclass
class Features:
    """Encoded input.

    Shapes (``None`` when the modality is missing):
      text_emb   (D_t,)        sentence embedding of the utterance (with context when the encoder uses it)
      audio_emb  (D_a,)        utterance-level acoustic descriptor (e.g. eGeMAPS functionals)
      audio_seq  (T_a, D_as)   frame-level acoustic sequence for fusion
      face_seq   (T_v, D_f)    per-frame facial features (expression probabilities + geometry), frames with a face
      visual_emb (D_v,)        pooled visual descriptor
    ``transcript`` is the ASR output when the input had speech but no text.
    ``branch_probs`` maps a modality ("audio") to the class posterior of its unimodal branch ({label: p}, from the
    speech-emotion branch for audio); the generator adds it to its label scores with a learned weight.
    ``info`` holds human-readable facts (duration, frame counts, audio stats, encoder names).
    """

    text_emb: np.ndarray | None = None
    audio_emb: np.ndarray | None = None
    audio_seq: np.ndarray | None = None
    face_seq: np.ndarray | None = None
    visual_emb: np.ndarray | None = None
    transcript: str | None = None
    mask: ModalityMask = field(default_factory=ModalityMask)
    info: dict[str, Any] = field(default_factory=dict)
    branch_probs: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """One retrieved knowledge-base item.

    ``kind``: which query produced it (support / confusion / counter / plain for cognitive evidence,
    perceptual for audio-visual neighbours). ``score``: similarity (inner product of normalised vectors).
    ``vector``: the retrieved modality embedding for perceptual evidence (used by RAAF).
    """

    id: str
    text: str
    label: str | None
    kind: str
    score: float
    sentiment: str | None = None
    ov_labels: tuple[str, ...] = ()
    rationale: str | None = None
    source: str = ""
    modality: str = "text"
    vector: np.ndarray | None = None


@dataclass
class Prediction:
    """The system's answer for one sample.

    ``probs``: canonical emotion -> probability over the candidate label set.
    ``evidence``: the refined evidence the generator used (ids are cited in ``rationale``).
    ``trace``: optional full record (queries, candidates, decisions, routing weights, gates).
    """

    sample_id: str
    label: str
    probs: dict[str, float]
    sentiment: str
    ov_set: tuple[str, ...] = ()
    rationale: str = ""
    evidence: tuple[Evidence, ...] = ()
    trace: dict[str, Any] | None = None

    @property
    def evidence_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.evidence)

    def to_dict(self, *, with_trace: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.sample_id,
            "label": self.label,
            "sentiment": self.sentiment,
            "probs": {k: round(float(v), 6) for k, v in self.probs.items()},
            "ov_set": list(self.ov_set),
            "rationale": self.rationale,
            "evidence": [
                {"id": e.id, "kind": e.kind, "label": e.label, "score": round(float(e.score), 6), "text": e.text,
                 "source": e.source, "modality": e.modality}
                for e in self.evidence
            ],
        }
        if with_trace and self.trace is not None:
            out["trace"] = self.trace
        return out


@dataclass
class FeatureNorm:
    """Per-dimension z-score statistics for the non-text features (fit on training features). Keys: ``audio``
    (utterance descriptor), ``aseq`` (frame descriptors), ``fseq`` (face frames), ``visual`` (scene)."""

    mean: dict[str, np.ndarray] = field(default_factory=dict)
    std: dict[str, np.ndarray] = field(default_factory=dict)

    def apply(self, key: str, x: np.ndarray) -> np.ndarray:
        if key not in self.mean:
            return x
        return (x - self.mean[key]) / self.std[key]

    @staticmethod
    def fit(rows: dict[str, list[np.ndarray]]) -> "FeatureNorm":
        norm = FeatureNorm()
        for key, arrs in rows.items():
            if not arrs:
                continue
            stacked = np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrs], axis=0).astype(np.float64)
            norm.mean[key] = stacked.mean(axis=0).astype(np.float32)
            norm.std[key] = np.maximum(stacked.std(axis=0), 1e-3).astype(np.float32)
        return norm

    def state(self) -> dict:
        return {"mean": {k: v.tolist() for k, v in self.mean.items()}, "std": {k: v.tolist() for k, v in self.std.items()}}

    @staticmethod
    def from_state(state: dict) -> "FeatureNorm":
        return FeatureNorm(mean={k: np.asarray(v, np.float32) for k, v in state["mean"].items()},
                           std={k: np.asarray(v, np.float32) for k, v in state["std"].items()})


@dataclass(frozen=True)
class QueryPlan:
    """What the planner asks the knowledge base for one sample (the query groups of ``kb/retrieval.py``).

    support: the supportive hypothesis label; confusion: the label it could be mistaken for (None: any other label);
    counter_sentiment: the valence of the countering evidence (None: the default, ``counter_sentiment(support)``);
    plain: no planner — one unconstrained similarity query (naive RAG, the planner-bypass counterfactual).
    """

    support: str | None
    confusion: str | None
    counter_sentiment: str | None
    plain: bool = False

    @staticmethod
    def plain_query() -> "QueryPlan":
        return QueryPlan(support=None, confusion=None, counter_sentiment=None, plain=True)

    @staticmethod
    def for_hypothesis(support: str, confusion: str | None = None) -> "QueryPlan":
        """The plan of a label hypothesis with the default counter sentiment."""
        return QueryPlan(support=support, confusion=confusion, counter_sentiment=counter_sentiment(support))


@dataclass
class EncodedInput:
    """One sample ready for the agents: its features, context embedding, candidate labels and excluded KB ids."""

    sample_id: str
    features: Features
    ctx_emb: np.ndarray | None
    label_set: tuple[str, ...]
    exclude: frozenset[str] = frozenset()
    text: str | None = None


class EvidenceSource(Protocol):
    """The retriever (the agents' environment; ``kb.retrieval.Retriever`` is the implementation).
    ``Evidence.vector`` holds each cognitive item's text embedding and each perceptual item's stored vector."""

    def cognitive(self, *, query: np.ndarray, modality: str, plan: QueryPlan, top_k: int,
                  use_confusion: bool, use_counter: bool, exclude: frozenset[str]) -> list[Evidence]: ...

    def perceptual(self, *, audio: np.ndarray | None, visual: np.ndarray | None, k: int,
                   exclude: frozenset[str], complete: str | None = None) -> tuple[list[Evidence], list[Evidence]]:
        """Nearest audio / visual neighbours; for an absent modality, when ``complete`` names an emotion, that
        emotion's exemplars instead (missing-modality completion)."""
        ...
