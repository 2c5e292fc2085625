"""LLM agents study (issue #7): No-RAG zero-shot vs naive RAG vs the full AffectAgent loop, same LLM backbone.

A fixed, seeded sample of MELD dev utterances (each with its dialogue context), the shipped checkpoint's encoders
and evidence KB (MELD train + EmoryNLP train + EmoDB + RAVDESS + FER2013; MELD dev is not in it), MELD's 7 labels.
Reports weighted-F1 and HIT (the project's metrics, ``evaluate.score_predictions``), accuracy, the share of samples
with any parsing fallback, mean seconds per sample (agents only: retrieval + LLM calls; encoding excluded) and tokens
per sample. Every output is appended to ``<out>/<model>/<variant>.jsonl`` (one row per sample, with each role's raw
output) so scores can be recomputed (``--rescore``) and an interrupted run resumes where it stopped.

    python bench/llm_study.py --model qwen-1.5b                       # 150 utterances x 3 variants
    python bench/llm_study.py --model qwen-0.5b --limit 10            # smoke run: first 10 of the same sample
    python bench/llm_study.py --backend openai --base-url http://127.0.0.1:8000/v1 --model NAME
    python bench/llm_study.py --model qwen-0.5b --rescore             # recompute the table from the JSONL files
    python bench/llm_study.py --neural                                # the neural agents on the same sample
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from affectagent.datasets import label_space

VARIANTS = ("no_rag", "naive_rag", "full")
MELD_LABELS = label_space("meld").canonical  # canonical names of MELD's 7 labels, in MELD's order


def study_sample(*, n: int, seed: int, data_root: str | None = None) -> list:
    """The fixed sample: ``n`` labelled MELD dev utterances drawn without replacement with ``seed``, in dev order."""
    from affectagent import datasets

    dev = [s for s in datasets.load("meld", "dev", data_root=data_root) if s.label is not None and s.text]
    if n > len(dev):
        raise SystemExit(f"--n {n} exceeds the {len(dev)} labelled MELD dev utterances")
    idx = np.sort(np.random.default_rng(seed).choice(len(dev), n, replace=False))
    return [dev[i] for i in idx]


def model_tag(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def row_of(sample, pred, *, variant: str, backend: str) -> dict[str, Any]:
    tr = pred.trace
    return {"id": sample.id, "variant": variant, "backend": backend, "gold": sample.label,
            "gold_raw": sample.raw_label, "gold_sentiment": sample.sentiment, **pred.to_dict(with_trace=False),
            "seconds": tr["seconds"], "prompt_tokens": tr["prompt_tokens"],
            "completion_tokens": tr["completion_tokens"], "fallbacks": tr["fallbacks"], "queries": tr["queries"],
            "candidates": tr["candidates"], "roles": tr["roles"]}


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """WF1 / HIT / accuracy via the project's scorer, plus fallback share, seconds and tokens per sample."""
    from affectagent.metrics.evaluate import score_predictions
    from affectagent.schema import Prediction, Sample

    samples = [Sample(id=r["id"], label=r["gold"], raw_label=r["gold_raw"], sentiment=r.get("gold_sentiment"))
               for r in rows]
    preds = [Prediction(sample_id=r["id"], label=r["label"], probs=r["probs"], sentiment=r["sentiment"],
                        ov_set=tuple(r["ov_set"])) for r in rows]
    m = score_predictions(samples, preds, dataset="meld")
    n = len(rows)
    gen_fb = sum(1 for r in rows if "generator" in r["fallbacks"])
    return {"n": n, "weighted_f1": m["weighted_f1"], "hit": m["hit"], "war": m["war"], "macro_f1": m["macro_f1"],
            "any_fallback": sum(1 for r in rows if r["fallbacks"]) / n, "generator_fallback": gen_fb / n,
            "seconds": float(np.mean([r["seconds"] for r in rows])),
            "prompt_tokens": float(np.mean([r["prompt_tokens"] for r in rows])),
            "completion_tokens": float(np.mean([r["completion_tokens"] for r in rows])),
            "llm_calls": float(np.mean([len(r["roles"]) for r in rows]))}


