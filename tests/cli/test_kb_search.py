"""``affectagent kb search`` on a checkpoint's KB built the way the shipped checkpoint's KB is built (on first use,
by ``api.build_checkpoint_kb``), and on such a KB made before encoders were recorded (the issue-17 failure: "no text
index with a recorded encoder")."""
import json
import shutil
import sqlite3

import pytest

from affectagent import api
from affectagent.cli import main
from affectagent.paths import cache_dir


@pytest.fixture(scope="module")
def checkpoint_kb(tiny_checkpoint, tmp_path_factory):
    """(checkpoint copy without a KB beside it, the KB AffectAgent.load built for it in the cache)."""
    root = tmp_path_factory.mktemp("kbsearch")
    lone = root / "ckpt" / "agents.pt"
    lone.parent.mkdir()
    shutil.copy(tiny_checkpoint, lone)
    shutil.copy(tiny_checkpoint.parent / "speech_emotion.npz", lone.parent)  # the checkpoint's speech branch
    mp = pytest.MonkeyPatch()
    mp.setenv("AFFECTAGENT_FEATURE_CACHE", str(cache_dir() / "features"))  # reuse the encoded corpora
    mp.setenv("AFFECTAGENT_CACHE", str(root / "cache"))
    agent = api.AffectAgent.load(lone, log=lambda m: None)
    kb = agent.kb_path
    agent.pipeline.source.kb.close()
    yield lone, kb
    mp.undo()


def _old(kb, tmp_path):
    """A copy of ``kb`` as an older version left it: no encoder recorded."""
    old = tmp_path / "old-kb"
    shutil.copytree(kb, old)
    with sqlite3.connect(old / "kb.sqlite") as c:
        c.execute("DELETE FROM kb_meta WHERE key = 'encoders'")
    return old


def _search(kb, *extra):
    return ["kb", "search", str(kb), "You're driving me crazy!", "--hypothesis", "angry", "-k", "2", "--json", *extra]


def test_search_on_the_checkpoint_kb(checkpoint_kb, capsys):
    _, kb = checkpoint_kb
    assert kb.parent.name == "kbs" and kb.name.startswith("agents-")
    assert main(_search(kb)) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) == {"support", "confusion", "counter"}
    assert [e["label"] for e in res["support"]] == ["angry", "angry"]
    assert all(e["label"] != "angry" for e in res["confusion"]) and all(e["score"] > 0.5 for e in res["support"])


def test_a_kb_without_a_recorded_encoder_takes_it_from_the_checkpoint(checkpoint_kb, tmp_path, capsys):
    lone, kb = checkpoint_kb
    old = _old(kb, tmp_path)
    assert main(_search(old)) == 2
    err = capsys.readouterr().err
    assert "records no text encoder" in err and "--checkpoint" in err and "\n" not in err.strip()
    assert main(_search(kb)) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(_search(old, "--checkpoint", str(lone))) == 0
    assert json.loads(capsys.readouterr().out) == expected  # the same query vector as with the recorded encoder
    assert main(_search(old, "--text-encoder", "e5")) == 0
    assert json.loads(capsys.readouterr().out) == expected


def test_the_shipped_checkpoints_own_cached_kb_needs_no_flag(checkpoint_kb, tmp_path, monkeypatch, capsys):
    """An old cached KB of the shipped checkpoint (``default_kb_dir(DEFAULT_CHECKPOINT)``): its encoder is the shipped
    checkpoint's (here the tiny checkpoint plays the shipped one)."""
    lone, kb = checkpoint_kb
    monkeypatch.setenv("AFFECTAGENT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(api, "DEFAULT_CHECKPOINT", lone)
    cached = api.default_kb_dir(lone)
    cached.parent.mkdir(parents=True)
    shutil.move(_old(kb, tmp_path), cached)
    assert main(_search(cached)) == 0
    assert json.loads(capsys.readouterr().out)["support"]


def test_a_wrong_encoder_for_a_kb_is_refused(checkpoint_kb, capsys):
    _, kb = checkpoint_kb
    assert main(_search(kb, "--text-encoder", "minilm")) == 2
    assert "built with the text encoder 'e5', not 'minilm'" in capsys.readouterr().err
