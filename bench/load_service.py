"""``affectagent serve`` under load: the shipped checkpoint (or ``--checkpoint``) as a real server process on
127.0.0.1, driven by asyncio clients (``affectagent.loadtest``).

For each ``--workers`` value:
  mixed     ``--texts`` text predictions and ``--clips`` uploads of ``--clip``, all sent at once (one client each):
            ok / lost / 5xx, p50 / p95 per kind, throughput;
  queue     the same burst against ``--max-pending 4``: how many get 503 + Retry-After, none lost; then clients that
            honour Retry-After all get their prediction;
  memory    ``--memory-requests`` text predictions by 8 clients; the server's resident memory (all its processes)
            after the first 100 and at the end.
Prints a markdown table and writes ``--out`` JSON.

    python bench/load_service.py                       # workers 1, 50 texts + 10 clips, 1,000 requests for memory
    python bench/load_service.py --workers 1 2 --memory-requests 1000
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from affectagent.loadtest import (ServerProcess, clip_requests, free_port, interleave, run_load, summarise,
                                  text_requests)

DEFAULT_CLIP = "../shared/data/clips/video_retalking/face1.mp4"


def serve_cmd(port: int, *, workers: int, max_pending: int, checkpoint: str | None) -> list[str]:
    return ["-m", "affectagent", "serve", "--port", str(port), "--workers", str(workers), "--max-pending",
            str(max_pending), "--log-level", "warning"] + (["--checkpoint", checkpoint] if checkpoint else [])


def by_kind(outcomes, n_texts: int, n_clips: int) -> dict:
    """Split the outcomes of ``interleave(texts, clips)`` back into the two kinds."""
    kinds: list[str] = []
    for i in range(max(n_texts, n_clips)):
        kinds += (["text"] if i < n_texts else []) + (["clip"] if i < n_clips else [])
    return {k: [o for o, kind in zip(outcomes, kinds) if kind == k] for k in ("text", "clip")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint")
    ap.add_argument("--clip", default=DEFAULT_CLIP)
    ap.add_argument("--texts", type=int, default=50)
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--workers", type=int, nargs="+", default=[1])
    ap.add_argument("--memory-requests", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--out")
    args = ap.parse_args()
    clip = Path(args.clip)
    if not clip.is_file():
        sys.exit(f"clip not found: {clip}")
    tmp = Path(tempfile.mkdtemp(prefix="load-service-"))
    burst = interleave(text_requests(args.texts), clip_requests(clip, args.clips))
    results = []
    for workers in args.workers:
        row: dict = {"workers": workers}
        port = free_port()
        cmd = serve_cmd(port, workers=workers, max_pending=max(64, len(burst)), checkpoint=args.checkpoint)
        with ServerProcess(cmd, port=port, log=tmp / f"serve-{workers}.log", timeout=1800) as server:
            row["start_seconds"] = round(server.start_seconds, 1)
            outcomes, wall = run_load(server.base, burst, clients=len(burst), timeout=args.timeout)
            row["mixed"] = summarise(outcomes, wall_seconds=wall).to_dict()
            row["mixed_lost_detail"] = [o.error for o in outcomes if not o.ok][:5]
            row["mixed_by_kind"] = {k: summarise(v, wall_seconds=wall).to_dict()
                                    for k, v in by_kind(outcomes, args.texts, args.clips).items()}
            print(f"workers {workers}: mixed burst: {summarise(outcomes, wall_seconds=wall).row()}", flush=True)
            if args.memory_requests > 0:
                first, w1 = run_load(server.base, text_requests(100), clients=8, timeout=args.timeout)
                rss_100 = server.rss_bytes()
                rest, w2 = run_load(server.base, text_requests(max(args.memory_requests - 100, 0)), clients=8,
                                    timeout=args.timeout)
                rss_end = server.rss_bytes()
                mem = summarise(first + rest, wall_seconds=w1 + w2)
                row["memory"] = {"requests": mem.requests, "ok": mem.ok, "lost": mem.lost,
                                 "server_errors": mem.server_errors, "throughput": mem.throughput,
                                 "p50": mem.p50, "p95": mem.p95, "rss_mb_after_100": round(rss_100 / 2**20),
                                 "rss_mb_at_end": round(rss_end / 2**20)}
                print(f"workers {workers}: {mem.requests} texts by 8 clients: {mem.row()}; RSS after 100 "
                      f"{row['memory']['rss_mb_after_100']} MB, at the end {row['memory']['rss_mb_at_end']} MB",
                      flush=True)
        port = free_port()
        with ServerProcess(serve_cmd(port, workers=workers, max_pending=4, checkpoint=args.checkpoint), port=port,
                           log=tmp / f"serve-q{workers}.log", timeout=1800) as server:
            outcomes, wall = run_load(server.base, burst, clients=len(burst), timeout=args.timeout)
            q = summarise(outcomes, wall_seconds=wall)
            outcomes, wall = run_load(server.base, burst, clients=len(burst), timeout=args.timeout, retry_busy=1000,
                                      max_retry_wait=5.0)
            r = summarise(outcomes, wall_seconds=wall)
            row["queue"] = {"max_pending": 4, "ok": q.ok, "busy": q.rejected_busy,
                            "busy_with_retry_after": q.busy_with_retry_after, "lost": q.lost,
                            "server_errors": q.server_errors, "retrying_ok": r.ok, "retrying_lost": r.lost,
                            "retries": r.retries, "retrying_wall": r.wall_seconds, "retrying_statuses": r.statuses,
                            "retrying_errors": r.errors,
                            "lost_detail": [o.error for o in outcomes if not o.ok and o.status != 503][:5]}
            print(f"workers {workers}: --max-pending 4: {q.row()}; honouring Retry-After: {r.row()}", flush=True)
        results.append(row)
    print("\n| workers | burst (texts+clips) ok / lost / 5xx | text p50 / p95 s | clip p50 / p95 s | burst wall s "
          "| 1k texts req/s | RSS after 100 / end MB | max-pending 4: ok / 503 (Retry-After) / lost |")
    print("|---|---|---|---|---|---|---|---|")
    for row in results:
        m, k, mem, q = row["mixed"], row["mixed_by_kind"], row.get("memory") or {}, row["queue"]
        print(f"| {row['workers']} | {m['ok']} / {m['lost']} / {m['server_errors']} | {k['text']['p50']:.1f} / "
              f"{k['text']['p95']:.1f} | {k['clip']['p50']:.1f} / {k['clip']['p95']:.1f} | {m['wall_seconds']:.1f} "
              f"| {mem.get('throughput', float('nan')):.1f} | {mem.get('rss_mb_after_100', '-')} / "
              f"{mem.get('rss_mb_at_end', '-')} | {q['ok']} / {q['busy']} ({q['busy_with_retry_after']}) / "
              f"{q['lost']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
