"""Nano-EmoX as a predictor: a checkpoint loaded once, any ``Sample`` in, the answers of the asked tasks out, and the
project's ``Prediction`` made from them (the CLI, the HTTP service, the batch runner and the arena all use this).

    predictor = NanoEmoXPredictor.load("runs/nx/phase3/model")     # or None: $AFFECTAGENT_NANOEMOX, the shipped one
    result = predictor.answer(Sample(id="c", video="face1.mp4"), ["mer", "erg"])
    result.answers["erg"].reply                                      # TaskAnswer per task (``fallback`` flags)
    pred = result.to_prediction()                                    # schema.Prediction

``NanoEmoXResult.to_prediction`` (a generative model answers words, so the mapping is a rule, written once here):
    label      the mer answer's emotion; else the emotion eri names, else erg's Emotion step, else the first
               open-vocabulary word that is (a synonym of) a canonical emotion; a candidate set (``labels``) skips
               emotions outside it. None of them (only msa / mir asked, or every answer unreadable): "neutral",
               with ``trace["label_source"] = "default"`` and empty ``probs``.
    probs      {label: 1.0} (the model answers one label; this is not a calibrated distribution, the trace says so)
    sentiment  the msa answer; else the label's valence (``schema.EMOTION_SENTIMENT``); "neutral" for a default label
    ov_set     the ov answer's words (empty when ov was not asked)
    rationale  eri's answer sentence ("The speaker feels E because R."); else erg's think steps; else ""
    trace      {"agents": "nanoemox", "checkpoint", "tasks": {task: TaskAnswer.to_dict()}, "intent" (mir),
               "reply" (erg), "label_source", "streams", "text", "seconds", "probs_note"}
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import DataNotFoundError, InputError
from ..schema import CANONICAL_EMOTIONS, EMOTION_SENTIMENT, Prediction, Sample
from .tasks import TASKS, TaskAnswer

ENV_CHECKPOINT = "AFFECTAGENT_NANOEMOX"
SHIPPED_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "nanoemox"
CONFIG_FILE = "nanoemox_config.json"  # = model.CONFIG_FILE (kept here so resolving a path imports no torch)
TRAIN_HINT = ("train one with `affectagent train nanoemox --phase 1|2|3 --out runs/nx`, then pass "
              "--nanoemox runs/nx/phase3/model")
PROBS_NOTE = "a generative model answers one label: probs is 1.0 on it, not a calibrated distribution"
LABEL_SOURCES: tuple[str, ...] = ("mer", "eri", "erg", "ov", "default")


def parse_tasks(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Task names from ``"all"`` / ``None`` (every task), ``"mer"``, ``"mer,ov"`` or a sequence; returned in ``TASKS``
    order without duplicates. An unknown name is an ``InputError`` listing the tasks."""
    if value is None:
        return TASKS
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(x).strip().lower() for x in items if str(x).strip()]
    if not names:
        raise InputError(f"no task given; tasks: {', '.join(TASKS)} or all")
    if "all" in names:
        return TASKS
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        shown = ", ".join(repr(u[:20]) for u in unknown[:3])
        raise InputError(f"unknown Nano-EmoX task {shown}; tasks: {', '.join(TASKS)} or all")
    return tuple(t for t in TASKS if t in names)


def resolve_checkpoint(path: str | os.PathLike[str] | None = None) -> Path:
    """The checkpoint folder to load: ``path``; else ``$AFFECTAGENT_NANOEMOX``; else ``affectagent/assets/nanoemox``
    when it exists. A folder without a Nano-EmoX config, or no checkpoint at all, is a ``DataNotFoundError`` whose
    message says how to train one."""
    env = os.environ.get(ENV_CHECKPOINT, "").strip()
    if path is not None and str(path).strip():
        where, given = Path(path).expanduser(), "Nano-EmoX checkpoint"
    elif env:
        where, given = Path(env).expanduser(), f"${ENV_CHECKPOINT}"
    elif SHIPPED_CHECKPOINT.is_dir():
        where, given = SHIPPED_CHECKPOINT, "the shipped Nano-EmoX checkpoint"
    else:
        raise DataNotFoundError(f"no Nano-EmoX checkpoint: none ships yet (affectagent/assets/nanoemox) and neither "
                                f"--nanoemox DIR nor ${ENV_CHECKPOINT} names one; {TRAIN_HINT}")
    if not where.is_dir():
        raise DataNotFoundError(f"{given} {where}: no such folder; {TRAIN_HINT}")
    if not (where / CONFIG_FILE).is_file():
        raise DataNotFoundError(f"{given} {where} is not a Nano-EmoX model folder (no {CONFIG_FILE}; the trainer "
                                f"writes one to <out>/<phase>/model); {TRAIN_HINT}")
    return where


