"""Throughput of the local hf backend on the packaged Qwen models: load time and generated tokens per second.

    python bench/llm_backends.py --model qwen-0.5b --threads 1 2 --max-tokens 64 --repeats 2

Prints one line per (model, threads): cached load seconds, prompt tokens, generated tokens, decode tokens/s (greedy).
The first use of an alias converts its GGUF (see affectagent.llm.packaged); run once before timing loads.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = "Describe, in about eighty words, how the weather can change a person's mood over a day."


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs="+", default=["qwen-0.5b"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()

    import torch

    from affectagent.llm.backend import ChatMessage
    from affectagent.llm.hf import HFBackend

    msgs = [ChatMessage("user", PROMPT)]
    print(f"{'model':<10} {'threads':>7} {'load s':>7} {'prompt':>6} {'gen':>4} {'tok/s':>6}  (loadavg {os.getloadavg()[0]:.1f})")
    for model in args.model:
        torch.set_num_threads(max(args.threads))
        t0 = time.perf_counter()
        backend = HFBackend(model=model, shared=False)
        load_s = time.perf_counter() - t0
        backend.chat(msgs, max_tokens=4)  # warm-up
        for n in args.threads:
            torch.set_num_threads(n)
            rates, out = [], None
            for _ in range(args.repeats):
                out = backend.chat(msgs, max_tokens=args.max_tokens)
                rates.append(out.completion_tokens / out.seconds)
            print(f"{model:<10} {n:>7} {load_s:>7.1f} {out.prompt_tokens:>6} {out.completion_tokens:>4} "
                  f"{max(rates):>6.1f}", flush=True)
        del backend


if __name__ == "__main__":
    main()
