"""Versioned checkpoints of the neural agents: actor weights + feature spec + normalisation + encoder names + provenance.

Saved with ``torch.save`` as plain tensors and builtin containers, loaded with ``weights_only=True`` (no pickled code).
``load`` checks everything it reads before building the actor (``validate_payload``): the spec and actor-config keys
and values, every weight's name, shape and finiteness against the network the spec describes (legacy head names are
mapped first, ``actor.upgrade_state_dict``), the normaliser's keys, types and lengths, and the encoder names. A damaged
file is refused with one line naming what is wrong.
"""
from __future__ import annotations

import dataclasses
import math
import os
import pickle
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..schema import FeatureNorm
from .actor import ActorConfig, SharedActor, upgrade_state_dict
from .observation import FeatureSpec

FORMAT = "affectagent.neural-agents"
FORMAT_VERSION = 1
REQUIRED_KEYS: tuple[str, ...] = ("format", "format_version", "spec", "actor_config", "actor_state", "norm", "encoders")
OPTIONAL_KEYS: tuple[str, ...] = ("provenance", "critic_state")
# encoders entries that may name a file beside the checkpoint (resolved by ``api.checkpoint_speech_emotion``)
SIDE_FILE_ENCODERS: tuple[str, ...] = ("speech_emotion",)
# FeatureNorm key -> the FeatureSpec width its vectors have
NORM_WIDTHS: dict[str, str] = {"audio": "audio_dim", "aseq": "aseq_dim", "fseq": "face_dim", "visual": "visual_dim"}


class CheckpointError(InputError):
    """A checkpoint file that is missing, not ours, of an unsupported version, or damaged."""


def _shape(x: Any) -> str:
    return "(" + ", ".join(str(int(d)) for d in x) + ")"


