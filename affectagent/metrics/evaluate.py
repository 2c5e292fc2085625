"""Score the agents on a labelled corpus: WF1 / macro-F1 / UAR / WAR, MER-UniBench HIT (open-vocabulary words vs the
corpus's own label), sentiment F1 where the corpus has sentiment; writes predictions JSONL and a confusion-matrix PNG.

Sentiment corpora (no emotion label space, a valence per sample: CMU-MOSI, EmoBank) are scored on the predicted
sentiment the way MER-UniBench scores MSA (``metrics.waf``): WAF and accuracy over the non-zero-valence samples
(binarised valence; a neutral prediction counts as negative), plus the three-class sentiment weighted F1 / UAR
against the valence sign, whose confusion matrix is the PNG.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import datasets
from ..errors import InputError
from ..schema import Prediction, Sample


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    predictions: list[Prediction]
    samples: list[Sample]


def score_predictions(samples: Sequence[Sample], preds: Sequence[Prediction], *, dataset: str) -> dict[str, Any]:
    from .classification import classification_report, weighted_f1
    from .hit_rate import hit_rate

    space = datasets.label_space(dataset)
    pairs = [(s, p) for s, p in zip(samples, preds) if s.label is not None]
    if not pairs:
        raise InputError(f"no labelled samples to score in {dataset}")
    y_true = [s.label for s, _ in pairs]
    y_pred = [p.label for _, p in pairs]
    labels = list(space.canonical) if space else sorted(set(y_true))
    rep = classification_report(y_true, y_pred, labels)
    out: dict[str, Any] = {
        "dataset": dataset, "n": len(pairs), "weighted_f1": rep.weighted_f1, "macro_f1": rep.macro_f1,
        "uar": rep.uar, "war": rep.war,
        "per_class": {c.label: {"precision": c.precision, "recall": c.recall, "f1": c.f1, "support": c.support}
                      for c in rep.per_class},
    }
    gold_raw = [s.raw_label or s.label for s, _ in pairs]
    try:
        hr = hit_rate([list(p.ov_set) or [p.label] for _, p in pairs], gold_raw)
        out["hit"] = hr.hit_rate
    except InputError as exc:  # wheel tables missing from the data root
        out["hit"] = None
        out["hit_error"] = str(exc)
    sent_pairs = [(s.sentiment, p.sentiment) for s, p in pairs if s.sentiment]
    if sent_pairs and len({g for g, _ in sent_pairs}) > 1:
        out["sentiment_weighted_f1"] = weighted_f1([g for g, _ in sent_pairs], [q for _, q in sent_pairs])
    out["_report"] = rep
    return out


def score_sentiment(samples: Sequence[Sample], preds: Sequence[Prediction], *, dataset: str) -> dict[str, Any]:
    """MER-UniBench MSA scoring of the predicted sentiments against the samples' valences (module docstring)."""
    from ..schema import SENTIMENTS
    from .classification import classification_report
    from .waf import waf

    pairs = [(s, p) for s, p in zip(samples, preds) if s.valence is not None]
    if not pairs:
        raise InputError(f"no samples with a valence to score in {dataset}")
    res = waf([s.valence for s, _ in pairs], [p.sentiment for _, p in pairs])
    gold = ["positive" if s.valence > 0 else "negative" if s.valence < 0 else "neutral" for s, _ in pairs]
    rep = classification_report(gold, [p.sentiment or "neutral" for _, p in pairs], list(SENTIMENTS))
    return {"dataset": dataset, "n": len(pairs), "task": "sentiment", "waf": res.waf, "waf_accuracy": res.accuracy,
            "waf_scored": res.n_scored, "waf_dropped_zero_valence": res.n_dropped,
            "sentiment_weighted_f1": rep.weighted_f1, "sentiment_uar": rep.uar, "sentiment_war": rep.war,
            "per_class": {c.label: {"precision": c.precision, "recall": c.recall, "f1": c.f1, "support": c.support}
                          for c in rep.per_class},
            "_report": rep}


