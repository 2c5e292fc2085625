"""Versioned checkpoints of the neural agents: actor weights + feature spec + normalisation + encoder names + provenance.

Saved with ``torch.save`` as plain tensors and builtin containers, loaded with ``weights_only=True`` (no pickled code).
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..schema import FeatureNorm
from .actor import ActorConfig, SharedActor
from .observation import FeatureSpec

FORMAT = "affectagent.neural-agents"
FORMAT_VERSION = 1


class CheckpointError(InputError):
    """A checkpoint file that is missing, not ours, or of an unsupported version."""


@dataclass
class AgentCheckpoint:
    actor: SharedActor
    norm: FeatureNorm
    encoders: dict[str, str]
    provenance: dict[str, Any] = field(default_factory=dict)
    critic_state: dict[str, torch.Tensor] | None = None

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "spec": asdict(self.actor.spec), "actor_config": asdict(self.actor.config),
            "actor_state": self.actor.state_dict(), "norm": self.norm.state(), "encoders": dict(self.encoders),
            "provenance": {**self.provenance, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")},
            "critic_state": self.critic_state,
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)
        return path

    @staticmethod
    def load(path: str | os.PathLike[str]) -> "AgentCheckpoint":
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"checkpoint not found: {path}")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt or foreign file
            raise CheckpointError(f"cannot read checkpoint {path}: {exc.__class__.__name__}: {exc}") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise CheckpointError(f"{path} is not an affectagent neural-agents checkpoint")
        if payload.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{path}: checkpoint format version {payload.get('format_version')} is not supported "
                                  f"(this build reads version {FORMAT_VERSION}); retrain or upgrade affectagent")
        actor = SharedActor(spec=FeatureSpec(**payload["spec"]), config=ActorConfig(**payload["actor_config"]))
        actor.load_state_dict(payload["actor_state"])
        actor.eval()
        return AgentCheckpoint(actor=actor, norm=FeatureNorm.from_state(payload["norm"]), encoders=payload["encoders"],
                               provenance=payload.get("provenance", {}), critic_state=payload.get("critic_state"))
