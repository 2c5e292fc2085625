"""Task data on the real corpora: which sources each P2E phase draws from, loading them through the project's
dataset loaders, and the feature bank that gives every example its (cached) encoder streams.

Sources (``SOURCES``; name = task/corpus):
    mer/meld       MELD utterances + dialogue context (text)          train / dev
    mer/speech     EmoDB + RAVDESS acted speech (voice only)           held-out speakers / actors = dev
    mer/face       FER2013 faces (face + scene of one image)           train / validation
    mer/paired     MELD utterance + speech clip + FER face, same gold emotion (pseudo-pairs, see ``tasks``)
    msa/cmumosi    CMU-MOSI transcripts (valence sign)                 train / dev
    ov/goemotions  GoEmotions comments, multi-label words               train / dev
    mir/mintrec    MIntRec utterances, 20 intents (text only here)     train / dev
    eri/reccon     RECCON emotion-cause spans                          train / dev
    erg/reccon     RECCON replies to emotional turns                   train / dev
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from .. import datasets
from ..errors import InputError
from ..schema import Sample
from .features import StreamExtractor
from .inputs import NO_STREAMS, StreamInputs
from .tasks import (PromptStyle, TaskExample, canonical_options, eri_examples, erg_examples, mer_media_examples,
                    mer_paired_examples, mer_text_examples, mir_examples, msa_examples, ov_examples, pair_episodes)

SOURCES: tuple[str, ...] = ("mer/meld", "mer/speech", "mer/face", "mer/paired", "msa/cmumosi", "ov/goemotions",
                            "mir/mintrec", "eri/reccon", "erg/reccon")
PAIRED_OPTIONS: tuple[str, ...] = canonical_options(("neutral", "happy", "sad", "angry", "fear", "disgust",
                                                     "surprise"))


@dataclass(frozen=True)
class DataConfig:
    """Where the corpora are and how much of each is used.

    data_root: data root (default: $AFFECTAGENT_DATA or ../shared/data).
    fer_limit: FER2013 training faces used (seeded subset; every face is encoded once and cached).
    speech_limit: training clips used per speech corpus (EmoDB, RAVDESS; seeded subset; Whisper encodes each once).
    text_limit: training items used per text corpus (None = all).
    paired_limit: paired tri-modal episodes built (from the MELD / speech / face training pools).
    dev_limit: items per source in a dev set (seeded subset).
    context_turns: previous dialogue turns shown in a prompt.
    max_turn_words: words kept per context turn (the utterance keeps twice as many).
    emodb_dev_speakers: EmoDB speakers held out as the speech dev set.
    ravdess_dev_actors: RAVDESS actors held out as the speech dev set.
    """

    data_root: str | None = None
    fer_limit: int = 3000
    speech_limit: int | None = 400
    text_limit: int | None = None
    paired_limit: int = 2000
    dev_limit: int = 200
    context_turns: int = 3
    max_turn_words: int = 30
    emodb_dev_speakers: tuple[str, ...] = ("15", "16")
    ravdess_dev_actors: tuple[str, ...] = ("17", "18", "19", "20")

    def __post_init__(self) -> None:
        for name in ("fer_limit", "paired_limit", "dev_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"DataConfig.{name} must be >= 1")
        for name in ("speech_limit", "text_limit"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"DataConfig.{name} must be >= 1 (or None for all)")
        if self.context_turns < 0 or self.max_turn_words < 1:
            raise ValueError("DataConfig: context_turns must be >= 0 and max_turn_words >= 1")
        object.__setattr__(self, "emodb_dev_speakers", tuple(str(s).zfill(2) for s in self.emodb_dev_speakers))
        object.__setattr__(self, "ravdess_dev_actors", tuple(str(s).zfill(2) for s in self.ravdess_dev_actors))

    @property
    def style(self) -> PromptStyle:
        return PromptStyle(context_turns=self.context_turns, max_turn_words=self.max_turn_words)


def _subset(samples: list[Sample], limit: int | None, seed: int) -> list[Sample]:
    if limit is None or limit >= len(samples):
        return samples
    keep = np.sort(np.random.default_rng(seed).choice(len(samples), limit, replace=False))
    return [samples[i] for i in keep]


def _subset_dialogues(samples: list[Sample], limit: int | None, seed: int) -> list[Sample]:
    """Whole dialogues (seeded order) until at least ``limit`` utterances: ERG needs a turn and the next one."""
    if limit is None or limit >= len(samples):
        return samples
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(str(s.meta.get("dialogue_id", s.id)), []).append(s)
    keys = list(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    chosen: set[str] = set()
    n = 0
    for i in order:
        if n >= limit:
            break
        chosen.add(keys[i])
        n += len(groups[keys[i]])
    return [s for s in samples if str(s.meta.get("dialogue_id", s.id)) in chosen]


class CorpusLoader:
    """Loads (and memoises) the corpora a set of sources needs, split by ``split`` ("train" or "dev")."""

    def __init__(self, data: DataConfig, *, split: str, seed: int) -> None:
        if split not in ("train", "dev"):
            raise InputError(f"split must be train or dev, got {split!r}")
        self.data, self.split, self.seed = data, split, seed
        self._memo: dict[str, list[Sample]] = {}

    def _limit(self, default: int | None) -> int | None:
        return self.data.dev_limit if self.split == "dev" else default

    def _load(self, name: str, split: str) -> list[Sample]:
        return datasets.load(name, split, data_root=self.data.data_root)

    def corpus(self, name: str) -> list[Sample]:
        if name in self._memo:
            return self._memo[name]
        d = self.data
        if name == "emodb" or name == "ravdess":
            held = set(d.emodb_dev_speakers if name == "emodb" else d.ravdess_dev_actors)
            every = self._load(name, "all")
            rows = [s for s in every if (s.group in held) == (self.split == "dev")]
            out = _subset(rows, self._limit(d.speech_limit), self.seed)
        elif name == "fer2013":
            out = _subset(self._load(name, self.split), self._limit(d.fer_limit), self.seed)
        elif name == "reccon":
            out = _subset_dialogues(self._load(name, self.split), self._limit(d.text_limit), self.seed)
        else:
            out = _subset(self._load(name, self.split), self._limit(d.text_limit), self.seed)
        self._memo[name] = out
        return out


def _speech_examples(loader: CorpusLoader) -> list[TaskExample]:
    out: list[TaskExample] = []
    for name in ("emodb", "ravdess"):
        space = datasets.label_space(name)
        out += mer_media_examples(loader.corpus(name), options=canonical_options(space.canonical),
                                  source="mer/speech", kind="speech")
    return out


def _paired(loader: CorpusLoader) -> list[TaskExample]:
    audio = loader.corpus("emodb") + loader.corpus("ravdess")
    triples = pair_episodes(loader.corpus("meld"), audio, loader.corpus("fer2013"), seed=loader.seed,
                            limit=loader._limit(loader.data.paired_limit))
    return mer_paired_examples(triples, options=PAIRED_OPTIONS, style=loader.data.style)


_BUILDERS: Mapping[str, Callable[[CorpusLoader], list[TaskExample]]] = {
    "mer/meld": lambda L: mer_text_examples(L.corpus("meld"), options=canonical_options(
        datasets.label_space("meld").canonical), source="mer/meld", style=L.data.style),
    "mer/speech": _speech_examples,
    "mer/face": lambda L: mer_media_examples(L.corpus("fer2013"), options=canonical_options(
        datasets.label_space("fer2013").canonical), source="mer/face", kind="face"),
    "mer/paired": _paired,
    "msa/cmumosi": lambda L: msa_examples(L.corpus("cmumosi"), style=L.data.style),
    "ov/goemotions": lambda L: ov_examples(L.corpus("goemotions"), style=L.data.style),
    "mir/mintrec": lambda L: mir_examples(L.corpus("mintrec"), intents=datasets.intent_labels("mintrec"),
                                          style=L.data.style),
    "eri/reccon": lambda L: eri_examples(L.corpus("reccon"), style=L.data.style),
    "erg/reccon": lambda L: erg_examples(L.corpus("reccon"), style=L.data.style),
}


def build_source(name: str, loader: CorpusLoader) -> list[TaskExample]:
    """The examples of one source (``SOURCES``) on the loader's split; an empty source is an InputError."""
    if name not in _BUILDERS:
        raise InputError(f"unknown source {name!r}; sources: {', '.join(SOURCES)}")
    out = _BUILDERS[name](loader)
    if not out:
        raise InputError(f"source {name} has no examples on split {loader.split}")
    return out


