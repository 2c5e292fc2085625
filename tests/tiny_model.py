"""A tiny real checkpoint (+ KB) trained on a few hundred real samples, shared by the API / CLI / evaluate tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from affectagent.encoders import ExtractConfig
from affectagent.encoders.inputs import EncodingConfig
from affectagent.paths import data_root


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
    root = data_root(must_exist=False)
    if not (root / "meld").is_dir() or not (root / "emodb").is_dir() or not (root / "fer2013").is_dir():
        pytest.skip("real data (meld, emodb, fer2013) not found")
    return train_tiny(tmp_path_factory.mktemp("tiny_model"))
