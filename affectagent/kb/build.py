"""Build (or grow) a knowledge base from datasets and manifests: load samples → encode in batches through the feature
cache → ``KnowledgeBase.add``. Several sources can be merged into one KB; re-running a build is idempotent (ids
already present are skipped), so a killed build is finished by running it again.

Entry ↔ sample: id = sample id (so callers can exclude a sample from its own evidence by id); text = "Speaker: text"
for dialogue corpora; label/sentiment canonical; ov_labels = the sample's open-vocabulary set, else its multi-label
set; source/split from the sample; meta = the sample's meta + speaker, raw label, media paths, the last
``context_turns`` dialogue turns.
Embeddings: text_emb = the utterance text alone (the speaker name is not embedded: a query from another speaker
should match on what was said); audio_emb = the audio encoder's utterance embedding (samples with an audio file);
visual_emb = the face encoder's crop embedding (image samples such as FER2013).

Engines (``affectagent.batch.engine``): the encoding, the slow part, runs chunk by chunk (``batch_size`` samples) in
this process (``local``) or in a pool of Ray actors (``ray``, each loading the encoders once); the vectors come back
in order and the KB (SQLite + FAISS) is written here, by this process only, so both engines build the same KB.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ..errors import InputError
from ..schema import Sample
from .config import KBConfig
from .entry import KBEntry, KBInfo
from .errors import KBExistsError
from .knowledge_base import KnowledgeBase
from .sqlite_store import DB_NAME, is_blank

if TYPE_CHECKING:
    from ..batch.engine import BatchEngine


@dataclass(frozen=True)
class BuildSource:
    """One input of a build: ``datasets.load(dataset, split, data_root=..., data_file=..., limit=...)``."""

    dataset: str
    split: str = "train"
    data_file: str | None = None
    data_root: str | None = None
    limit: int | None = None

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.split}" + (f" ({self.data_file})" if self.data_file else "")


@dataclass(frozen=True)
class BuildConfig:
    """text_encoder / audio_encoder / face_encoder: registered encoder names (``affectagent.encoders``).
    batch_size: samples encoded and added per transaction. context_turns: dialogue turns kept in ``meta``.
    speaker_in_text: prefix the stored text with "Speaker: ". kb: index settings used when the KB is created."""

    text_encoder: str = "e5"
    audio_encoder: str = "egemaps"
    face_encoder: str = "default"
    batch_size: int = 512
    context_turns: int = 3
    speaker_in_text: bool = True
    kb: KBConfig = field(default_factory=KBConfig)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.context_turns < 0:
            raise InputError("batch_size must be >= 1 and context_turns >= 0")


@dataclass
class SourceSummary:
    source: str
    loaded: int = 0
    added: int = 0
    already_present: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class BuildSummary:
    """What a build did; ``format()`` is what the CLI prints at the end."""

    path: str
    sources: list[SourceSummary]
    seconds: float
    info: KBInfo

    def format(self) -> str:
        lines = [f"built {self.path} in {self.seconds:.1f} s"]
        for s in self.sources:
            lines.append(f"  {s.source}: {s.loaded} samples, {s.added} added, {s.already_present} already present"
                         + (f", {s.failed} failed (e.g. {s.errors[0]})" if s.failed else ""))
        return "\n".join(lines) + "\n" + self.info.format()


def entry_text(sample: Sample, *, speaker_in_text: bool) -> str:
    """Stored text of an entry: "Speaker: utterance" for dialogue corpora, else the text (or a media label)."""
    if sample.text:
        return f"{sample.speaker}: {sample.text}" if speaker_in_text and sample.speaker else sample.text
    media = sample.audio or sample.video
    return f"[{sample.source} {'audio' if sample.audio else 'video' if sample.video else 'image'}"\
           f"{' ' + Path(media).name if media else ''}]"


def entry_meta(sample: Sample, *, context_turns: int) -> dict[str, Any]:
    meta: dict[str, Any] = dict(sample.meta)
    for key in ("speaker", "raw_label", "group", "valence", "arousal", "dominance"):
        value = getattr(sample, key)
        if value is not None:
            meta[key] = value
    if sample.audio is not None:
        meta["audio"] = str(sample.audio)
    if sample.video is not None:
        meta["video"] = str(sample.video)
    if context_turns and sample.context:
        meta["context"] = [{"speaker": t.speaker, "text": t.text} for t in sample.context[-context_turns:]]
    return meta


def entry_from_sample(sample: Sample, *, text_emb: np.ndarray | None = None, audio_emb: np.ndarray | None = None,
                      visual_emb: np.ndarray | None = None, context_turns: int = 3,
                      speaker_in_text: bool = True) -> KBEntry:
    """The KB entry of one sample (see module docstring); embeddings as computed by the caller."""
    return KBEntry(id=sample.id, text=entry_text(sample, speaker_in_text=speaker_in_text), label=sample.label,
                   sentiment=sample.sentiment, ov_labels=tuple(sample.ov_labels or sample.labels),
                   source=sample.source, split=sample.split, text_emb=text_emb, audio_emb=audio_emb,
                   visual_emb=visual_emb, meta=entry_meta(sample, context_turns=context_turns))


class _Encoders:
    """Lazily built encoders + the dims they give (only the modalities the data has are built)."""

    def __init__(self, config: BuildConfig) -> None:
        self.config = config
        self._text = self._audio = self._face = None

    @property
    def text(self):
        if self._text is None:
            from ..encoders import get_text_encoder  # noqa: PLC0415 - heavy, lazy

            self._text = get_text_encoder(self.config.text_encoder)
        return self._text

    @property
    def face(self):
        if self._face is None:
            from ..encoders import get_face_encoder  # noqa: PLC0415

            self._face = get_face_encoder(self.config.face_encoder)
        return self._face

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        from ..encoders import encode_texts  # noqa: PLC0415

        return encode_texts(texts, encoder=self.text)

    def encode_audio(self, samples: list[Sample]) -> list[np.ndarray | None | str]:
        """Audio embedding per sample through the cached feature extractor (an error string where it failed)."""
        from ..encoders import ExtractConfig, extract_many  # noqa: PLC0415

        cfg = ExtractConfig(audio_encoder=self.config.audio_encoder, text_encoder=self.config.text_encoder,
                            transcribe=False)
        audio_only = [Sample(id=s.id, audio=s.audio, source=s.source, split=s.split) for s in samples]
        feats = extract_many(audio_only, config=cfg, progress=False, on_error="record")
        return [f.info["error"] if "error" in f.info else f.audio_emb for f in feats]

    def audio_dim(self, probe: Sample) -> int:
        emb = self.encode_audio([probe])[0]
        if isinstance(emb, str) or emb is None:
            raise InputError(f"cannot encode the audio of {probe.id} to size the KB: {emb}")
        return int(np.asarray(emb).shape[-1])


def _check_joinable(kb: KnowledgeBase, out: Path, want: dict[str, str | None]) -> KnowledgeBase:
    """``kb`` if it holds every modality the samples need, made by the same encoders; else close it and refuse."""
    for m, name in want.items():
        if name is None:
            continue
        if m not in kb.dims:
            kb.close()
            raise InputError(f"{out} holds no {m} vectors; build these sources into a new KB")
        if kb.encoders.get(m, name) != name:
            kb.close()
            raise InputError(f"{out} was built with {m} encoder {kb.encoders[m]!r}, not {name!r}")
    return kb


def _open_or_create(out: Path, *, samples: Sequence[Sample], enc: _Encoders, config: BuildConfig) -> KnowledgeBase:
    """Open the KB at ``out``, or create it. A blank ``kb.sqlite`` (a creation killed by an older version) is
    replaced; when another build publishes the KB while this one creates it, this one joins it (adds are
    idempotent, so both finish with every entry)."""
    has_text = any(s.text for s in samples)
    audio_probe = next((s for s in samples if s.audio is not None), None)
    has_image = any(s.image is not None for s in samples)
    want = {"text": config.text_encoder if has_text else None,
            "audio": config.audio_encoder if audio_probe else None,
            "visual": config.face_encoder if has_image else None}
    db = out / DB_NAME
    if db.exists() and not is_blank(db):
        return _check_joinable(KnowledgeBase.open(out), out, want)
    if not any(want.values()):
        raise InputError("the samples have no text, audio or image to embed")
    dims = {"text_dim": enc.text.info.dim if has_text else None,
            "audio_dim": enc.audio_dim(audio_probe) if audio_probe else None,
            "visual_dim": enc.face.info.dim if has_image else None}
    try:
        return KnowledgeBase.create(out, **dims, config=config.kb, encoders={m: n for m, n in want.items() if n})
    except KBExistsError:  # a concurrent build published it first: add to that one
        return _check_joinable(KnowledgeBase.open(out), out, want)


def build_kb(out: str | Path, sources: Sequence[BuildSource], *, config: BuildConfig | None = None,
             progress: bool = True, engine: "BatchEngine | None" = None) -> BuildSummary:
    """Load every source, encode, and add to the KB at ``out`` (created if absent). Returns a summary.

    engine: where the samples are encoded (default ``LocalEngine``; ``RayEngine``: Ray actors, see the module
    docstring)."""
    from ..batch.engine import LocalEngine  # noqa: PLC0415
    from ..datasets import load  # noqa: PLC0415

    config = config or BuildConfig()
    engine = engine or LocalEngine()
    if not sources:
        raise InputError("nothing to build: give at least one dataset or manifest")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file, not a folder: give a folder for the knowledge base")
    t0 = time.perf_counter()
    loaded: list[tuple[SourceSummary, list[Sample]]] = []
    for src in sources:
        samples = load(src.dataset, src.split, data_root=src.data_root, data_file=src.data_file, limit=src.limit)
        loaded.append((SourceSummary(source=src.name, loaded=len(samples)), samples))
    enc = _Encoders(config)
    kb = _open_or_create(out, samples=[s for _, ss in loaded for s in ss], enc=enc, config=config)
    total = sum(len(ss) for _, ss in loaded)
    bar = None
    if progress:
        from tqdm.auto import tqdm  # noqa: PLC0415

        bar = tqdm(total=total, desc=f"kb build {out.name}", unit="sample")
    chunks = [(summary, samples[s:s + config.batch_size]) for summary, samples in loaded
              for s in range(0, len(samples), config.batch_size)]
    modalities = frozenset(kb.dims)
    make: Callable[[], Callable[[list[Sample]], ChunkVectors]] = \
        (lambda: partial(encode_chunk, modalities=modalities, enc=enc)) if engine.in_process \
        else partial(chunk_encoder, config, modalities)  # picklable: each worker builds its own encoders
    try:
        with kb.deferred_indexing():
            for (summary, batch), vectors in zip(chunks, engine.map(make, [b for _, b in chunks])):
                entries = entries_of_chunk(batch, vectors, config=config, summary=summary)
                added = kb.add(entries)
                summary.added += added
                summary.already_present += len(entries) - added
                if bar is not None:
                    bar.update(len(batch))
                    bar.set_postfix(added=sum(x.added for x, _ in loaded))
        info = kb.info()
    finally:
        if bar is not None:
            bar.close()
        kb.close()
    return BuildSummary(path=str(out), sources=[x for x, _ in loaded], seconds=time.perf_counter() - t0, info=info)


@dataclass
class ChunkVectors:
    """The vectors of one chunk of samples, by position in the chunk: ``text`` / ``visual`` embeddings, ``audio``
    embeddings or the error string of a sample whose audio could not be encoded."""

    text: dict[int, np.ndarray] = field(default_factory=dict)
    audio: dict[int, Any] = field(default_factory=dict)
    visual: dict[int, np.ndarray] = field(default_factory=dict)


def encode_chunk(batch: list[Sample], *, modalities: frozenset[str], enc: _Encoders) -> ChunkVectors:
    """Embed the samples of ``batch`` in the KB's ``modalities`` (the slow part of a build: runs in an engine)."""
    text_idx = [i for i, s in enumerate(batch) if s.text] if "text" in modalities else []
    audio_idx = [i for i, s in enumerate(batch) if s.audio is not None] if "audio" in modalities else []
    image_idx = [i for i, s in enumerate(batch) if s.image is not None] if "visual" in modalities else []
    return ChunkVectors(
        text=dict(zip(text_idx, enc.encode_texts([batch[i].text for i in text_idx]))) if text_idx else {},
        audio=dict(zip(audio_idx, enc.encode_audio([batch[i] for i in audio_idx]))) if audio_idx else {},
        visual=dict(zip(image_idx, enc.face.encode_crops([batch[i].image for i in image_idx]))) if image_idx else {})


