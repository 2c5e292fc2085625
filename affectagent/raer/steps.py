"""The typed record of one RAER pass: reasoning steps (with their evidence and the ambiguity measurement) and the
outcome (final answer, uncertainty, whether the knowledge base may grow with it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..schema import Evidence, Prediction
from .detect import Detection


@dataclass
class ReasoningStep:
    """One step y_t. kind: cues | hypothesis | evidence | conclusion (free text for LLM steps).
    emotion: the canonical emotion the step asserts (None when it asserts none). evidence: R(y_{t-1}), what the step
    was checked against. detection: the measured ambiguity. regenerated: the step was rewritten with its evidence
    (``original`` holds the text before)."""

    kind: str
    text: str
    emotion: str | None = None
    evidence: tuple[Evidence, ...] = ()
    detection: Detection | None = None
    regenerated: bool = False
    original: str | None = None

    @property
    def ambiguous(self) -> bool:
        return self.detection is not None and self.detection.ambiguous

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "emotion": self.emotion, "ambiguous": self.ambiguous,
                "regenerated": self.regenerated, "original": self.original,
                "detection": None if self.detection is None else self.detection.to_dict(),
                "evidence": [{"id": e.id, "label": e.label, "kind": e.kind, "score": round(float(e.score), 4)}
                             for e in self.evidence]}


@dataclass
class RAEROutcome:
    """prediction: the final answer (its rationale = the refined steps). uncertainty in [0, 1] (method named);
    gated: uncertainty ≤ ε, i.e. the sample may enter the knowledge base. llm_calls: model calls spent."""

    prediction: Prediction
    steps: list[ReasoningStep]
    uncertainty: float
    uncertainty_method: str
    gated: bool
    llm_calls: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def regenerated(self) -> bool:
        return any(s.regenerated for s in self.steps)

    def trace(self) -> dict[str, Any]:
        return {"steps": [s.to_dict() for s in self.steps], "uncertainty": round(float(self.uncertainty), 4),
                "uncertainty_method": self.uncertainty_method, "kb_would_grow": self.gated,
                "ambiguous_steps": [i for i, s in enumerate(self.steps) if s.ambiguous],
                "regenerated_steps": [i for i, s in enumerate(self.steps) if s.regenerated],
                "llm_calls": self.llm_calls, "notes": list(self.notes)}

    def rationale(self) -> str:
        """The refined steps as one paragraph (step kind: text; ambiguous steps marked)."""
        parts = []
        for i, s in enumerate(self.steps, 1):
            flag = " [re-reasoned with evidence]" if s.regenerated else (" [ambiguous]" if s.ambiguous else "")
            parts.append(f"{i}. {s.kind}: {s.text}{flag}")
        return " ".join(parts)
