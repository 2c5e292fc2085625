"""Speech the English ASR cannot read: tiny.en's confidence and the multilingual Whisper base's language ID.

    python bench/speech_language.py [--per-corpus 80] [--seed 0]

On seeded clips of EmoDB (German) and RAVDESS (English, acted) it prints, per corpus: how often Whisper base
identifies the language correctly, the distribution of tiny.en's duration-weighted mean token log-probability, and the
share of transcripts the confidence guard (``ExtractConfig.min_asr_logprob``) keeps at several thresholds, plus the
seconds per clip of each model. The shipped threshold must keep English and drop German.
"""
from __future__ import annotations

import argparse
import random
import time

import numpy as np

from affectagent import datasets
from affectagent.encoders.asr import WhisperBaseASR, WhisperConfig, WhisperTinyASR
from affectagent.encoders.config import ExtractConfig
from affectagent.encoders.vad import speech_segments
from affectagent.media import MediaConfig, load_audio

CORPORA = {"emodb": "de", "ravdess": "en"}
THRESHOLDS = (-0.6, -0.7, -0.8, -0.9, -1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-corpus", type=int, default=80)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    cfg = WhisperConfig(cpu_threads=args.threads)
    tiny = WhisperTinyASR(config=cfg)
    base = WhisperBaseASR(config=WhisperConfig(cpu_threads=args.threads, language=None))
    media = MediaConfig()
    shipped = ExtractConfig().min_asr_logprob
    print(f"shipped threshold min_asr_logprob = {shipped}")
    print("| corpus (spoken) | clips | LID correct | LID s/clip | tiny.en log-prob median [p10, p90] | tiny.en s/clip | "
          + " | ".join(f"kept at {t}" for t in THRESHOLDS) + " |")
    print("|---" * (6 + len(THRESHOLDS)) + "|")
    for name, spoken in CORPORA.items():
        samples = [s for s in datasets.load(name, "all") if s.audio]
        random.Random(args.seed).shuffle(samples)
        samples = samples[: args.per_corpus]
        lps, correct, t_lid, t_asr, n = [], 0, 0.0, 0.0, 0
        for s in samples:
            x = load_audio(s.audio, sr=media.sample_rate, allow_silent=True)
            segs = speech_segments(x, sr=media.sample_rate)
            if not segs:
                continue
            n += 1
            t0 = time.perf_counter()
            lang, _ = base.identify_language(x, media.sample_rate, speech=segs)
            t_lid += time.perf_counter() - t0
            correct += lang == spoken
            t0 = time.perf_counter()
            tr = tiny.transcribe(x, media.sample_rate, speech=segs)
            t_asr += time.perf_counter() - t0
            if tr.avg_logprob is not None:
                lps.append(tr.avg_logprob)
        a = np.array(lps)
        kept = [f"{np.mean(a >= t):.1%}" for t in THRESHOLDS]
        print(f"| {name} ({spoken}) | {n} | {correct / max(n, 1):.1%} | {t_lid / max(n, 1):.2f} | "
              f"{np.median(a):.2f} [{np.percentile(a, 10):.2f}, {np.percentile(a, 90):.2f}] | {t_asr / max(n, 1):.2f} | "
              + " | ".join(kept) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
