"""``affectagent evaluate --dataset NAME --split SPLIT``: WF1, macro-F1, UAR, WAR, HIT; predictions JSONL + confusion PNG.

predictions.jsonl has one prediction per line (``id``, ``label``, ``probs``, ``sentiment``, ``ov_set``, ``rationale``,
``evidence``, ``gold``, ``gold_raw``); ``affectagent score --pred`` reads it as it is, like ``predict --out`` rows.
Unlabelled data is labelled with ``affectagent predict FILES|FOLDER|MANIFEST --out preds.csv`` instead.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score the agents on a labelled corpus split",
                       description="Score the agents on a corpus split (or a user file with the same columns).")
    p.add_argument("--dataset", required=True, help="meld, emorynlp, emodb, ravdess, fer2013, manifest, ...")
    p.add_argument("--split", default="dev", help="train / dev / test / all (default dev)")
    p.add_argument("--data-root", help="data root (default $AFFECTAGENT_DATA or ../shared/data)")
    p.add_argument("--data-file", help="a labelled CSV/JSONL with the dataset's columns, scored instead of the split")
    p.add_argument("--checkpoint", help="agents checkpoint (default: the shipped one)")
    p.add_argument("--kb", help="evidence KB directory (default: the checkpoint's; never built from the scored split)")
    p.add_argument("--allow-foreign-kb", action="store_true",
                   help="use --kb even though its recorded encoder differs from the checkpoint's (refused by default)")
    p.add_argument("--variant", default="full", help="pipeline variant (full, no_rag, naive_rag, ...)")
    p.add_argument("--limit", type=int, help="score only the first N samples")
    p.add_argument("--out", default="runs/evaluate",
                   help="folder for predictions.jsonl (readable by affectagent score), confusion.png, metrics.json")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import AffectAgent
    from ..errors import InputError
    from ..metrics.evaluate import evaluate, write_outputs
    from ..pipeline import PipelineConfig

    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be >= 1")
    try:
        config = PipelineConfig.variant(args.variant)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    log = (lambda m: None) if args.json else print
    agent = AffectAgent.load(args.checkpoint, kb=args.kb, config=config, data_root=args.data_root, log=log,
                             allow_foreign_kb=args.allow_foreign_kb)
    try:
        res = evaluate(agent, dataset=args.dataset, split=args.split, data_root=args.data_root,
                       data_file=args.data_file, limit=args.limit, progress=not args.json)
    except InputError as exc:
        if "no labelled samples" not in str(exc):
            raise
        target = args.data_file or "FILES|FOLDER|MANIFEST"
        raise InputError(f"{exc}: evaluate scores labelled data; to label your own files run "
                         f"affectagent predict {target} --out preds.csv") from None
    out = Path(args.out) / f"{args.dataset}-{args.split}-{args.variant}"
    files = write_outputs(res, out, title=f"{args.dataset} {args.split} ({args.variant})")
    m = {k: v for k, v in res.metrics.items() if not k.startswith("_")}
    m["files"] = files
    if args.json:
        print(json.dumps(m, indent=2))
        return 0
    print(f"{args.dataset}:{args.split}  n={m['n']}  variant={args.variant}")
    for k in ("weighted_f1", "macro_f1", "uar", "war", "hit", "sentiment_weighted_f1"):
        if m.get(k) is not None:
            print(f"  {k:<22} {m[k]:.4f}")
    if m.get("note"):
        print(f"  note: {m['note']}")
    for k, v in files.items():
        print(f"  {k}: {v}")
    return 0
