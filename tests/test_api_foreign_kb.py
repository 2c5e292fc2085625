"""A knowledge base whose vectors another encoder made is refused by ``AffectAgent.load`` / ``predict --kb`` with one
line unless explicitly allowed; KBs that record no encoder (older ones) are still accepted, and the KBs the library
builds for a checkpoint record its text encoder (issue 19, class 3)."""
from __future__ import annotations

import numpy as np
import pytest

from affectagent.agents.checkpoint import AgentCheckpoint
from affectagent.api import DEFAULT_CHECKPOINT, AffectAgent, build_checkpoint_kb, foreign_encoders
from affectagent.cli import main
from affectagent.errors import InputError
from affectagent.kb import KBEntry, KnowledgeBase

from .resources import require

QUIET = {"log": lambda m: None}


def _kb(path, *, encoders, dim=384):
    """Same 384 dimensions as the shipped checkpoint's minilm-emotion, so only the recorded name tells them apart."""
    rng = np.random.default_rng(0)
    with KnowledgeBase.create(path, text_dim=dim, encoders=encoders) as kb:
        kb.add([KBEntry(id=f"x{i}", text=f"line {i}", label=("happy", "sad")[i % 2], text_emb=rng.standard_normal(dim))
                for i in range(6)])
    return path


@pytest.fixture(scope="module")
def shipped():
    return require(DEFAULT_CHECKPOINT, "the shipped checkpoint")


def test_kb_of_another_encoder_is_refused_in_one_line(shipped, tmp_path):
    kb = _kb(tmp_path / "e5kb", encoders={"text": "e5"})
    with pytest.raises(InputError) as info:
        AffectAgent.load(shipped, kb=kb, **QUIET)
    text = str(info.value)
    assert "built with another encoder (text vectors by 'e5', the checkpoint embeds with 'minilm-emotion')" in text
    assert "--text-encoder minilm-emotion" in text and "--allow-foreign-kb" in text and "\n" not in text


def test_the_override_loads_it_with_a_warning(shipped, tmp_path):
    kb = _kb(tmp_path / "e5kb", encoders={"text": "e5"})
    said = []
    agent = AffectAgent.load(shipped, kb=kb, allow_foreign_kb=True, log=said.append)
    assert agent.kb_path == kb and any(m.startswith("warning:") and "'e5'" in m for m in said)


@pytest.mark.parametrize("encoders", [{}, {"text": "minilm-emotion"}])
def test_matching_or_unrecorded_encoders_are_accepted(shipped, tmp_path, encoders):
    kb = _kb(tmp_path / "kb", encoders=encoders)
    assert AffectAgent.load(shipped, kb=kb, **QUIET).kb_path == kb


def test_foreign_encoders_compares_each_recorded_modality():
    ckpt = {"text": "minilm-emotion", "audio": "egemaps", "face": "default", "visual": "default"}
    assert foreign_encoders({"text": "minilm-emotion", "audio": "egemaps", "visual": "default"}, ckpt) == []
    assert foreign_encoders({"audio": "wav2vec"}, ckpt) == [("audio", "wav2vec", "egemaps")]
    assert foreign_encoders({"visual": "clip"}, ckpt) == [("visual", "clip", "default")]  # KB visual = face features


def test_cli_predict_refuses_and_the_flag_overrides(shipped, tmp_path, capsys):
    kb = _kb(tmp_path / "minilmkb", encoders={"text": "minilm"})
    assert main(["predict", "--text", "You did WHAT?", "--kb", str(kb)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("affectagent: error: knowledge base") and "'minilm'" in err and "\n" not in err
    assert main(["predict", "--text", "You did WHAT?", "--kb", str(kb), "--allow-foreign-kb", "--json"]) == 0


def test_the_checkpoint_kb_records_its_text_encoder(tiny_checkpoint, tmp_path):
    """``build_checkpoint_kb`` (the shipped checkpoint's KB on first use) and the training recipe's KB both record
    the checkpoint's text encoder, so the check has something to compare next time."""
    ckpt = AgentCheckpoint.load(tiny_checkpoint)
    assert KnowledgeBase.peek(tiny_checkpoint.parent / "kb").encoders == {"text": ckpt.encoders["text"]}
    small = AgentCheckpoint(actor=ckpt.actor, norm=ckpt.norm, encoders=ckpt.encoders,
                            provenance={**ckpt.provenance, "corpora": [{"name": "meld", "split": "train", "limit": 20}]})
    kb = build_checkpoint_kb(small, tmp_path / "kb", data_root=None, cache=None, log=lambda m: None)
    try:
        assert kb.encoders == {"text": ckpt.encoders["text"]} and len(kb) == 20
    finally:
        kb.close()
