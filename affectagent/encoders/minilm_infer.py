"""Inference-only ``minilm-emotion``: the shipped checkpoint's network in plain torch, with neither peft nor
transformers imported (they cost seconds and hundreds of MB at start-up; training keeps ``text_emotion_model.py``).

    model, meta = load_inference_model("affectagent/assets/text/minilm_emotion.pt")
    pooled, logits = batch_logits(model, ["Ross: You did what?! [SEP] Rachel: I kissed him."])   # (N, 384), (N, 14)

What it reads: the base folder's ``config.json`` (``bert.BertConfig``), ``model.safetensors`` (``safetensors``,
memory-mapped, see ``load_base``) and ``tokenizer.json`` (the ``tokenizers`` library: the same fast tokenizer
``AutoTokenizer`` builds from that file, with truncation at ``max_len`` and padding to the longest input of the
batch); the checkpoint's LoRA pairs are folded into the base weights at load (``W += lora_alpha / lora_rank * B @ A``,
peft's merge), then mean pooling and the head.
``supports(base_dir)`` says whether a base folder has those files (else the caller falls back to the peft model).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, MissingDependencyError
from .bert import LORA_KEY, BertConfig, BertEncoder, fold_lora
from .text_emotion_model import TextEmotionConfig, mean_pool, read_checkpoint, resolve_base

BASE_FILES: tuple[str, ...] = ("config.json", "model.safetensors", "tokenizer.json")


def supports(base_dir: Path) -> bool:
    """True when ``base_dir`` holds a BERT model this path can run (the files of ``BASE_FILES``, a BERT config)."""
    if not all((base_dir / f).is_file() for f in BASE_FILES):
        return False
    try:
        BertConfig.from_json(json.loads((base_dir / "config.json").read_text()))
    except (InputError, ValueError, TypeError):
        return False
    return True


def _group(name: str) -> str:
    """The load group of a weight or adapted module: ``encoder.layer.<i>`` for a layer's, else ``embeddings``."""
    parts = name.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["encoder", "layer"] and len(parts) > 2 else "embeddings"


def load_base(base_dir: Path, lora: Mapping[str, torch.Tensor] | None = None, *,
              scaling: float = 1.0) -> tuple[BertConfig, dict[str, torch.Tensor]]:
    """(config, float32 weights named as ``BertModel.state_dict()``, pooler and buffers dropped) of a base folder,
    with ``lora`` (peft names) folded in (``bert.fold_lora``).

    Memory (it decides the peak RSS of a cold process): ``model.safetensors`` is memory-mapped. The word embeddings
    (half of MiniLM) stay mapped, so only the rows of tokens actually seen become resident; every other weight is
    copied (the adapted ones folded) one layer at a time from its own mapping, dropped right after, so the file
    pages of the original adapted weights do not stay resident beside their folded copies.
    """
    try:
        from safetensors import safe_open  # noqa: PLC0415
    except ImportError as exc:
        raise MissingDependencyError("the minilm-emotion text encoder needs safetensors: pip install safetensors") \
            from exc
    cfg = BertConfig.from_json(json.loads((base_dir / "config.json").read_text()))
    path = str(base_dir / "model.safetensors")
    with safe_open(path, framework="pt", device="cpu") as f:
        keys = list(f.keys())
    names = {(k[len("bert."):] if k.startswith("bert.") else k): k for k in keys}
    names = {n: k for n, k in names.items()
             if n.startswith(("embeddings.", "encoder.")) and not n.endswith("position_ids")}
    word = "embeddings.word_embeddings.weight"
    adapters: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in (lora or {}).items():
        m = LORA_KEY.match(key)
        adapters.setdefault(_group(m["module"]) if m else "embeddings", {})[key] = value
    unknown = sorted(set(adapters) - {_group(n) for n in names})
    if unknown:
        raise InputError(f"LoRA adapters for {unknown[0]}, which the base model {base_dir} does not have")
    weights: dict[str, torch.Tensor] = {}
    for group in sorted({_group(n) for n in names}):
        members = [n for n in names if _group(n) == group and n != word]
        with safe_open(path, framework="pt", device="cpu") as f:
            raw = {n: f.get_tensor(names[n]).float() for n in members}
        folded = fold_lora(raw, adapters.get(group, {}), scaling=scaling)
        for n, value in folded.items():  # an unadapted weight is still a view of the mapping: copy it out
            weights[n] = value.clone() if value is raw[n] else value
        del raw, folded
    if word in names:
        with safe_open(path, framework="pt", device="cpu") as f:
            weights[word] = f.get_tensor(names[word]).float()
    return cfg, weights


