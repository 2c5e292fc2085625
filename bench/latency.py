"""Latency of one prediction.

Warm, per stage (default): a 5 s clip (decode + encoders, uncached) and text-only input, then the agents
(plan → retrieve → filter → RAAF/MB-MoE → generate) alone, averaged over repeats.

    python bench/latency.py [--clip PATH] [--repeats 20] [--checkpoint PATH]

Cold (``--cold N``): N fresh processes of the CLI, ``affectagent predict --text TEXT`` and ``affectagent predict
CLIP``, each with an empty feature cache (``$AFFECTAGENT_FEATURE_CACHE`` -> a new temporary folder; the evidence KB
under ``$AFFECTAGENT_CACHE/kbs`` and the converted ASR model stay, as after installation), reporting median wall
seconds, CPU seconds (user + system: less sensitive than wall time to other jobs on the cores) and peak RSS of each
child (``os.wait4``). Then one more fresh process per input times its stages from the inside (``time.perf_counter``):
imports, agents checkpoint, KB open, encoder loads, encode, agents, and a second prediction of the same input in the
same process (warm). Prints markdown tables.

    python bench/latency.py --cold 5 [--text "I can't believe you did that!"] [--clip PATH] [--checkpoint PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_TEXT = "I can't believe you did that!"
TARGETS = {"text": (3.0, 400.0), "clip": (6.0, None)}  # (cold wall seconds, peak RSS MB) of issue #17 item 5


def default_clip() -> str:
    from affectagent.paths import data_root

    return str(data_root() / "clips" / "video_retalking" / "face2.mp4")


# ------------------------------------------------------------------------------------------------ warm, per stage
def agents_ms(agent, inputs, repeats: int) -> dict[str, float]:
    import torch

    from affectagent.agents.planner import plan_action

    pipe = agent.pipeline
    times: dict[str, list[float]] = {"observe+state+plan": [], "retrieve": [], "filter+fuse+generate": [], "total": []}
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            obs = pipe.observe(inputs)
            h = pipe.actor.state(obs)
            plan = plan_action(pipe.actor.plan_logits(h, obs.cand, obs.branch, obs.fseq_mask.any(1)), sample=False)
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


def warm_stages(args: argparse.Namespace) -> None:
    from affectagent.api import AffectAgent
    from affectagent.encoders import FeatureCache
    from affectagent.encoders.inputs import encode_inputs
    from affectagent.schema import Sample

    agent = AffectAgent.load(args.checkpoint)
    agent.cache = FeatureCache(enabled=False)
    clip = Sample(id="clip", video=args.clip or default_clip())
    text = Sample(id="text", text=args.text)
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


# --------------------------------------------------------------------------------- cold: fresh CLI processes
def cli_command(kind: str, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "affectagent", "predict"]
    cmd += ["--text", args.text] if kind == "text" else [args.clip]
    return cmd + (["--checkpoint", args.checkpoint] if args.checkpoint else [])


LAUNCH_ENV = "AFFECTAGENT_BENCH_LAUNCHED_AT"  # wall-clock time the parent started the child (start-up timing)


def spawn_child(cmd: list[str]) -> dict:
    """One fresh process with an empty feature cache, reaped with ``os.wait4`` so the rusage is its own: wall s,
    CPU s (user + sys), peak RSS MB, stdout."""
    fresh = tempfile.mkdtemp(prefix="affectagent-bench-features-")
    env = {**os.environ, "AFFECTAGENT_FEATURE_CACHE": fresh}
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            env[LAUNCH_ENV] = repr(time.time())
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024, "out": stdout}


def cold_rows(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    rows: dict[str, list[dict[str, float]]] = {"text": [], "clip": []}
    for _ in range(args.cold):
        for kind in rows:  # interleaved, so load changes on the machine hit both inputs alike
            rows[kind].append(spawn_child(cli_command(kind, args)))
    return rows


# ------------------------------------------------------------------------- cold: stages inside one process
class Stopwatch:
    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + seconds

    def wrap(self, name: str, fn):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.add(name, time.perf_counter() - t0)
        return timed


def stages_child(kind: str, args: argparse.Namespace) -> None:
    """Runs in a fresh process: one prediction timed by stage, then a second one (warm). Prints one JSON line."""
    sw = Stopwatch()
    t0 = time.perf_counter()
    if os.environ.get(LAUNCH_ENV):
        sw.add("interpreter start-up (launch → this script)", time.time() - float(os.environ[LAUNCH_ENV]))
    from affectagent.cli import prefer_passive_openmp  # what the CLI does first (before torch loads)

    prefer_passive_openmp()
    from dataclasses import replace

    from affectagent import api
    from affectagent.encoders import FeatureCache, factory
    from affectagent.encoders.inputs import encode_inputs
    from affectagent.schema import Sample
    from affectagent.train.sft import run_inference
    sw.add("imports (torch, affectagent)", time.perf_counter() - t0)

    ckpt_load = api.AgentCheckpoint.load
    api.AgentCheckpoint.load = staticmethod(sw.wrap("agents checkpoint load + validate", ckpt_load))
    kb_open = api.KnowledgeBase.open.__func__
    api.KnowledgeBase.open = classmethod(lambda cls, *a, **kw: sw.wrap("KB open (SQLite + vector index)", kb_open)(
        cls, *a, **kw))
    t = time.perf_counter()
    agent = api.AffectAgent.load(args.checkpoint, cache=FeatureCache(enabled=False), log=lambda m: None)
    sw.add("AffectAgent.load, rest", time.perf_counter() - t - sw.stages.get("agents checkpoint load + validate", 0)
           - sw.stages.get("KB open (SQLite + vector index)", 0))

    ex = agent.encoding.extract
    loads = [("text encoder load", lambda: factory.get_text_encoder(ex.text_encoder))]
    if kind == "clip":
        loads += [("audio encoder load", lambda: factory.get_audio_encoder(ex.audio_encoder)),
                  ("ASR model load", lambda: factory.get_asr(ex.asr)),
                  ("face encoder load", lambda: factory.get_face_encoder(ex.face_encoder)),
                  ("visual encoder load", lambda: factory.get_visual_encoder(ex.visual_encoder))]
    for name, build in loads:
        t = time.perf_counter()
        try:
            build()
        except Exception as exc:  # noqa: BLE001 - an optional encoder that is not installed: noted, not fatal
            name += f" (failed: {type(exc).__name__})"
        sw.add(name, time.perf_counter() - t)

    sample = Sample(id=kind, text=args.text) if kind == "text" else Sample(id=Path(args.clip).name, video=args.clip)
    labels = agent.default_labels
    enc = replace(agent.encoding, extract=replace(agent.encoding.extract, transcribe=True))

    def predict(prefix: str) -> dict:
        t = time.perf_counter()
        inputs = encode_inputs([sample], label_sets=[labels], config=enc, cache=agent.cache)
        sw.add(f"{prefix}encode", time.perf_counter() - t)
        t = time.perf_counter()
        [pred] = run_inference(agent.pipeline, inputs, with_trace=False)
        sw.add(f"{prefix}agents", time.perf_counter() - t)
        return {"label": pred.label, "timings": inputs[0].features.info.get("timings", {})}

    first = predict("")
    cold_total = time.perf_counter() - t0
    t = time.perf_counter()
    second = predict("warm: ")
    warm_total = time.perf_counter() - t
    import resource

    cold_total += sw.stages.get("interpreter start-up (launch → this script)", 0.0)
    print(json.dumps({"kind": kind, "stages": sw.stages, "cold_total": cold_total, "warm_total": warm_total,
                      "encode_timings": first["timings"], "warm_encode_timings": second["timings"],
                      "label": first["label"], "same_label": first["label"] == second["label"],
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
    from affectagent.cli import freeze_for_exit

    freeze_for_exit()  # as the CLI does before the process ends


def breakdown(kind: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--stages-child", kind, "--text", args.text, "--clip", args.clip]
    cmd += ["--checkpoint", args.checkpoint] if args.checkpoint else []
    res = spawn_child(cmd)
    data = json.loads(res["out"].strip().splitlines()[-1])
    data["child_wall"], data["child_cpu"] = res["wall"], res["cpu"]
    return data


# ------------------------------------------------------------------------------------------------------ report
def _fmt(x: float | None, unit: str = "s", nd: int = 2) -> str:
    return "–" if x is None else f"{x:.{nd}f} {unit}"


def cold_report(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    print(f"# Cold start, {os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at start"
          + ("; PYTHONDONTWRITEBYTECODE=1 (affectagent's own modules are compiled in every process)"
             if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""))
    print(f"text: {args.text!r}; clip: {args.clip}\n")
    rows = cold_rows(args)
    print(f"## `affectagent predict`, fresh process, empty feature cache ({args.cold} runs each, median)\n")
    print("| input | wall (median) | wall min – max | CPU user+sys (median) | peak RSS (median) | target |")
    print("|---|---|---|---|---|---|")
    for kind, runs in rows.items():
        walls = [r["wall"] for r in runs]
        target_s, target_mb = TARGETS[kind]
        target = f"≤ {target_s:g} s" + (f", ≤ {target_mb:g} MB" if target_mb else "")
        name = "text (`--text`)" if kind == "text" else f"5 s clip ({Path(args.clip).name})"
        print(f"| {name} | **{statistics.median(walls):.2f} s** | {min(walls):.2f} – {max(walls):.2f} s | "
              f"{statistics.median(r['cpu'] for r in runs):.2f} s | "
              f"**{statistics.median(r['rss_mb'] for r in runs):.0f} MB** | {target} |")
    print("\n## Where the time goes: one fresh process per input, timed inside (then a second, warm prediction)\n")
    parts = {kind: breakdown(kind, args) for kind in ("text", "clip")}
    names: list[str] = []
    for k in ("clip", "text"):  # the clip's stages are a superset, in order
        names += [n for n in parts[k]["stages"] if n not in names and not n.startswith("warm: ")]
    print("| stage | text | 5 s clip |")
    print("|---|---|---|")
    for n in names:
        print(f"| {n} | " + " | ".join(_fmt(parts[k]["stages"].get(n)) for k in ("text", "clip")) + " |")
        if n == "encode":
            subs = sorted({s for k in parts for s in parts[k]["encode_timings"]})
            for s in subs:
                print(f"| &nbsp;&nbsp;encode: {s} | "
                      + " | ".join(_fmt(parts[k]["encode_timings"].get(s)) for k in ("text", "clip")) + " |")
    print("| **first prediction, process start → answer** | "
          + " | ".join(f"**{_fmt(parts[k]['cold_total'])}**" for k in ("text", "clip")) + " |")
    for n in ("warm: encode", "warm: agents"):
        print(f"| {n} | " + " | ".join(_fmt(parts[k]["stages"].get(n), nd=3) for k in ("text", "clip")) + " |")
    print("| **warm: second prediction in the same process** | "
          + " | ".join(f"**{_fmt(parts[k]['warm_total'], nd=3)}**" for k in ("text", "clip")) + " |")
    print("| interpreter exit (child wall − the above) | "
          + " | ".join(_fmt(parts[k]["child_wall"] - parts[k]["cold_total"] - parts[k]["warm_total"])
                       for k in ("text", "clip")) + " |")
    print("| peak RSS of the process | " + " | ".join(f"{parts[k]['rss_mb']:.0f} MB" for k in ("text", "clip")) + " |")
    print("| CPU user+sys of the process | " + " | ".join(_fmt(parts[k]["child_cpu"]) for k in ("text", "clip"))
          + " |")
    bad = [k for k, p in parts.items() if not p["same_label"]]
    if bad:
        print(f"\nwarning: the warm prediction's label differs from the first for {bad}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", default=None, help="the clip (default: the shared face2.mp4, 5 s)")
    ap.add_argument("--text", default=DEFAULT_TEXT)
    ap.add_argument("--repeats", type=int, default=20, help="warm mode: repeats of the agents timing")
    ap.add_argument("--checkpoint")
    ap.add_argument("--cold", type=int, default=0, metavar="N", help="cold mode: N fresh CLI processes per input")
    ap.add_argument("--stages-child", choices=("text", "clip"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stages_child:
        stages_child(args.stages_child, args)
        return
    args.clip = args.clip or default_clip()
    if args.cold:
        cold_report(args)
    else:
        warm_stages(args)


if __name__ == "__main__":
    main()
