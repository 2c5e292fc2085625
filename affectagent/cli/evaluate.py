"""``affectagent evaluate --dataset NAME --split SPLIT``: WF1, macro-F1, UAR, WAR, HIT; predictions JSONL + confusion PNG.

predictions.jsonl has one prediction per line (``id``, ``label``, ``probs``, ``sentiment``, ``ov_set``, ``rationale``,
``evidence``, ``gold``, ``gold_raw``); ``affectagent score --pred`` reads it as it is, like ``predict --out`` rows.
Unlabelled data is labelled with ``affectagent predict FILES|FOLDER|MANIFEST --out preds.csv`` instead.

``--model nanoemox --task T`` scores the Nano-EmoX model of ``--nanoemox DIR`` on its dev sets instead
(``nanoemox.data.dev_examples`` of every source of T, or ``--source``) with each task's metric
(``affectagent.nanoemox.evaluate``); ``--out FILE.jsonl`` then receives one line per example.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score the agents on a labelled corpus split",
                       description="Score the agents on a corpus split (or a user file with the same columns).")
    p.add_argument("--dataset", help="meld, emorynlp, emodb, ravdess, fer2013, manifest, ... (required unless "
                                     "--model nanoemox)")
    p.add_argument("--split", default="dev", help="train / dev / test / all (default dev)")
    p.add_argument("--data-root", help="data root (default $AFFECTAGENT_DATA or ../shared/data)")
    p.add_argument("--data-file", help="a labelled CSV/JSONL with the dataset's columns, scored instead of the split")
    p.add_argument("--checkpoint", help="agents checkpoint (default: the shipped one)")
    p.add_argument("--kb", help="evidence KB directory (default: the checkpoint's; never built from the scored split)")
    p.add_argument("--allow-foreign-kb", action="store_true",
                   help="use --kb even though its recorded encoder differs from the checkpoint's (refused by default)")
    p.add_argument("--variant", default="full", help="pipeline variant (full, no_rag, naive_rag, ...)")
    p.add_argument("--limit", type=int, help="score only the first N samples (nanoemox: at most N seeded dev items per "
                                              "source)")
    p.add_argument("--speakers", help="score only these speakers / actors (comma list of the corpus's speaker ids, "
                                      "e.g. 03,08 for EmoDB): a held-out fold of a checkpoint trained without them")
    p.add_argument("--out", help=f"folder for predictions.jsonl (readable by affectagent score), confusion.png, "
                                 f"metrics.json (default {DEFAULT_OUT}); with --model nanoemox: a .jsonl file for the "
                                 "predictions, one line per example (default: none written)")
    p.add_argument("--speaker-norm", nargs="?", const="speaker-norm", default=None, metavar="MODEL",
                   help="re-score the voice branch per speaker over the split with a speaker-normalised model "
                        "(default model: the shipped speaker-norm; or a file from affectagent train speech "
                        "--speaker-norm): uses the speaker's other files, so it is not the one-file protocol")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    n = p.add_argument_group("Nano-EmoX", "score the Nano-EmoX model on its dev sets (docs/nanoemox.md)")
    n.add_argument("--model", help="nanoemox: score the Nano-EmoX model instead of the agents")
    n.add_argument("--task", help="Nano-EmoX task: mer (WAR / UAR / WF1 / HIT), msa (WAF, accuracy), ov (emotion-wheel "
                                  "set F), mir (accuracy, WF1), eri / erg (BLEU, ROUGE-L, METEOR, BERTScore, corpus "
                                  "Dist-1/2, emotion accuracy), a comma list or all")
    n.add_argument("--nanoemox", metavar="DIR", help="Nano-EmoX model folder (default $AFFECTAGENT_NANOEMOX, else the "
                                                     "shipped one when it exists)")
    n.add_argument("--source", help="one dev source (mer/meld, mer/speech, mer/face, mer/paired, msa/cmumosi, "
                                    "ov/goemotions, mir/mintrec, eri/reccon, erg/reccon; default: every source of "
                                    "the task)")
    n.add_argument("--batch-size", type=int, default=4, help="examples generated together (default 4)")
    p.set_defaults(func=run)


DEFAULT_OUT = "runs/evaluate"


def run(args: argparse.Namespace) -> int:
    from ..api import AffectAgent
    from ..errors import InputError
    from ..metrics.evaluate import evaluate, write_outputs
    from ..pipeline import PipelineConfig

    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be >= 1")
    if args.model is not None:
        if args.model.strip().lower() != "nanoemox":
            raise InputError(f"evaluate --model takes nanoemox (the agents are scored without --model); got "
                             f"{args.model[:40]!r}")
        return run_nanoemox(args)
    given = [f for f, v in (("--task", args.task), ("--nanoemox", args.nanoemox), ("--source", args.source)) if v]
    if given:
        raise InputError(f"{' / '.join(given)} {'is' if len(given) == 1 else 'are'} for --model nanoemox")
    if not args.dataset:
        raise InputError("give --dataset NAME (or --model nanoemox --task TASK)")
    args.out = args.out or DEFAULT_OUT
    try:
        config = PipelineConfig.variant(args.variant)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    log = (lambda m: None) if args.json else print
    agent = AffectAgent.load(args.checkpoint, kb=args.kb, config=config, data_root=args.data_root, log=log,
                             allow_foreign_kb=args.allow_foreign_kb)
    if args.speaker_norm:
        agent = agent.with_speaker_norm(args.speaker_norm)
    try:
        speakers = None if args.speakers is None else [g.strip() for g in args.speakers.split(",") if g.strip()]
        if speakers == []:
            raise InputError("--speakers names no speaker (give a comma list such as 03,08)")
        res = evaluate(agent, dataset=args.dataset, split=args.split, data_root=args.data_root,
                       data_file=args.data_file, limit=args.limit, progress=not args.json, speakers=speakers)
    except InputError as exc:
        if "no labelled samples" not in str(exc) or args.speakers:
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
    for k in ("weighted_f1", "macro_f1", "uar", "war", "hit", "waf", "waf_accuracy", "sentiment_weighted_f1",
              "sentiment_uar"):
        if m.get(k) is not None:
            print(f"  {k:<22} {m[k]:.4f}")
    if m.get("note"):
        print(f"  note: {m['note']}")
    for k, v in files.items():
        print(f"  {k}: {v}")
    return 0


def _nanoemox_plan(args: argparse.Namespace) -> list[str]:
    """The dev sources to score, after the option checks (before anything loads)."""
    from ..errors import InputError
    from ..nanoemox.data import SOURCES
    from ..nanoemox.evaluate import task_sources
    from ..nanoemox.predictor import parse_tasks

    given = [flag for flag, on in (
        ("--dataset", args.dataset is not None), (f"--split {args.split}", args.split != "dev"),
        ("--data-file", args.data_file is not None), ("--checkpoint", args.checkpoint is not None),
        ("--kb", args.kb is not None), ("--allow-foreign-kb", args.allow_foreign_kb),
        (f"--variant {args.variant}", args.variant != "full")) if on]
    if given:
        raise InputError(f"{' / '.join(given)} {'does' if len(given) == 1 else 'do'} not go with --model nanoemox "
                         "(it is scored on its own dev sets: --task, --source, --limit)")
    if not args.task:
        raise InputError("--model nanoemox needs --task: mer, msa, ov, eri, mir, erg (a comma list) or all")
    if args.batch_size < 1:
        raise InputError("--batch-size must be >= 1")
    if args.out is not None and not args.out.lower().endswith(".jsonl"):
        raise InputError(f"--out with --model nanoemox is a .jsonl file for the predictions; got {args.out!r}")
    tasks = parse_tasks(args.task)
    if args.source is not None:
        if args.source not in SOURCES:
            raise InputError(f"unknown source {args.source!r}; sources: {', '.join(SOURCES)}")
        if args.source.split("/", 1)[0] not in tasks:
            raise InputError(f"source {args.source} is not a source of --task {args.task}")
        return [args.source]
    return [src for t in tasks for src in task_sources(t)]


def run_nanoemox(args: argparse.Namespace) -> int:
    """--model nanoemox: every source of --task scored with its task's metric (``nanoemox.evaluate``)."""
    import dataclasses

    from ..nanoemox.data import DataConfig, FeatureBank, dev_examples
    from ..nanoemox.evaluate import evaluate_task
    from ..nanoemox.model import load_nanoemox
    from ..nanoemox.predictor import resolve_checkpoint

    sources = _nanoemox_plan(args)
    path = resolve_checkpoint(args.nanoemox)
    log = (lambda m: None) if args.json else print
    data = DataConfig(data_root=args.data_root)
    if args.limit is not None:
        data = dataclasses.replace(data, dev_limit=args.limit)
    log(f"loading Nano-EmoX from {path}")
    model = load_nanoemox(path)
    bank = FeatureBank()
    out = Path(args.out) if args.out else None
    handle = None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = open(out, "w", encoding="utf-8")

    def write(batch) -> None:
        for p in batch:
            handle.write(json.dumps(p.to_record(), ensure_ascii=False) + "\n")
        handle.flush()

    scores = []
    try:
        for source in sources:
            examples = dev_examples(source, data=data)
            if args.limit is not None:
                examples = examples[: args.limit]
            score = evaluate_task(model, examples, bank=bank, progress=not args.json, batch_size=args.batch_size,
                                  on_batch=write if handle is not None else None)
            scores.append(score)
            if not args.json:
                _print_score(score)
    finally:
        if handle is not None:
            handle.close()
    if args.json:
        print(json.dumps({"model": "nanoemox", "checkpoint": str(path), "scores": [s.to_dict() for s in scores],
                          "predictions": str(out) if out else None}, indent=2, default=float))
    elif out is not None:
        print(f"predictions: {out}")
    return 0


def _print_score(score) -> None:
    def show(v) -> str:
        return "n/a" if v is None else f"{v:.4f}"

    print(f"{score.source}  n={score.n}  {score.primary} {show(score.value)}  fallback {score.fallback_rate:.0%}  "
          f"({score.seconds / max(score.n, 1):.2f} s/item)")
    for k, v in score.metrics.items():
        if k != score.primary:
            print(f"  {k:<22} {show(v)}")
    for note in score.notes:
        print(f"  note: {note}")
