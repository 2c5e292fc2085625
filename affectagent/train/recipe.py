"""The SFT recipe end to end: load corpora → encode (cached) → fit feature normalisation → build the evidence KB from the
training data → SFT warm start → save a versioned checkpoint (+ the KB beside it).

The embedded default model is this recipe on ``DEFAULT_CORPORA`` (every supported corpus's label space):
    affectagent train sft --preset default --out affectagent/assets/default
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import datasets
from ..agents.checkpoint import AgentCheckpoint
from ..agents.observation import FeatureSpec
from ..encoders import ExtractConfig, FeatureCache
from ..encoders.inputs import EncodingConfig, encode_inputs, gold_arrays
from ..errors import InputError
from ..kb.from_inputs import build_kb, entries_from_inputs
from ..kb.retrieval import Retriever
from ..pipeline import AffectAgentPipeline
from ..schema import CANONICAL_EMOTIONS, EncodedInput, FeatureNorm, Sample
from .sft import EncodedCorpus, SFTConfig, run_inference, train_sft
from .speech_emotion import SpeechTrainConfig, apply_speech_branch, attach_speech_branch

AUDIO_CORPORA = frozenset({"emodb", "ravdess"})
SPEECH_MODEL_FILE = "speech_emotion.npz"  # the speech-emotion branch, beside agents.pt (encoders["speech_emotion"])


@dataclass(frozen=True)
class CorpusSpec:
    """One training source: dataset name, split, an optional cap (first ``limit`` samples after a seeded shuffle) and
    speakers / actors left out (``exclude_groups``: ``Sample.group`` values, e.g. held-out speaker folds)."""

    name: str
    split: str = "train"
    limit: int | None = None
    exclude_groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "exclude_groups", tuple(str(g) for g in self.exclude_groups))

    @staticmethod
    def parse(text: str) -> "CorpusSpec":
        """"meld", "meld:train", "fer2013:train:8000"."""
        parts = text.split(":")
        if not parts[0] or len(parts) > 3:
            raise InputError(f"bad corpus spec {text!r}; use NAME[:SPLIT[:LIMIT]]")
        limit = None
        if len(parts) == 3:
            try:
                limit = int(parts[2])
            except ValueError:
                raise InputError(f"bad limit in corpus spec {text!r}") from None
        return CorpusSpec(parts[0], parts[1] if len(parts) > 1 else "train", limit)


DEFAULT_CORPORA: tuple[CorpusSpec, ...] = (
    CorpusSpec("meld", "train"), CorpusSpec("emorynlp", "train"), CorpusSpec("emodb", "all"),
    CorpusSpec("ravdess", "all"), CorpusSpec("fer2013", "train", 2000),
)


def extract_config_for(name: str, base: ExtractConfig) -> ExtractConfig:
    """Acted-speech corpora say emotion-neutral sentences (in German for EmoDB): no ASR for them."""
    return replace(base, transcribe=False) if name in AUDIO_CORPORA else base


def load_corpus(spec: CorpusSpec, *, data_root: str | Path | None, data_file: str | Path | None = None,
                seed: int = 0) -> list[Sample]:
    samples = datasets.load(spec.name, spec.split, data_root=data_root, data_file=data_file)
    samples = [s for s in samples if s.label is not None and s.group not in spec.exclude_groups]
    if spec.limit is not None and spec.limit < len(samples):
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(samples), spec.limit, replace=False))
        samples = [samples[i] for i in keep]
    if not samples:
        raise InputError(f"{spec.name}:{spec.split} has no labelled samples")
    return samples


def encode_corpus(samples: Sequence[Sample], *, dataset: str, encoding: EncodingConfig, cache: FeatureCache | None,
                  progress: bool = True) -> EncodedCorpus:
    space = datasets.label_space(dataset)
    if space is None:
        raise InputError(f"{dataset} has no emotion label space; it cannot train or evaluate the emotion agents")
    enc = replace(encoding, extract=extract_config_for(dataset, encoding.extract))
    inputs = encode_inputs(samples, label_sets=[space.canonical] * len(samples), config=enc, cache=cache,
                           progress=progress)
    gold, sent = gold_arrays(samples)
    return EncodedCorpus(inputs=inputs, gold=gold, gold_sentiment=sent, source=[dataset] * len(samples))


def fit_norm(inputs: Sequence[EncodedInput]) -> FeatureNorm:
    rows: dict[str, list[np.ndarray]] = {"audio": [], "aseq": [], "fseq": [], "visual": []}
    for x in inputs:
        f = x.features
        if f.audio_emb is not None:
            rows["audio"].append(np.asarray(f.audio_emb, np.float32)[None])
        if f.audio_seq is not None and len(f.audio_seq):
            rows["aseq"].append(np.asarray(f.audio_seq, np.float32))
        if f.face_seq is not None and len(f.face_seq):
            rows["fseq"].append(np.asarray(f.face_seq, np.float32))
        if f.visual_emb is not None:
            rows["visual"].append(np.asarray(f.visual_emb, np.float32)[None])
    return FeatureNorm.fit(rows)


def feature_spec(inputs: Sequence[EncodedInput], *, fallback: dict[str, int] | None = None) -> FeatureSpec:
    """Widths from the first input that has each feature (``fallback`` for features no input has)."""
    dims = dict(fallback or {})
    for x in inputs:
        f = x.features
        for key, arr in (("text_dim", f.text_emb), ("audio_dim", f.audio_emb), ("visual_dim", f.visual_emb)):
            if arr is not None and key not in dims:
                dims[key] = int(np.asarray(arr).shape[-1])
        for key, arr in (("aseq_dim", f.audio_seq), ("face_dim", f.face_seq)):
            if arr is not None and len(arr) and key not in dims:
                dims[key] = int(np.asarray(arr).reshape(len(arr), -1).shape[-1])
    missing = [k for k in ("text_dim", "audio_dim", "aseq_dim", "face_dim", "visual_dim") if k not in dims]
    if missing:
        raise InputError(f"the training data has no {', '.join(missing)} features; add a corpus with that modality")
    return FeatureSpec(**dims)


def kb_entries(corpus: EncodedCorpus, samples: Sequence[Sample], norm: FeatureNorm, split: str) -> list:
    return entries_from_inputs(
        corpus.inputs, labels=[CANONICAL_EMOTIONS[g] if g >= 0 else None for g in corpus.gold],
        sentiments=[s.sentiment for s in samples], sources=corpus.source, splits=[split] * len(samples),
        texts=[(f"{s.speaker}: " if s.speaker else "") + (s.text or "") for s in samples], norm=norm,
        meta=[{"speaker": s.speaker} if s.speaker else {} for s in samples])


@dataclass(frozen=True)
class RecipeConfig:
    """corpora: training sources; dev: (dataset, split) evaluated after every epoch (WF1 printed and logged);
    sft: the SFT configuration; encoding: encoders and context; seed: sampling of capped corpora.
    speech_views: views of the speech-emotion branch fitted on the corpora's speech rows and saved beside the
    checkpoint (``train/speech_emotion.py``; its out-of-speaker-fold posteriors reach the agents in training);
    () = no branch. speech_l2: the branch regressions' L2 weight."""

    corpora: tuple[CorpusSpec, ...] = DEFAULT_CORPORA
    dev: tuple[str, str] | None = ("meld", "dev")
    sft: SFTConfig = field(default_factory=SFTConfig)
    encoding: EncodingConfig = field(default_factory=lambda: EncodingConfig(
        extract=ExtractConfig(text_encoder="minilm-emotion"), exclude_related=True))
    seed: int = 0
    speech_views: tuple[str, ...] = ("compare", "whisper")
    speech_l2: float = 1e-2


