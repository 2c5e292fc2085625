"""Speech emotion, speaker-independent: EmoDB leave-one-speaker-out (8 speakers) and RAVDESS actor-independent 5-fold
(4 actors per fold). Features: the project's audio encoder (eGeMAPS functionals, 88-d) + mean/std of its frame
sequence. Classifiers, per fold, trained on the other speakers only:
  * baseline: eGeMAPS functionals + linear SVM (the classic recipe)
  * ours:     functionals + sequence statistics, per-speaker z-normalisation, RBF SVM
  * with --compare: openSMILE ComParE 2016 functionals (6,373-d) + linear SVM, with per-speaker z-normalisation
    (the classic anchor) and without it (the protocol one user file gets: no other utterance of the speaker);
    C = 1e-3, or with --tune-c chosen per outer fold by leave-one-speaker-out over its training speakers (nested)
  * with --whisper: a learned representation that ships offline, the Whisper tiny.en encoder (CTranslate2 int8,
    ``nanoemox.features.WhisperStates``; 30-s window, or with --no-whisper-pad the clip's own frames only; the
    states of the clip's frames) pooled over time
    (mean + std, 768-d) + linear SVM, with and without speaker z-norm; and with --compare as well, early fusion
    (both feature sets concatenated after per-set scaling) and late fusion (mean of the two SVMs' decision scores,
    each standardised by its mean / std on the training rows)
  * with --branch: the shipped speech-emotion branch recipe (``train/speech_emotion.py``: ComParE + Whisper views at
    16 kHz, softmax regression over each corpus's own label space, late fusion) trained jointly on both corpora minus
    the fold's speakers (the other corpus in full), scored over the fold corpus's labels — one file, no speaker
    statistics; each view alone; and the same joint training without the label-space mask (the corpus confound)
Per-speaker normalisation uses each test speaker's own unlabelled utterances (transductive, common practice).
ComParE and Whisper features are cached in ~/.cache/affectagent/bench/{compare,whisper}-<corpus>.npz.

    python bench/speech.py [--corpora emodb,ravdess] [--compare] [--whisper] | --branch
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


def cached_features(key: str, samples, compute) -> np.ndarray:
    """``compute(samples) -> (N, D)``, cached in ~/.cache/affectagent/bench/<key>.npz (keyed by the sample ids)."""
    from affectagent.paths import cache_dir

    path = cache_dir() / "bench" / f"{key}.npz"
    ids = np.array([s.id for s in samples])
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        if z["ids"].tolist() == ids.tolist():
            return z["x"]
    x = np.asarray(compute(samples), np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, ids=ids, x=x)
    return x


def compare_features(name: str, samples) -> np.ndarray:
    """ComParE 2016 functionals of every sample's audio (openSMILE), cached per corpus."""

    def compute(rows):
        import opensmile
        from tqdm.auto import tqdm

        smile = opensmile.Smile(feature_set=opensmile.FeatureSet.ComParE_2016,
                                feature_level=opensmile.FeatureLevel.Functionals)
        return np.stack([smile.process_file(s.audio).to_numpy()[0] for s in tqdm(rows, desc=f"ComParE {name}")])

    return cached_features(f"compare-{name}", samples, compute)


def whisper_features(name: str, samples, *, threads: int = 1, pad: bool = True) -> np.ndarray:
    """Whisper tiny.en encoder states of every sample's audio, mean + std over its frames (768-d), cached per corpus."""

    def compute(rows):
        from tqdm.auto import tqdm

        from affectagent.encoders.speech_views import pooled_states
        from affectagent.encoders.whisper_states import WhisperStates
        from affectagent.media.audio import load_audio

        enc = WhisperStates(pad_to_window=pad, cpu_threads=threads)
        out = []
        for s in tqdm(rows, desc=f"Whisper {name}"):
            out.append(pooled_states(enc(load_audio(s.audio))))
        return np.stack(out)

    return cached_features(f"whisper{'' if pad else '-nopad'}-{name}", samples, compute)


