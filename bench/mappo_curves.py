"""Dev curves of MAPPO runs from their JSON-lines logs (what ``affectagent train mappo`` writes to OUT/log.jsonl).

    python bench/mappo_curves.py runs/mappo_a runs/mappo_b ... [--plot docs/mappo_dev_curves.png]

Prints, per run: the command (from its checkpoint), steps done, dev weighted-F1 / HIT at step 0 (the SFT checkpoint),
at the last step and at the best evaluation, and the mean train reward / KL of the last 10 steps.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def read(run: Path) -> list[dict]:
    path = run / "log.jsonl"
    if not path.is_file():
        raise SystemExit(f"no log at {path}")
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def command_of(run: Path) -> str:
    try:
        from affectagent.agents.checkpoint import AgentCheckpoint

        return AgentCheckpoint.load(run / "agents.pt").provenance.get("command", "?")
    except Exception as exc:  # a run without a checkpoint yet
        return f"? ({exc.__class__.__name__})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--plot", type=Path)
    args = ap.parse_args()
    print("| run | steps | dev WF1 / HIT at step 0 (SFT) | last | best WF1 (step) | train R, KL (last 10) |")
    print("|---|---|---|---|---|---|")
    curves = {}
    for run in args.runs:
        rows = read(run)
        dev = [r for r in rows if r["kind"] == "dev"]
        tr = [r for r in rows if r["kind"] == "train"]
        if not dev:
            print(f"| {run.name} | {len(tr)} | (no dev rows) | | | |")
            continue
        first, last = dev[0], dev[-1]
        best = max(dev, key=lambda r: r["dev_weighted_f1"])
        tail = tr[-10:]
        rr = sum(r["task_reward"] for r in tail) / max(len(tail), 1)
        kl = sum(r["kl_ref"] for r in tail) / max(len(tail), 1)
        print(f"| {run.name} | {last['step']} | {first['dev_weighted_f1']:.4f} / {first['dev_hit']:.4f} | "
              f"{last['dev_weighted_f1']:.4f} / {last['dev_hit']:.4f} | {best['dev_weighted_f1']:.4f} ({best['step']}) | "
              f"{rr:.3f}, {kl:.3f} |")
        curves[run.name] = dev
    for run in args.runs:
        print(f"- {run.name}: `{command_of(run)}`")
    if args.plot and curves:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        for name, dev in curves.items():
            steps = [r["step"] for r in dev]
            axes[0].plot(steps, [r["dev_weighted_f1"] for r in dev], marker="o", ms=3, label=name)
            axes[1].plot(steps, [r["dev_hit"] for r in dev], marker="o", ms=3, label=name)
        axes[0].set_title("MELD dev weighted-F1")
        axes[1].set_title("MELD dev HIT")
        for ax in axes:
            ax.set_xlabel("MAPPO step")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
