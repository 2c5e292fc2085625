"""RAER with the neural agents on speech, speaker-independent (raer-sab.txt Table 9 analogue, audio only).

    python bench/raer_loso.py --dataset emodb [--speakers-per-fold 2] [--epochs 2] [--out runs/raer/loso]
    python bench/raer_loso.py --dataset ravdess --speakers-per-fold 4

The shipped checkpoint was trained on every EmoDB / RAVDESS speaker, so its RAER numbers on them are in-sample. Here
each fold holds out ``--speakers-per-fold`` speakers: an SFT model (the ``bench/study.py`` EmoDB recipe: audio only,
ASR off) and its evidence KB are built from the other speakers only. The held-out speakers are split in two halves;
RAER runs twice per fold in the ``honest`` protocol — half A is the unlabelled pool that grows the KB while half B is
scored, then the other way round — so every speaker is scored exactly once, by a model and a KB that never saw a
labelled clip of theirs. Predictions are pooled over folds (w/o RAER, RAER epoch 0 = untouched KB, RAER last epoch).
Writes OUT/<dataset>/summary.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from affectagent import datasets
from affectagent.agents.actor import ActorConfig
from affectagent.encoders import ExtractConfig
from affectagent.encoders.inputs import EncodingConfig, encode_inputs
from affectagent.kb.from_inputs import build_kb
from affectagent.kb.retrieval import Retriever
from affectagent.metrics.classification import classification_report
from affectagent.metrics.evaluate import score_predictions
from affectagent.pipeline import AffectAgentPipeline, PipelineConfig
from affectagent.raer.config import GrowthConfig, RAERConfig
from affectagent.raer.growth import run_growth
from affectagent.raer.neural import NeuralRAER
from affectagent.train.recipe import encode_corpus, feature_spec, fit_norm, kb_entries
from affectagent.train.sft import SFTConfig, run_inference, train_sft


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def speaker_folds(groups: list[str], per_fold: int, seed: int) -> list[list[str]]:
    """Seeded chunks of ``per_fold`` speakers (the last chunk takes the remainder)."""
    order = list(np.random.default_rng(seed).permutation(sorted(set(groups))))
    return [order[i:i + per_fold] for i in range(0, len(order), per_fold)]


def read_preds(path: Path) -> dict[str, str]:
    return {r["id"]: r["label"] for r in map(json.loads, path.read_text().splitlines())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=("emodb", "ravdess"), default="emodb")
    ap.add_argument("--speakers-per-fold", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2, help="RAER growth epochs per run")
    ap.add_argument("--sft-epochs", type=int, default=25)
    ap.add_argument("--epsilon", type=float, help="growth gate (default: RAERConfig's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-folds", type=int, help="run only the first N speaker folds (the table says how many "
                    "speakers were scored)")
    ap.add_argument("--out", default="runs/raer/loso")
    args = ap.parse_args()
    if args.speakers_per_fold < 2:
        sys.exit("--speakers-per-fold must be at least 2 (one pool half, one scored half)")
    t_start = time.time()
    out = Path(args.out) / args.dataset
    out.mkdir(parents=True, exist_ok=True)
    samples = [s for s in datasets.load(args.dataset, "all") if s.label]
    enc = EncodingConfig(extract=ExtractConfig(text_encoder="minilm-emotion", transcribe=False), exclude_related=False)
    log(f"{args.dataset}: encoding {len(samples)} clips (audio only, ASR off)")
    corpus = encode_corpus(samples, dataset=args.dataset, encoding=enc, cache=None, progress=False)
    space = list(datasets.label_space(args.dataset).canonical)
    by_id = {s.id: s for s in samples}
    raer_cfg = RAERConfig() if args.epsilon is None else RAERConfig(epsilon=args.epsilon)
    folds = speaker_folds([s.group for s in samples], args.speakers_per_fold, args.seed)
    if args.max_folds is not None:
        if args.max_folds < 1:
            sys.exit("--max-folds must be at least 1")
        folds = folds[:args.max_folds]
    pooled: dict[str, dict[str, str]] = {"baseline": {}, "epoch0": {}, f"epoch{args.epochs}": {}}
    added: list[list[int]] = []
    regenerated = 0
    for f, held in enumerate(folds):
        train_idx = [i for i, s in enumerate(samples) if s.group not in held]
        tr = corpus.subset(train_idx)
        norm = fit_norm(tr.inputs)
        spec = feature_spec(tr.inputs, fallback={"text_dim": 384, "face_dim": 272, "visual_dim": 28})
        kb_dir = out / f"fold{f}" / "kb"
        shutil.rmtree(kb_dir, ignore_errors=True)
        kb = build_kb(kb_dir, kb_entries(tr, [samples[i] for i in train_idx], norm, "all"), text_dim=None,
                      audio_dim=spec.audio_dim, visual_dim=None, progress=False)
        cfg = SFTConfig(epochs=args.sft_epochs, planner_epochs=5, oof_folds=2, batch_size=32, lr=2e-3,
                        seed=args.seed, actor=ActorConfig(dim=96, heads=4))
        torch.manual_seed(args.seed)
        actor = train_sft(tr, source=Retriever(kb, norm=norm), spec=spec, norm=norm, config=cfg,
                          progress=False).actor
        kb.close()
        half = len(held) // 2
        for side, (pool_spk, scored_spk) in enumerate(((held[:half], held[half:]), (held[half:], held[:half]))):
            pool = [s for s in samples if s.group in pool_spk]
            scored = [s for s in samples if s.group in scored_spk]
            # the growth loop opens its own copy of the fold's KB; the pipeline's source is swapped in by the reasoner
            with_kb = build_pipeline(actor, norm, kb_dir)
            reasoner = NeuralRAER(pipeline=with_kb, config=raer_cfg)

            def encode(smp, _enc=enc):
                return encode_inputs(list(smp), label_sets=[space] * len(smp), config=_enc, cache=None,
                                     progress=False)

            def score(smp, preds):
                return score_predictions(smp, preds, dataset=args.dataset)

            def baseline(inputs, smp, _pipe=with_kb):
                return run_inference(_pipe, list(inputs), progress=False)

            growth = GrowthConfig(dataset=args.dataset, split="all", epochs=args.epochs, protocol="honest",
                                  pool=f"speakers:{','.join(pool_spk)}", raer=raer_cfg)
            run_dir = out / f"fold{f}" / f"side{side}"
            res = run_growth(growth, reasoner=reasoner, kb_src=kb_dir, norm=norm, encode=encode, score=score,
                             out=run_dir, baseline=baseline, split=(pool, scored), resume=False, progress=False,
                             log=lambda m: None)
            with_kb.source.kb.close()
            for tag in pooled:
                pooled[tag].update(read_preds(run_dir / f"predictions_{tag}.jsonl"))
            added.append([r["added"] for r in res.rows])
            regenerated += res.rows[-1]["regenerated"]
            log(f"fold {f + 1}/{len(folds)} side {side}: pool {pool_spk} scored {scored_spk}: w/o WAR "
                f"{res.baseline['war']:.4f}, RAER e0 {res.rows[0]['war']:.4f}, e{args.epochs} "
                f"{res.rows[-1]['war']:.4f}; added {[r['added'] for r in res.rows]}")
    rows = {}
    for tag, preds in pooled.items():
        ids = sorted(preds)
        rep = classification_report([by_id[i].label for i in ids], [preds[i] for i in ids], space)
        rows[tag] = {"n": len(ids), "uar": rep.uar, "war": rep.war, "weighted_f1": rep.weighted_f1,
                     "per_class_recall": {c.label: round(c.recall, 4) for c in rep.per_class}}
    summary = {"dataset": args.dataset, "folds": [list(map(str, h)) for h in folds], "epochs": args.epochs,
               "epsilon": raer_cfg.epsilon, "added_per_run_per_epoch": added, "regenerated_last_epoch": regenerated,
               "rows": rows, "minutes": round((time.time() - t_start) / 60, 1),
               "command": "python " + " ".join(sys.argv)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\n{args.dataset}: {len(folds)} folds of {args.speakers_per_fold} held-out speakers, honest protocol, "
          f"{summary['minutes']} min")
    print("| row | " + " | ".join(space) + " | UAR | WAR | WF1 |")
    print("|---" * (len(space) + 4) + "|")
    names = {"baseline": "w/o RAER", "epoch0": "RAER epoch 0 (untouched KB)",
             f"epoch{args.epochs}": f"RAER epoch {args.epochs}"}
    for tag, r in rows.items():
        print(f"| {names[tag]} | " + " | ".join(f"{r['per_class_recall'].get(lab, 0):.3f}" for lab in space)
              + f" | {r['uar']:.4f} | {r['war']:.4f} | {r['weighted_f1']:.4f} |")
    print(f"added per run per epoch: {added}")
    return 0


def build_pipeline(actor, norm, kb_dir: Path) -> AffectAgentPipeline:
    from affectagent.kb import KnowledgeBase

    return AffectAgentPipeline(actor=actor, norm=norm, source=Retriever(KnowledgeBase.open(kb_dir), norm=norm),
                               config=PipelineConfig())


if __name__ == "__main__":
    raise SystemExit(main())
