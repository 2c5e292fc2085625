"""The language backbone of Nano-EmoX: a frozen causal LM with a LoRA adapter (peft) on q/k/v/o/gate/up/down.

Loading goes through the project's hf backend (``llm.hf.HFBackend``): a packaged alias (default ``smollm2-135m``;
``qwen-0.5b`` / ``qwen-1.5b``) is converted from its GGUF once and cached by ``llm.packaged``; any local transformers
causal-LM folder works too. The LoRA adapter exists from the start with peft's zero-initialised B, so while it is
frozen (P2E phases 1-2) the LM is exactly the base model.

Multimodal tokens are input embeddings placed at the start of the user turn, in front of the text prompt: the chat
template is rendered with a placeholder there, split at it, and the two text parts are embedded by the LM's own
embedding table (``prompt_parts``).

Shape legend: B batch · L sequence · T answer tokens · H hidden size · V vocabulary
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Sequence

import torch
from torch import nn

from ..errors import MissingDependencyError
from ..llm.backend import ChatMessage
from .config import LMConfig

MM_PLACEHOLDER = "<<nanoemox-mm>>"


def _require_peft():
    try:
        import peft
    except ImportError:
        raise MissingDependencyError("Nano-EmoX's LoRA needs peft: pip install peft==0.21.2") from None
    return peft


class LanguageModel(nn.Module):
    """Base causal LM (all weights frozen) + LoRA (``lora_parameters``; trainable only when the trainer says so)."""

    def __init__(self, *, config: LMConfig) -> None:
        super().__init__()
        from ..llm.hf import HFBackend

        peft = _require_peft()
        self.config = config
        self.backend = HFBackend(model=config.model, dtype=config.dtype, shared=False)  # peft wraps its modules
        base = self.backend.model
        for p in base.parameters():
            p.requires_grad_(False)
        names = {n.rsplit(".", 1)[-1] for n, _ in base.named_modules()}
        targets = [t for t in config.lora_targets if t in names]
        if not targets:
            raise ValueError(f"none of the LoRA targets {config.lora_targets} exist in {config.model}")
        lora = peft.LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                               target_modules=targets, bias="none", task_type="CAUSAL_LM")
        with warnings.catch_warnings():  # peft calls a transformers method that v5 deprecates (harmless)
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            self.model = peft.get_peft_model(base, lora)
        for n, p in self.model.named_parameters():
            p.requires_grad_(False)
        self.tokenizer = self.backend.tokenizer
        self.hidden_size = int(base.config.hidden_size)
        self.eos_ids = list(self.backend.eos_ids)
        self.pad_id = int(self.backend.pad_id)

    # -- parameters ------------------------------------------------------------------------------------------------
    def lora_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.model.named_parameters() if "lora_" in n]

    def embedding_rms(self) -> float:
        w = self.model.get_input_embeddings().weight
        return float(w.detach().float().pow(2).mean().sqrt())

    @property
    def device(self) -> torch.device:
        return self.model.get_input_embeddings().weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.get_input_embeddings().weight.dtype

    # -- text ------------------------------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    def prompt_parts(self, *, system: str, user: str) -> tuple[list[int], list[int]]:
        """(ids before the multimodal tokens, ids after them up to the opened assistant turn)."""
        rendered = self.backend.render_chat([ChatMessage("system", system),
                                             ChatMessage("user", MM_PLACEHOLDER + user)])
        before, found, after = rendered.partition(MM_PLACEHOLDER)
        if not found:  # a template that rewrites the user text: multimodal tokens go in front of everything
            before, after = "", rendered
        return self.encode(before), self.encode(after)

    def target_ids(self, text: str) -> list[int]:
        """Answer ids + the end-of-turn id (the loss teaches the model to stop)."""
        return self.encode(text) + [self.eos_ids[0]]

    def decode(self, ids: Sequence[int]) -> str:
        ids = list(ids)
        while ids and ids[-1] in self.eos_ids:
            ids = ids[:-1]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """(..., L) ids -> (..., L, H) embeddings."""
        return self.model.get_input_embeddings()(ids)

    # -- compute ---------------------------------------------------------------------------------------------------
    def answer_logits(self, *, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, answer_len: int,
                      use_lora: bool = True) -> torch.Tensor:
        """Left-padded sequences whose last ``answer_len`` positions are answer tokens -> (B, T, V) logits that
        predict those tokens (only the last T + 1 positions' logits are computed)."""
        position_ids = (attention_mask.long().cumsum(dim=1) - 1).clamp_min(0)
        ctx = contextlib.nullcontext() if use_lora else self.model.disable_adapter()
        with ctx:
            out = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask, position_ids=position_ids,
                             logits_to_keep=answer_len + 1, use_cache=False)
        return out.logits[:, :-1]

    @torch.no_grad()
    def generate(self, *, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int) -> list[
            list[int]]:
        """Greedy continuation of left-padded embedded prompts -> generated ids per row (end-of-turn cut)."""
        from transformers import GenerationConfig

        cfg = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=self.eos_ids,
                               pad_token_id=self.pad_id)
        out = self.model.generate(inputs_embeds=inputs_embeds, attention_mask=attention_mask, generation_config=cfg)
        rows: list[list[int]] = []
        for row in out.tolist():
            ids: list[int] = []
            for t in row:
                if t in self.eos_ids:
                    break
                ids.append(t)
            rows.append(ids)
        return rows


def left_pad(seqs: Sequence[torch.Tensor], *, width: int, dtype: torch.dtype, device: Any
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_i, H) sequences -> (B, L, H) left-padded with zeros + (B, L) attention mask."""
    longest = max(int(s.shape[0]) for s in seqs)
    out = torch.zeros(len(seqs), longest, width, dtype=dtype, device=device)
    mask = torch.zeros(len(seqs), longest, dtype=torch.long, device=device)
    for i, s in enumerate(seqs):
        n = int(s.shape[0])
        out[i, longest - n:] = s
        mask[i, longest - n:] = 1
    return out, mask


__all__ = ["LanguageModel", "MM_PLACEHOLDER", "left_pad"]