def _fields(cls: type, given: Any, *, what: str, path: Path) -> dict[str, Any]:
    """``given`` checked as keyword arguments of dataclass ``cls``: a dict, no unknown or missing keys, each value of
    the field's builtin type (int / float / bool; ints accepted for floats)."""
    if not isinstance(given, dict):
        raise CheckpointError(f"{path}: {what} is a {type(given).__name__}, not a dict")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise CheckpointError(f"{path}: {what} has unknown key(s) {', '.join(map(str, unknown))} "
                              f"(expected {', '.join(fields)})")
    missing = [n for n, f in fields.items() if n not in given and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise CheckpointError(f"{path}: {what} lacks key(s) {', '.join(missing)}")
    for name, value in given.items():
        want = fields[name].type if isinstance(fields[name].type, str) else fields[name].type.__name__
        ok = {"int": isinstance(value, int) and not isinstance(value, bool),
              "float": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
              "bool": isinstance(value, bool)}.get(want, True)
        if not ok:
            raise CheckpointError(f"{path}: {what}[{name!r}] is {value!r}; expected {want}")
    return dict(given)


def _check_spec(spec: dict[str, Any], path: Path) -> FeatureSpec:
    for name, value in spec.items():
        if value < 1:
            raise CheckpointError(f"{path}: spec[{name!r}] is {value}, must be >= 1")
    return FeatureSpec(**spec)


def _check_state(state: Any, actor: SharedActor, path: Path) -> None:
    """Every weight the actor has, none it lacks, each a finite tensor of the actor's shape."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: actor_state is a {type(state).__name__}, not a dict of tensors")
    given = upgrade_state_dict(dict(state))
    expected = actor.state_dict()
    unknown = sorted(set(given) - set(expected))
    missing = sorted(set(expected) - set(given))
    if unknown or missing:
        parts = ([f"unexpected weight(s) {', '.join(unknown[:3])}{' ...' if len(unknown) > 3 else ''}"] if unknown
                 else []) + ([f"missing weight(s) {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"]
                             if missing else [])
        raise CheckpointError(f"{path}: actor_state does not match the network its spec describes: "
                              + "; ".join(parts))
    for name, want in expected.items():
        got = given[name]
        if not isinstance(got, torch.Tensor):
            raise CheckpointError(f"{path}: actor_state[{name!r}] is a {type(got).__name__}, not a tensor")
        if tuple(got.shape) != tuple(want.shape):
            raise CheckpointError(f"{path}: actor_state[{name!r}] has shape {_shape(got.shape)}, the spec needs "
                                  f"{_shape(want.shape)}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise CheckpointError(f"{path}: actor_state[{name!r}] holds NaN or infinite values")
        if got.is_floating_point() != want.is_floating_point():
            raise CheckpointError(f"{path}: actor_state[{name!r}] is {got.dtype}, expected {want.dtype}")


def _check_norm(norm: Any, spec: FeatureSpec, path: Path) -> FeatureNorm:
    """``{"mean": {key: numbers}, "std": {key: numbers}}``: the same keys (of ``NORM_WIDTHS``) in both, each a 1-D
    list / tensor of finite numbers as wide as the spec says, std > 0."""
    if not isinstance(norm, dict) or set(norm) != {"mean", "std"}:
        got = sorted(norm) if isinstance(norm, dict) else type(norm).__name__
        raise CheckpointError(f"{path}: norm must be a dict with 'mean' and 'std'; got {got}")
    for part in ("mean", "std"):
        if not isinstance(norm[part], dict):
            raise CheckpointError(f"{path}: norm[{part!r}] is a {type(norm[part]).__name__}, not a dict")
    if set(norm["mean"]) != set(norm["std"]):
        raise CheckpointError(f"{path}: norm 'mean' and 'std' have different keys")
    for key in norm["mean"]:
        if key not in NORM_WIDTHS:
            raise CheckpointError(f"{path}: norm has unknown key {key!r} (expected {', '.join(NORM_WIDTHS)})")
        width = getattr(spec, NORM_WIDTHS[key])
        for part in ("mean", "std"):
            value = norm[part][key]
            where = f"norm[{part!r}][{key!r}]"
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            if not isinstance(value, (list, tuple, np.ndarray)) or (
                    not isinstance(value, np.ndarray) and not all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
                raise CheckpointError(f"{path}: {where} is a {type(norm[part][key]).__name__}, not a list of numbers "
                                      "or a tensor")
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (width,):
                raise CheckpointError(f"{path}: {where} has shape {_shape(arr.shape)}, the spec needs ({width})")
            if not np.isfinite(arr).all():
                raise CheckpointError(f"{path}: {where} holds NaN or infinite values")
            if part == "std" and not (arr > 0).all():
                raise CheckpointError(f"{path}: {where} holds values <= 0")
    return FeatureNorm(mean={k: np.asarray(v, np.float32) for k, v in norm["mean"].items()},
                       std={k: np.asarray(v, np.float32) for k, v in norm["std"].items()})


def _check_encoders(encoders: Any, path: Path) -> dict[str, str]:
    if not isinstance(encoders, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                                 for k, v in encoders.items()):
        raise CheckpointError(f"{path}: encoders must map modality names to encoder names")
    if "text" not in encoders:
        raise CheckpointError(f"{path}: encoders names no text encoder")
    return dict(encoders)


def _refusal(path: Path, exc: BaseException) -> CheckpointError:
    """One line for a file torch cannot read with ``weights_only=True`` (never torch's advice to turn that off)."""
    text = str(exc)
    if isinstance(exc, pickle.UnpicklingError) and "weights only" in text.lower():
        found = re.search(r"GLOBAL ([\w.]+)", text)
        if found:  # the pickle imports a function or class: code, not tensors
            return CheckpointError(f"refusing to load {path}: it contains pickled objects or code ({found.group(1)}), "
                                   "not only tensors; affectagent never runs code from a checkpoint")
        detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
        return CheckpointError(f"cannot read checkpoint {path}: not a torch checkpoint of tensors"
                               f"{' (' + detail.group(1)[:120].strip() + ')' if detail else ''}")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return CheckpointError(f"cannot read checkpoint {path}: {exc.__class__.__name__}"
                           f"{': ' + first[:200] if first else ''} (truncated or not a torch file?)")


def validate_payload(payload: Any, path: Path) -> tuple[SharedActor, FeatureNorm, dict[str, str]]:
    """The checked parts of a loaded payload: (actor with its weights loaded, normaliser, encoder names)."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an affectagent neural-agents checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {payload.get('format_version')} is not supported "
                              f"(this build reads version {FORMAT_VERSION}); retrain or upgrade affectagent")
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    unknown = sorted(str(k) for k in set(payload) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise CheckpointError(f"{path}: checkpoint has unknown key(s) {', '.join(unknown)}")
    spec = _check_spec(_fields(FeatureSpec, payload["spec"], what="spec", path=path), path)
    try:
        config = ActorConfig(**_fields(ActorConfig, payload["actor_config"], what="actor_config", path=path))
    except ValueError as exc:
        raise CheckpointError(f"{path}: actor_config is invalid ({exc})") from None
    actor = SharedActor(spec=spec, config=config)
    _check_state(payload["actor_state"], actor, path)
    actor.load_state_dict(payload["actor_state"])
    norm = _check_norm(payload["norm"], spec, path)
    encoders = _check_encoders(payload["encoders"], path)
    if not isinstance(payload.get("provenance", {}), dict):
        raise CheckpointError(f"{path}: provenance is a {type(payload['provenance']).__name__}, not a dict")
    critic = payload.get("critic_state")
    if critic is not None and not (isinstance(critic, dict)
                                   and all(isinstance(v, torch.Tensor) for v in critic.values())):
        raise CheckpointError(f"{path}: critic_state must be a dict of tensors or absent")
    return actor, norm, encoders


@dataclass
class AgentCheckpoint:
    actor: SharedActor
    norm: FeatureNorm
    encoders: dict[str, str]
    provenance: dict[str, Any] = field(default_factory=dict)
    critic_state: dict[str, torch.Tensor] | None = None
    source_dir: Path | None = None  # the folder it was loaded from (its side files, e.g. the speech branch, live there)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the checkpoint; side files it names relative to its folder (``SIDE_FILE_ENCODERS``, e.g. the speech
        branch ``speech_emotion.npz``) are copied from the folder it was loaded from when the new folder lacks them,
        so a checkpoint trained from another (MAPPO from SFT) stays complete."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._copy_side_files(path.parent)
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
        except Exception as exc:  # corrupt or foreign file, or pickled code that weights_only refuses
            raise _refusal(path, exc) from None
        actor, norm, encoders = validate_payload(payload, path)
        actor.eval()
        return AgentCheckpoint(actor=actor, norm=norm, encoders=encoders, provenance=payload.get("provenance", {}),
                               critic_state=payload.get("critic_state"), source_dir=path.parent)

    def _copy_side_files(self, folder: Path) -> None:
        import shutil

        for key in SIDE_FILE_ENCODERS:
            name = self.encoders.get(key)
            if not name or Path(name).is_absolute() or Path(name).name != name or self.source_dir is None:
                continue
            src, dst = self.source_dir / name, folder / name
            if src.is_file() and not dst.exists() and src.resolve() != dst.resolve():
                shutil.copyfile(src, dst)
