"""A served LLM under load: the project's own ``affectagent llm-serve`` on 127.0.0.1 (or any OpenAI-compatible
endpoint with ``--base-url``), then the LLM agents through it with concurrency.

Part 1 (raw endpoint): ``--clients`` concurrent clients x ``--requests`` chat completions each (MELD dev utterances
in an emotion prompt, ``--max-tokens`` tokens, temperature 0); prints throughput, p50 / p95 latency, timeouts,
retries and lost answers (no answer, or a 200 without a non-empty completion), plus the server's resident memory.
Part 2 (agents): ``affectagent predict MANIFEST --agents openai --variant no_rag`` over ``--agent-utterances`` MELD
dev texts with the local engine and with ``--engine threads --threads N``; wall time and whether the rows agree.

    python bench/load_llm.py                                   # starts llm-serve --model smollm2-135m
    python bench/load_llm.py --clients 16 --requests 20 --max-tokens 8 --agent-utterances 24 --threads 4
    python bench/load_llm.py --base-url http://gpu-box:8000/v1 --model Qwen/Qwen2.5-7B-Instruct   # a vLLM server

Writes ``--out`` (JSON) when given. The tests run a bounded version (tests/loadtest/test_llm_serve_load.py).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from affectagent import datasets
from affectagent.loadtest import LoadRequest, ServerProcess, free_port, run_load, summarise

PROMPT = ("Which emotion does the speaker feel? Answer with one word from: anger, disgust, fear, joy, neutral, "
          "sadness, surprise.\nUtterance: {text}")


def completion_check(resp) -> str | None:
    """None when the answer is a chat completion with a non-empty message."""
    try:
        text = resp.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return "malformed: not a chat completion"
    return None if isinstance(text, str) and text.strip() else "empty: the completion has no text"


def chat_requests(texts: list[str], n: int, *, model: str | None, max_tokens: int, api_key: str | None) -> list:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    out = []
    for i in range(n):
        body = {"messages": [{"role": "user", "content": PROMPT.format(text=texts[i % len(texts)])}],
                "max_tokens": max_tokens, "temperature": 0.0, "seed": 0}
        if model:
            body["model"] = model
        out.append(LoadRequest("POST", "/chat/completions", json=body, headers=headers, check=completion_check))
    return out


def agents_run(base_url: str, manifest: Path, *, model: str | None, engine: list[str], tmp: Path,
               timeout: float) -> dict:
    out = tmp / f"rows-{'-'.join(engine)}.jsonl"
    cmd = [sys.executable, "-m", "affectagent", "predict", str(manifest), "--agents", "openai", "--base-url",
           base_url, "--variant", "no_rag", "--out", str(out), "--fresh", "--no-progress", "--json",
           "--llm-timeout", str(timeout), *engine] + (["--model", model] if model else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {"wall": wall, "rows": {r["id"]: r.get("label") for r in rows},
            "errors": sum(1 for r in rows if r.get("error"))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", help="an OpenAI-compatible endpoint (default: start affectagent llm-serve here)")
    ap.add_argument("--model", default="smollm2-135m", help="model to serve (or the served id with --base-url)")
    ap.add_argument("--api-key", help="bearer token of --base-url")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=20, help="requests per client")
    ap.add_argument("--max-tokens", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=600.0, help="client timeout per request, seconds")
    ap.add_argument("--num-threads", type=int, default=2, help="llm-serve's torch threads")
    ap.add_argument("--agent-utterances", type=int, default=24, help="MELD dev texts for part 2 (0: skip it)")
    ap.add_argument("--threads", type=int, default=4, help="part 2: --engine threads --threads N")
    ap.add_argument("--out", help="write the numbers as JSON here")
    args = ap.parse_args()
    texts = [s.text for s in datasets.load("meld", "dev", limit=max(args.clients * args.requests, 50)) if s.text]
    tmp = Path(tempfile.mkdtemp(prefix="load-llm-"))
    result: dict = {"clients": args.clients, "requests_per_client": args.requests, "max_tokens": args.max_tokens}

    def measure(base: str, server: ServerProcess | None) -> None:
        reqs = chat_requests(texts, args.clients * args.requests, model=None if server else args.model,
                             max_tokens=args.max_tokens, api_key=args.api_key)
        rss0 = server.rss_bytes() if server else 0
        outcomes, wall = run_load(base, reqs, clients=args.clients, timeout=args.timeout)
        summary = summarise(outcomes, wall_seconds=wall)
        result["endpoint"] = summary.to_dict()
        if server:
            result["server_rss_mb"] = {"before": round(rss0 / 2**20), "after": round(server.rss_bytes() / 2**20)}
            result["server_start_seconds"] = round(server.start_seconds, 1)
        print(f"endpoint, {args.clients} clients x {args.requests} requests, max_tokens {args.max_tokens}:")
        print("  " + summary.row())
        if server:
            print(f"  server RSS {result['server_rss_mb']['before']} -> {result['server_rss_mb']['after']} MB")
        if args.agent_utterances > 0:
            manifest = tmp / "meld-dev.jsonl"
            samples = datasets.load("meld", "dev", limit=args.agent_utterances)
            manifest.write_text("".join(json.dumps({"id": s.id, "text": s.text}) + "\n" for s in samples))
            model = None if server else args.model
            local = agents_run(base, manifest, model=model, engine=["--engine", "local"], tmp=tmp,
                               timeout=args.timeout)
            threaded = agents_run(base, manifest, model=model, engine=["--engine", "threads", "--threads",
                                                                        str(args.threads)], tmp=tmp,
                                  timeout=args.timeout)
            same = sum(local["rows"][k] == threaded["rows"].get(k) for k in local["rows"])
            result["agents"] = {"utterances": len(samples), "local_seconds": round(local["wall"], 1),
                                "threads": args.threads, "threads_seconds": round(threaded["wall"], 1),
                                "same_labels": same, "errors": local["errors"] + threaded["errors"]}
            print(f"LLM agents (no_rag) over {len(samples)} MELD dev texts through the endpoint: local engine "
                  f"{local['wall']:.1f} s, --engine threads --threads {args.threads} {threaded['wall']:.1f} s; "
                  f"{same}/{len(samples)} labels identical; {result['agents']['errors']} error rows")

    if args.base_url:
        measure(args.base_url.rstrip("/"), None)
    else:
        port = free_port()
        cmd = ["-m", "affectagent", "llm-serve", "--model", args.model, "--port", str(port),
               "--num-threads", str(args.num_threads)]
        with ServerProcess(cmd, port=port, log=tmp / "llm-serve.log", timeout=600) as server:
            measure(f"{server.base}/v1", server)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
