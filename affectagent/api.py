"""The Python entry point: load the agents (default or a user checkpoint) with their evidence KB, then predict or evaluate.

    from affectagent.api import AffectAgent
    agent = AffectAgent.load()                                   # shipped checkpoint + KB (built on first use)
    [pred] = agent.predict_paths(["clip.mp4"])                   # Prediction(label, probs, sentiment, ov_set, rationale, evidence)
    [pred] = agent.predict_texts(["I can't believe you did that!"], contexts=[[("Ross", "I sold the car.")]])
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from .agents.checkpoint import AgentCheckpoint, CheckpointError
from .encoders import ExtractConfig, FeatureCache
from .encoders.inputs import EncodingConfig, encode_inputs
from .errors import InputError
from .kb import KnowledgeBase
from .kb.from_inputs import build_kb
from .kb.retrieval import Retriever
from .paths import PACKAGE_DIR, cache_dir
from .progress import stage
from .pipeline import AffectAgentPipeline, PipelineConfig
from .raer.config import RAERConfig
from .raer.neural import NeuralRAER
from .schema import CANONICAL_EMOTIONS, Prediction, Sample, Turn, parse_label_list
from .train.recipe import CorpusSpec, encode_corpus, kb_entries, load_corpus
from .train.sft import run_inference

DEFAULT_CHECKPOINT = PACKAGE_DIR / "assets" / "default" / "agents.pt"
# KB modality -> the checkpoint encoder that embeds its queries (the KB's visual vectors are face features)
KB_QUERY_ENCODER: dict[str, str] = {"text": "text", "audio": "audio", "visual": "face"}
VIDEO_EXTS = frozenset({".mp4", ".mkv", ".webm", ".avi", ".mov", ".flv", ".m4v", ".mpg", ".mpeg", ".3gp"})


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def default_kb_dir(checkpoint: Path) -> Path:
    """Where the KB of a checkpoint lives: ``<checkpoint dir>/kb`` when present, else a cache folder keyed by the
    checkpoint's hash (built on first use from the training corpora listed in the checkpoint)."""
    beside = checkpoint.parent / "kb"
    if beside.is_dir():
        return beside
    return cache_dir() / "kbs" / f"{checkpoint.stem}-{_digest(checkpoint)}"


def checkpoint_speech_emotion(ckpt: AgentCheckpoint, path: Path) -> str:
    """The speech-emotion branch a checkpoint was trained with (``encoders["speech_emotion"]``: a shipped name or a
    file beside the checkpoint); "none" for checkpoints from before the branch (their branch gains are 0)."""
    from .encoders.speech_emotion import OFF, SHIPPED_MODELS

    name = ckpt.encoders.get("speech_emotion", "none")
    if name in SHIPPED_MODELS or name.lower() in OFF:
        return name
    file = Path(name) if Path(name).is_absolute() else path.parent / name
    if not file.is_file():
        raise CheckpointError(f"{path}: its speech-emotion branch {file} is missing (retrain with affectagent train "
                              "sft, or copy the .npz beside the checkpoint)")
    return str(file)


def build_checkpoint_kb(ckpt: AgentCheckpoint, out: Path, *, data_root: str | Path | None,
                        cache: FeatureCache | None, log=print) -> KnowledgeBase:
    """Rebuild the evidence KB a checkpoint was trained with, from the corpora its provenance names."""
    corpora = ckpt.provenance.get("corpora")
    if not corpora:
        raise CheckpointError("the checkpoint does not say which corpora its knowledge base holds; pass --kb DIR")
    encoding = EncodingConfig(extract=ExtractConfig(text_encoder=ckpt.encoders["text"]),  # no branch: KB rows
                              context_turns=int(ckpt.provenance.get("context_turns", 3)))
    entries = []
    for c in corpora:
        spec = CorpusSpec(**c)
        samples = load_corpus(spec, data_root=data_root)
        log(f"knowledge base: encoding {spec.name}:{spec.split} ({len(samples)} samples, cached after the first run)")
        part = encode_corpus(samples, dataset=spec.name, encoding=encoding, cache=cache)
        entries.extend(kb_entries(part, samples, ckpt.norm, spec.split))
    spec = ckpt.actor.spec
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    kb = build_kb(tmp, entries, text_dim=spec.text_dim, audio_dim=spec.audio_dim, visual_dim=spec.face_dim,
                  encoders={"text": ckpt.encoders["text"]})
    kb.close()
    tmp.rename(out)
    return KnowledgeBase.open(out, read_only=True)


