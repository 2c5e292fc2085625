"""Ablation on MELD dev (one process, same checkpoint, same KB): No-RAG, naive RAG, full pipeline and the paper's
Table-5 switches. Prints WF1 / macro-F1 / UAR / WAR / HIT per variant and, when No-RAG is among the variants, the
share of answers each variant's retrieval changes against No-RAG ("changed") and the share of those changes that
fixed a wrong No-RAG answer ("fixed") — whether evidence adds information (issue #16 item 5).

    python bench/ablation.py [--checkpoint PATH] [--dataset meld --split dev] [--variants full,no_rag,naive_rag]
"""
from __future__ import annotations

import argparse
import json
import time

from affectagent.api import AffectAgent
from affectagent.metrics.evaluate import evaluate
from affectagent.pipeline import PipelineConfig

DEFAULT_VARIANTS = "no_rag,naive_rag,no_planner,no_filter,no_confusion,no_counter,full"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint")
    ap.add_argument("--dataset", default="meld")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()
    base = AffectAgent.load(args.checkpoint)
    rows = []
    labels: dict[str, list[str]] = {}
    gold: list[str] = []
    names = args.variants.split(",")
    if "no_rag" in names:  # first, so every other row can be compared with it
        names = ["no_rag"] + [n for n in names if n != "no_rag"]
    print(f"{'variant':<14}{'n':>6}{'WF1':>8}{'macroF1':>9}{'UAR':>8}{'WAR':>8}{'HIT':>8}{'s':>7}{'changed':>9}{'fixed':>7}")
    for name in names:
        agent = base.with_config(PipelineConfig.variant(name))
        t = time.time()
        res = evaluate(agent, dataset=args.dataset, split=args.split, limit=args.limit, progress=False)
        m = res.metrics
        row = {"variant": name, "n": m["n"], "weighted_f1": m["weighted_f1"], "macro_f1": m["macro_f1"],
               "uar": m["uar"], "war": m["war"], "hit": m["hit"], "seconds": round(time.time() - t, 1)}
        labels[name] = [p.label for p in res.predictions]
        gold = [s.label for s in res.samples]
        changed = fixed = ""
        if "no_rag" in labels and name != "no_rag":
            diff = [i for i, (a, b) in enumerate(zip(labels[name], labels["no_rag"])) if a != b]
            row["changed"] = round(len(diff) / max(len(gold), 1), 4)
            row["fixed_share"] = round(sum(labels[name][i] == gold[i] for i in diff) / len(diff), 4) if diff else None
            changed = f"{row['changed']:>9.1%}"
            fixed = f"{row['fixed_share']:>7.1%}" if diff else f"{'-':>7}"
        rows.append(row)
        print(f"{name:<14}{row['n']:>6}{row['weighted_f1']:>8.4f}{row['macro_f1']:>9.4f}{row['uar']:>8.4f}"
              f"{row['war']:>8.4f}{row['hit']:>8.4f}{row['seconds']:>7}{changed}{fixed}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
