"""``affectagent kb`` subcommands: info, search, and one-line errors (exit 2)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from affectagent.cli import main
from affectagent.kb import KBEntry, KnowledgeBase


def _small_kb(path, *, encoder="toy"):
    rng = np.random.default_rng(0)
    with KnowledgeBase.create(path, text_dim=6, encoders={"text": encoder}) as kb:
        kb.add([KBEntry(id=f"x{i}", text=f"line {i}", label=("happy", "sad", "neutral")[i % 3], source="toy",
                        split="train" if i < 8 else "dev", text_emb=rng.standard_normal(6)) for i in range(10)])


def test_info_prints_counts(tmp_path, capsys):
    _small_kb(tmp_path / "kb")
    assert main(["kb", "info", str(tmp_path / "kb")]) == 0
    out = capsys.readouterr().out
    assert "entries: 10" in out and "toy/train" in out and "toy/dev" in out and "encoder toy" in out
    assert main(["kb", "info", str(tmp_path / "kb"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labels"] == {"happy": 4, "sad": 3, "neutral": 3} and data["sources"] == {"toy/train": 8, "toy/dev": 2}


@pytest.mark.parametrize("argv,message", [
    (["kb", "info", "/nonexistent/kb"], "is not a knowledge base"),
    (["kb", "build", "--out", "OUT"], "at least one --dataset or --manifest"),
    (["kb", "build", "--dataset", "nope", "--out", "OUT"], "unknown dataset"),
    (["kb", "build", "--dataset", "meld", "--limit", "0", "--out", "OUT"], "--limit"),
])
def test_errors_are_one_line(argv, message, capsys, tmp_path):
    argv = [str(tmp_path / "kb") if a == "OUT" else a for a in argv]   # a fresh folder, whatever /tmp holds
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("affectagent: error:")


def test_search_needs_a_known_encoder(tmp_path, capsys):
    _small_kb(tmp_path / "kb", encoder="./no-such-encoder")
    assert main(["kb", "search", str(tmp_path / "kb"), "hello"]) == 2
    assert "no-such-encoder" in capsys.readouterr().err


@pytest.mark.slow
def test_search_with_real_encoder(tmp_path, capsys):
    from affectagent.encoders import encode_texts

    texts = ["I am so happy for you!", "This is terrible, I hate it.", "Where is the station?"]
    labels = ["happy", "angry", "neutral"]
    emb = encode_texts(texts, encoder="e5")
    with KnowledgeBase.create(tmp_path / "kb", text_dim=emb.shape[1], encoders={"text": "e5"}) as kb:
        kb.add([KBEntry(id=f"t{i}", text=t, label=lab, text_emb=e) for i, (t, lab, e) in enumerate(zip(texts, labels,
                                                                                                    emb))])
    assert main(["kb", "search", str(tmp_path / "kb"), "I hate this so much", "--hypothesis", "angry", "-k", "1",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in res["support"]] == ["t1"]
    assert res["counter"][0]["label"] == "happy"           # the only positive item
    assert res["confusion"][0]["label"] != "angry"
