"""Nano-EmoX: P2E curriculum vs the Jo-T ablation at the same step budget, one row per task on dev splits.

    # train (resumable; re-run a command to continue), then score both runs:
    affectagent train nanoemox --phase 1 --steps 150 --out runs/nx
    affectagent train nanoemox --phase 2 --steps 60  --out runs/nx
    affectagent train nanoemox --phase 3 --steps 400 --out runs/nx
    affectagent train nanoemox --joint   --steps 610 --out runs/nx
    python bench/nanoemox.py --run runs/nx [--dev-limit 40] [--sources mer/meld,ov/goemotions,...]

Scores ``<run>/phase3/model`` (P2E) and ``<run>/joint/model`` (Jo-T) on the same seeded dev items of every source in
``nanoemox.data.SOURCES`` with each task's official metric (``affectagent.nanoemox.evaluate``), and prints the train
time (sum of the logged step seconds of every phase) and the inference seconds per sample. Writes
``<run>/bench.json``. The P2E budget is the sum of the three phases' steps; the Jo-T run should use the same total.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from affectagent.nanoemox import load_nanoemox
from affectagent.nanoemox.data import SOURCES, DataConfig, FeatureBank, dev_examples
from affectagent.nanoemox.evaluate import evaluate_task

RUNS = {"P2E": ("phase1", "phase2", "phase3"), "Jo-T": ("joint",)}


def phase_budget(phase_dir: Path) -> tuple[int, float]:
    """(steps logged, sum of their wall seconds) of one phase folder's log.jsonl (the last record per step)."""
    log = phase_dir / "log.jsonl"
    if not log.is_file():
        return 0, 0.0
    per_step: dict[int, float] = {}
    for line in log.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "step" in rec and "seconds" in rec:
            per_step[int(rec["step"])] = float(rec["seconds"])
    return len(per_step), sum(per_step.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="runs/nx", help="the training folder of both runs")
    ap.add_argument("--dev-limit", type=int, default=40, help="seeded dev items per source")
    ap.add_argument("--sources", help="comma-separated sources (default: all of nanoemox.data.SOURCES)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()
    run = Path(args.run)
    sources = args.sources.split(",") if args.sources else list(SOURCES)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        sys.exit(f"unknown source(s) {unknown}; sources: {', '.join(SOURCES)}")
    if args.dev_limit < 1:
        sys.exit("--dev-limit must be >= 1")
    models = {}
    for name, phases in RUNS.items():
        model_dir = run / phases[-1] / "model"
        if not model_dir.is_dir():
            sys.exit(f"{model_dir} is missing: train it first (see this script's docstring)")
        steps, seconds = map(sum, zip(*(phase_budget(run / p) for p in phases)))
        models[name] = {"dir": str(model_dir), "steps": int(steps), "train_minutes": round(seconds / 60, 1)}
    data = DataConfig(dev_limit=args.dev_limit)
    bank = FeatureBank()
    dev = {s: dev_examples(s, data=data, seed=args.seed) for s in sources}
    results: dict[str, dict] = {}
    for name, info in models.items():
        model = load_nanoemox(info["dir"])
        results[name] = {}
        for s in sources:
            t0 = time.perf_counter()
            score = evaluate_task(model, dev[s], bank=bank, progress=not args.no_progress)
            dt = time.perf_counter() - t0
            results[name][s] = {"n": len(dev[s]), "metrics": score.metrics, "primary": score.primary,
                                "fallback_rate": score.fallback_rate, "seconds_per_sample": round(dt / len(dev[s]), 3)}
            print(f"{name} {s}: {score.primary} {score.metrics.get(score.primary)} "
                  f"({len(dev[s])} items, {dt / len(dev[s]):.2f} s/sample)", flush=True)
        del model
    out = {"run": str(run), "dev_limit": args.dev_limit, "seed": args.seed, "models": models, "results": results,
           "command": "python " + " ".join(sys.argv)}
    (run / "bench.json").write_text(json.dumps(out, indent=2, default=float))
    print(f"\nP2E: {models['P2E']['steps']} steps, {models['P2E']['train_minutes']} min; Jo-T: "
          f"{models['Jo-T']['steps']} steps, {models['Jo-T']['train_minutes']} min (logged step time)")
    print("| task / source | n | metric | P2E | Jo-T | P2E fallback | Jo-T fallback | s/sample (P2E) |")
    print("|---|---|---|---|---|---|---|---|")
    for s in sources:
        a, b = results["P2E"][s], results["Jo-T"][s]
        m = a["primary"]
        print(f"| {s} | {a['n']} | {m} | {a['metrics'].get(m, float('nan')):.4f} | "
              f"{b['metrics'].get(m, float('nan')):.4f} | {a['fallback_rate']:.2f} | {b['fallback_rate']:.2f} | "
              f"{a['seconds_per_sample']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