def print_table(results: dict[str, dict[str, Any]], *, title: str) -> None:
    print(f"\n{title}\n")
    print("| variant | n | WF1 | HIT | acc | samples with a fallback | LLM calls | s / sample | prompt tok / sample "
          "| generated tok / sample |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for v, r in results.items():
        print(f"| {v} | {r['n']} | {r['weighted_f1']:.4f} | {r['hit']:.4f} | {r['war']:.4f} | "
              f"{r['any_fallback']:.0%} | {r['llm_calls']:.0f} | {r['seconds']:.3g} | {r['prompt_tokens']:.0f} | "
              f"{r['completion_tokens']:.0f} |")


def paired(out_dir: Path, a: str, b: str, ids: Sequence[str]) -> tuple[int, int, int] | None:
    """(samples only ``a`` labels correctly, only ``b`` does, both) over the samples both variants have."""
    ra = {r["id"]: r["label"] == r["gold"] for r in read_rows(out_dir / f"{a}.jsonl")}
    rb = {r["id"]: r["label"] == r["gold"] for r in read_rows(out_dir / f"{b}.jsonl")}
    common = [i for i in ids if i in ra and i in rb]
    if not common:
        return None
    return (sum(ra[i] and not rb[i] for i in common), sum(rb[i] and not ra[i] for i in common),
            sum(ra[i] and rb[i] for i in common))


def rescore(out_dir: Path, variants: Sequence[str], ids: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """Table from the saved JSONL; ``ids``: restrict to these samples (the common subset of a partial run)."""
    results = {}
    rows_by_v = {v: read_rows(out_dir / f"{v}.jsonl") for v in variants}
    common = set.intersection(*[{r["id"] for r in rows} for rows in rows_by_v.values()]) if rows_by_v else set()
    if ids is not None:
        common &= set(ids)
    for v, rows in rows_by_v.items():
        keep = [r for r in rows if r["id"] in common]
        if keep:
            results[v] = summarise(keep)
    return results


def run_neural(agent, samples: Sequence, variants: Sequence[str], *, out_dir: Path, exclude_related: bool) -> None:
    """The shipped neural agents on the same samples and label set (PipelineConfig variants of the same names)."""
    from dataclasses import replace

    from affectagent.encoders.inputs import encode_inputs
    from affectagent.pipeline import PipelineConfig
    from affectagent.train.sft import run_inference

    enc = replace(agent.encoding, exclude_related=exclude_related)
    inputs = encode_inputs(samples, label_sets=[MELD_LABELS] * len(samples), config=enc, cache=agent.cache)
    out_dir.mkdir(parents=True, exist_ok=True)
    for v in variants:
        t = time.perf_counter()
        preds = run_inference(agent.with_config(PipelineConfig.variant(v)).pipeline, inputs)
        sec = (time.perf_counter() - t) / len(samples)
        with open(out_dir / f"{v}.jsonl", "w", encoding="utf-8") as f:
            for s, p in zip(samples, preds):
                row = {"id": s.id, "variant": v, "backend": "neural", "gold": s.label, "gold_raw": s.raw_label,
                       "gold_sentiment": s.sentiment, **p.to_dict(), "seconds": sec, "prompt_tokens": 0,
                       "completion_tokens": 0, "fallbacks": {}, "roles": {}}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="hf", help="hf (default), llamacpp or openai")
    ap.add_argument("--model", default="qwen-1.5b", help="alias, folder, HF id or (openai) model name")
    ap.add_argument("--base-url", help="openai backend: endpoint base URL")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--n", type=int, default=150, help="size of the seeded MELD dev sample")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, help="run only the first N utterances of the fixed sample")
    ap.add_argument("--top-k", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads for the hf backend")
    ap.add_argument("--out", default="runs/llm_study")
    ap.add_argument("--checkpoint", help="agents checkpoint whose encoders and KB are used (default: shipped)")
    ap.add_argument("--rescore", action="store_true", help="only recompute the table from the saved JSONL")
    ap.add_argument("--neural", action="store_true",
                    help="instead of an LLM, run the checkpoint's neural agents on the same sample (reference rows)")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise SystemExit(f"unknown variants {bad}; known: {', '.join(VARIANTS)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out_dir = Path(args.out) / ("neural" if args.neural else model_tag(f"{args.backend}-{args.model}"))
    samples = study_sample(n=args.n, seed=args.seed)
    if args.limit:
        samples = samples[: args.limit]
    ids = [s.id for s in samples]
    who = ("neural agents of the checkpoint (pipeline defaults, top_k 5)" if args.neural
           else f"backend {args.backend}:{args.model}; top_k {args.top_k}")
    title = (f"MELD dev, seeded sample (n={args.n}, seed={args.seed}{f', first {args.limit}' if args.limit else ''}); "
             f"{who}")
    if args.rescore:
        print_table(rescore(out_dir, variants, ids), title=title)
        for a, b in (("full", "no_rag"), ("full", "naive_rag"), ("naive_rag", "no_rag")):
            got = paired(out_dir, a, b, ids) if a in variants and b in variants else None
            if got:
                print(f"{a} vs {b}: only {a} correct {got[0]}, only {b} correct {got[1]}, both {got[2]}")
        return

    import torch

    torch.set_num_threads(args.threads)
    from tqdm.auto import tqdm

    from affectagent.api import AffectAgent
    from affectagent.llm.backend import load_backend
    from affectagent.llm.loop import LLMAffectAgent, LLMAgentConfig

    agent = AffectAgent.load(args.checkpoint)
    trained_on = {(c["name"], c["split"]) for c in agent.checkpoint.provenance.get("corpora", [])}
    seen = ("meld", "dev") in trained_on or ("meld", "all") in trained_on  # same rule as affectagent.metrics.evaluate
    if args.neural:
        run_neural(agent, samples, variants, out_dir=out_dir, exclude_related=seen)
        print_table(rescore(out_dir, variants, ids), title=title)
        return
    t = time.time()
    backend = load_backend(args.backend, model=args.model, base_url=args.base_url)
    print(f"backend {backend.name} loaded in {time.time() - t:.1f} s", file=sys.stderr)
    llm = {v: LLMAffectAgent.from_agent(agent, backend=backend, config=LLMAgentConfig(variant=v, top_k=args.top_k))
           for v in variants}
    first = llm[variants[0]]
    inputs = first.encode(samples, label_set=MELD_LABELS, exclude_related=seen, progress=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = {v: {r["id"] for r in read_rows(out_dir / f"{v}.jsonl")} for v in variants}
    files = {v: open(out_dir / f"{v}.jsonl", "a", encoding="utf-8") for v in variants}
    try:
        # sample-major order: an interrupted run leaves every variant on the same samples
        for s, x in tqdm(list(zip(samples, inputs)), desc="LLM study", unit="sample"):
            for v in variants:
                if s.id in done[v]:
                    continue
                pred = llm[v].run_one(s, x)
                files[v].write(json.dumps(row_of(s, pred, variant=v, backend=backend.name), ensure_ascii=False) + "\n")
                files[v].flush()
    finally:
        for f in files.values():
            f.close()
    results = rescore(out_dir, variants, ids)
    print_table(results, title=title)
    (out_dir / "summary.json").write_text(json.dumps({"title": title, "results": results}, indent=2))


if __name__ == "__main__":
    main()