def write_outputs(result: EvalResult, out_dir: Path, *, title: str) -> dict[str, str]:
    from .confusion_plot import plot_confusion_matrix

    out_dir.mkdir(parents=True, exist_ok=True)
    pred_path = out_dir / "predictions.jsonl"
    with open(pred_path, "w", encoding="utf-8") as f:
        for s, p in zip(result.samples, result.predictions):
            row = p.to_dict()
            row["gold"] = s.label
            row["gold_raw"] = s.raw_label
            if s.valence is not None:
                row["gold_valence"] = s.valence
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    png = plot_confusion_matrix(result.metrics["_report"], out_dir / "confusion.png", title=title)
    metrics = {k: v for k, v in result.metrics.items() if not k.startswith("_")}
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return {"predictions": str(pred_path), "confusion_png": str(png), "metrics": str(out_dir / "metrics.json")}


def trained_on(corpora: Sequence[dict], *, dataset: str, split: str, groups: set) -> bool:
    """Whether a checkpoint's training corpora (provenance ``corpora``: CorpusSpec dicts) include the scored
    samples: the same dataset and split (or "all"), unless every scored speaker was left out (``exclude_groups``)."""
    return any(c["name"] == dataset and c["split"] in (split, "all")
               and not groups <= set(c.get("exclude_groups") or ()) for c in corpora)


def evaluate(agent, *, dataset: str, split: str, data_root: str | Path | None = None,
             data_file: str | Path | None = None, limit: int | None = None, progress: bool = True,
             speakers: Sequence[str] | None = None) -> EvalResult:
    """Score ``agent`` on a labelled split (every sample encoded and answered on its own: no statistic of other
    test samples is used — unless the agent re-scores the voice per speaker, ``AffectAgent.with_speaker_norm``, which
    uses each speaker's other files of the split). ``speakers``: only samples of these ``Sample.group`` values
    (held-out speaker folds)."""
    from ..encoders.inputs import encode_inputs
    from ..train.recipe import extract_config_for
    from ..train.sft import run_inference

    space = datasets.label_space(dataset)
    sentiment_only = space is None
    if sentiment_only and datasets.get(dataset).task != "valence":
        raise InputError(f"{dataset} has neither an emotion label space nor a valence per sample; evaluate takes an "
                         "emotion or sentiment corpus")
    samples = datasets.load(dataset, split, data_root=data_root, data_file=data_file, limit=limit)
    samples = [s for s in samples if (s.valence is not None if sentiment_only else s.label is not None)]
    if speakers is not None:
        wanted = {str(g) for g in speakers}
        samples = [s for s in samples if s.group in wanted]
        if not samples:
            raise InputError(f"{dataset}:{split} has no labelled samples of speaker(s) {', '.join(sorted(wanted))}")
    if not samples:
        raise InputError(f"{dataset}:{split} has no labelled samples")
    from dataclasses import replace

    seen = trained_on(agent.checkpoint.provenance.get("corpora", []), dataset=dataset, split=split,
                      groups={s.group for s in samples})
    # A split the checkpoint trained on is also in its KB: exclude each sample's dialogue / speaker from its evidence.
    enc = replace(agent.encoding, extract=extract_config_for(dataset, agent.encoding.extract), exclude_related=seen)
    labels = tuple(agent.default_labels) if sentiment_only else space.canonical
    inputs = encode_inputs(samples, label_sets=[labels] * len(samples), config=enc, cache=agent.cache,
                           progress=progress)
    preds = run_inference(agent.pipeline, inputs, progress=progress, desc=f"evaluate {dataset}:{split}")
    metrics = (score_sentiment(samples, preds, dataset=dataset) if sentiment_only
               else score_predictions(samples, preds, dataset=dataset))
    metrics["split"] = split
    if enc.speaker_norm:
        metrics["speaker_norm"] = enc.speaker_norm  # not the one-file protocol: the speaker's other files were used
    if seen:
        metrics["note"] = (f"{dataset}:{split} is part of this checkpoint's training data: scores are in-sample "
                           "(evidence from the same dialogue/speaker excluded); use held-out folds for real numbers")
    return EvalResult(metrics=metrics, predictions=preds, samples=samples)
