"""Per-stage latency of one prediction: a 5 s clip (decode + encoders, uncached) and text-only input, then the agents
(plan → retrieve → filter → RAAF/MB-MoE → generate) alone, averaged over repeats.

    python bench/latency.py [--clip PATH] [--repeats 20] [--checkpoint PATH]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from affectagent.api import AffectAgent
from affectagent.encoders import FeatureCache
from affectagent.encoders.inputs import encode_inputs
from affectagent.paths import data_root
from affectagent.schema import Sample


def agents_ms(agent: AffectAgent, inputs, repeats: int) -> dict[str, float]:
    pipe = agent.pipeline
    times: dict[str, list[float]] = {"observe+state+plan": [], "retrieve": [], "filter+fuse+generate": [], "total": []}
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            obs = pipe.observe(inputs)
            h = pipe.actor.state(obs)
            from affectagent.agents.planner import plan_action

            plan = plan_action(pipe.actor.plan_logits(h, obs.cand), sample=False)
            plans = pipe.plans_from(plan, len(inputs))
            t1 = time.perf_counter()
            ev = pipe.retrieve_cognitive(inputs, plans)
            perc = pipe.retrieve_perceptual(inputs)
            t2 = time.perf_counter()
            pipe.run(inputs, plans_override=plans, evidence_override=ev, perceptual_override=perc)
            t3 = time.perf_counter()
            times["observe+state+plan"].append((t1 - t0) * 1e3)
            times["retrieve"].append((t2 - t1) * 1e3)
            times["filter+fuse+generate"].append((t3 - t2) * 1e3)  # includes a second state pass inside run()
            times["total"].append((t3 - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", default=str(data_root() / "clips" / "video_retalking" / "face2.mp4"))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--checkpoint")
    args = ap.parse_args()
    agent = AffectAgent.load(args.checkpoint)
    agent.cache = FeatureCache(enabled=False)
    clip = Sample(id="clip", video=args.clip)
    text = Sample(id="text", text="I can't believe you just said that to me!")
    for name, sample in (("5 s clip", clip), ("text only", text)):
        t = time.perf_counter()
        inputs = encode_inputs([sample], label_sets=[agent.default_labels], config=agent.encoding, cache=agent.cache)
        enc_s = time.perf_counter() - t
        ms = agents_ms(agent, inputs, args.repeats)
        stages = inputs[0].features.info.get("timings", {})
        print(f"== {name}: encode {enc_s:.3f} s (uncached)" + (f"; stages {stages}" if stages else ""))
        for k, v in ms.items():
            print(f"   agents {k:<22} {v:8.2f} ms (median of {args.repeats})")
        print(f"   whole prediction ≈ {enc_s + ms['total'] / 1e3:.3f} s")


if __name__ == "__main__":
    main()
