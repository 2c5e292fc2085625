"""RAER benchmark (raer-sab.txt Table 9 / Table 1 analogues): w/o RAER vs RAER per backbone, per-class recall, UAR,
WAR, samples added per epoch, seconds per sample and LLM calls. Each row is one ``affectagent raer run`` (resumable;
the outputs stay in --out), so re-running the benchmark only computes what is missing.

    python bench/raer.py --runs neural-meld-honest,neural-meld-paper            # neural agents, full MELD dev
    python bench/raer.py --runs llm-meld-honest --model smollm2-135m --limit 100  # an LLM backbone, seeded sample
    python bench/raer.py --runs neural-emodb-honest                             # EmoDB (see the in-sample note)

Run names: <backbone>-<dataset>-<protocol>, backbone neural | llm, protocol honest | paper.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from affectagent.api import AffectAgent
from affectagent.raer.config import GrowthConfig, RAERConfig
from affectagent.raer.runner import run_raer

SPLITS = {"meld": "dev", "emorynlp": "dev", "emodb": "all", "ravdess": "all"}


def parse_run(name: str) -> tuple[str, str, str]:
    backbone, dataset, protocol = name.split("-")
    if backbone not in ("neural", "llm") or dataset not in SPLITS or protocol not in ("honest", "paper"):
        raise SystemExit(f"bad run name {name!r}: <neural|llm>-<{'|'.join(SPLITS)}>-<honest|paper>")
    return backbone, dataset, protocol


def fmt(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="neural-meld-honest,neural-meld-paper")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--limit", type=int, help="score a seeded sample of N utterances (LLM backbones)")
    ap.add_argument("--pool-limit", type=int, help="at most N pool samples (LLM backbones)")
    ap.add_argument("--model", default="smollm2-135m", help="LLM backbone for llm-* runs")
    ap.add_argument("--epsilon", type=float, help="growth gate (default: RAERConfig's)")
    ap.add_argument("--out", default="runs/raer/bench")
    ap.add_argument("--json", help="also write the summary rows to this file")
    args = ap.parse_args()
    agent = AffectAgent.load()
    summary = []
    for name in args.runs.split(","):
        backbone, dataset, protocol = parse_run(name)
        raer = RAERConfig() if args.epsilon is None else RAERConfig(epsilon=args.epsilon)
        growth = GrowthConfig(dataset=dataset, split=SPLITS[dataset], epochs=args.epochs, protocol=protocol,
                              limit=args.limit, pool_limit=args.pool_limit, raer=raer)
        llm = {"model": args.model} if backbone == "llm" else None
        res = run_raer(agent, growth, out=Path(args.out) / name, backbone=backbone, llm=llm)
        base, first, last = res.baseline, res.rows[0], res.rows[-1]
        print(f"\n## {name} (n={first['n']}; {'model ' + args.model if llm else 'shipped checkpoint'})")
        labels = list(first["per_class_recall"])
        print("| | " + " | ".join(labels) + " | UAR | WAR | WF1 |")
        print("|---" * (len(labels) + 4) + "|")
        for title, row in (("w/o RAER", base), ("RAER epoch 0 (untouched KB)", first),
                           (f"RAER epoch {last['epoch']}", last)):
            print(f"| {title} | " + " | ".join(fmt(row["per_class_recall"].get(lab)) for lab in labels)
                  + f" | {fmt(row['uar'])} | {fmt(row['war'])} | {fmt(row['weighted_f1'])} |")
        print("added per epoch: " + ", ".join(f"{r['epoch']}: {r['added']}" for r in res.rows)
              + f"; KB {res.rows[0]['kb_size_before']} -> {last['kb_size_after']}")
        print("seconds per scored sample: " + ", ".join(str(r["seconds_per_scored_sample"]) for r in res.rows)
              + f"; LLM calls per epoch: {[r['llm_calls'] for r in res.rows]}")
        summary.append({"run": name, "baseline": base, "epochs": res.rows})
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