# ---- the answers of one sample --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NanoEmoXResult:
    """The answers of one sample.

    sample_id: the sample's id. answers: task -> ``TaskAnswer`` for every asked task, in ``TASKS`` order.
    seconds: task -> generation seconds. encode_seconds: reading the media (encoders, ASR; 0 for a cached or
    text-only sample). streams: the streams the model received (visual, face, speech, fusion). text: the utterance
    the model read (the ASR transcript when the input was speech without text). checkpoint: the model folder.
    labels: the candidate emotions the mer question listed (None: the seven basic emotions)."""

    sample_id: str
    answers: Mapping[str, TaskAnswer]
    seconds: Mapping[str, float] = field(default_factory=dict)
    encode_seconds: float = 0.0
    streams: tuple[str, ...] = ()
    text: str | None = None
    checkpoint: str | None = None
    labels: tuple[str, ...] | None = None

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.answers)

    @property
    def fallbacks(self) -> dict[str, str]:
        """task -> fallback reason of every answer that did not follow its format."""
        return {t: a.fallback_reason or "fallback" for t, a in self.answers.items() if a.fallback}

    def tasks_dict(self) -> dict[str, dict[str, Any]]:
        return {t: a.to_dict() for t, a in self.answers.items()}

    def label_and_source(self, labels: Sequence[str] | None = None) -> tuple[str | None, str]:
        """(emotion, which answer gave it) by the rule of the module docstring; (None, "default") when none did."""
        from ..llm.parsing import normalise_label

        allowed = tuple(labels) if labels else CANONICAL_EMOTIONS
        for task in ("mer", "eri", "erg"):
            a = self.answers.get(task)
            if a is not None and a.label in allowed:
                return a.label, task
        ov = self.answers.get("ov")
        for word in ov.labels if ov is not None else ():
            label = normalise_label(word, allowed)
            if label is not None:
                return label, "ov"
        return None, "default"

    def to_prediction(self, labels: Sequence[str] | None = None) -> Prediction:
        """The ``schema.Prediction`` of these answers (rules in the module docstring); ``labels``: the candidate
        emotions an answer's label must be one of (default: the result's own ``labels``, else every canonical one)."""
        labels = tuple(labels) if labels is not None else self.labels
        label, source = self.label_and_source(labels)
        msa = self.answers.get("msa")
        if msa is not None and msa.label is not None:
            sentiment = msa.label
        else:
            sentiment = EMOTION_SENTIMENT[label] if label is not None else "neutral"
        ov = self.answers.get("ov")
        mir, erg, eri = self.answers.get("mir"), self.answers.get("erg"), self.answers.get("eri")
        rationale = ""
        if eri is not None and eri.text.strip():
            rationale = " ".join(eri.text.split())
        elif erg is not None and erg.think:
            rationale = "; ".join(f"{k}: {v}" for k, v in erg.think)
        trace = {"agents": "nanoemox", "checkpoint": self.checkpoint, "tasks": self.tasks_dict(),
                 "intent": mir.label if mir is not None else None,
                 "reply": erg.reply if erg is not None else None, "label_source": source,
                 "streams": list(self.streams), "text": self.text,
                 "seconds": {"encode": round(self.encode_seconds, 4),
                             **{t: round(s, 4) for t, s in self.seconds.items()}},
                 "probs_note": PROBS_NOTE}
        return Prediction(sample_id=self.sample_id, label=label or "neutral",
                          probs={label: 1.0} if label is not None else {}, sentiment=sentiment,
                          ov_set=tuple(ov.labels) if ov is not None else (), rationale=rationale, trace=trace)


