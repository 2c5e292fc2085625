"""A plain-torch BERT encoder for inference (no transformers): the network of Hugging Face ``BertModel`` without the
pooler, plus the pure LoRA fold used to load adapted weights into it. No file I/O here (``minilm_infer.py`` reads the
files).

Shapes (B = batch, L = tokens, D = hidden size, H = heads, F = FFN width):
  input_ids, attention_mask, token_type_ids  (B, L) int64
  embeddings  word[ids] + position[0..L-1] + token_type[tt] -> LayerNorm(eps)                    (B, L, D)
  each layer  a = LayerNorm(x + W_o · softmax(Q Kᵀ / sqrt(D/H) + mask) V)                          (B, L, D)
              x = LayerNorm(a + W_2 · gelu(W_1 a))    (gelu: the exact erf form, ``hidden_act="gelu"``)
  output      last hidden states (B, L, D)

Parameter names are those of ``BertModel.state_dict()`` (``embeddings.word_embeddings.weight``,
``encoder.layer.3.attention.self.query.weight``, ...), so a ``model.safetensors`` of a BERT checkpoint loads as is.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn.functional as F

from ..errors import InputError

# a LoRA weight as peft's get_peft_model_state_dict names it (adapter name optional): <module>.lora_A|B[.name].weight
LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<part>[AB])(?:\.[\w-]+)?\.weight$")


@dataclass(frozen=True)
class BertConfig:
    """The fields of a BERT ``config.json`` this network reads (``from_json`` checks the rest is supported)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int = 0

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise InputError(f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads "
                             f"{self.num_attention_heads}")

    @classmethod
    def from_json(cls, cfg: Mapping[str, object]) -> "BertConfig":
        """From a parsed ``config.json``; anything this network does not implement raises InputError."""
        if cfg.get("model_type", "bert") != "bert":
            raise InputError(f"not a BERT config (model_type {cfg.get('model_type')!r})")
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise InputError(f"unsupported hidden_act {cfg.get('hidden_act')!r} (only 'gelu')")
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise InputError(f"unsupported position_embedding_type {cfg.get('position_embedding_type')!r}")
        if cfg.get("is_decoder", False) or cfg.get("add_cross_attention", False):
            raise InputError("decoder / cross-attention BERT configs are not supported")
        names = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "max_position_embeddings", "type_vocab_size")
        missing = [n for n in names if n not in cfg]
        if missing:
            raise InputError(f"BERT config lacks {', '.join(missing)}")
        return cls(**{n: int(cfg[n]) for n in names},  # type: ignore[arg-type]
                   layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-12)),  # type: ignore[arg-type]
                   pad_token_id=int(cfg.get("pad_token_id", 0) or 0))  # type: ignore[arg-type]


