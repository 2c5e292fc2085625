"""The shipped recipe on speakers it never heard (issue #16): retrain with speaker folds held out, score one file at a
time through ``metrics.evaluate.evaluate`` (the code behind ``affectagent evaluate``: each clip is encoded and answered
on its own, no statistic of the test speaker), and set the whole pipeline beside its speech-emotion branch alone.

Folds: EmoDB 2 speakers x 4 folds, RAVDESS 4 actors x 5 folds (speakers sorted, consecutive). Per fold the recipe is
the default one (``train.recipe``) with EmoDB all + RAVDESS all minus the held-out speakers, the text and face corpora
capped for time (``TEXT_FACE_CAPS``: MELD 2,000, EmoryNLP 1,000, FER2013 1,000), SFT as the shipped checkpoint (1
planner epoch, 3 joint epochs); the speech-emotion branch is fitted on the training speech rows (out-of-speaker-fold
posteriors for SFT), the KB holds the same rows. Written to OUT/<corpus>-fold<i>/ (a finished fold is reused: re-running resumes).
Printed per corpus: UAR / WAR and per-class recall of the pipeline (full AffectAgent), naive RAG, No-RAG and the
branch alone (its posterior's argmax over the corpus's labels), and the share of clips whose answer retrieval changes
(full vs No-RAG).

    python bench/unseen_speakers.py [--corpora emodb,ravdess] [--out runs/unseen] [--folds N] [--threads 1]
                                    [--weight-scale K]   # diagnostic: the learned branch weights times K
                                    [--speaker-norm]     # also the batch protocol, below

``--speaker-norm`` adds two rows in the *batch* protocol (not the one-file one): per fold a speaker-normalised branch
is fitted on the fold's training speakers (``affectagent train speech --speaker-norm`` on them), and the held-out
speakers' clips are scored with each speaker's clips z-scored together (``evaluate`` of the fold checkpoint with
``AffectAgent.with_speaker_norm``), beside that branch alone.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def speaker_chunks(groups: list[str], per_fold: int) -> list[list[str]]:
    speakers = sorted(set(groups))
    return [speakers[i:i + per_fold] for i in range(0, len(speakers), per_fold)]


PER_FOLD = {"emodb": 2, "ravdess": 4}
# The default recipe's text and face corpora, capped (seeded subsets) so that 9 folds fit in about an hour.
TEXT_FACE_CAPS = (("meld", 2000), ("emorynlp", 1000), ("fer2013", 1000))


def train_fold(corpus: str, held: list[str], out: Path, log) -> Path:
    from affectagent.train.recipe import CorpusSpec, RecipeConfig, train_recipe
    from affectagent.train.sft import SFTConfig


    ckpt = out / "agents.pt"
    if ckpt.is_file():
        log(f"  reuse {ckpt}")
        return ckpt
    speech = tuple(CorpusSpec(name, "all", exclude_groups=tuple(held) if name == corpus else ())
                   for name in ("emodb", "ravdess"))
    corpora = tuple(CorpusSpec(n, "train", k) for n, k in TEXT_FACE_CAPS) + speech
    sft = SFTConfig(planner_epochs=1, epochs=3)  # the shipped checkpoint's settings (BENCHMARKS.md)
    train_recipe(RecipeConfig(corpora=corpora, dev=None, sft=sft), out=out, log=log,
                 command=f"bench/unseen_speakers.py {corpus} held out {','.join(held)}")
    return ckpt


def branch_predictions(ckpt: Path, samples, labels: tuple[str, ...]) -> list[str]:
    from affectagent.encoders.speech_emotion import SpeechEmotionModel
    from affectagent.train.speech_emotion import view_matrix

    model = SpeechEmotionModel.load(ckpt.parent / "speech_emotion.npz")
    xs = {v: view_matrix(samples, v, progress=False) for v in model.view_names}
    p = model.posterior(xs)
    cols = [model.classes.index(c) for c in labels if c in model.classes]
    names = [c for c in labels if c in model.classes]
    return [names[i] for i in p[:, cols].argmax(1)]


def speaker_norm_branch(corpus: str, held: list[str], out: Path, log) -> Path:
    """The fold's speaker-normalised branch: EmoDB + RAVDESS minus the held-out speakers (reused when present)."""
    from affectagent.encoders.speech_emotion import SpeechEmotionModel
    from affectagent.train.speech_emotion import (SpeechTrainConfig, fit_speech_emotion, load_speech_corpora,
                                                  view_matrix)

    path = out / "speech_emotion_spknorm.npz"
    if path.is_file():
        return path
    rows = [s for s in load_speech_corpora(("emodb:all", "ravdess:all"), None)
            if not (s.meta.get("dataset") == corpus and s.group in held)]
    cfg = SpeechTrainConfig(speaker_norm=True, progress=False)
    xs = {v: view_matrix(rows, v, progress=False) for v in cfg.views}
    res = fit_speech_emotion(rows, xs, config=cfg)
    log(f"  speaker-norm branch: {len(rows)} training clips, out-of-speaker-fold UAR {res.report['oof_uar']:.4f}")
    res.model.save(path)
    assert SpeechEmotionModel.load(path).speaker_norm
    return path


