"""Text branch benchmark: emotion recognition on MELD dev and EmoryNLP dev (7 classes each).

    python bench/text.py                                   # all rows, shipped checkpoint
    python bench/text.py --checkpoint my.pt --skip-frozen  # only TF-IDF + the given fine-tuned checkpoint

Rows (each corpus: trained on its own train split, scored on its dev split; test splits are not in the shared copy):
  tfidf+lr            TF-IDF (word 1-2 grams + char 2-5 grams, sublinear tf) + logistic regression on the utterance
  tfidf+lr ctx        same, input = format_with_context(..., turns=2) (speakers + 2 previous turns)
  minilm frozen+lr    frozen all-MiniLM-L6-v2 embedding of the utterance + logistic regression
  minilm frozen+lr ctx   frozen embedding of the utterance ⊕ embedding of the context-formatted input + LR
  minilm-emotion      the fine-tuned encoder (LoRA, MELD+EmoryNLP train), its own head restricted to the corpus's labels
  minilm-emotion emb+lr  (--emb-lr) logistic regression on the fine-tuned encoder's embedding (what downstream sees)
  mpnet-emotion       (--mpnet [CKPT]) the same recipe on all-mpnet-base-v2, its own head
  ensemble            (--mpnet) mean of the two tuned heads' log-probabilities over the corpus's labels
Tuned rows also print ms / sentence (dev inference, sorted batches of 64, the given --threads).
Metrics: accuracy, weighted-F1 (MELD's usual headline), macro-F1, on canonical labels.
Frozen embeddings go through the feature cache (``encode_texts``), so re-runs are fast.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass
class Split:
    utter: list[str]
    ctx: list[str]
    y: np.ndarray  # canonical label strings


def load_split(corpus: str, split: str, turns: int) -> Split:
    from affectagent import datasets
    from affectagent.encoders.text_emotion import format_with_context

    samples = datasets.load(corpus, split)
    return Split(utter=[s.text or "" for s in samples],
                 ctx=[format_with_context(s.text or "", s.context, s.speaker, turns=turns) for s in samples],
                 y=np.array([s.label for s in samples]))


def metrics(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return (float(accuracy_score(y, p)), float(f1_score(y, p, average="weighted", zero_division=0)),
            float(f1_score(y, p, average="macro", zero_division=0)))


def logreg(seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, C=1.0, random_state=seed)


def tfidf_lr(train: list[str], y: np.ndarray, dev: list[str], seed: int) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union

    feats = make_union(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                       TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True))
    model = make_pipeline(feats, logreg(seed))
    model.fit(train, y)
    return model.predict(dev)


def emb_lr(x_train: np.ndarray, y: np.ndarray, x_dev: np.ndarray, seed: int) -> np.ndarray:
    model = logreg(seed)
    model.fit(x_train, y)
    return model.predict(x_dev)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default=None, help="fine-tuned checkpoint (default: the shipped one)")
    ap.add_argument("--corpora", nargs="+", default=["meld", "emorynlp"])
    ap.add_argument("--turns", type=int, default=2, help="context turns for the baselines' ctx rows")
    ap.add_argument("--skip-frozen", action="store_true", help="skip the frozen MiniLM rows")
    ap.add_argument("--skip-tuned", action="store_true", help="skip the fine-tuned rows (baselines only)")
    ap.add_argument("--emb-lr", action="store_true",
                    help="add the LR-on-tuned-embedding row (encodes the train splits: ~15 min on 2 busy cores)")
    ap.add_argument("--mpnet", nargs="?", const="", default=None, metavar="CKPT",
                    help="add the mpnet-emotion rows (its shipped checkpoint, or CKPT) and the two-head ensemble")
    ap.add_argument("--bf16", action="store_true", help="tuned encoders infer under bfloat16 autocast")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    from affectagent import datasets
    from affectagent.encoders import encode_texts
    from affectagent.encoders.text_emotion import MiniLMEmotionEncoder, MPNetEmotionEncoder

    tuned = None if a.skip_tuned else MiniLMEmotionEncoder(a.checkpoint, bf16=a.bf16)
    mpnet = None if a.skip_tuned or a.mpnet is None else MPNetEmotionEncoder(a.mpnet or None, bf16=a.bf16)
    speed: dict[str, float] = {}
    rows: list[tuple[str, str, tuple[float, float, float]]] = []
    for corpus in a.corpora:
        t0 = time.time()
        tr, dv = load_split(corpus, "train", a.turns), load_split(corpus, "dev", a.turns)
        rows.append((corpus, "tfidf+lr", metrics(dv.y, tfidf_lr(tr.utter, tr.y, dv.utter, a.seed))))
        rows.append((corpus, f"tfidf+lr ctx{a.turns}", metrics(dv.y, tfidf_lr(tr.ctx, tr.y, dv.ctx, a.seed))))
        if not a.skip_frozen:
            eu_tr, eu_dv = (encode_texts(s.utter, encoder="minilm", progress=True) for s in (tr, dv))
            rows.append((corpus, "minilm frozen+lr", metrics(dv.y, emb_lr(eu_tr, tr.y, eu_dv, a.seed))))
            ec_tr, ec_dv = (encode_texts(s.ctx, encoder="minilm", progress=True) for s in (tr, dv))
            rows.append((corpus, f"minilm frozen+lr ctx{a.turns}",
                         metrics(dv.y, emb_lr(np.hstack([eu_tr, ec_tr]), tr.y, np.hstack([eu_dv, ec_dv]), a.seed))))
        if tuned is None:
            print(f"[{corpus}] done in {time.time() - t0:.0f} s", flush=True)
            continue
        space = datasets.label_space(corpus).canonical
        samples_dev = datasets.load(corpus, "dev")
        samples_tr = datasets.load(corpus, "train") if a.emb_lr else []
        x_dev = [tuned.format(s.text or "", s.context, s.speaker) for s in samples_dev]
        t1 = time.time()
        p_minilm = tuned.predict_proba(x_dev, space)
        speed[f"{corpus} minilm-emotion"] = 1000 * (time.time() - t1) / max(1, len(x_dev))
        pred = np.array(space)[p_minilm.argmax(1)]
        rows.append((corpus, f"minilm-emotion head (ctx{tuned.context_turns})", metrics(dv.y, pred)))
        if mpnet is not None:
            x_mp = [mpnet.format(s.text or "", s.context, s.speaker) for s in samples_dev]
            t1 = time.time()
            p_mpnet = mpnet.predict_proba(x_mp, space)
            speed[f"{corpus} mpnet-emotion"] = 1000 * (time.time() - t1) / max(1, len(x_mp))
            rows.append((corpus, f"mpnet-emotion head (ctx{mpnet.context_turns})",
                         metrics(dv.y, np.array(space)[p_mpnet.argmax(1)])))
            mix = np.log(np.clip(p_minilm, 1e-9, 1)) + np.log(np.clip(p_mpnet, 1e-9, 1))
            rows.append((corpus, "ensemble minilm-emotion + mpnet-emotion (mean log-prob)",
                         metrics(dv.y, np.array(space)[mix.argmax(1)])))
        if a.emb_lr:
            x_tr = [tuned.format(s.text or "", s.context, s.speaker) for s in samples_tr]
            e_tr = tuned.encode(x_tr, progress=True)
            e_dv = tuned.encode(x_dev, progress=True)
            rows.append((corpus, f"minilm-emotion emb+lr (ctx{tuned.context_turns})",
                         metrics(dv.y, emb_lr(e_tr, tr.y, e_dv, a.seed))))
        print(f"[{corpus}] done in {time.time() - t0:.0f} s", flush=True)

    if tuned is not None:
        print(f"\ncheckpoint: {tuned.checkpoint} ({tuned.info.version})")
    if mpnet is not None:
        print(f"mpnet checkpoint: {mpnet.checkpoint} ({mpnet.info.version})")
    for key, ms in speed.items():
        print(f"{key}: {ms:.1f} ms / sentence (dev, batches of 64, {a.threads} thread(s), model loaded, "
              f"{'bf16' if a.bf16 else 'fp32'})")
    print("| corpus (dev) | system | accuracy | weighted-F1 | macro-F1 |")
    print("|---|---|---|---|---|")
    for corpus, name, (acc, wf1, mf1) in rows:
        print(f"| {corpus} | {name} | {acc:.4f} | {wf1:.4f} | {mf1:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