def chunk_encoder(config: BuildConfig, modalities: frozenset[str]) -> Callable[[list[Sample]], ChunkVectors]:
    """An engine worker's ``encode_chunk`` with its own encoders (built lazily, once per worker). The engine already
    spreads the work over processes, so this worker extracts in-process (no pool of its own)."""
    import os

    os.environ["AFFECTAGENT_WORKERS"] = "1"  # this worker process only (encoders/parallel_extract.py)
    return partial(encode_chunk, modalities=modalities, enc=_Encoders(config))


def entries_of_chunk(batch: list[Sample], vectors: ChunkVectors, *, config: BuildConfig,
                     summary: SourceSummary) -> list[KBEntry]:
    """The KB entries of ``batch`` from its ``vectors``; samples with nothing embedded are counted as failed."""
    entries = []
    for i, sample in enumerate(batch):
        a = vectors.audio.get(i)
        if isinstance(a, str):
            summary.failed += 1
            if len(summary.errors) < 3:
                summary.errors.append(f"{sample.id}: {a}")
            a = None
        text_emb, visual_emb = vectors.text.get(i), vectors.visual.get(i)
        if text_emb is None and a is None and visual_emb is None:
            if i not in vectors.audio:  # nothing to embed at all (counted once)
                summary.failed += 1
                if len(summary.errors) < 3:
                    summary.errors.append(f"{sample.id}: no text, audio or image")
            continue
        entries.append(entry_from_sample(sample, text_emb=text_emb, audio_emb=a, visual_emb=visual_emb,
                                         context_turns=config.context_turns, speaker_in_text=config.speaker_in_text))
    return entries