def dev_examples(source: str, *, data: DataConfig = DataConfig(), seed: int = 0) -> list[TaskExample]:
    """A dev set of one source (``dev_limit`` items) for evaluation."""
    return build_source(source, CorpusLoader(data, split="dev", seed=seed))


class FeatureBank:
    """Streams of examples, computed once through ``StreamExtractor`` (on-disk cache) and kept in memory as
    float16. ``prepare`` encodes every media sample of a list of examples up front (progress bar)."""

    def __init__(self, extractor: StreamExtractor | None = None) -> None:
        self.extractor = extractor or StreamExtractor()
        self._memo: dict[str, StreamInputs] = {}
        self._lock = threading.Lock()

    def _sample(self, s: Sample) -> StreamInputs:
        with self._lock:
            hit = self._memo.get(s.id)
        if hit is not None:
            return hit
        streams = self.extractor.sample_streams(s).as_float16()
        with self._lock:
            self._memo[s.id] = streams
        return streams

    def streams(self, example: TaskExample) -> StreamInputs:
        out = NO_STREAMS
        for s in example.media:
            out = out.merged(self._sample(s))
        return out

    def prepare(self, examples: Sequence[TaskExample], *, desc: str = "features", progress: bool = True) -> int:
        """Encode every media sample of ``examples`` not encoded yet; returns how many were new to this bank."""
        from tqdm.auto import tqdm

        todo: dict[str, Sample] = {}
        for ex in examples:
            for s in ex.media:
                if s.id not in self._memo:
                    todo[s.id] = s
        for s in tqdm(list(todo.values()), desc=desc, disable=not progress or not todo, leave=False):
            self._sample(s)
        return len(todo)


__all__ = ["CorpusLoader", "DataConfig", "FeatureBank", "PAIRED_OPTIONS", "SOURCES", "build_source",
           "dev_examples"]
