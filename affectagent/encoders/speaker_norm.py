"""Speaker normalisation for the speech-emotion branch: z-score each speaker's view features with that speaker's
own mean and standard deviation before the branch scores them. A voice's pitch, level and timbre then stop looking
like emotions, which is worth several UAR points in speaker cross-validation (BENCHMARKS.md *Speech anchors*) — but
it needs several utterances of the same speaker, so it is an option for batches (``--speaker-norm``), never the
one-file default.

Training: ``affectagent train speech --speaker-norm`` fits a branch on speaker-standardised views (the model records
it: ``SpeechEmotionModel.speaker_norm``; shipped as ``speaker-norm``). Inference: ``renormalised_branch`` re-scores
the audio inputs of a batch grouped by speaker (``Sample.group``, else ``Sample.speaker``, else one group for the whole
batch: the folder is one speaker). A speaker with fewer than ``MIN_UTTERANCES`` files keeps its one-file posterior
and says so in ``Features.info["speaker_norm"]``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Sequence

import numpy as np

from ..errors import InputError
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
    for name in dict.fromkeys(g.tolist()):
        m = g == name
        mu = x[m].mean(axis=0)
        sd = x[m].std(axis=0)
        out[m] = (x[m] - mu) / np.where(sd < _STD_FLOOR, 1.0, sd)
    return out


def speaker_key(sample: Sample) -> str:
    """The speaker a batch file belongs to: its group (corpus speaker / actor id), else its speaker name, else the
    whole batch."""
    return str(sample.group or sample.speaker or "batch")


def renormalised_branch(samples: Sequence[Sample], feats: Sequence[Features], *, model_name: str,
                        cache: FeatureCache | None = None, min_utterances: int = MIN_UTTERANCES,
                        log=None) -> list[Features]:
    """``feats`` with the audio branch posterior of every input that has audio recomputed by the speaker-normalised
    model ``model_name`` over its speaker's files in this batch (see the module docstring)."""
    from ..train.speech_emotion import view_matrix  # noqa: PLC0415 - the cached view features
    from .speech_emotion import SpeechEmotionModel, resolve_model_path  # noqa: PLC0415

    model = SpeechEmotionModel.load(resolve_model_path(model_name))
    if not model.speaker_norm:
        raise InputError(f"speech-emotion model {model_name!r} was not trained on speaker-normalised features; train "
                         "one with: affectagent train speech --speaker-norm --out FILE (or use 'speaker-norm')")
    out = list(feats)
    rows = [i for i, f in enumerate(feats) if f.audio_emb is not None and (samples[i].audio or samples[i].video)]
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for i in rows:
        by_speaker[speaker_key(samples[i])].append(i)
    use = [i for idx in by_speaker.values() if len(idx) >= min_utterances for i in idx]
    for spk, idx in by_speaker.items():
        if len(idx) < min_utterances:
            note = (f"not applied: {len(idx)} file(s) of speaker {spk!r} in this batch, needs >= {min_utterances}; "
                    "the one-file posterior is kept")
            for i in idx:
                out[i] = replace(out[i], info={**out[i].info, "speaker_norm": note})
            if log is not None:
                log(f"speaker normalisation {note}")
    if not use:
        return out
    audio = [replace(samples[i], audio=samples[i].audio or samples[i].video) for i in use]
    groups = [speaker_key(samples[i]) for i in use]
    xs = {v: standardise_by_group(view_matrix(audio, v, cache=cache, progress=False), groups)
          for v in model.view_names}
    for i, p in zip(use, model.posterior(xs)):
        probs = {c: float(round(q, 6)) for c, q in zip(model.classes, p)}
        f = out[i]
        out[i] = replace(f, branch_probs={**f.branch_probs, "audio": probs},
                         info={**f.info, "speaker_norm": f"applied over {len(by_speaker[speaker_key(samples[i])])} "
                                                         f"files of speaker {speaker_key(samples[i])!r}"})
    return out
