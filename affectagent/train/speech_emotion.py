"""Train the speech-emotion branch (``encoders/speech_emotion.py``) on acted speech corpora.

    affectagent train speech                          # EmoDB + RAVDESS, ComParE + Whisper -> assets/default/speech_emotion.npz
    affectagent train speech --views whisper --out affectagent/assets/speech/speech_emotion_whisper.npz

Per view: standardisation + a softmax regression (L2 weight ``l2``) whose softmax runs over each utterance's own
corpus label space (``fit_masked_softmax``; a plain one-vs-rest model over the union of EmoDB's and RAVDESS's labels
learns corpus identity for the classes only one corpus has and scored 0.69 vs 0.76 EmoDB UAR here); the fused scores'
temperature is fitted on out-of-speaker-fold scores (speakers of both corpora dealt into ``folds`` folds, a speaker
never on both sides), and the same folds give the out-of-fold posteriors that the agents' SFT sees for these
utterances (``out_of_fold_posteriors``: an in-sample posterior would teach the generator to trust the branch more
than it deserves on a new speaker). Features are cached per file (``FeatureCache`` namespace ``speech_view``).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..encoders.cache import FeatureCache, file_digest, make_key
from ..encoders.speech_emotion import ASSET_DIR, LinearView, SpeechEmotionModel, softmax
from ..encoders.speech_views import SAMPLE_RATE, get_speech_view
from ..errors import InputError
from ..schema import Sample

ABSENT_CLASS_SCORE = -10.0  # standardised score of a class that no training row of a fold has
TEMPERATURE_GRID = tuple(float(t) for t in np.round(np.geomspace(0.25, 8.0, 31), 4))


@dataclass(frozen=True)
class SpeechTrainConfig:
    """corpora: NAME[:SPLIT] of labelled speech corpora. views: speech views (compare, whisper). l2: the L2
    weight λ of each view's softmax regression. folds: speaker folds for the temperature and the out-of-fold
    posteriors. data_root: data folder (default: affectagent.paths.data_root()). out: the model file. progress: tqdm bars.
    speaker_norm: fit on views z-scored within each speaker (``encoders/speaker_norm.py``; the model is then valid only
    over batches of one speaker's files)."""

    corpora: tuple[str, ...] = ("emodb:all", "ravdess:all")
    views: tuple[str, ...] = ("compare", "whisper")
    l2: float = 1e-2
    folds: int = 4
    data_root: str | None = None
    out: str = str(ASSET_DIR / "default" / "speech_emotion.npz")
    progress: bool = True
    speaker_norm: bool = False

    def __post_init__(self) -> None:
        if not self.corpora or not self.views:
            raise ValueError("SpeechTrainConfig needs at least one corpus and one view")
        if self.l2 <= 0 or self.folds < 2:
            raise ValueError("SpeechTrainConfig: l2 must be > 0 and folds >= 2")
        from ..encoders.speech_views import SPEECH_VIEWS

        unknown = [v for v in self.views if v not in SPEECH_VIEWS]
        if unknown:
            raise ValueError(f"unknown speech view(s) {', '.join(unknown)}; known: {', '.join(SPEECH_VIEWS.names())}")


# ---- features -------------------------------------------------------------------------------------------------------
def view_matrix(samples: Sequence[Sample], view: str, *, cache: FeatureCache | None = None,
                progress: bool = True) -> np.ndarray:
    """(N, D) view features of every sample's audio (16 kHz mono), cached per file content."""
    from ..media import load_audio

    v = get_speech_view(view)
    cache = cache if cache is not None else FeatureCache()
    rows: list[np.ndarray] = []
    items: Sequence[Sample] = samples
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(samples, desc=f"speech view {view}", unit="clip")
    for s in items:
        if not s.audio:
            raise InputError(f"{s.id}: no audio file to train the speech-emotion branch on")
        key = make_key("speech_view", file_digest(s.audio), v.version, SAMPLE_RATE)
        hit = cache.get("speech_view", key)
        if hit is not None:
            rows.append(hit[0]["x"])
            continue
        x = v(load_audio(s.audio, sr=SAMPLE_RATE))
        cache.put("speech_view", key, {"x": x}, {"view": v.version})
        rows.append(x)
    return np.stack(rows).astype(np.float64)


# ---- fitting -------------------------------------------------------------------------------------------------------
def masked_softmax_loss(w: np.ndarray, z: np.ndarray, y_idx: np.ndarray, mask: np.ndarray,
                        lam: float) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(z Wᵀ + b) normalised over each row's own label space ``mask`` (N, K), plus
    (λ/2)·‖W‖²; returns (loss, gradient) for the flat parameters w = [W (K·D) ; b (K)]. Pure."""
    n, d = z.shape
    k = mask.shape[1]
    weight, bias = w[:-k].reshape(k, d), w[-k:]
    logits = np.where(mask, z @ weight.T + bias, -np.inf)
    logits = logits - logits.max(1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(1, keepdims=True)
    rows = np.arange(n)
    loss = -np.log(p[rows, y_idx] + 1e-12).mean() + 0.5 * lam * float((weight ** 2).sum())
    g = p
    g[rows, y_idx] -= 1.0
    g /= n
    return loss, np.concatenate([(g.T @ z + lam * weight).ravel(), g.sum(0)])


def fit_masked_softmax(z: np.ndarray, y_idx: np.ndarray, mask: np.ndarray, *, lam: float,
                       max_iter: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression whose softmax runs over each row's own label space (L-BFGS from zeros,
    deterministic). Corpora with different label sets train one model without the classes that only one corpus
    has (EmoDB boredom, RAVDESS calm / surprise) turning into corpus detectors. Returns W (K, D), b (K)."""
    from scipy.optimize import minimize

    k = mask.shape[1]
    res = minimize(masked_softmax_loss, np.zeros(k * z.shape[1] + k), args=(z, y_idx, mask, lam), jac=True,
                   method="L-BFGS-B", options={"maxiter": max_iter})
    return res.x[:-k].reshape(k, z.shape[1]), res.x[-k:]


def fit_view(x: np.ndarray, y: np.ndarray, *, view: str, version: str, classes: Sequence[str], lam: float,
             spaces: np.ndarray) -> LinearView:
    """Standardise + label-space-masked softmax regression (``spaces`` (N, K): each row's allowed classes); the
    fitted numbers as a ``LinearView`` over ``classes``' order. A class no training row has keeps a constant,
    lowest score."""
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    y_idx = np.array([list(classes).index(v) for v in y])
    present = np.zeros(len(classes), bool)
    present[np.unique(y_idx)] = True
    weight, bias = fit_masked_softmax(z, y_idx, spaces & present, lam=lam)
    weight[~present] = 0.0
    bias[~present] = ABSENT_CLASS_SCORE
    raw = z @ weight.T + bias
    ref_mean = np.where(present, raw.mean(0), 0.0)
    ref_std = np.where(present, raw.std(0), 1.0)
    ref_std[ref_std < 1e-9] = 1.0
    return LinearView(view=view, version=version, mean=mean, scale=scale, weight=weight, bias=bias,
                      ref_mean=ref_mean, ref_std=ref_std)


def label_spaces(y: np.ndarray, corpora: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """(N, K) bool: row i may be any class that a row of its own corpus has (its corpus's label space)."""
    corpora = np.asarray(corpora)
    out = np.zeros((len(y), len(classes)), bool)
    for name in np.unique(corpora):
        m = corpora == name
        out[np.ix_(m, np.isin(np.asarray(classes), y[m]))] = True
    return out


def fit_models(xs: Mapping[str, np.ndarray], y: np.ndarray, rows: np.ndarray, *, classes: Sequence[str],
               spaces: np.ndarray, config: SpeechTrainConfig) -> tuple[LinearView, ...]:
    return tuple(fit_view(xs[v][rows], y[rows], view=v, version=get_speech_view(v).version, classes=classes,
                          lam=config.l2, spaces=spaces[rows]) for v in config.views)


def speaker_folds(groups: Sequence[str], k: int) -> list[np.ndarray]:
    """Test-row indices of ``k`` folds; speakers sorted and dealt round-robin (deterministic)."""
    g = np.asarray(groups)
    speakers = sorted(set(g.tolist()))
    if len(speakers) < k:
        raise InputError(f"{len(speakers)} speakers cannot make {k} speaker folds")
    return [np.flatnonzero(np.isin(g, speakers[i::k])) for i in range(k)]


def fit_temperature(scores: np.ndarray, y_idx: np.ndarray, grid: Sequence[float] = TEMPERATURE_GRID) -> float:
    """The τ of ``grid`` with the lowest mean negative log-likelihood of softmax(τ · scores) (pure)."""
    best, best_nll = grid[0], np.inf
    for t in grid:
        p = softmax(t * scores)
        nll = -np.mean(np.log(p[np.arange(len(y_idx)), y_idx] + 1e-12))
        if nll < best_nll:
            best, best_nll = t, nll
    return float(best)


def out_of_fold_scores(xs: Mapping[str, np.ndarray], y: np.ndarray, groups: Sequence[str], *,
                       classes: Sequence[str], spaces: np.ndarray, config: SpeechTrainConfig) -> np.ndarray:
    """(N, K) fused scores of every row from a model that never heard its speaker."""
    out = np.zeros((len(y), len(classes)))
    for test in speaker_folds(groups, config.folds):
        train = np.setdiff1d(np.arange(len(y)), test)
        views = fit_models(xs, y, train, classes=classes, spaces=spaces, config=config)
        model = SpeechEmotionModel(classes=tuple(classes), views=views)
        out[test] = model.scores({v: xs[v][test] for v in config.views})
    return out


@dataclass
class SpeechTrainResult:
    model: SpeechEmotionModel
    oof_probs: np.ndarray  # (N, K) out-of-speaker-fold posteriors
    classes: tuple[str, ...]
    report: dict


def fit_speech_emotion(samples: Sequence[Sample], xs: Mapping[str, np.ndarray], *, config: SpeechTrainConfig,
                       groups: Sequence[str] | None = None) -> SpeechTrainResult:
    """Fit the branch on ``samples`` (labels, speaker groups) with precomputed view matrices ``xs``."""
    from sklearn.metrics import accuracy_score, recall_score

    y = np.array([s.label for s in samples])
    groups = list(groups) if groups is not None else [f"{s.meta.get('dataset', '')}:{s.group}" for s in samples]
    classes = tuple(sorted(set(y.tolist())))
    spaces = label_spaces(y, [g.split(":")[0] for g in groups], classes)
    if config.speaker_norm:
        from ..encoders.speaker_norm import standardise_by_group  # noqa: PLC0415

        xs = {v: standardise_by_group(x, groups) for v, x in xs.items()}
    oof = out_of_fold_scores(xs, y, groups, classes=classes, spaces=spaces, config=config)
    y_idx = np.array([classes.index(v) for v in y])
    tau = fit_temperature(np.where(spaces, oof, -1e3), y_idx)  # calibrated within each row's label space
    views = fit_models(xs, y, np.arange(len(y)), classes=classes, spaces=spaces, config=config)
    oof_probs = softmax(tau * oof)
    pred = np.array(classes)[np.where(spaces, oof_probs, -1.0).argmax(1)]  # within each row's label space
    report = {"n": len(y), "classes": list(classes), "temperature": tau, "speakers": len(set(groups)),
              "oof_uar": round(float(recall_score(y, pred, average="macro")), 4),
              "oof_war": round(float(accuracy_score(y, pred)), 4),
              "config": {k: v for k, v in asdict(config).items() if k not in ("out", "data_root", "progress")}}
    per_corpus = {}
    for name in sorted({g.split(":")[0] for g in groups}):
        m = np.array([g.split(":")[0] == name for g in groups])
        allowed = sorted(set(y[m].tolist()))  # the corpus's own label set, as the agents restrict it
        cols = [classes.index(k) for k in allowed]
        pred_m = np.array(allowed)[oof_probs[m][:, cols].argmax(1)]
        per_corpus[name or "?"] = {"n": int(m.sum()),
                                   "oof_uar": round(float(recall_score(y[m], pred_m, average="macro")), 4),
                                   "oof_war": round(float(accuracy_score(y[m], pred_m)), 4)}
    report["per_corpus"] = per_corpus
    model = SpeechEmotionModel(classes=classes, views=views, temperature=tau,
                               meta={"corpora": list(config.corpora), "n": len(y), "l2": config.l2,
                                     "oof_uar": report["oof_uar"], "speaker_norm": config.speaker_norm})
    return SpeechTrainResult(model=model, oof_probs=oof_probs, classes=classes, report=report)


def load_speech_corpora(corpora: Sequence[str], data_root: str | None) -> list[Sample]:
    from dataclasses import replace

    from .. import datasets

    out: list[Sample] = []
    for spec in corpora:
        name, _, split = spec.partition(":")
        rows = [s for s in datasets.load(name, split or "all", data_root=data_root) if s.label and s.audio]
        if not rows:
            raise InputError(f"{spec} has no labelled audio")
        out.extend(replace(s, meta={**s.meta, "dataset": name}) for s in rows)
    return out


def train_speech(config: SpeechTrainConfig, *, log: Callable[[str], None] = print) -> SpeechTrainResult:
    t0 = time.time()
    samples = load_speech_corpora(config.corpora, config.data_root)
    cache = FeatureCache()
    xs = {v: view_matrix(samples, v, cache=cache, progress=config.progress) for v in config.views}
    res = fit_speech_emotion(samples, xs, config=config)
    res.report["seconds"] = round(time.time() - t0, 1)
    out = res.model.save(config.out)
    Path(out).with_suffix(".json").write_text(json.dumps(res.report, indent=2) + "\n")
    log(f"speech-emotion: {res.report['n']} utterances, {res.report['speakers']} speakers, views "
        f"{'+'.join(config.views)}; out-of-speaker-fold UAR {res.report['oof_uar']:.4f} WAR {res.report['oof_war']:.4f} "
        + " ".join(f"[{k} UAR {v['oof_uar']:.4f}]" for k, v in res.report["per_corpus"].items())
        + f"; temperature {res.model.temperature} -> {out}")
    return res


# ---- the agents' recipe: the branch fitted on the recipe's own speech rows -------------------------------------------
def with_branch_probs(x, probs: Mapping[str, float]):
    """``EncodedInput`` ``x`` with ``probs`` as its audio branch posterior."""
    from dataclasses import replace

    return replace(x, features=replace(x.features, branch_probs={**x.features.branch_probs, "audio": dict(probs)}))


def attach_speech_branch(parts: Sequence, samples: Sequence[Sequence[Sample]], datasets_: Sequence[str], *,
                         config: SpeechTrainConfig, out: str | Path, log: Callable[[str], None] = print,
                         cache: FeatureCache | None = None) -> SpeechEmotionModel | None:
    """Fit the speech-emotion branch on every labelled training row with audio (``parts``: the recipe's
    ``EncodedCorpus`` per corpus, ``samples`` their samples, ``datasets_`` their dataset names), save it to ``out``
    and give each of those rows its **out-of-speaker-fold** posterior (in place). None when no row has audio."""
    rows = [(p, i) for p, (part, ss) in enumerate(zip(parts, samples)) for i, s in enumerate(ss)
            if s.audio and s.label and part.inputs[i].features.audio_emb is not None]
    if not rows:
        return None
    picked = [samples[p][i] for p, i in rows]
    groups = [f"{datasets_[p]}:{samples[p][i].group or samples[p][i].id}" for p, i in rows]
    log(f"speech-emotion branch: {len(picked)} training utterances with audio, {len(set(groups))} speakers")
    xs = {v: view_matrix(picked, v, cache=cache, progress=config.progress) for v in config.views}
    res = fit_speech_emotion(picked, xs, config=config, groups=groups)
    res.model.save(out)
    Path(out).with_suffix(".json").write_text(json.dumps(res.report, indent=2) + "\n")
    log(f"speech-emotion branch: out-of-speaker-fold UAR {res.report['oof_uar']:.4f} over {len(res.classes)} classes "
        f"-> {out}")
    for (p, i), probs in zip(rows, res.oof_probs):
        parts[p].inputs[i] = with_branch_probs(parts[p].inputs[i], dict(zip(res.classes, map(float, probs))))
    return res.model


def apply_speech_branch(part, samples: Sequence[Sample], model: SpeechEmotionModel, *,
                        cache: FeatureCache | None = None, progress: bool = False) -> None:
    """Give every row of ``part`` (an ``EncodedCorpus``) with audio the posterior of ``model`` (in place)."""
    rows = [i for i, s in enumerate(samples) if s.audio and part.inputs[i].features.audio_emb is not None]
    if not rows:
        return
    xs = {v: view_matrix([samples[i] for i in rows], v, cache=cache, progress=progress) for v in model.view_names}
    for i, probs in zip(rows, model.posterior(xs)):
        part.inputs[i] = with_branch_probs(part.inputs[i], dict(zip(model.classes, map(float, probs))))