def late_fusion(models, xs, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Labels from the mean of several fitted linear models' decision scores, each standardised by its scores'
    mean / std over the training rows (never the test rows: one file has no other test utterances)."""
    classes = models[0].classes_
    total = np.zeros((len(test), len(classes)))
    for model, x in zip(models, xs):
        assert list(model.classes_) == list(classes)
        ref = model.decision_function(x[train])
        total += (model.decision_function(x[test]) - ref.mean(0)) / (ref.std(0) + 1e-9)
    return classes[total.argmax(1)]


def speaker_norm(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each speaker's rows z-scored over that speaker (the package's ``standardise_by_group``; it floors a constant
    column's std at 1 where this bench used to add 1e-6 — identical but for columns with std below 1e-6)."""
    from affectagent.encoders.speaker_norm import standardise_by_group

    return standardise_by_group(x, list(groups))


C_GRID = (1e-4, 1e-3, 1e-2)


def linear(c: float):
    return make_pipeline(StandardScaler(), LinearSVC(C=c, max_iter=50000))


def inner_c(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """The C of ``C_GRID`` with the best UAR over leave-one-speaker-out folds of the training speakers only."""
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict

    best, best_uar = C_GRID[0], -1.0
    for c in C_GRID:
        pred = cross_val_predict(linear(c), x, y, groups=groups, cv=LeaveOneGroupOut())
        uar = recall_score(y, pred, average="macro")
        if uar > best_uar:
            best, best_uar = c, uar
    return best


def fit_linear(res, chosen, rows, *, y, groups, tr, te, tune: bool) -> dict:
    """For each (result key, features, tag): a linear SVM on the training rows (C tuned or 1e-3), its test
    predictions appended to ``res[key]``; returns tag -> fitted model (for late fusion)."""
    fitted = {}
    for key, x, tag in rows:
        c = inner_c(x[tr], y[tr], groups[tr]) if tune else 1e-3
        chosen.setdefault(key, []).append(c)
        fitted[tag] = linear(c).fit(x[tr], y[tr])
        res[key][0].extend(y[te])
        res[key][1].extend(fitted[tag].predict(x[te]))
    return fitted


def run(name: str, split: str, k: int | None, *, compare: bool = False, tune: bool = False, whisper: bool = False,
        threads: int = 1, pad: bool = True) -> None:
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
    if whisper:
        wsp = whisper_features(name, samples, threads=threads, pad=pad).astype(np.float64)
        wsp_n = speaker_norm(wsp, groups)
        res.update({"Whisper-tiny mean+std+spk-norm+linSVM": ([], []), "Whisper-tiny mean+std+linSVM (one file)": ([], [])})
        if compare:
            res.update({f"{kind} fusion ComParE+Whisper{tag}": ([], []) for kind in ("early", "late")
                        for tag in ("+spk-norm", " (one file)")})
    for fold in folds:
        tr, te = np.asarray(fold.train), np.asarray(fold.test)
        base = make_pipeline(StandardScaler(), LinearSVC(C=0.01, max_iter=20000)).fit(func[tr], y[tr])
        ours = make_pipeline(StandardScaler(), SVC(C=10, gamma="scale")).fit(full_n[tr], y[tr])
        for key, model, x in (("baseline eGeMAPS+linSVM", base, func), ("ours: +seq stats, spk-norm, RBF-SVM", ours, full_n)):
            res[key][0].extend(y[te])
            res[key][1].extend(model.predict(x[te]))
        if compare:
            cfit = fit_linear(res, chosen, (("ComParE+spk-norm+linSVM", cmp_n, "+spk-norm"),
                                            ("ComParE+linSVM (one file, no spk-norm)", cmp, " (one file)")),
                              y=y, groups=groups, tr=tr, te=te, tune=tune)
        if whisper:
            wfit = fit_linear(res, chosen, (("Whisper-tiny mean+std+spk-norm+linSVM", wsp_n, "+spk-norm"),
                                            ("Whisper-tiny mean+std+linSVM (one file)", wsp, " (one file)")),
                              y=y, groups=groups, tr=tr, te=te, tune=tune)
            if compare:
                for tag, (cx, wx) in (("+spk-norm", (cmp_n, wsp_n)), (" (one file)", (cmp, wsp))):
                    both = np.hstack([StandardScaler().fit(cx[tr]).transform(cx),
                                      StandardScaler().fit(wx[tr]).transform(wx) * np.sqrt(cx.shape[1] / wx.shape[1])])
                    early = linear(1e-3).fit(both[tr], y[tr])
                    res[f"early fusion ComParE+Whisper{tag}"][0].extend(y[te])
                    res[f"early fusion ComParE+Whisper{tag}"][1].extend(early.predict(both[te]))
                    res[f"late fusion ComParE+Whisper{tag}"][0].extend(y[te])
                    res[f"late fusion ComParE+Whisper{tag}"][1].extend(
                        late_fusion([cfit[tag], wfit[tag]], [cx, wx], tr, te))
    print(f"== {name} ({len(samples)} utterances, {len(folds)} speaker-independent folds)")
    for key, (t, p) in res.items():
        cs = f"  C per fold {chosen[key]}" if key in chosen and tune else ""
        print(f"   {key:<44} UAR {recall_score(t, p, average='macro'):.4f}  WAR {accuracy_score(t, p):.4f}{cs}")
        labels = sorted(set(t))
        per = recall_score(t, p, labels=labels, average=None)
        print("      recall " + " ".join(f"{c} {r:.2f}" for c, r in zip(labels, per)))


def run_branch(folds_of: dict[str, int | None], *, by_speaker: bool = False) -> None:
    """The shipped branch recipe in every corpus's folds, trained jointly (see the module docstring).
    ``by_speaker``: every speaker's view features z-scored over that speaker's own clips first (the batch protocol
    of ``--speaker-norm``; the test speaker's other clips are used, so this is not the one-file protocol)."""
    from affectagent.encoders.speech_emotion import SpeechEmotionModel
    from affectagent.train.speech_emotion import (SpeechTrainConfig, fit_models, label_spaces, load_speech_corpora,
                                                  view_matrix)

    cfg = SpeechTrainConfig(progress=False)
    samples = load_speech_corpora(cfg.corpora, None)
    corpus = np.array([s.meta["dataset"] for s in samples])
    y = np.array([s.label for s in samples])
    xs = {v: view_matrix(samples, v, progress=True) for v in cfg.views}
    if by_speaker:
        groups = np.array([f"{s.meta['dataset']}:{s.group}" for s in samples])
        xs = {v: speaker_norm(x, groups) for v, x in xs.items()}
    classes = tuple(sorted(set(y.tolist())))
    masked = label_spaces(y, corpus, classes)
    unmasked = np.ones_like(masked)
    for name in ("emodb", "ravdess"):
        rows = np.flatnonzero(corpus == name)
        labels = sorted(set(y[rows].tolist()))
        cols = [classes.index(c) for c in labels]
        folds = datasets.folds([samples[i] for i in rows], by="group", k=folds_of[name])
        preds: dict[str, list[str]] = {}
        gold: list[str] = []
        for fold in folds:
            test = rows[np.asarray(fold.test)]
            train = np.setdiff1d(np.arange(len(y)), test)
            gold.extend(y[test])
            variants = (("", masked),) if by_speaker else (("", masked), (" without the label-space mask", unmasked))
            for tag, spaces in variants:
                views = fit_models(xs, y, train, classes=classes, spaces=spaces, config=cfg)
                for keep, key in ((cfg.views, f"branch {'+'.join(cfg.views)}{tag}"),
                                  *(((v,), f"branch {v} alone{tag}") for v in cfg.views)):
                    model = SpeechEmotionModel(classes=classes, views=tuple(v for v in views if v.view in keep))
                    s = model.scores({v: xs[v][test] for v in keep})[:, cols]
                    preds.setdefault(key, []).extend(np.array(labels)[s.argmax(1)])
        protocol = "speaker-normalised (each speaker's clips z-scored together)" if by_speaker else "one file"
        print(f"== {name}: shipped branch recipe, joint training with the other corpus, {len(folds)} folds, {protocol}")
        for key, p in preds.items():
            print(f"   {key:<58} UAR {recall_score(gold, p, average='macro'):.4f}  WAR {accuracy_score(gold, p):.4f}")
            per = recall_score(gold, p, labels=labels, average=None)
            print("      recall " + " ".join(f"{c} {r:.2f}" for c, r in zip(labels, per)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default="emodb,ravdess")
    ap.add_argument("--compare", action="store_true", help="add the ComParE 2016 + linear SVM anchors")
    ap.add_argument("--tune-c", action="store_true",
                    help="--compare: choose the SVM's C per fold by leave-one-speaker-out on the training speakers")
    ap.add_argument("--whisper", action="store_true",
                    help="add the pooled Whisper tiny.en encoder states (+ fusion with ComParE when --compare)")
    ap.add_argument("--threads", type=int, default=1, help="CTranslate2 threads of the Whisper encoder (default 1)")
    ap.add_argument("--no-whisper-pad", action="store_true",
                    help="encode only the clip's own mel frames, not Whisper's zero-padded 30-s window (~10x faster)")
    ap.add_argument("--branch", action="store_true",
                    help="only the shipped speech-emotion branch recipe (joint training, one file) in the same folds")
    ap.add_argument("--speaker-norm", action="store_true",
                    help="--branch: z-score each speaker's views over the speaker's own clips (the batch protocol)")
    args = ap.parse_args()
    if args.branch:
        run_branch({"emodb": None, "ravdess": 5}, by_speaker=args.speaker_norm)
        return
    for name in args.corpora.split(","):
        run(name, "all", None if name == "emodb" else 5, compare=args.compare, tune=args.tune_c, whisper=args.whisper,
            threads=args.threads, pad=not args.no_whisper_pad)


if __name__ == "__main__":
    main()
