"""Fixtures of the Nano-EmoX tests: tiny configurations, a tiny random Llama LM with SmolLM2's real tokenizer and
chat template (so prompts, templates and LoRA targets are the real ones), synthetic streams, and the real
SmolLM2-135M-Instruct for the one or two smoke tests that need it (session-scoped, loaded once)."""
from __future__ import annotations


import numpy as np
import pytest

from affectagent.nanoemox.config import LMConfig, NanoEmoXConfig
from affectagent.nanoemox.inputs import StreamInputs

from ..nanoemox_tiny import ALIAS, tiny_config  # noqa: F401  (tiny_config: imported by the tests from here)

LEVEL_DIMS = (32, 64, 128, 256)


def make_streams(rng: np.random.Generator, *, face: bool = True, scene: bool = True, speech: bool = True,
                 frames: int = 5) -> StreamInputs:
    return StreamInputs(
        face_levels=tuple(rng.normal(size=(frames, d)).astype(np.float32) for d in LEVEL_DIMS) if face else None,
        scene=rng.normal(size=(frames, 13)).astype(np.float32) if scene else None,
        speech=rng.normal(size=(3 * frames, 384)).astype(np.float32) if speech else None)


# smollm_dir, tiny_lm_dir (session) come from tests/nanoemox_tiny.py via tests/conftest.py, so every test folder
# shares one tiny LM


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
