"""Speech emotion, speaker-independent: EmoDB leave-one-speaker-out (8 speakers) and RAVDESS actor-independent 5-fold
(4 actors per fold). Features: the project's audio encoder (eGeMAPS functionals, 88-d) + mean/std of its frame
sequence. Classifiers, per fold, trained on the other speakers only:
  * baseline: eGeMAPS functionals + linear SVM (the classic recipe)
  * ours:     functionals + sequence statistics, per-speaker z-normalisation, RBF SVM
  * with --compare: openSMILE ComParE 2016 functionals (6,373-d) + linear SVM, with per-speaker z-normalisation
    (the classic anchor) and without it (the protocol one user file gets: no other utterance of the speaker);
    C = 1e-3, or with --tune-c chosen per outer fold by leave-one-speaker-out over its training speakers (nested)
Per-speaker normalisation uses each test speaker's own unlabelled utterances (transductive, common practice).
ComParE features are cached in ~/.cache/affectagent/bench/compare-<corpus>.npz.

    python bench/speech.py [--corpora emodb,ravdess] [--compare]
"""
from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import accuracy_score, recall_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from affectagent import datasets
from affectagent.encoders import ExtractConfig, extract_many


def features(samples):
    feats = extract_many(samples, config=ExtractConfig(transcribe=False), progress=True)
    func = np.stack([f.audio_emb for f in feats]).astype(np.float64)
    seq = np.stack([np.concatenate([f.audio_seq.mean(0), f.audio_seq.std(0)]) for f in feats]).astype(np.float64)
    return func, np.hstack([func, seq])


def compare_features(name: str, samples) -> np.ndarray:
    """ComParE 2016 functionals of every sample's audio (openSMILE), cached per corpus."""
    import opensmile

    from affectagent.paths import cache_dir

    path = cache_dir() / "bench" / f"compare-{name}.npz"
    ids = np.array([s.id for s in samples])
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        if z["ids"].tolist() == ids.tolist():
            return z["x"]
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.ComParE_2016,
                            feature_level=opensmile.FeatureLevel.Functionals)
    from tqdm.auto import tqdm

    x = np.stack([smile.process_file(s.audio).to_numpy()[0] for s in tqdm(samples, desc=f"ComParE {name}")])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, ids=ids, x=x.astype(np.float32))
    return x.astype(np.float32)


def speaker_norm(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for g in np.unique(groups):
        m = groups == g
        out[m] = (x[m] - x[m].mean(0)) / (x[m].std(0) + 1e-6)
    return out


C_GRID = (1e-4, 1e-3, 1e-2)


def inner_c(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """The C of ``C_GRID`` with the best UAR over leave-one-speaker-out folds of the training speakers only."""
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict

    best, best_uar = C_GRID[0], -1.0
    for c in C_GRID:
        model = make_pipeline(StandardScaler(), LinearSVC(C=c, max_iter=50000))
        pred = cross_val_predict(model, x, y, groups=groups, cv=LeaveOneGroupOut())
        uar = recall_score(y, pred, average="macro")
        if uar > best_uar:
            best, best_uar = c, uar
    return best


def run(name: str, split: str, k: int | None, *, compare: bool = False, tune: bool = False) -> None:
    samples = [s for s in datasets.load(name, split) if s.label]
    y = np.array([s.label for s in samples])
    groups = np.array([s.group for s in samples])
    func, full = features(samples)
    full_n = speaker_norm(full, groups)
    folds = datasets.folds(samples, by="group", k=k)
    chosen: dict[str, list[float]] = {}
    res = {"baseline eGeMAPS+linSVM": ([], []), "ours: +seq stats, spk-norm, RBF-SVM": ([], [])}
    if compare:
        cmp = np.nan_to_num(compare_features(name, samples).astype(np.float64))
        cmp_n = speaker_norm(cmp, groups)
        res.update({"ComParE+spk-norm+linSVM": ([], []), "ComParE+linSVM (one file, no spk-norm)": ([], [])})
    for fold in folds:
        tr, te = np.asarray(fold.train), np.asarray(fold.test)
        base = make_pipeline(StandardScaler(), LinearSVC(C=0.01, max_iter=20000)).fit(func[tr], y[tr])
        ours = make_pipeline(StandardScaler(), SVC(C=10, gamma="scale")).fit(full_n[tr], y[tr])
        for key, model, x in (("baseline eGeMAPS+linSVM", base, func), ("ours: +seq stats, spk-norm, RBF-SVM", ours, full_n)):
            res[key][0].extend(y[te])
            res[key][1].extend(model.predict(x[te]))
        if compare:
            for key, x in (("ComParE+spk-norm+linSVM", cmp_n), ("ComParE+linSVM (one file, no spk-norm)", cmp)):
                c = inner_c(x[tr], y[tr], groups[tr]) if tune else 1e-3
                chosen.setdefault(key, []).append(c)
                model = make_pipeline(StandardScaler(), LinearSVC(C=c, max_iter=50000)).fit(x[tr], y[tr])
                res[key][0].extend(y[te])
                res[key][1].extend(model.predict(x[te]))
    print(f"== {name} ({len(samples)} utterances, {len(folds)} speaker-independent folds)")
    for key, (t, p) in res.items():
        cs = f"  C per fold {chosen[key]}" if key in chosen and tune else ""
        print(f"   {key:<38} UAR {recall_score(t, p, average='macro'):.4f}  WAR {accuracy_score(t, p):.4f}{cs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default="emodb,ravdess")
    ap.add_argument("--compare", action="store_true", help="add the ComParE 2016 + linear SVM anchors")
    ap.add_argument("--tune-c", action="store_true",
                    help="--compare: choose the SVM's C per fold by leave-one-speaker-out on the training speakers")
    args = ap.parse_args()
    for name in args.corpora.split(","):
        run(name, "all", None if name == "emodb" else 5, compare=args.compare, tune=args.tune_c)


if __name__ == "__main__":
    main()
