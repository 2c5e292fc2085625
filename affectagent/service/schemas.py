"""Request and response bodies of the HTTP API (pydantic), mirroring ``schema.Prediction.to_dict``.

A prediction response is the prediction's own JSON (``id, label, sentiment, probs, ov_set, rationale, evidence``
and, when asked for, ``trace``) plus ``timing`` and ``media``; ``timeline``, ``media.frame`` / ``media.face_boxes``
and ``progress`` appear only when the request asks for them. Published at ``/openapi.json``.
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
    timeline: bool = Field(False, description="also predict each segment of the uploaded clip (needs a file, so a "
                                              "JSON request with it is refused; send multipart)")
    window: float | str | None = Field(None, description="timeline segment length in seconds (2, \"2s\", \"500ms\"); "
                                                         "default 2")
    hop: float | str | None = Field(None, description="seconds between timeline segment starts, <= window; default 1")
    preview: bool = Field(False, description="video / image upload: also return its first sampled frame (a small "
                                             "JPEG) with the detected face boxes (media.frame, media.face_boxes)")


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


class FaceBoxOut(BaseModel):
    """One detected face on ``media.frame``, in that frame's pixels (x right, y down; x1 / y1 exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int
    via: str = Field(..., description='how it was found: "mesh" (face mesh on the frame) or "detector+mesh" '
                                      "(full-range detector, then the mesh on a crop around it)")


class FrameOut(BaseModel):
    """With ``preview``: the first frame the face encoder samples from the upload (the image itself for a still)."""

    time: float = Field(..., description="seconds into the clip (0 for a still image)")
    width: int = Field(..., description="pixels, as decoded for the encoders (longer side <= 960): the face boxes' "
                                        "coordinate frame")
    height: int
    image: str = Field(..., description="the frame as a data: URL (JPEG, longer side <= 480 px; scale the boxes by "
                                        "displayed width / width)")
    note: str | None = Field(None, description="why there are no face boxes when the detector could not run")


class MediaOut(BaseModel):
    filename: str | None
    kind: Literal["video", "audio", "image"]
    duration: float | None = Field(..., description="seconds")
    size: int = Field(..., description="bytes")
    frame: FrameOut | None = Field(None, description="with preview, for a video / image: the first sampled frame "
                                                     "(absent otherwise)")
    face_boxes: list[FaceBoxOut] | None = Field(None, description="with preview: the faces found on frame (the "
                                                                  "largest one; [] when none; absent otherwise)")


class TimelineRowOut(BaseModel):
    """One segment (``timeline.TimelineRow.to_record``)."""

    index: int
    start: float = Field(..., description="seconds from the start of the clip")
    end: float
    label: str | None = Field(..., description="None when the segment failed")
    probs: dict[str, float] = Field(..., description="candidate label -> probability ({} when it failed)")
    sentiment: str | None
    ov_set: list[str]
    face_present: bool | None = Field(..., description="a face in the segment (None: audio, or no track sample)")
    face_ratio: float | None = Field(..., description="share of the segment's face-track samples with a face")
    transcript: str | None = Field(..., description="what ASR heard in the segment")
    seconds: float | None = Field(..., description="wall time of the segment (cutting + prediction)")
    error: str | None = Field(..., description="why the segment failed, one line")


class FaceTrackOut(BaseModel):
    times: list[float] = Field(..., description="seconds: the face-track samples (2 per second)")
    found: list[bool] = Field(..., description="a face at each sample")
    detector: str


class TimelineOut(BaseModel):
    """With ``timeline``: the clip predicted segment by segment (docs/timeline.md)."""

    window: float = Field(..., description="seconds per segment")
    hop: float = Field(..., description="seconds between segment starts")
    duration: float = Field(..., description="seconds")
    kind: str = Field(..., description="video | audio")
    labels: list[str] = Field(..., description="every emotion with a probability in some row, canonical order")
    colours: dict[str, str] = Field(..., description="label -> the colour the timeline plots give it (#rrggbb)")
    rows: list[TimelineRowOut]
    faces: FaceTrackOut | None = Field(..., description="the face-present track (None for audio)")
    notes: list[str]
    seconds: float = Field(..., description="wall time of the timeline")


class StageOut(BaseModel):
    key: str = Field(..., description='the stage and the stages it runs in, e.g. "predict/features/asr"')
    name: str = Field(..., description="receive, queue, check, predict, features, probe, decode_audio, audio, vad, "
                                       "asr, text, decode_video, face, visual, agents, preview, timeline, ...")
    title: str = Field(..., description="what the page calls it")
    depth: int = Field(..., description="0 for a stage of the service, 1 inside it, ...")
    state: Literal["active", "done", "cached", "failed"]
    started: float = Field(..., description="seconds after the job started")
    seconds: float = Field(..., description="how long it ran (so far, while active)")
    done: int | None = Field(None, description="timeline: segments finished")
    total: int | None = Field(None, description="timeline: segments planned")


class ProgressOut(BaseModel):
    """``GET /v1/progress/{job}``: the stages of a prediction sent with ``?job=ID``, as they happen."""

    job: str
    state: Literal["running", "done", "failed"]
    error: str | None = Field(..., description="failed: the one-line error of the prediction")
    seconds: float = Field(..., description="since the request arrived")
    active: str | None = Field(..., description="key of the innermost running stage")
    stages: list[StageOut] = Field(..., description="in the order they started")


class PredictResponse(PredictionOut):
    tasks: dict[str, TaskAnswerOut] | None = Field(
        None, description='model "nanoemox": each asked task\'s answer (absent for the agents)')
    timing: TimingOut
    media: MediaOut | None = Field(None, description="the uploaded file, when there was one")
    timeline: TimelineOut | None = Field(None, description="with timeline: the per-segment predictions (absent "
                                                           "otherwise)")
    progress: ProgressOut | None = Field(None, description="with ?job=ID: the job's stages at the end (absent "
                                                           "otherwise)")


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
    auth: bool = Field(..., description="whether POST /v1/predict, GET /v1/progress/{job} and POST /v1/arena/votes "
                                        "need the header Authorization: Bearer <API token>")


class LabelsResponse(BaseModel):
    canonical: list[str] = Field(..., description="every label the models know")
    default: list[str] = Field(..., description="the candidate set used when a request gives none")
    sentiments: list[str]


class ErrorResponse(BaseModel):
    error: str
