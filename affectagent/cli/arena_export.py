"""``affectagent arena export RUN_DIR --out pairs.jsonl``: Compound Emotion QA preference pairs from a stored arena run
(SAB §5.4; rule in ``arena.export``), with a Table-5-style count by data type and judge.

    affectagent arena export runs/arena/X --out runs/arena/X/pairs.jsonl [--votes runs/arena/X/votes.sqlite]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .config_args import ConfigArgs


def _spec() -> ConfigArgs:
    from ..arena.export import ExportConfig

    return ConfigArgs(ExportConfig)


def add_export_parser(asub: argparse._SubParsersAction) -> None:
    e = asub.add_parser("export", help="preference pairs (chosen / rejected) from a stored run, for DPO",
                        description="Compound Emotion QA (SAB §5.4): for every question of every round, the "
                                    "highest-ranked answer is chosen and a median-ranked lower-scored one rejected "
                                    "(ranked by match score, then Elo after the round; declined answers never "
                                    "enter). Writes one JSON line per pair (prompt, chosen, rejected, system + "
                                    "metadata) and prints the count by data type and judge (Table 5). See "
                                    "docs/arena.md.")
    e.add_argument("path", metavar="RUN_DIR", help="an arena run folder (affectagent arena run --out)")
    e.add_argument("--out", required=True, metavar="JSONL", help="the pairs file to write")
    e.add_argument("--votes", metavar="FILE", help="a vote store (votes.sqlite of the /arena page): matches with "
                                                   "human votes are judged by the humans")
    e.add_argument("--stimuli", metavar="DIR", help="the stimulus store (default: RUN_DIR/stimuli, else the store "
                                                    "the run was played from)")
    _spec().add_to(e)
    e.add_argument("--json", action="store_true", help="print the counts as JSON")
    e.set_defaults(func=run_export)


def _cue_prompt(run_dir: Path, stimuli: str | None):
    """The LLM contestants' prompt writer (task + the encoders' cue block for media), on the run's settings."""
    from dataclasses import fields

    from ..arena.contestants import ContestantConfig, ContestantPool
    from ..arena.export import run_stimuli
    from ..arena.runner import load_run

    run, _ = load_run(run_dir)
    saved = ((run.get("identity") or {}).get("settings") or {}).get("contestants") or {}
    names = {f.name for f in fields(ContestantConfig)}
    pool = ContestantPool(ContestantConfig(**{k: v for k, v in saved.items() if k in names}))
    _, root = run_stimuli(run_dir, run, store=stimuli)
    return lambda task, stim: pool.task_prompt(task, stim, root=root)[0]


def run_export(args: argparse.Namespace) -> int:
    from ..arena.export import export_run, summary
    from ..train.dpo_pairs import write_pairs

    config = _spec().build(args)
    run_dir = Path(args.path)
    prompt = _cue_prompt(run_dir, args.stimuli) if config.media_prompt == "cues" else None
    result = export_run(run_dir, votes=args.votes, stimuli=args.stimuli, config=config, prompt=prompt)
    write_pairs(result.pairs, args.out)
    if args.json:
        print(json.dumps({**summary(result), "out": str(args.out)}, indent=2))
    else:
        print("\n".join(result.lines()))
        print(f"pairs: {args.out}")
    return 0


__all__ = ["add_export_parser", "run_export"]
