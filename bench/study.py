"""The AffectAgent ablation and missing-modality study (AffectAgent Tables 4–5, Fig. 4), one command, one process, fixed seeds.

    python bench/study.py [--mappo runs/mappo/agents.pt] [--out runs/study] [--docs docs] [--parts meld,emodb,paired]

Parts
  meld    MELD dev (text + dialogue context) with the shipped SFT checkpoint and a MAPPO checkpoint (trained here for
          --mappo-minutes when --mappo does not exist): No-RAG, naive RAG, SFT, SFT+MAPPO, without planner / filter /
          both / confusion / counter evidence, RAAF and MB-MoE off.
  emodb   EmoDB leave-one-speaker-out (audio only): per fold an SFT model (+ a short MAPPO) trained on the other
          speakers with a KB of their clips; the same variants, predictions pooled over folds (UAR / WAR / WF1).
  paired  paired tri-modal episodes (MELD text + RAVDESS speech + FER2013 face of the same emotion; see
          ``affectagent/study/paired.py``): an SFT model trained with modality dropout and RAAF completion, evaluated
          with all modalities and with A+V / A+T / V+T, each with RAAF completion, RAAF without completion, RAAF off;
          MB-MoE routing per input condition and RAAF gains under helpful / ordinary / conflicting retrieval (plots).
Writes OUT/study.json, OUT/study.md (the tables), DOCS/study_routing.png, DOCS/study_raaf_gain.png.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from affectagent import datasets
from affectagent.agents.actor import ActorConfig
from affectagent.api import DEFAULT_CHECKPOINT, AffectAgent
from affectagent.encoders import ExtractConfig
from affectagent.encoders.inputs import EncodingConfig
from affectagent.kb.from_inputs import build_kb
from affectagent.kb.retrieval import Retriever
from affectagent.metrics.classification import classification_report
from affectagent.metrics.evaluate import evaluate
from affectagent.pipeline import AffectAgentPipeline, PipelineConfig
from affectagent.schema import CANONICAL_EMOTIONS
from affectagent.study.paired import PAIRED_LABELS, drop_modality, modality_dropout, pair_corpora, replace_modality
from affectagent.train.mappo import MAPPOConfig, train_mappo
from affectagent.train.recipe import CorpusSpec, encode_corpus, feature_spec, fit_norm, kb_entries, load_corpus
from affectagent.train.sft import EncodedCorpus, SFTConfig, run_inference, train_sft

ABLATIONS = [  # (row name, checkpoint key, pipeline config)
    ("No-RAG (generator alone)", "sft", PipelineConfig.variant("no_rag")),
    ("Naive RAG (plain top-k, no filter)", "sft", PipelineConfig.variant("naive_rag")),
    ("AffectAgent, SFT only", "sft", PipelineConfig()),
    ("AffectAgent, SFT + MAPPO", "mappo", PipelineConfig()),
    ("  w/o planner", "mappo", PipelineConfig.variant("no_planner")),
    ("  w/o filter", "mappo", PipelineConfig.variant("no_filter")),
    ("  w/o planner and filter", "mappo", PipelineConfig.variant("naive_rag")),
    ("  w/o confusion evidence", "mappo", PipelineConfig.variant("no_confusion")),
    ("  w/o counter evidence", "mappo", PipelineConfig.variant("no_counter")),
    ("  RAAF off", "mappo", PipelineConfig.variant("no_raaf")),
    ("  MB-MoE off", "mappo", PipelineConfig.variant("no_moe")),
    ("  RAAF and MB-MoE off", "mappo", PipelineConfig(use_raaf=False, use_moe=False)),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def scores(y_true, y_pred, labels) -> dict:
    rep = classification_report(y_true, y_pred, list(labels))
    return {"weighted_f1": rep.weighted_f1, "macro_f1": rep.macro_f1, "uar": rep.uar, "war": rep.war}


# ---- part 1: MELD dev ---------------------------------------------------------------------------------------------

def part_meld(args, res: dict) -> None:
    sft = AffectAgent.load(args.sft, log=log)
    mappo_path = Path(args.mappo)
    if not mappo_path.is_file():
        log(f"no MAPPO checkpoint at {mappo_path}: training one for {args.mappo_minutes} min (meld:train)")
        from affectagent.train.mappo_recipe import MAPPORecipeConfig, run_mappo_recipe

        run_mappo_recipe(MAPPORecipeConfig(init=Path(args.sft), dev=None,
                                           mappo=MAPPOConfig(steps=10_000, max_minutes=args.mappo_minutes,
                                                             eval_every=0, seed=args.seed)),
                         out=mappo_path.parent, log=log, progress=False)
    agents = {"sft": sft, "mappo": AffectAgent.load(mappo_path, log=log)}
    rows = []
    for name, key, cfg in ABLATIONS:
        t = time.time()
        m = evaluate(agents[key].with_config(cfg), dataset="meld", split="dev", progress=False).metrics
        rows.append({"setting": name, "n": m["n"], "weighted_f1": m["weighted_f1"], "macro_f1": m["macro_f1"],
                     "hit": m["hit"], "seconds": round(time.time() - t, 1)})
        log(f"meld {name:<38} WF1 {m['weighted_f1']:.4f} HIT {m['hit']:.4f}")
    res["meld"] = {"sft": str(args.sft), "mappo": str(mappo_path), "rows": rows}


# ---- part 2: EmoDB leave-one-speaker-out --------------------------------------------------------------------------

def part_emodb(args, res: dict) -> None:
    samples = [s for s in datasets.load("emodb", "all") if s.label]
    enc = EncodingConfig(extract=ExtractConfig(text_encoder="minilm-emotion", transcribe=False), exclude_related=True)
    corpus = encode_corpus(samples, dataset="emodb", encoding=enc, cache=None, progress=False)
    space = datasets.label_space("emodb").canonical
    folds = datasets.folds(samples, by="group")
    preds: dict[str, list] = {name: [None] * len(samples) for name, _, _ in ABLATIONS}
    for f, fold in enumerate(folds):
        tr = corpus.subset(fold.train)
        norm = fit_norm(tr.inputs)
        spec = feature_spec(tr.inputs, fallback={"text_dim": 384, "face_dim": 272, "visual_dim": 28})
        kb_dir = Path(args.out) / "emodb_kb" / f"fold{f}"
        if kb_dir.exists():
            import shutil

            shutil.rmtree(kb_dir)
        kb = build_kb(kb_dir, kb_entries(tr, [samples[i] for i in fold.train], norm, "all"), text_dim=None,
                      audio_dim=spec.audio_dim, visual_dim=None, progress=False)
        source = Retriever(kb, norm=norm)
        cfg = SFTConfig(epochs=args.emodb_epochs, planner_epochs=5, oof_folds=2, batch_size=32, lr=2e-3,
                        seed=args.seed, actor=ActorConfig(dim=96, heads=4))
        torch.manual_seed(args.seed)
        sft = train_sft(tr, source=source, spec=spec, norm=norm, config=cfg, progress=False).actor
        pipe = AffectAgentPipeline(actor=sft, norm=norm, source=source, config=PipelineConfig())
        mcfg = MAPPOConfig(steps=args.emodb_mappo_steps, rollout_size=64, minibatch=32, eval_every=0,
                           save_every=0, seed=args.seed)  # the recipe's defaults otherwise (batch reward, KL)
        tuned = train_mappo(tr, init=sft, pipe=replace(pipe, actor=copy.deepcopy(sft)), config=mcfg,
                            state_path=kb_dir / "mappo_state.pt", progress=False, resume=False).actor
        te_inputs = [replace(corpus.inputs[i], exclude=frozenset({corpus.inputs[i].sample_id})) for i in fold.test]
        for name, key, pcfg in ABLATIONS:
            p = AffectAgentPipeline(actor=sft if key == "sft" else tuned, norm=norm, source=source, config=pcfg)
            for i, pr in zip(fold.test, run_inference(p, te_inputs)):
                preds[name][i] = pr.label
        kb.close()
        log(f"emodb fold {f + 1}/{len(folds)} (test speaker {samples[fold.test[0]].group}) done")
    gold = [s.label for s in samples]
    rows = [{"setting": name, "n": len(gold), **scores(gold, preds[name], space)} for name, _, _ in ABLATIONS]
    for r in rows:
        log(f"emodb {r['setting']:<38} UAR {r['uar']:.4f} WAR {r['war']:.4f} WF1 {r['weighted_f1']:.4f}")
    res["emodb"] = {"folds": len(folds), "rows": rows}


# ---- part 3: paired tri-modal episodes ----------------------------------------------------------------------------

def _paired_data(args):
    enc = EncodingConfig(extract=ExtractConfig(text_encoder="minilm-emotion"), exclude_related=True)
    meld_tr = load_corpus(CorpusSpec("meld", "train"), data_root=None)
    meld_dev = load_corpus(CorpusSpec("meld", "dev"), data_root=None)
    rav = load_corpus(CorpusSpec("ravdess", "all"), data_root=None)
    fer_tr = load_corpus(CorpusSpec("fer2013", "train", 2000), data_root=None, seed=0)
    fer_dev_all = load_corpus(CorpusSpec("fer2013", "dev"), data_root=None)
    rng = np.random.default_rng(args.seed)
    fer_dev = []  # up to 100 faces per label (FER2013 dev holds 3,589; encoding all of them is slow on CPU)
    for lab in PAIRED_LABELS:
        idx = [i for i, s in enumerate(fer_dev_all) if s.label == lab]
        fer_dev += [fer_dev_all[i] for i in sorted(rng.choice(idx, min(100, len(idx)), replace=False))]
    test_actors = {"17", "18", "19", "20"}
    rav_tr = [s for s in rav if s.group not in test_actors]
    rav_te = [s for s in rav if s.group in test_actors]
    log(f"paired: encoding MELD {len(meld_tr)}+{len(meld_dev)}, RAVDESS {len(rav_tr)}+{len(rav_te)}, "
        f"FER {len(fer_tr)}+{len(fer_dev)} (cached after the first run)")
    e = lambda s, d, rel=True: encode_corpus(s, dataset=d, encoding=replace(enc, exclude_related=rel), cache=None,
                                             progress=False)
    train = pair_corpora(text=e(meld_tr, "meld"), audio=e(rav_tr, "ravdess"), visual=e(fer_tr, "fer2013"),
                         seed=args.seed, limit=args.paired_train, exclude_related=True)
    test = pair_corpora(text=e(meld_dev, "meld", False), audio=e(rav_te, "ravdess", False),
                        visual=e(fer_dev, "fer2013", False), seed=args.seed + 1)
    return train, test


def _acc(pipe, inputs, gold, **over) -> tuple[float, float, list]:
    preds, runs = [], []
    for i in range(0, len(inputs), 256):
        sub = inputs[i:i + 256]
        kw = {k: v[i:i + 256] for k, v in over.items()}
        with torch.no_grad():
            run = pipe.run(sub, **kw)
        runs.append(run)
        preds += pipe.predictions(sub, run)
    y = [CANONICAL_EMOTIONS[g] for g in gold]
    s = scores(y, [p.label for p in preds], PAIRED_LABELS)
    return s["weighted_f1"], s["war"], runs


def part_paired(args, res: dict) -> None:
    train, test = _paired_data(args)
    log(f"paired: {len(train)} training episodes, {len(test)} test episodes")
    norm = fit_norm(train.inputs)
    spec = feature_spec(train.inputs)
    kb_dir = Path(args.out) / "paired_kb"
    if kb_dir.exists():
        import shutil

        shutil.rmtree(kb_dir)
    entries = kb_entries(train, [_PairSample(x) for x in train.inputs], norm, "train")
    kb = build_kb(kb_dir, entries, text_dim=spec.text_dim, audio_dim=spec.audio_dim, visual_dim=spec.face_dim,
                  progress=False)
    source = Retriever(kb, norm=norm)
    aug = modality_dropout(train, seed=args.seed)
    cfg = SFTConfig(epochs=args.paired_epochs, planner_epochs=2, oof_folds=2, seed=args.seed,
                    pipeline=PipelineConfig(complete_missing=True))
    t = time.time()
    actor = train_sft(aug, source=source, spec=spec, norm=norm, config=cfg, progress=False).actor
    log(f"paired: SFT trained in {time.time() - t:.0f} s")
    base = AffectAgentPipeline(actor=actor, norm=norm, source=source, config=PipelineConfig(complete_missing=True))
    modes = {"RAAF + completion": PipelineConfig(complete_missing=True),
             "RAAF, no completion": PipelineConfig(complete_missing=False),
             "RAAF off": PipelineConfig(use_raaf=False)}
    settings = {"T+A+V": None, "A+V (no text)": "text", "A+T (no visual)": "visual", "V+T (no audio)": "audio"}
    rows = []
    for sname, drop in settings.items():
        inputs = test.inputs if drop is None else [drop_modality(x, drop) for x in test.inputs]
        row = {"setting": sname}
        for mname, pcfg in modes.items():
            wf1, acc, _ = _acc(base.with_config(pcfg), inputs, test.gold)
            row[mname] = {"weighted_f1": wf1, "acc": acc}
        rows.append(row)
        log("paired " + sname + ": " + ", ".join(f"{m} WF1 {row[m]['weighted_f1']:.4f}" for m in modes))
    variants = []
    for name, key, pcfg in ABLATIONS:
        if key == "mappo" and not name.startswith("  "):
            continue  # the paired model is SFT only: its full pipeline is the "SFT only" row
        wf1, acc, _ = _acc(base.with_config(replace(pcfg, complete_missing=True)), test.inputs, test.gold)
        variants.append({"setting": name, "weighted_f1": wf1, "acc": acc})
    res["paired"] = {"n_train": len(train), "n_test": len(test), "missing": rows, "variants": variants}
    res["paired"]["routing"] = routing_conditions(base, test, args)
    res["paired"]["raaf_gain"] = raaf_gains(base, source, test, args)
    kb.close()


class _PairSample:
    """The fields ``kb_entries`` reads, for a paired episode."""

    def __init__(self, x):
        self.sentiment = None
        self.speaker = None
        self.text = x.text


def routing_conditions(pipe, test: EncodedCorpus, args) -> dict:
    """Mean MB-MoE routing weights per input condition (non-neutral episodes): balanced (voice and face agree),
    audio-led (face swapped for a neutral face), visual-led (voice swapped for a neutral voice), conflict (face of a
    different non-neutral emotion)."""
    rng = np.random.default_rng(args.seed + 7)
    gold = [CANONICAL_EMOTIONS[g] for g in test.gold]
    idx = [i for i, g in enumerate(gold) if g != "neutral"]
    neutral = [i for i, g in enumerate(gold) if g == "neutral"]
    conds = {"balanced": [test.inputs[i] for i in idx],
             "audio-led": [replace_modality(test.inputs[i], test.inputs[int(rng.choice(neutral))], "visual") for i in idx],
             "visual-led": [replace_modality(test.inputs[i], test.inputs[int(rng.choice(neutral))], "audio") for i in idx]}
    conflict = []
    for i in idx:
        other = [j for j in idx if gold[j] != gold[i]]
        conflict.append(replace_modality(test.inputs[i], test.inputs[int(rng.choice(other))], "visual"))
    conds["conflict"] = conflict
    g = test.gold[idx]
    out = {}
    for name, inputs in conds.items():
        wf1, acc, runs = _acc(pipe, inputs, g)
        w = torch.cat([r.fused.routing for r in runs]).mean(0).tolist()
        out[name] = {"routing": w, "acc": acc, "n": len(inputs)}
        log(f"routing {name:<11} acc {acc:.3f} weights {np.round(w, 3).tolist()}")
    return out


def raaf_gains(pipe, source, test: EncodedCorpus, args) -> dict:
    """Accuracy change from RAAF completion of a missing voice / face, by what the KB returns: exemplars of the gold
    emotion (helpful), of the planner's hypothesis (ordinary, the default), of a wrong emotion (conflicting)."""
    rng = np.random.default_rng(args.seed + 11)
    gold = [CANONICAL_EMOTIONS[g] for g in test.gold]
    out = {}
    k = pipe.config.perceptual_k
    for missing in ("audio", "visual"):
        inputs = [drop_modality(x, missing) for x in test.inputs]
        _, acc_none, _ = _acc(pipe.with_config(replace(pipe.config, complete_missing=False)), inputs, test.gold)
        _, acc_ord, runs = _acc(pipe, inputs, test.gold)
        gate = float(torch.cat([getattr(r.fused, f"gate_{missing}") for r in runs]).mean())
        row = {"no completion": acc_none, "ordinary": acc_ord - acc_none, "gate_ordinary": gate}
        for cond in ("helpful", "conflicting"):
            perc = []
            base_perc = pipe.retrieve_perceptual(inputs)  # neighbours of the present modality
            for i, x in enumerate(inputs):
                lab = gold[i] if cond == "helpful" else str(rng.choice([g for g in PAIRED_LABELS if g != gold[i]]))
                ex = source.exemplars(missing, lab, k, exclude=x.exclude)
                a, v = base_perc[i]
                perc.append((ex, v) if missing == "audio" else (a, ex))
            _, acc, runs = _acc(pipe, inputs, test.gold, perceptual_override=perc)
            row[cond] = acc - acc_none
            row[f"gate_{cond}"] = float(torch.cat([getattr(r.fused, f"gate_{missing}") for r in runs]).mean())
        out[missing] = row
        log(f"RAAF gain, missing {missing}: " + ", ".join(f"{c} {row[c]:+.3f}" for c in ("helpful", "ordinary", "conflicting")))
    return out


