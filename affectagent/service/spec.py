"""``AgentSpec``: which agent a server process serves, as data (a checkpoint, its KB, a variant) that loads it.

It is the ``agent_factory`` the CLI hands to ``create_app``, and it travels to extra uvicorn worker processes as
JSON (``to_json`` / ``from_json``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError


@dataclass(frozen=True)
class AgentSpec:
    """checkpoint: agents checkpoint (None: the shipped default). kb: evidence KB folder (None: the checkpoint's).
    variant: pipeline variant (full, no_rag, naive_rag, ...). data_root: where to find the corpora if the KB has
    to be built on first use. feature_cache: keep the encoder features of requests (transcripts, embeddings) in the
    on-disk feature cache; off by default, so a request leaves nothing on disk (building a KB still uses it).
    allow_foreign_kb: serve ``kb`` even though its recorded encoder differs from the checkpoint's."""

    checkpoint: str | None = None
    kb: str | None = None
    variant: str = "full"
    data_root: str | None = None
    feature_cache: bool = False
    allow_foreign_kb: bool = False

    def __post_init__(self) -> None:
        from ..pipeline import PipelineConfig

        try:
            PipelineConfig.variant(self.variant)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    @property
    def checkpoint_path(self) -> Path:
        from ..api import DEFAULT_CHECKPOINT

        return Path(self.checkpoint) if self.checkpoint else DEFAULT_CHECKPOINT

    def load(self, *, log: Callable[[str], Any] = print):
        """The ``AffectAgent`` (builds the checkpoint's KB on first use, which can take long)."""
        from ..api import AffectAgent
        from ..encoders import FeatureCache
        from ..pipeline import PipelineConfig

        agent = AffectAgent.load(self.checkpoint, kb=self.kb, config=PipelineConfig.variant(self.variant),
                                 data_root=self.data_root, allow_foreign_kb=self.allow_foreign_kb, log=log)
        return agent if self.feature_cache else replace(agent, cache=FeatureCache(enabled=False))

    def __call__(self):
        return self.load()

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "AgentSpec":
        return cls(**json.loads(text))