class Tokenizer:
    """``tokenizer.json`` with the HF call's settings: truncation at ``max_len`` (longest first), right padding with
    the file's pad token to the longest input of the batch."""

    def __init__(self, path: Path, max_len: int) -> None:
        try:
            from tokenizers import Tokenizer as _Tokenizer  # noqa: PLC0415
        except ImportError as exc:
            raise MissingDependencyError("the minilm-emotion text encoder needs: pip install tokenizers") from exc
        tok = _Tokenizer.from_file(str(path))
        pad = tok.padding or {}
        pad_token = pad.get("pad_token", "[PAD]")
        pad_id = tok.token_to_id(pad_token)
        if pad_id is None:
            raise InputError(f"{path}: pad token {pad_token!r} is not in the vocabulary")
        tok.enable_truncation(max_length=max_len, stride=0, strategy="longest_first", direction="right")
        tok.enable_padding(direction="right", pad_id=pad_id, pad_type_id=int(pad.get("pad_type_id", 0)),
                           pad_token=pad_token, length=None, pad_to_multiple_of=None)
        self._tok = tok
        self.max_len = max_len

    def __call__(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Texts -> {input_ids, token_type_ids, attention_mask} (B, L) int64."""
        enc = self._tok.encode_batch(list(texts))
        return {"input_ids": torch.tensor([e.ids for e in enc], dtype=torch.long),
                "token_type_ids": torch.tensor([e.type_ids for e in enc], dtype=torch.long),
                "attention_mask": torch.tensor([e.attention_mask for e in enc], dtype=torch.long)}


class MiniLMEmotionInfer(nn.Module):
    """The tuned encoder for inference: LoRA-folded BERT + mean pooling + linear head. Same interface as
    ``TextEmotionModel`` for ``batch_logits`` (``config``, ``dim``, ``tokenize``, ``forward``); no trainable
    parameters (the head is two buffers)."""

    def __init__(self, *, config: TextEmotionConfig, bert: BertEncoder, tokenizer: Tokenizer,
                 head_weight: torch.Tensor, head_bias: torch.Tensor) -> None:
        super().__init__()
        self.config = config
        self.encoder = bert
        self.tokenizer = tokenizer
        self.register_buffer("head_weight", head_weight)
        self.register_buffer("head_bias", head_bias)
        self.dim = int(bert.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(texts)

    def pool(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, L) token batch -> (B, D) mean-pooled last hidden state."""
        hidden = self.encoder(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
        return mean_pool(hidden, batch["attention_mask"])

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) token batch -> (pooled (B, D), logits (B, C))."""
        pooled = self.pool(batch)
        return pooled, F.linear(pooled, self.head_weight, self.head_bias)


def build_inference_model(config: TextEmotionConfig, lora: dict[str, torch.Tensor], head: dict[str, torch.Tensor],
                          base_dir: Path) -> MiniLMEmotionInfer:
    """The eval-mode model of a checkpoint's parts over the base model in ``base_dir``."""
    cfg, weights = load_base(base_dir, lora, scaling=config.lora_alpha / config.lora_rank)
    bert = BertEncoder(cfg, weights)
    w, b = head.get("weight"), head.get("bias")
    c = len(config.labels)
    if w is None or b is None or tuple(w.shape) != (c, cfg.hidden_size) or tuple(b.shape) != (c,):
        raise InputError(f"checkpoint head does not fit {c} labels x {cfg.hidden_size} dimensions")
    model = MiniLMEmotionInfer(config=config, bert=bert, tokenizer=Tokenizer(base_dir / "tokenizer.json",
                                                                              config.max_len),
                               head_weight=w.float(), head_bias=b.float())
    return model.eval()


def load_inference_model(path: str | os.PathLike[str]) -> tuple[MiniLMEmotionInfer, dict[str, Any]]:
    """(eval-mode inference model, meta) of a ``train.text_emotion`` checkpoint; InputError when its base folder
    cannot run on this path (see ``supports``)."""
    ck = read_checkpoint(path)
    base = resolve_base(ck.config.base)
    if not supports(base):
        raise InputError(f"base model {base} lacks {' / '.join(BASE_FILES)} or is not a BERT model")
    return build_inference_model(ck.config, ck.lora, ck.head, base), ck.meta


__all__ = ["BASE_FILES", "MiniLMEmotionInfer", "Tokenizer", "build_inference_model", "load_base",
           "load_inference_model", "supports"]
