"""Request and response bodies of the HTTP API (pydantic), mirroring ``schema.Prediction.to_dict``.

A prediction response is the prediction's own JSON (``id, label, sentiment, probs, ov_set, rationale, evidence``
and, when asked for, ``trace``) plus ``timing`` and ``media``. Published at ``/openapi.json``.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TurnIn(BaseModel):
    """One previous turn of the dialogue."""

    model_config = ConfigDict(extra="forbid")
    speaker: str | None = Field(None, description="who said it")
    text: str = Field(..., description="what was said")


class PredictJSON(BaseModel):
    """JSON body of POST /v1/predict (text only; upload media as multipart/form-data)."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, description="the utterance")
    context: list[TurnIn] | str | None = Field(
        None, description='previous turns: [{"speaker", "text"}, ...] or lines "Speaker: text"')
    speaker: str | None = Field(None, description="speaker of the utterance")
    labels: list[str] | str | None = Field(
        None, description="candidate labels (canonical emotions), a list or a comma-separated string; "
                          "default: the model's label set")
    explain: bool = Field(False, description="include the agents' trace")
    raer: bool = Field(False, description="answer with RAER: reasoning steps checked against retrieved evidence "
                                          "(with explain: trace.raer holds the steps, ambiguity, uncertainty and "
                                          "whether the KB would grow)")
    model: str | None = Field(None, description='"agents" (default: the served AffectAgent) or "nanoemox" (the '
                                                "Nano-EmoX model; the response adds tasks)")
    task: list[str] | str | None = Field(
        None, description='Nano-EmoX tasks (model "nanoemox" only): mer, msa, ov, eri, mir, erg, a comma list, a '
                          'list or "all" (default)')


class EvidenceOut(BaseModel):
    id: str
    kind: str = Field(..., description="support | confusion | counter | plain | perceptual")
    label: str | None
    score: float = Field(..., description="cosine similarity to the query")
    text: str
    source: str
    modality: str


class PredictionOut(BaseModel):
    """``Prediction.to_dict(with_trace=...)``."""

    id: str = Field(..., description="sample id: the uploaded file's name, or 'text'")
    label: str
    sentiment: str = Field(..., description="negative | neutral | positive")
    probs: dict[str, float] = Field(..., description="candidate label -> probability")
    ov_set: list[str] = Field(..., description="open-vocabulary emotion set")
    rationale: str
    evidence: list[EvidenceOut] = Field(..., description="the knowledge-base evidence the generator kept")
    trace: dict[str, Any] | None = Field(
        None, description="with explain: planner hypotheses and queries, filter keep/drop per candidate, "
                          "perceptual neighbours, MB-MoE routing, RAAF gates (absent otherwise)")


class TaskAnswerOut(BaseModel):
    """One Nano-EmoX answer (``nanoemox.tasks.TaskAnswer.to_dict``)."""

    task: str
    text: str = Field(..., description="the raw generation")
    label: str | None = Field(..., description="mer: emotion, msa: sentiment, mir: intent, eri / erg: the emotion")
    labels: list[str] = Field(..., description="ov: the open-vocabulary emotion words")
    reason: str | None = Field(..., description="eri: the cause")
    reply: str | None = Field(..., description="erg: the empathetic reply")
    think: dict[str, str] = Field(..., description="erg: the reasoning steps (Scenario, Emotion, Cause, Goal)")
    fallback: bool = Field(..., description="the generation did not follow the task's format (repaired or missing)")
    fallback_reason: str | None


class TimingOut(BaseModel):
    seconds: float = Field(..., description="whole request on the server, upload included")
    queued_seconds: float = Field(..., description="waiting for the model (other requests ahead)")
    model_seconds: float = Field(..., description="probing, encoding and the agents")


class MediaOut(BaseModel):
    filename: str | None
    kind: Literal["video", "audio", "image"]
    duration: float | None = Field(..., description="seconds")
    size: int = Field(..., description="bytes")


class PredictResponse(PredictionOut):
    tasks: dict[str, TaskAnswerOut] | None = Field(
        None, description='model "nanoemox": each asked task\'s answer (absent for the agents)')
    timing: TimingOut
    media: MediaOut | None = Field(None, description="the uploaded file, when there was one")


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str
    checkpoint: str | None = Field(..., description="checkpoint file name (when the server loaded it from a path)")
    recipe: str | None = Field(..., description="how the checkpoint was trained")
    kb: str | None = Field(..., description="evidence knowledge base folder name")
    encoders: dict[str, str]
    variant: str | None = Field(..., description="pipeline variant (ablation) being served")
    max_upload_mb: float
    pending: int = Field(..., description="predictions running or waiting now")
    served: int = Field(..., description="predictions answered since start-up")


class LabelsResponse(BaseModel):
    canonical: list[str] = Field(..., description="every label the models know")
    default: list[str] = Field(..., description="the candidate set used when a request gives none")
    sentiments: list[str]


class ErrorResponse(BaseModel):
    error: str