def speaker_norm_predictions(model_path: Path, samples, labels: tuple[str, ...]) -> list[str]:
    from affectagent.encoders.speaker_norm import speaker_key, standardise_by_group
    from affectagent.encoders.speech_emotion import SpeechEmotionModel
    from affectagent.train.speech_emotion import view_matrix

    model = SpeechEmotionModel.load(model_path)
    groups = [speaker_key(s) for s in samples]
    xs = {v: standardise_by_group(view_matrix(samples, v, progress=False), groups) for v in model.view_names}
    p = model.posterior(xs)
    names = [c for c in labels if c in model.classes]
    cols = [model.classes.index(c) for c in names]
    return [names[i] for i in p[:, cols].argmax(1)]


def scale_branch_weights(agent, k: float) -> None:
    """Diagnostic (--weight-scale): multiply the learned branch weights of planner and generator by ``k``."""
    import torch

    with torch.no_grad():
        for head in (agent.pipeline.actor.planner, agent.pipeline.actor.generator):
            head.branch_gain.mul_(k)


def run(corpus: str, out_root: Path, max_folds: int | None, log, weight_scale: float = 1.0,
        speaker_norm: bool = False) -> dict:
    from sklearn.metrics import accuracy_score, recall_score

    from affectagent import datasets
    from affectagent.api import AffectAgent
    from affectagent.metrics.evaluate import evaluate
    from affectagent.pipeline import PipelineConfig

    samples = [s for s in datasets.load(corpus, "all") if s.label]
    labels = datasets.label_space(corpus).canonical
    chunks = speaker_chunks([s.group for s in samples], PER_FOLD[corpus])[:max_folds]
    variants = (("pipeline (full)", "full"), ("pipeline (naive RAG)", "naive_rag"), ("pipeline (No-RAG)", "no_rag"))
    extra = ["pipeline (full), speaker norm", "branch alone, speaker norm"] if speaker_norm else []
    rows: dict[str, tuple[list, list]] = {k: ([], []) for k in [v[0] for v in variants] + ["branch alone"] + extra}
    t0 = time.time()
    for i, held in enumerate(chunks):
        log(f"{corpus} fold {i + 1}/{len(chunks)}: held-out speakers {','.join(held)}")
        ckpt = train_fold(corpus, held, out_root / f"{corpus}-fold{i}", log)
        test = [s for s in samples if s.group in held]
        gold = [s.label for s in test]
        for key, variant in variants:
            agent = AffectAgent.load(ckpt, config=PipelineConfig.variant(variant), log=lambda m: None)
            if weight_scale != 1.0:
                scale_branch_weights(agent, weight_scale)
            res = evaluate(agent, dataset=corpus, split="all", speakers=held, progress=False)
            assert "note" not in res.metrics, res.metrics["note"]  # the held-out speakers are unseen
            by_id = {p.sample_id: p.label for p in res.predictions}
            rows[key][0].extend(gold)
            rows[key][1].extend(by_id[s.id] for s in test)
            if agent.pipeline.source is not None:
                agent.pipeline.source.kb.close()
        rows["branch alone"][0].extend(gold)
        rows["branch alone"][1].extend(branch_predictions(ckpt, test, labels))
        if speaker_norm:  # the batch protocol: each held-out speaker's clips are z-scored together
            spk = speaker_norm_branch(corpus, held, ckpt.parent, log)
            agent = AffectAgent.load(ckpt, log=lambda m: None).with_speaker_norm(str(spk))
            res = evaluate(agent, dataset=corpus, split="all", speakers=held, progress=False)
            by_id = {p.sample_id: p.label for p in res.predictions}
            rows["pipeline (full), speaker norm"][0].extend(gold)
            rows["pipeline (full), speaker norm"][1].extend(by_id[s.id] for s in test)
            agent.pipeline.source.kb.close()
            rows["branch alone, speaker norm"][0].extend(gold)
            rows["branch alone, speaker norm"][1].extend(speaker_norm_predictions(spk, test, labels))
        log(f"  fold {i + 1}: pipeline UAR {recall_score(gold, rows['pipeline (full)'][1][-len(gold):], average='macro'):.4f}"
            f"  branch UAR {recall_score(gold, rows['branch alone'][1][-len(gold):], average='macro'):.4f}"
            f"  ({time.time() - t0:.0f} s)")
    full, none = np.array(rows["pipeline (full)"][1]), np.array(rows["pipeline (No-RAG)"][1])
    result = {"corpus": corpus, "folds": [list(h) for h in chunks], "n": len(rows["branch alone"][0]), "rows": {},
              "evidence_changes": round(float((full != none).mean()), 4)}
    print(f"== {corpus}: {result['n']} held-out clips, {len(chunks)} folds of {PER_FOLD[corpus]} speakers, one file at a "
          "time" + (" (the speaker-norm rows: each held-out speaker's clips as one batch)" if speaker_norm else ""))
    for key, (t, p) in rows.items():
        uar, war = recall_score(t, p, average="macro"), accuracy_score(t, p)
        per = recall_score(t, p, labels=list(labels), average=None)
        result["rows"][key] = {"uar": round(float(uar), 4), "war": round(float(war), 4),
                               "recall": {c: round(float(r), 3) for c, r in zip(labels, per)}}
        print(f"   {key:<30} UAR {uar:.4f}  WAR {war:.4f}   recall " + " ".join(f"{c} {r:.2f}" for c, r in zip(labels, per)))
    print(f"   retrieval changes the answer (full vs No-RAG) on {result['evidence_changes']:.1%} of the clips")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default="emodb,ravdess")
    ap.add_argument("--out", default="runs/unseen", help="fold checkpoints (reused when present)")
    ap.add_argument("--folds", type=int, help="only the first N folds of each corpus (a quick look)")
    ap.add_argument("--threads", type=int, default=1, help="torch / BLAS threads (default 1)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--weight-scale", type=float, default=1.0,
                    help="diagnostic only: scale the fold checkpoints' learned branch weights at scoring time (the "
                         "shipped recipe uses its learned weights, i.e. 1)")
    ap.add_argument("--speaker-norm", action="store_true",
                    help="also score the batch protocol with a per-fold speaker-normalised branch")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    log = lambda m: print(m, flush=True)  # noqa: E731
    results = [run(c, Path(args.out), args.folds, log, weight_scale=args.weight_scale, speaker_norm=args.speaker_norm)
               for c in args.corpora.split(",")]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
