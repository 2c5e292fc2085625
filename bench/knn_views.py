"""How much a plain neighbour vote knows, per embedding view: k-nearest-neighbour label vote over a training corpus
(the KB's rows) scored on a dev split, for each text encoder.

    python bench/knn_views.py --train meld:train --dev meld:dev --encoders e5 minilm minilm-emotion --k 10

Prints weighted F1 / accuracy of the similarity-weighted vote (softmax over cosine / --temperature) and the
agreement of the vote with the emotion-tuned encoder's own classifier (when it is among the encoders), i.e. how
much of what the neighbours say the generator's own text encoder does not already say. A view whose train rows
were seen by its encoder (``minilm-emotion`` was fine-tuned on MELD train) also gets its train-set vote
scored with the row's dialogue excluded, which shows how much better its neighbours look on rows it memorised.
``--poe``: the dev WF1 of the emotion-tuned text branch alone and multiplied with each view's vote raised to a weight
g (log p_text + g · log((vote + a/C) / (1 + a)), a = 0.1) over a grid of g and temperatures — the best cell is chosen
on dev, so it is an upper bound on what the vote can add to that branch, not a result.
"""
from __future__ import annotations

import argparse
import re

import numpy as np

from affectagent import datasets
from affectagent.encoders import FeatureCache, encode_texts
from affectagent.encoders.inputs import EncodingConfig, encoder_text
from affectagent.encoders.config import ExtractConfig
from affectagent.metrics.classification import weighted_f1

_DIALOGUE = re.compile(r"^(?P<d>.+?)_(?:utt|u)\d+$")


def vote(sims: np.ndarray, labels: np.ndarray, n_classes: int, temperature: float) -> np.ndarray:
    """(Q, k) similarities and (Q, k) label indices → (Q, C) softmax-weighted label distribution. Pure."""
    w = np.exp((sims - sims.max(axis=1, keepdims=True)) / temperature)
    w /= w.sum(axis=1, keepdims=True)
    out = np.zeros((len(sims), n_classes))
    np.add.at(out, (np.repeat(np.arange(len(sims)), sims.shape[1]), labels.ravel()), w.ravel())
    return out


def knn(query: np.ndarray, keys: np.ndarray, k: int, exclude: list[np.ndarray] | None = None
        ) -> tuple[np.ndarray, np.ndarray]:
    sims = query @ keys.T
    if exclude is not None:
        for i, idx in enumerate(exclude):
            sims[i, idx] = -np.inf
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    return np.take_along_axis(sims, top, axis=1), top


def embed(samples, encoder: str, cache: FeatureCache) -> np.ndarray:
    cfg = EncodingConfig(extract=ExtractConfig(text_encoder=encoder))
    emb = encode_texts([encoder_text(s, cfg) for s in samples], encoder=encoder, cache=cache, progress=True)
    emb = np.asarray(emb, np.float32)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", default="meld:train")
    ap.add_argument("--dev", default="meld:dev")
    ap.add_argument("--encoders", nargs="+", default=["e5", "minilm", "minilm-emotion"])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--poe", action="store_true", help="also the product-of-experts upper bound with the text branch")
    args = ap.parse_args()
    name, split = args.train.split(":")
    dname, dsplit = args.dev.split(":")
    train = [s for s in datasets.load(name, split, data_root=args.data_root) if s.label and s.text]
    dev = [s for s in datasets.load(dname, dsplit, data_root=args.data_root) if s.label and s.text]
    labels = sorted({s.label for s in train} | {s.label for s in dev})
    idx = {lab: i for i, lab in enumerate(labels)}
    y_train = np.array([idx[s.label] for s in train])
    y_dev = np.array([idx[s.label] for s in dev])
    dialogue = [(_DIALOGUE.match(s.id) or re.match(r"(?P<d>.*)", s.id)).group("d") for s in train]
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(dialogue):
        groups.setdefault(d, []).append(i)
    own = [np.array(groups[d]) for d in dialogue]
    cache = FeatureCache()
    poe: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    print(f"train {args.train} ({len(train)}), dev {args.dev} ({len(dev)}), k={args.k}, T={args.temperature}")
    print("| view | dev WF1 | dev acc | train WF1 (own dialogue excluded) |")
    print("|---|---|---|---|")
    for enc in args.encoders:
        keys = embed(train, enc, cache)
        q = embed(dev, enc, cache)
        s, top = knn(q, keys, args.k)
        pred = vote(s, y_train[top], len(labels), args.temperature).argmax(1)
        s_tr, top_tr = knn(keys, keys, args.k, exclude=own)
        pred_tr = vote(s_tr, y_train[top_tr], len(labels), args.temperature).argmax(1)
        print(f"| {enc} | {weighted_f1(y_dev, pred):.4f} | {(pred == y_dev).mean():.4f} | "
              f"{weighted_f1(y_train, pred_tr):.4f} |", flush=True)
        if args.poe:
            poe[enc] = (s, y_train[top])
    if args.poe:
        print_poe(poe, dev, y_dev, labels)


def print_poe(votes: dict, dev, y_dev: np.ndarray, labels: list[str]) -> None:
    from affectagent.encoders import get_text_encoder

    cfg = EncodingConfig(extract=ExtractConfig(text_encoder="minilm-emotion"))
    log_text = np.log(np.asarray(get_text_encoder("minilm-emotion").predict_proba(
        [encoder_text(s, cfg) for s in dev], labels), np.float64) + 1e-9)
    print(f"\ntext branch (minilm-emotion classifier) alone: dev WF1 {weighted_f1(y_dev, log_text.argmax(1)):.4f}")
    grid_g, grid_t, a = (0.25, 0.5, 0.75, 1.0), (0.02, 0.05, 0.1), 0.1
    print("| view | " + " | ".join(f"g={g}" for g in grid_g) + " | (best over T " + "/".join(map(str, grid_t)) + ")")
    print("|---|" + "---|" * len(grid_g))
    for enc, (sims, lab) in votes.items():
        cells = []
        for g in grid_g:
            best = max(weighted_f1(y_dev, (log_text + g * np.log((vote(sims, lab, len(labels), t) + a / len(labels))
                                                               / (1 + a))).argmax(1)) for t in grid_t)
            cells.append(f"{best:.4f}")
        print(f"| {enc} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
