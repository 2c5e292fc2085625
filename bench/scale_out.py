"""Batch prediction, local engine vs Ray engine (docs/scale-out.md).

Each run is a fresh process of ``affectagent predict FOLDER --out ... --fresh`` with an empty feature cache
(``$AFFECTAGENT_FEATURE_CACHE`` -> a new temporary folder; the evidence KB and the converted ASR model stay, as after
installation), so every clip is decoded and encoded. For each engine it times the whole folder and a single clip
(start-up: process, Ray cluster, model loads + one clip) and prints a markdown table: wall seconds, inputs per
minute over the whole run, and the marginal throughput (inputs after the first, per minute of the time beyond the
one-clip run). Also times ``ray.init`` + ``ray.shutdown`` of a local cluster alone.

    python bench/scale_out.py [--folder ../shared/data/clips] [--checkpoint PATH] [--engines local ray:2 ray:1x2]
    python bench/scale_out.py --copies 3        # a longer batch: every media file three times, each copy distinct

An engine spec is ``local``, ``ray:N`` (N actors x 1 CPU) or ``ray:NxC`` (N actors x C CPUs). ``--copies K`` makes
K byte-distinct copies of every media file in a temporary folder (an MP4 gets an ISO-BMFF ``free`` box appended, any
other file trailing bytes: decoders ignore both, the feature cache sees new content), so a batch is K times longer
without any input being read from the cache.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def engine_flags(spec: str) -> list[str]:
    if spec == "local":
        return ["--engine", "local"]
    _, _, shape = spec.partition(":")
    n, _, c = shape.partition("x")
    return ["--engine", "ray", "--concurrency", n or "2", "--num-cpus-per-actor", c or "1"]


def run(paths: list[str], spec: str, *, checkpoint: str | None, tmp: Path) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="feat-", dir=tmp))
    out = tmp / f"{spec.replace(':', '_')}-{len(paths)}.jsonl"
    cmd = [sys.executable, "-m", "affectagent", "predict", *paths, "--out", str(out), "--fresh", "--no-progress",
           "--json", *engine_flags(spec)] + (["--checkpoint", checkpoint] if checkpoint else [])
    env = {**os.environ, "AFFECTAGENT_FEATURE_CACHE": str(cache)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout)
    return {"wall": wall, "ok": summary["ok"], "failed": summary["failed"], "rows": out}


def distinct_copies(folder: Path, copies: int, out: Path) -> Path:
    """``out`` holding ``copies`` byte-distinct copies of every media file of ``folder`` (see the module docstring)."""
    from affectagent.batch import discover

    for item in discover([folder]).items:
        for k in range(copies):
            dst = out / f"copy{k}" / item.id
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.media, dst)
            payload = f"affectagent bench copy {k}".encode()
            with open(dst, "ab") as f:
                f.write(struct.pack(">I", 8 + len(payload)) + b"free" + payload
                        if dst.suffix.lower() in (".mp4", ".m4v", ".mov") else payload)
    return out


def ray_init_seconds() -> float:
    code = ("import time, ray; t = time.perf_counter(); ray.init(num_cpus=2, include_dashboard=False, "
            "log_to_driver=False); ray.shutdown(); print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                 .stdout.strip().splitlines()[-1])


def main() -> None:
    from affectagent.batch import discover, read_rows
    from affectagent.paths import data_root

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folder", default=str(data_root() / "clips"))
    ap.add_argument("--checkpoint", help="agents checkpoint (default: the shipped one)")
    ap.add_argument("--engines", nargs="+", default=["local", "ray:2", "ray:1x2"])
    ap.add_argument("--copies", type=int, default=1, help="byte-distinct copies of every media file (default: 1)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scale-out-"))
    folder = str(distinct_copies(Path(args.folder), args.copies, work / "inputs")) if args.copies > 1 else args.folder
    n = len(discover([folder]).items)
    first = discover([args.folder]).items[0].path
    print(f"{n} inputs in {args.folder}{f' ({args.copies} distinct copies of each)' if args.copies > 1 else ''}; "
          f"{os.cpu_count()} CPUs; ray.init + shutdown alone: {ray_init_seconds():.1f} s\n")
    print(f"1 input: {Path(first).relative_to(args.folder)}\n")
    print("| engine | workers | 1 input, wall s | all inputs, wall s | inputs/min (all) | "
          "inputs/min (beyond the first) | labels = local |")
    print("|---|---|---:|---:|---:|---:|---:|")
    reference = None
    try:
        for spec in args.engines:
            one = run([first], spec, checkpoint=args.checkpoint, tmp=work)
            full = run([folder], spec, checkpoint=args.checkpoint, tmp=work)
            labels = {r.id: r.label for r in read_rows(full["rows"])}
            reference = reference or labels
            same = sum(labels.get(k) == v for k, v in reference.items())
            beyond = full["wall"] - one["wall"]
            flags = engine_flags(spec)
            workers = "1 process" if spec == "local" else f"{flags[3]} actors x {flags[5]} CPU"
            marginal = f"{60 * (n - 1) / beyond:.1f}" if beyond > 0 else "n/a"
            print(f"| {flags[1]} | {workers} | {one['wall']:.1f} | {full['wall']:.1f} | {60 * n / full['wall']:.1f} "
                  f"| {marginal} | {same}/{len(reference)} |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