def train_recipe(config: RecipeConfig, *, out: str | Path, data_root: str | Path | None = None,
                 cache: FeatureCache | None = None, log: Callable[[str], None] = print,
                 command: str = "") -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # the branch is fitted below on these very corpora, so encoding does not run a shipped one
    encoding = replace(config.encoding, extract=replace(config.encoding.extract, speech_emotion="none"))
    parts, all_samples = [], []
    for spec in config.corpora:
        samples = load_corpus(spec, data_root=data_root, seed=config.seed)
        log(f"encoding {spec.name}:{spec.split} ({len(samples)} samples)")
        parts.append(encode_corpus(samples, dataset=spec.name, encoding=encoding, cache=cache))
        all_samples.append(samples)
    speech_model = None
    if config.speech_views:
        speech_model = attach_speech_branch(
            parts, all_samples, [c.name for c in config.corpora], out=out / SPEECH_MODEL_FILE, log=log, cache=cache,
            config=SpeechTrainConfig(views=config.speech_views, l2=config.speech_l2, progress=True))  # minutes at first
    corpus = EncodedCorpus.concat(parts)
    norm = fit_norm(corpus.inputs)
    spec = feature_spec(corpus.inputs)
    kb_dir = out / "kb"
    if kb_dir.exists():
        import shutil

        shutil.rmtree(kb_dir)
    entries = [e for part, samples, cs in zip(parts, all_samples, config.corpora)
               for e in kb_entries(part, samples, norm, cs.split)]
    kb = build_kb(kb_dir, entries, text_dim=spec.text_dim, audio_dim=spec.audio_dim, visual_dim=spec.face_dim,
                  encoders={"text": config.encoding.extract.text_encoder})
    source = Retriever(kb, norm=norm)

    dev_corpus = None
    if config.dev is not None:
        dev_samples = load_corpus(CorpusSpec(*config.dev), data_root=data_root)
        dev_corpus = encode_corpus(dev_samples, dataset=config.dev[0],
                                   encoding=replace(encoding, exclude_related=False), cache=cache)
        if speech_model is not None:
            apply_speech_branch(dev_corpus, dev_samples, speech_model, cache=cache)

    def on_epoch(epoch: int, pipe: AffectAgentPipeline) -> dict[str, float]:
        if dev_corpus is None:
            return {}
        from ..metrics.classification import weighted_f1

        preds = run_inference(pipe, dev_corpus.inputs)
        y = [CANONICAL_EMOTIONS[g] for g in dev_corpus.gold]
        wf1 = weighted_f1(y, [p.label for p in preds])
        log(f"epoch {epoch}: dev {config.dev[0]}:{config.dev[1]} weighted-F1 {wf1:.4f}")
        return {"dev_weighted_f1": wf1}

    t0 = time.time()
    result = train_sft(corpus, source=source, spec=spec, norm=norm, config=config.sft, on_epoch=on_epoch)
    ckpt = AgentCheckpoint(
        actor=result.actor, norm=norm,
        encoders={"text": config.encoding.extract.text_encoder, "audio": config.encoding.extract.audio_encoder,
                  "face": config.encoding.extract.face_encoder, "visual": config.encoding.extract.visual_encoder,
                  **({"speech_emotion": SPEECH_MODEL_FILE} if speech_model is not None else {})},
        provenance={"recipe": "sft", "corpora": [asdict(c) for c in config.corpora], "dev": config.dev,
                    "sft": json.loads(json.dumps(asdict(config.sft), default=str)),
                    "context_turns": config.encoding.context_turns, "history": result.history,
                    "train_seconds": round(time.time() - t0, 1), "n_train": len(corpus), "command": command})
    path = ckpt.save(out / "agents.pt")
    kb.close()
    log(f"saved {path} and knowledge base {kb_dir} ({len(entries)} entries)")
    return path