def foreign_encoders(kb_encoders: dict[str, str], checkpoint_encoders: dict[str, str]) -> list[tuple[str, str, str]]:
    """(modality, KB encoder, checkpoint encoder) for every modality whose KB vectors were made by another encoder
    than the one the checkpoint embeds its queries with. A modality the KB records no encoder for is accepted (KBs
    made before encoders were recorded, e.g. the cached KB of the shipped checkpoint)."""
    out = []
    for modality, kb_name in sorted(kb_encoders.items()):
        ours = checkpoint_encoders.get(KB_QUERY_ENCODER.get(modality, modality))
        if kb_name and ours and kb_name != ours:
            out.append((modality, kb_name, ours))
    return out


def check_kb_encoders(store: KnowledgeBase, ckpt: AgentCheckpoint, *, kb_path: Path, allow_foreign_kb: bool,
                      log=print) -> None:
    """Refuse (one line) a KB whose vectors another encoder made, unless ``allow_foreign_kb`` (then warn)."""
    bad = foreign_encoders(dict(store.encoders), dict(ckpt.encoders))
    if not bad:
        return
    what = "; ".join(f"{m} vectors by {k!r}, the checkpoint embeds with {c!r}" for m, k, c in bad)
    if not allow_foreign_kb:
        store.close()
        hint = f" --text-encoder {bad[0][2]}" if bad[0][0] == "text" else ""
        raise InputError(f"knowledge base {kb_path} was built with another encoder ({what}), so its similarities "
                         f"would be meaningless; rebuild it (affectagent kb build ...{hint}) or pass "
                         "--allow-foreign-kb / allow_foreign_kb=True to use it anyway")
    log(f"warning: knowledge base {kb_path} was built with another encoder ({what}); using it as asked "
        "(--allow-foreign-kb)")