def expected_shapes(cfg: BertConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every weight the network reads (``BertModel.state_dict()`` names, no pooler)."""
    d, f = cfg.hidden_size, cfg.intermediate_size
    out: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (cfg.vocab_size, d),
        "embeddings.position_embeddings.weight": (cfg.max_position_embeddings, d),
        "embeddings.token_type_embeddings.weight": (cfg.type_vocab_size, d),
        "embeddings.LayerNorm.weight": (d,), "embeddings.LayerNorm.bias": (d,),
    }
    for i in range(cfg.num_hidden_layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            out[p + name + ".weight"], out[p + name + ".bias"] = (d, d), (d,)
        out[p + "intermediate.dense.weight"], out[p + "intermediate.dense.bias"] = (f, d), (f,)
        out[p + "output.dense.weight"], out[p + "output.dense.bias"] = (d, f), (d,)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            out[p + ln + ".weight"], out[p + ln + ".bias"] = (d,), (d,)
    return out


def bert_forward(cfg: BertConfig, w: Mapping[str, torch.Tensor], input_ids: torch.Tensor,
                 attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
    """(B, L) ids, mask (1 = real token), token types (zeros when None) -> (B, L, D) last hidden states of
    ``BertModel`` in eval mode (no dropout), with weights ``w`` named as its state dict."""
    b, n = input_ids.shape
    if n > cfg.max_position_embeddings:
        raise InputError(f"{n} tokens exceed max_position_embeddings {cfg.max_position_embeddings}")
    if token_type_ids is None:
        token_type_ids = torch.zeros_like(input_ids)
    d, h, eps = cfg.hidden_size, cfg.num_attention_heads, cfg.layer_norm_eps
    x = (F.embedding(input_ids, w["embeddings.word_embeddings.weight"])
         + F.embedding(token_type_ids, w["embeddings.token_type_embeddings.weight"])
         + w["embeddings.position_embeddings.weight"][:n].unsqueeze(0))
    x = F.layer_norm(x, (d,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min  # (B, 1, 1, L)
    scale = 1.0 / math.sqrt(d // h)

    def lin(t: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(t, w[name + ".weight"], w[name + ".bias"])

    def heads(t: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, H, L, D/H)
        return t.view(b, n, h, d // h).transpose(1, 2)

    for i in range(cfg.num_hidden_layers):
        p = f"encoder.layer.{i}."
        q, k, v = (heads(lin(x, p + f"attention.self.{m}")) for m in ("query", "key", "value"))
        scores = torch.matmul(q, k.transpose(-1, -2)) * scale + bias
        ctx = torch.matmul(scores.softmax(dim=-1), v).transpose(1, 2).reshape(b, n, d)
        a = F.layer_norm(lin(ctx, p + "attention.output.dense") + x, (d,),
                         w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        ff = lin(F.gelu(lin(a, p + "intermediate.dense")), p + "output.dense")
        x = F.layer_norm(ff + a, (d,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x


class BertEncoder:
    """``BertModel(add_pooling_layer=False)`` in eval mode over a checked weight dict: token batch -> hidden states.
    A plain object, not an ``nn.Module``: building one allocates and initialises nothing."""

    def __init__(self, cfg: BertConfig, weights: Mapping[str, torch.Tensor]) -> None:
        want = expected_shapes(cfg)
        missing = [k for k in want if k not in weights]
        unknown = [k for k in weights if k not in want]
        if missing or unknown:
            raise InputError("BERT weights do not fit the config: "
                             + (f"missing {', '.join(missing[:3])}" if missing else "")
                             + ("; " if missing and unknown else "")
                             + (f"unexpected {', '.join(unknown[:3])}" if unknown else ""))
        bad = [k for k, shape in want.items() if tuple(weights[k].shape) != shape]
        if bad:
            raise InputError(f"BERT weight {bad[0]} has shape {tuple(weights[bad[0]].shape)}, the config needs "
                             f"{want[bad[0]]}")
        self.config = cfg
        self.weights = {k: weights[k] for k in want}

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        return bert_forward(self.config, self.weights, input_ids, attention_mask, token_type_ids)


def fold_lora(weights: Mapping[str, torch.Tensor], lora: Mapping[str, torch.Tensor], *,
              scaling: float) -> dict[str, torch.Tensor]:
    """Base weights with every LoRA pair folded in: ``W <- W + scaling * (B @ A)`` (peft's merge, no fan-in/fan-out
    transpose). ``lora`` is named as peft's ``get_peft_model_state_dict`` names it
    (``base_model.model.<module>.lora_A.weight`` / ``lora_B``); ``weights`` by module (``<module>.weight``).
    Returns a new dict (inputs untouched). An unpaired adapter, an adapter of a module ``weights`` lacks, or a shape
    mismatch raises InputError."""
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in lora.items():
        m = LORA_KEY.match(key)
        if m is None:
            raise InputError(f"not a LoRA weight name: {key!r}")
        pairs.setdefault(m["module"], {})[m["part"]] = value
    out = dict(weights)
    for module, ab in sorted(pairs.items()):
        if set(ab) != {"A", "B"}:
            raise InputError(f"LoRA adapter of {module} lacks its lora_{'B' if 'A' in ab else 'A'} weight")
        name = f"{module}.weight"
        if name not in weights:
            raise InputError(f"LoRA adapter for {module}, which the base model does not have")
        a, b, w = ab["A"], ab["B"], weights[name]
        if a.ndim != 2 or b.ndim != 2 or b.shape[1] != a.shape[0] or (b.shape[0], a.shape[1]) != tuple(w.shape):
            raise InputError(f"LoRA adapter of {module}: B {tuple(b.shape)} @ A {tuple(a.shape)} does not fit "
                             f"the weight {tuple(w.shape)}")
        out[name] = w + (b.to(w.dtype) @ a.to(w.dtype)) * scaling
    return out


__all__ = ["BertConfig", "BertEncoder", "LORA_KEY", "bert_forward", "expected_shapes", "fold_lora"]