# ---- output -------------------------------------------------------------------------------------------------------

def plots(res: dict, docs: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    docs.mkdir(parents=True, exist_ok=True)
    out = []
    r = res.get("paired", {}).get("routing")
    if r:
        names = list(r)
        w = np.array([r[n]["routing"] for n in names])
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        width = 0.8 / w.shape[1]
        for e in range(w.shape[1]):
            ax.bar(np.arange(len(names)) + (e - (w.shape[1] - 1) / 2) * width, w[:, e], width, label=f"expert {e + 1}")
        ax.set_xticks(np.arange(len(names)), [f"{n}\nacc {r[n]['acc']:.2f}" for n in names])
        ax.set_ylabel("mean routing weight")
        ax.set_title("MB-MoE routing by input condition (paired episodes)")
        ax.legend(fontsize=8, ncol=w.shape[1])
        fig.tight_layout()
        p = docs / "study_routing.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        out.append(p)
    g = res.get("paired", {}).get("raaf_gain")
    if g:
        conds = ["helpful", "ordinary", "conflicting"]
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for j, missing in enumerate(g):
            vals = [100 * g[missing][c] for c in conds]
            ax.bar(np.arange(3) + (j - 0.5) * 0.38, vals, 0.38, label=f"missing {missing}")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(np.arange(3), conds)
        ax.set_ylabel("accuracy gain vs. no completion (points)")
        ax.set_title("RAAF completion gain by retrieval quality (paired episodes)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = docs / "study_raaf_gain.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        out.append(p)
    return out


def markdown(res: dict, command: str) -> str:
    lines = [f"Command: `{command}` ({res['minutes']:.1f} min on this machine, seed {res['seed']}).", ""]
    if "meld" in res:
        lines += ["**MELD dev (text + context; 1,108 utterances)** — SFT: shipped checkpoint; MAPPO: "
                  f"`{res['meld']['mappo']}`", "", "| setting | WF1 | macro-F1 | HIT |", "|---|---|---|---|"]
        lines += [f"| {r['setting'].strip()} | {r['weighted_f1']:.4f} | {r['macro_f1']:.4f} | {r['hit']:.4f} |"
                  for r in res["meld"]["rows"]]
        lines.append("")
    if "emodb" in res:
        lines += [f"**EmoDB leave-one-speaker-out ({res['emodb']['folds']} folds, audio only, predictions pooled)**", "",
                  "| setting | UAR | WAR | WF1 |", "|---|---|---|---|"]
        lines += [f"| {r['setting'].strip()} | {r['uar']:.4f} | {r['war']:.4f} | {r['weighted_f1']:.4f} |"
                  for r in res["emodb"]["rows"]]
        lines.append("")
    if "paired" in res:
        p = res["paired"]
        lines += [f"**Paired tri-modal episodes** ({p['n_train']} train / {p['n_test']} test; WF1 over 7 emotions)", "",
                  "| input | RAAF + completion | RAAF, no completion | RAAF off |", "|---|---|---|---|"]
        for r in p["missing"]:
            lines.append(f"| {r['setting']} | " + " | ".join(
                f"{r[m]['weighted_f1']:.4f}" for m in ("RAAF + completion", "RAAF, no completion", "RAAF off")) + " |")
        lines += ["", "| variant (all modalities) | WF1 | acc |", "|---|---|---|"]
        lines += [f"| {r['setting'].strip()} | {r['weighted_f1']:.4f} | {r['acc']:.4f} |" for r in p["variants"]]
        lines += ["", "| condition | acc | mean routing weights |", "|---|---|---|"]
        lines += [f"| {n} | {v['acc']:.3f} | {', '.join(f'{w:.3f}' for w in v['routing'])} |"
                  for n, v in p["routing"].items()]
        lines += ["", "| missing | acc, no completion | gain: helpful | gain: ordinary | gain: conflicting | RAAF gate (h/o/c) |",
                  "|---|---|---|---|---|---|"]
        for m, g in p["raaf_gain"].items():
            lines.append(f"| {m} | {g['no completion']:.3f} | {g['helpful']:+.3f} | {g['ordinary']:+.3f} | "
                         f"{g['conflicting']:+.3f} | {g['gate_helpful']:.3f} / {g['gate_ordinary']:.3f} / "
                         f"{g['gate_conflicting']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sft", default=str(DEFAULT_CHECKPOINT), help="SFT checkpoint (default: the shipped one)")
    ap.add_argument("--mappo", default="runs/mappo/agents.pt", help="MAPPO checkpoint (trained here with the recipe defaults when missing)")
    ap.add_argument("--mappo-minutes", type=float, default=15.0)
    ap.add_argument("--parts", default="meld,emodb,paired")
    ap.add_argument("--out", default="runs/study")
    ap.add_argument("--docs", default="docs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--emodb-epochs", type=int, default=25)
    ap.add_argument("--emodb-mappo-steps", type=int, default=40)
    ap.add_argument("--paired-train", type=int, default=6000, help="training episodes (MELD train utterances paired)")
    ap.add_argument("--paired-epochs", type=int, default=4)
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch.manual_seed(args.seed)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    res: dict = {"seed": args.seed}
    parts = {"meld": part_meld, "emodb": part_emodb, "paired": part_paired}
    for name in args.parts.split(","):
        if name not in parts:
            print(f"unknown part {name!r}; choose from {', '.join(parts)}", file=sys.stderr)
            return 2
        log(f"== part {name}")
        parts[name](args, res)
    res["minutes"] = (time.time() - t0) / 60
    command = "python bench/study.py " + " ".join(sys.argv[1:])
    (Path(args.out) / "study.json").write_text(json.dumps(res, indent=2))
    md = markdown(res, command.strip())
    (Path(args.out) / "study.md").write_text(md)
    for p in plots(res, Path(args.docs)):
        log(f"wrote {p}")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
