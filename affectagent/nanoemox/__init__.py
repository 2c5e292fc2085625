"""Nano-EmoX: a compact multitask emotion language model (four perception branches, hierarchical fusion experts,
heterogeneous adapters, a small LM with LoRA) and its P2E curriculum. See docs/nanoemox.md.

    from affectagent.nanoemox import load_nanoemox, StreamExtractor
    model = load_nanoemox("runs/nx/phase3/model")
    inputs = StreamExtractor().sample_inputs(Sample(id="clip", video="face1.mp4"))
    model.answer(inputs, "mer")            # -> "happy"
    model.predict(inputs, "erg")           # -> TaskAnswer(reply=..., think=..., fallback=False)
    NanoEmoXPredictor.load("runs/nx/phase3/model").answer(sample, "all").to_prediction()   # every task -> Prediction

Names are imported lazily (torch loads only when a model is built).
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "NanoEmoX": "model", "load_nanoemox": "model", "PHASE_GROUPS": "model", "GROUPS": "model",
    "NanoEmoXConfig": "config", "LMConfig": "config", "FaceBranchConfig": "config", "VisualBranchConfig": "config",
    "SpeechBranchConfig": "config", "FusionConfig": "config", "AdapterConfig": "config", "QFormerConfig": "config",
    "SampleInputs": "inputs", "StreamInputs": "inputs",
    "StreamExtractor": "features", "FeatureConfig": "features",
    "TASKS": "tasks", "IDENTIFIERS": "tasks", "TaskAnswer": "tasks", "TaskExample": "tasks", "parse_answer": "tasks",
    "TrainConfig": "train", "MixtureConfig": "train", "run_phase": "train",
    "DataConfig": "data", "dev_examples": "data",
    "NanoEmoXPredictor": "predictor", "NanoEmoXResult": "predictor", "parse_tasks": "predictor",
    "resolve_checkpoint": "predictor",
    "TaskScore": "evaluate", "evaluate_task": "evaluate",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


__all__ = sorted(_EXPORTS)