# ---- the predictor --------------------------------------------------------------------------------------------------
class NanoEmoXPredictor:
    """A loaded Nano-EmoX model and the stream extractor that reads samples for it.

    ``model``: a ``NanoEmoX`` (anything with ``predict(inputs, task, options=...) -> TaskAnswer``); ``extractor``: a
    ``StreamExtractor`` (default: a new one, encoders loaded on first use); ``checkpoint``: where the model came
    from (reported in traces). ``NanoEmoXPredictor.load`` builds one from a checkpoint folder."""

    def __init__(self, model: Any, *, extractor: Any = None, checkpoint: str | None = None,
                 max_new_tokens: int | None = None) -> None:
        if extractor is None:
            from .features import StreamExtractor

            extractor = StreamExtractor()
        self.model = model
        self.extractor = extractor
        self.checkpoint = checkpoint
        self.max_new_tokens = max_new_tokens

    @classmethod
    def load(cls, checkpoint: str | os.PathLike[str] | None = None, *, cache: Any = None, lm_model: str | None = None,
             max_new_tokens: int | None = None) -> "NanoEmoXPredictor":
        """Load the model of ``resolve_checkpoint(checkpoint)`` once. ``cache``: the extractor's ``FeatureCache``
        (default: the on-disk one; ``FeatureCache(enabled=False)`` leaves nothing on disk). ``lm_model`` replaces
        the base LM named in the checkpoint (same architecture)."""
        from .features import StreamExtractor
        from .model import load_nanoemox

        path = resolve_checkpoint(checkpoint)
        model = load_nanoemox(path, lm_model=lm_model)
        return cls(model, extractor=StreamExtractor(cache=cache), checkpoint=str(path), max_new_tokens=max_new_tokens)

    def describe(self) -> dict[str, Any]:
        return {"model": "nanoemox", "checkpoint": self.checkpoint, "tasks": list(TASKS)}

    def inputs(self, sample: Sample):
        """The sample's ``SampleInputs`` (streams of its media + its text, or the ASR transcript)."""
        return self.extractor.sample_inputs(sample)

    def answer(self, sample: Sample, tasks: str | Sequence[str] | None = TASKS, *,
               labels: Sequence[str] | None = None) -> NanoEmoXResult:
        """Read ``sample`` once and answer every task of ``tasks`` (``parse_tasks``: "all", names or a sequence).
        ``labels``: candidate emotions for mer (canonical; default the seven basic emotions). Media errors raise
        (``MediaError``); a malformed generation never does (its ``TaskAnswer.fallback`` says so)."""
        asked = parse_tasks(tasks)
        labels = _check_labels(labels)
        t0 = time.perf_counter()
        inputs = self.inputs(sample)
        encode = time.perf_counter() - t0
        return self.answer_inputs(inputs, asked, labels=labels, encode_seconds=encode)

    def answer_inputs(self, inputs: Any, tasks: str | Sequence[str] | None = TASKS, *,
                      labels: Sequence[str] | None = None, encode_seconds: float = 0.0) -> NanoEmoXResult:
        """``answer`` for already-read ``SampleInputs``."""
        asked = parse_tasks(tasks)
        labels = _check_labels(labels)
        answers: dict[str, TaskAnswer] = {}
        seconds: dict[str, float] = {}
        for task in asked:
            t0 = time.perf_counter()
            options = labels if task == "mer" and labels else ()
            answers[task] = self.model.predict(inputs, task, options=options, max_new_tokens=self.max_new_tokens)
            seconds[task] = time.perf_counter() - t0
        return NanoEmoXResult(sample_id=inputs.sample_id, answers=answers, seconds=seconds,
                              encode_seconds=encode_seconds, streams=tuple(inputs.streams.streams), text=inputs.text,
                              checkpoint=self.checkpoint, labels=labels)

    def predict(self, sample: Sample, tasks: str | Sequence[str] | None = TASKS, *,
                labels: Sequence[str] | None = None) -> Prediction:
        """``answer(...).to_prediction()``: the batch runner's and the service's callable."""
        return self.answer(sample, tasks, labels=labels).to_prediction()


def _check_labels(labels: Sequence[str] | None) -> tuple[str, ...] | None:
    if labels is None:
        return None
    from ..schema import parse_label_list

    return parse_label_list(list(labels), what="labels")


__all__ = ["ENV_CHECKPOINT", "LABEL_SOURCES", "NanoEmoXPredictor", "NanoEmoXResult", "PROBS_NOTE",
           "SHIPPED_CHECKPOINT", "TRAIN_HINT", "parse_tasks", "resolve_checkpoint"]
