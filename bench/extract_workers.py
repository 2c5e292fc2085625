"""Feature-extraction throughput with 1 vs N worker processes on real corpora, each run on an empty feature cache.

    python bench/extract_workers.py --corpus ravdess:all:240 --corpus fer2013:train:1000 --workers 1 2

Prints samples/s per corpus and worker count (the encoders are those of a KB build of the default checkpoint:
the audio descriptor for speech corpora, the face encoder for FER2013; no ASR, no speech-emotion branch).
"""
from __future__ import annotations

import argparse
import tempfile
import time

from affectagent import datasets
from affectagent.encoders import ExtractConfig, FeatureCache
from affectagent.encoders.extract import extract_many
from affectagent.train.recipe import extract_config_for


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", action="append", default=None, help="name:split:limit (repeatable)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    corpora = args.corpus or ["ravdess:all:240", "fer2013:train:1000"]
    print("| corpus | samples | workers | seconds | samples/s |")
    print("|---|---|---|---|---|")
    for spec in corpora:
        name, split, limit = spec.split(":")
        samples = datasets.load(name, split, data_root=args.data_root, limit=int(limit))
        cfg = extract_config_for(name, ExtractConfig(text_encoder="minilm-emotion"))
        for w in args.workers:
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                feats = extract_many(samples, config=cfg, cache=FeatureCache(tmp), progress=False, workers=w)
                dt = time.perf_counter() - t0
            bad = sum("error" in f.info for f in feats)
            print(f"| {name}:{split} | {len(samples)}{f' ({bad} errors)' if bad else ''} | {w} | {dt:.1f} | "
                  f"{len(samples) / dt:.1f} |", flush=True)


if __name__ == "__main__":
    main()