@dataclass
class AffectAgent:
    pipeline: AffectAgentPipeline
    encoding: EncodingConfig
    checkpoint: AgentCheckpoint
    kb_path: Path | None
    cache: FeatureCache | None = None

    @classmethod
    def load(cls, checkpoint: str | Path | None = None, *, kb: str | Path | None = None,
             config: PipelineConfig | None = None, data_root: str | Path | None = None, no_kb: bool = False,
             cache: FeatureCache | None = None, allow_foreign_kb: bool = False, log=print) -> "AffectAgent":
        """The agents of ``checkpoint`` (default: the shipped one) with the evidence KB ``kb`` (default: the
        checkpoint's, built on first use). A KB whose vectors were made by another encoder than the checkpoint's
        (as recorded in the KB) is refused unless ``allow_foreign_kb``."""
        path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
        if path.is_dir():  # a `train sft --out DIR` folder: its agents
            path = path / DEFAULT_CHECKPOINT.name
        if not path.is_file():
            hint = (" (the default checkpoint is made by: affectagent train sft --preset default "
                    "--out affectagent/assets/default)") if checkpoint is None else ""
            raise CheckpointError(f"checkpoint not found: {path}{hint}")
        ckpt = AgentCheckpoint.load(path)
        source = None
        kb_path = None
        if not no_kb:
            kb_path = Path(kb) if kb else default_kb_dir(path)
            if kb is not None and not kb_path.is_dir():
                raise InputError(f"knowledge base not found: {kb_path}")
            if kb_path.is_dir():
                store = KnowledgeBase.open(kb_path, read_only=True)
            else:
                log(f"building the evidence knowledge base for {path.name} in {kb_path} (first use only)")
                store = build_checkpoint_kb(ckpt, kb_path, data_root=data_root, cache=cache, log=log)
            dims = dict(store.dims)
            check_kb_encoders(store, ckpt, kb_path=kb_path, allow_foreign_kb=allow_foreign_kb, log=log)
            if dims.get("text") not in (None, ckpt.actor.spec.text_dim):
                store.close()
                raise InputError(f"knowledge base {kb_path} has {dims['text']}-d text vectors but the checkpoint "
                                 f"expects {ckpt.actor.spec.text_dim}-d (built with another text encoder?)")
            source = Retriever(store, norm=ckpt.norm)
        encoding = EncodingConfig(extract=ExtractConfig(text_encoder=ckpt.encoders["text"],
                                                        speech_emotion=checkpoint_speech_emotion(ckpt, path)),
                                  context_turns=int(ckpt.provenance.get("context_turns", 3)))
        pipe = AffectAgentPipeline(actor=ckpt.actor, norm=ckpt.norm, source=source, config=config or PipelineConfig())
        return cls(pipeline=pipe, encoding=encoding, checkpoint=ckpt, kb_path=kb_path, cache=cache)

    @property
    def default_labels(self) -> tuple[str, ...]:
        """The labels of the corpora the checkpoint was trained on (all canonical emotions when it does not say)."""
        from . import datasets

        names = [c["name"] for c in self.checkpoint.provenance.get("corpora", [])]
        spaces = [datasets.label_space(n) for n in names if n in datasets.DATASETS]
        seen = {e for sp in spaces if sp is not None for e in sp.canonical}
        return tuple(e for e in CANONICAL_EMOTIONS if e in seen) or CANONICAL_EMOTIONS

    def with_config(self, config: PipelineConfig) -> "AffectAgent":
        return replace(self, pipeline=self.pipeline.with_config(config))

    def with_speech(self, *, transcribe: bool | None = None, language: str | None = None) -> "AffectAgent":
        """The same agents reading speech differently: ``transcribe`` False never runs ASR; ``language`` is the
        speech's language ("en", a code such as "de", or "auto" to identify it; ``ExtractConfig.language``)."""
        ext = self.encoding.extract
        ext = replace(ext, transcribe=ext.transcribe if transcribe is None else transcribe,
                      language=ext.language if language is None else language)
        return replace(self, encoding=replace(self.encoding, extract=ext))

    def with_speaker_norm(self, model: str | None = "speaker-norm", *, stats: dict | None = None) -> "AffectAgent":
        """The same agents with the voice branch re-scored per speaker over each ``predict`` batch by a
        speaker-normalised model (``encoders/speaker_norm.py``: a shipped name or a file from ``affectagent train
        speech --speaker-norm``); the batch's files are grouped by ``Sample.group`` / ``Sample.speaker`` (none: the
        batch is one speaker). None turns it off. The model is checked here (one-line error when it is not one).
        ``stats``: per-speaker statistics computed over a larger batch (``encoders.speaker_norm.speaker_statistics``),
        so that inputs predicted one at a time are normalised with their speaker's whole batch."""
        if model is not None:
            from .encoders.speaker_norm import load_speaker_norm_model

            load_speaker_norm_model(model)
        return replace(self, encoding=replace(self.encoding, speaker_norm=model, speaker_stats=stats))

    # ---- prediction --------------------------------------------------------------------------------------------
    def predict(self, samples: Sequence[Sample], *, label_set: Sequence[str] | None = None, explain: bool = False,
                progress: bool = False, transcribe: bool | None = None,
                raer: bool | RAERConfig = False) -> list[Prediction]:
        """``raer``: True (default settings) or a ``RAERConfig`` — answer with RAER over the agents' KB (the KB is
        not changed: ``trace["raer"]["kb_would_grow"]`` says whether the sample passes the growth gate).
        ``transcribe``: None = the agent's setting (``with_speech``), False = no ASR for these samples."""
        labels = parse_label_list(label_set, what="label_set") if label_set else self.default_labels
        enc = self.encoding if transcribe is None else \
            replace(self.encoding, extract=replace(self.encoding.extract, transcribe=transcribe))
        with stage("features"):  # stage reports: a no-op unless a caller listens (affectagent.progress)
            inputs = encode_inputs(samples, label_sets=[labels] * len(samples), config=enc, cache=self.cache,
                                   progress=progress)
        with stage("agents"):
            if raer:
                if self.pipeline.source is None:
                    raise InputError("RAER needs the agents' evidence knowledge base (none is loaded)")
                reasoner = NeuralRAER(pipeline=self.pipeline,
                                      config=raer if isinstance(raer, RAERConfig) else RAERConfig())
                return [o.prediction for o in reasoner.reason(inputs)]
            return run_inference(self.pipeline, inputs, with_trace=explain, progress=progress)

    def predict_paths(self, paths: Sequence[str | Path], *, texts: Sequence[str | None] | None = None,
                      **kw) -> list[Prediction]:
        from .media import probe

        samples = []
        for i, p in enumerate(paths):
            p = Path(p)
            info = probe(p)
            text = texts[i] if texts else None
            samples.append(Sample(id=p.name, text=text, video=p if info.has_video else None,
                                  audio=None if info.has_video else p))
        return self.predict(samples, **kw)

    def predict_texts(self, texts: Sequence[str], *, contexts: Sequence[Sequence[tuple[str | None, str]]] | None = None,
                      speakers: Sequence[str | None] | None = None, **kw) -> list[Prediction]:
        samples = []
        for i, t in enumerate(texts):
            if not t or not t.strip():
                raise InputError("empty text")
            ctx = tuple(Turn(speaker=s, text=x) for s, x in (contexts[i] if contexts else ()))
            samples.append(Sample(id=f"text-{i}", text=t, context=ctx, speaker=speakers[i] if speakers else None))
        return self.predict(samples, **kw)

    def describe(self) -> dict:
        return {"checkpoint": self.checkpoint.provenance.get("recipe"), "encoders": self.checkpoint.encoders,
                "kb": str(self.kb_path) if self.kb_path else None,
                "config": json.loads(json.dumps(self.pipeline.config.__dict__))}
