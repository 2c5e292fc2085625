"""Speaker normalisation for the speech-emotion branch: z-score each speaker's view features with that speaker's
own mean and standard deviation before the branch scores them. A voice's pitch, level and timbre then stop looking
like emotions, which is worth several UAR points in speaker cross-validation (BENCHMARKS.md *Speech anchors*) — but
it needs several utterances of the same speaker, so it is an option for batches (``--speaker-norm``), never the
one-file default.

Training: ``affectagent train speech --speaker-norm`` fits a branch on speaker-standardised views (the model records
it: ``SpeechEmotionModel.speaker_norm``; shipped as ``speaker-norm``). Inference: ``renormalised_branch`` re-scores
the audio inputs of a batch grouped by speaker (``Sample.group``, else ``Sample.speaker``, else one group for the whole
batch: the folder is one speaker). A speaker with fewer than ``MIN_UTTERANCES`` files keeps its one-file posterior
and says so in ``Features.info["speaker_norm"]``. ``predict FOLDER --speaker-norm`` answers file by file, so it first
computes each speaker's statistics over the whole batch (``speaker_statistics``) and scores every file with them.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Sequence

import numpy as np

from ..errors import AffectAgentError, InputError
from ..schema import Features, Sample
from .cache import FeatureCache

MIN_UTTERANCES = 5
_STD_FLOOR = 1e-6


def standardise_by_group(x: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """(N, D) rows z-scored within each group (its own mean / std per column; a constant column becomes 0). Pure."""
    x = np.asarray(x, np.float64)
    if len(groups) != len(x):
        raise ValueError(f"{len(groups)} groups for {len(x)} rows")
    out = np.empty_like(x)
    g = np.asarray(groups)
    for name, (mu, sd) in group_statistics(x, groups).items():
        out[g == name] = standardise_with(x[g == name], mu, sd)
    return out


SpeakerStats = dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]  # speaker -> view -> (mean, std)


def column_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), std (D,)) of the rows of ``x``. Pure."""
    x = np.asarray(x, np.float64)
    return x.mean(axis=0), x.std(axis=0)


def group_statistics(x: np.ndarray, groups: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{group: (mean (D,), std (D,))} of the rows of each group. Pure."""
    x = np.asarray(x, np.float64)
    g = np.asarray(groups)
    return {name: column_statistics(x[g == name]) for name in dict.fromkeys(g.tolist())}


def standardise_with(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(N, D) rows z-scored with given statistics (a constant column becomes 0). Pure."""
    return (np.asarray(x, np.float64) - mean) / np.where(std < _STD_FLOOR, 1.0, std)


def speaker_statistics(samples: Sequence[Sample], *, model_name: str, cache: FeatureCache | None = None,
                       min_utterances: int = MIN_UTTERANCES, progress: bool = False) -> SpeakerStats:
    """Per speaker (``speaker_key``) with at least ``min_utterances`` readable audio files among ``samples``: the mean
    and std of each view the model ``model_name`` needs. A file whose audio cannot be read is left out here (its own
    prediction reports the error). For ``predict FOLDER --speaker-norm``: computed once over the batch, then each
    file is scored alone with its speaker's statistics."""
    from ..train.speech_emotion import view_matrix  # noqa: PLC0415

    model = load_speaker_norm_model(model_name)
    items = [s for s in samples if s.audio or s.video]
    if progress:
        from tqdm.auto import tqdm  # noqa: PLC0415

        items = tqdm(items, desc="speaker statistics", unit="file")
    rows: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    for s in items:
        one = replace(s, audio=s.audio or s.video)
        try:
            got = {v: view_matrix([one], v, cache=cache, progress=False)[0] for v in model.view_names}
        except AffectAgentError:
            continue
        for v, x in got.items():
            rows[speaker_key(s)][v].append(x)
    return {spk: {v: column_statistics(np.stack(xs)) for v, xs in views.items()}
            for spk, views in rows.items() if len(next(iter(views.values()))) >= min_utterances}


def load_speaker_norm_model(model_name: str):
    """The speech-emotion model ``model_name`` (shipped name or file), refused in one line unless it was trained on
    speaker-normalised features."""
    from .speech_emotion import SpeechEmotionModel, resolve_model_path  # noqa: PLC0415

    model = SpeechEmotionModel.load(resolve_model_path(model_name))
    if not model.speaker_norm:
        raise InputError(f"speech-emotion model {model_name!r} was not trained on speaker-normalised features; train "
                         "one with: affectagent train speech --speaker-norm --out FILE (or use 'speaker-norm')")
    return model


def speaker_key(sample: Sample) -> str:
    """The speaker a batch file belongs to: its group (corpus speaker / actor id), else its speaker name, else the
    whole batch."""
    return str(sample.group or sample.speaker or "batch")


def renormalised_branch(samples: Sequence[Sample], feats: Sequence[Features], *, model_name: str,
                        cache: FeatureCache | None = None, min_utterances: int = MIN_UTTERANCES,
                        stats: SpeakerStats | None = None) -> list[Features]:
    """``feats`` with the audio branch posterior of every input that has audio recomputed by the speaker-normalised
    model ``model_name``, each speaker's view features z-scored with ``stats`` (from ``speaker_statistics``) or, for
    speakers ``stats`` lacks, over that speaker's files in this batch (see the module docstring)."""
    from ..train.speech_emotion import view_matrix  # noqa: PLC0415 - the cached view features

    model = load_speaker_norm_model(model_name)
    stats = dict(stats or {})
    out = list(feats)
    rows = [i for i, f in enumerate(feats) if f.audio_emb is not None and (samples[i].audio or samples[i].video)]
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for i in rows:
        by_speaker[speaker_key(samples[i])].append(i)
    for spk, idx in by_speaker.items():
        if spk not in stats and len(idx) < min_utterances:
            note = (f"not applied: {len(idx)} file(s) of speaker {spk!r} in this batch, needs >= {min_utterances}; "
                    "the one-file posterior is kept")
            for i in idx:
                out[i] = replace(out[i], info={**out[i].info, "speaker_norm": note})
            continue
        audio = [replace(samples[i], audio=samples[i].audio or samples[i].video) for i in idx]
        raw = {v: view_matrix(audio, v, cache=cache, progress=False) for v in model.view_names}
        if spk in stats:
            how = f"applied with the statistics of speaker {spk!r} over the whole batch"
        else:
            stats[spk] = {v: column_statistics(x) for v, x in raw.items()}
            how = f"applied over {len(idx)} files of speaker {spk!r}"
        xs = {v: standardise_with(x, *stats[spk][v]) for v, x in raw.items()}
        for i, p in zip(idx, model.posterior(xs)):
            probs = {c: float(round(q, 6)) for c, q in zip(model.classes, p)}
            f = out[i]
            out[i] = replace(f, branch_probs={**f.branch_probs, "audio": probs},
                             info={**f.info, "speaker_norm": how})
    return out
