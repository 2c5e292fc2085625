"""A tiny real checkpoint (+ KB) trained on a few hundred real samples, shared by the API / CLI / evaluate tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from affectagent.encoders import ExtractConfig
from affectagent.encoders.inputs import EncodingConfig

from .resources import shared


def train_tiny(out: Path) -> Path:
    from affectagent.agents.actor import ActorConfig
    from affectagent.train.recipe import CorpusSpec, RecipeConfig, train_recipe
    from affectagent.train.sft import SFTConfig

    cfg = RecipeConfig(
        corpora=(CorpusSpec("meld", "train", 300), CorpusSpec("emodb", "all", 40), CorpusSpec("fer2013", "train", 30)),
        dev=None, sft=SFTConfig(epochs=2, planner_epochs=1, actor=ActorConfig(dim=32, heads=2)),
        encoding=EncodingConfig(extract=ExtractConfig(text_encoder="e5"), exclude_related=True))
    return train_recipe(cfg, out=out, log=lambda m: None)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    shared("meld", "emodb", "fer2013")   # required: the API / CLI / evaluate tests fail without it
    return train_tiny(tmp_path_factory.mktemp("tiny_model"))
