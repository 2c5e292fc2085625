"""Damaged copies of the shipped checkpoint (right format, wrong contents) are refused with one line naming what is
wrong, never a traceback; a pickle carrying code is refused in one line without torch's advice to turn the safety off
(issue 19, class 5). Checkpoints with the legacy head names still load."""
from __future__ import annotations

import copy
import os

import pytest
import torch

from affectagent.agents.actor import LEGACY_KEYS
from affectagent.agents.checkpoint import AgentCheckpoint, CheckpointError
from affectagent.api import DEFAULT_CHECKPOINT
from affectagent.cli import main

from ..resources import require


@pytest.fixture(scope="module")
def shipped() -> dict:
    require(DEFAULT_CHECKPOINT, "the shipped checkpoint")
    return torch.load(DEFAULT_CHECKPOINT, map_location="cpu", weights_only=True)


def _damaged(payload: dict, tmp_path, change) -> str:
    bad = copy.deepcopy(payload)
    change(bad)
    path = tmp_path / "agents.pt"
    torch.save(bad, path)
    return str(path)


def _set(*keys, value):
    def change(p):
        d = p
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return change


def _drop(*keys):
    def change(p):
        d = p
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]
    return change


DAMAGES = {
    "extra spec key": (_set("spec", "bogus_dim", value=7), "spec has unknown key(s) bogus_dim"),
    "extra config key": (_set("actor_config", "layers", value=3), "actor_config has unknown key(s) layers"),
    "missing spec key": (_drop("spec", "audio_dim"), "spec lacks key(s) audio_dim"),
    "spec value of the wrong type": (_set("spec", "text_dim", value="384"), "spec['text_dim'] is '384'; expected int"),
    "invalid actor config": (_set("actor_config", "heads", value=5), "actor_config is invalid (dim must be divisible"),
    "tensor of the wrong shape": (_set("actor_state", "text_proj.1.weight", value=torch.zeros(10, 384)),
                                  "actor_state['text_proj.1.weight'] has shape (10, 384), the spec needs (192, 384)"),
    "weight that is not a tensor": (_set("actor_state", "text_proj.1.bias", value=[0.0] * 192),
                                    "actor_state['text_proj.1.bias'] is a list, not a tensor"),
    "missing weight": (_drop("actor_state", "text_proj.1.bias"), "missing weight(s) text_proj.1.bias"),
    "unexpected weight": (_set("actor_state", "extra.weight", value=torch.zeros(2)), "unexpected weight(s) extra.weight"),
    "NaN weight": (_set("actor_state", "text_proj.1.bias", value=torch.full((192,), float("nan"))),
                   "actor_state['text_proj.1.bias'] holds NaN"),
    "non-tensor normaliser": (_set("norm", "mean", "audio", value="oops"),
                              "norm['mean']['audio'] is a str, not a list of numbers or a tensor"),
    "normaliser of the wrong width": (_set("norm", "std", "aseq", value=[1.0] * 3),
                                      "norm['std']['aseq'] has shape (3), the spec needs (25)"),
    "zero std": (_set("norm", "std", "visual", value=[0.0] * 28), "norm['std']['visual'] holds values <= 0"),
    "normaliser not a dict": (_set("norm", value=[1, 2]), "norm must be a dict with 'mean' and 'std'"),
    "encoders without text": (_drop("encoders", "text"), "encoders names no text encoder"),
    "unknown top-level key": (_set("hooks", value={"a": 1}), "checkpoint has unknown key(s) hooks"),
    "missing top-level key": (_drop("norm"), "checkpoint lacks norm"),
}


@pytest.mark.parametrize("name", list(DAMAGES))
def test_damaged_checkpoint_is_refused_in_one_line(shipped, tmp_path, name):
    change, message = DAMAGES[name]
    path = _damaged(shipped, tmp_path, change)
    with pytest.raises(CheckpointError) as info:
        AgentCheckpoint.load(path)
    text = str(info.value)
    assert message in text and path in text and "\n" not in text


def test_cli_prints_one_line_for_a_damaged_checkpoint(shipped, tmp_path, capsys):
    path = _damaged(shipped, tmp_path, DAMAGES["tensor of the wrong shape"][0])
    assert main(["predict", "--text", "hi", "--checkpoint", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("affectagent: error:") and "\n" not in err and "has shape (10, 384)" in err


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this should never run",))


def test_pickled_code_is_refused_in_one_line(shipped, tmp_path, capsys):
    bad = dict(shipped, provenance={"note": _RunsCode()})
    path = tmp_path / "agents.pt"
    torch.save(bad, path)
    with pytest.raises(CheckpointError) as info:
        AgentCheckpoint.load(path)
    text = str(info.value)
    assert text.startswith(f"refusing to load {path}: it contains pickled objects or code") and "system" in text
    assert "\n" not in text and "weights_only" not in text and "arbitrary code" not in text
    assert main(["predict", "--text", "hi", "--checkpoint", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "refusing to load" in err and len(err.splitlines()) == 1


def test_truncated_file_is_one_line(tmp_path):
    path = tmp_path / "agents.pt"
    path.write_bytes(DEFAULT_CHECKPOINT.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="cannot read checkpoint") as info:
        AgentCheckpoint.load(path)
    assert "\n" not in str(info.value)


def test_legacy_head_names_still_load(shipped, tmp_path):
    def to_legacy(p):
        state = {}
        for k, v in p["actor_state"].items():
            for old, new in LEGACY_KEYS:
                if k.startswith(new):
                    k = old + k[len(new):]
                    break
            state[k] = v
        p["actor_state"] = state

    path = _damaged(shipped, tmp_path, to_legacy)
    assert any(k.startswith(old) for k in torch.load(path, weights_only=True)["actor_state"] for old, _ in LEGACY_KEYS)
    legacy = AgentCheckpoint.load(path)
    current = AgentCheckpoint.load(DEFAULT_CHECKPOINT)
    for (ka, va), (kb, vb) in zip(legacy.actor.state_dict().items(), current.actor.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert legacy.encoders == current.encoders and legacy.norm.mean.keys() == current.norm.mean.keys()


def test_a_checkpoint_saved_elsewhere_takes_its_speech_branch_along(tmp_path):
    """MAPPO saves a checkpoint trained from another one into a new folder: the side file its encoders name (the
    speech-emotion branch beside it) is copied, so the new checkpoint loads on its own."""
    from affectagent.agents.actor import ActorConfig, SharedActor
    from affectagent.agents.checkpoint import AgentCheckpoint
    from affectagent.schema import FeatureNorm

    from .helpers import SPEC

    src = tmp_path / "sft"
    src.mkdir()
    (src / "speech_emotion.npz").write_bytes(b"branch bytes")
    AgentCheckpoint(actor=SharedActor(spec=SPEC, config=ActorConfig(dim=16, heads=2)), norm=FeatureNorm(),
                    encoders={"text": "e5", "speech_emotion": "speech_emotion.npz"}).save(src / "agents.pt")
    loaded = AgentCheckpoint.load(src / "agents.pt")
    assert loaded.source_dir == src
    loaded.save(tmp_path / "mappo" / "agents.pt")
    assert (tmp_path / "mappo" / "speech_emotion.npz").read_bytes() == b"branch bytes"
