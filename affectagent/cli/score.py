"""``affectagent score``: score prediction files against gold files (MER-UniBench and friends).

    affectagent score --task ov  --pred preds.jsonl --gold check-openset.csv [--wheel-table 2026] [--json]
    affectagent score --task hit --pred preds.csv --gold labels.csv          (gold: name,label)
    affectagent score --task waf --pred preds.csv --gold valence.csv         (gold: name,valence)
    affectagent score --task mer2024-ov --pred predict-openset.csv --gold check-openset.csv --groups openset-synonym.zip
    affectagent score --task cls --pred preds.csv --gold labels.csv --confusion-png cm.png
    affectagent score --task gen --pred responses.jsonl --gold references.jsonl --gen-metrics bleu,rouge_l
    affectagent score --task cls --pred runs/evaluate/meld-dev-full/predictions.jsonl --gold labels.csv
    affectagent score --task hit --pred preds.csv --gold labels.csv     (preds.csv from: affectagent predict ... --out)

The project's own prediction files are read as they are: ``evaluate``'s predictions.jsonl and ``predict --out``
rows (.jsonl / .csv) name a sample ``id`` (read as ``name``) and its open-vocabulary set ``ov_set`` (read as
``openset``); a batch row with an ``error`` is no prediction (see --missing-as-empty).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..metrics.generation import GENERATION_METRICS
    from ..metrics.score_files import SCORE_TASKS
    from ..metrics.wheel_files import TABLE_VERSIONS

    p = subparsers.add_parser(
        "score", help="score prediction files (HIT, WAF, open-vocabulary, MER2024, classification, generation)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--task", required=True, choices=SCORE_TASKS.names(), help="which metric family")
    p.add_argument("--pred", required=True, type=Path, help="predictions (.csv, .jsonl or .json)")
    p.add_argument("--gold", required=True, type=Path, help="gold labels (.csv, .jsonl or .json)")
    p.add_argument("--groups", type=Path, help="MER2024 openset-synonym.zip (task mer2024-ov)")
    p.add_argument("--wheel-table", default="original", choices=TABLE_VERSIONS,
                   help="form table: original (compares with published numbers) or 2026 (fixed)")
    p.add_argument("--run", help="use only prediction records with this 'run' field")
    p.add_argument("--gold-run", help="use only gold records with this 'run' field")
    p.add_argument("--source", default="auto", choices=("auto", "openset", "text"),
                   help="predicted word sets from the 'openset' field or extracted from free text (default: auto)")
    p.add_argument("--extractor", default="lexicon", help="offline emotion extractor for free text (default: lexicon)")
    p.add_argument("--missing-as-empty", action="store_true",
                   help="score gold samples that have no prediction as empty predictions (default: error)")
    p.add_argument("--labels", help="comma-separated label set for --task cls (default: the gold labels)")
    p.add_argument("--confusion-png", type=Path, help="write the confusion matrix plot (task cls)")
    p.add_argument("--gen-metrics", default=",".join(GENERATION_METRICS),
                   help=f"comma-separated subset of {','.join(GENERATION_METRICS)} (task gen)")
    p.add_argument("--bertscore-model", default="minilm", help="packaged BERTScore model or '<folder>:<layer>'")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    p.set_defaults(func=run)


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    if not items:
        raise InputError("empty comma-separated list")
    return items


def format_table(report) -> str:
    """Two-column text table of a ``ScoreReport``."""
    rows = [(name, f"{value:.6f}" if isinstance(value, float) else str(value)) for name, value in report.rows]
    width = max(len(name) for name, _ in rows)
    lines = [f"task: {report.task}   predictions from: {report.prediction_source}   gold samples: {report.n_gold}"]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    if report.n_extra_predictions:
        lines.append(f"({report.n_extra_predictions} predictions without a gold sample were ignored)")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..metrics.score_files import ScoreOptions, score_files

    opts = ScoreOptions(
        pred=args.pred, gold=args.gold, groups=args.groups, wheel_table=args.wheel_table, run=args.run,
        gold_run=args.gold_run, source=args.source, extractor=args.extractor,
        missing_as_empty=args.missing_as_empty, labels=_split(args.labels), confusion_png=args.confusion_png,
        gen_metrics=_split(args.gen_metrics) or (), bertscore_model=args.bertscore_model, progress=args.progress,
    )
    report = score_files(args.task, opts)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_table(report))
    return 0
