"""Text that is not valid UTF-8 at the edges, as real bytes: an undecodable file name, ``--text`` / ``--speaker`` /
``--context`` with an invalid byte, a manifest with a lone surrogate (and an undecodable name) for ``kb build``. Each is
decoded with replacement (U+FFFD), stored and printed as valid UTF-8, and the command says what it replaced (issue 19,
class 4). Before, each was a UnicodeEncodeError traceback from the feature cache or SQLite, and ``kb build`` left a
half-made store."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from affectagent.kb import KBEntry, KnowledgeBase
from affectagent.textsafe import REPLACEMENT, scrub

from ..resources import shared

ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")


def _cli(*args: bytes | str) -> subprocess.CompletedProcess:
    """The real command line, arguments passed as bytes exactly as a shell would."""
    return subprocess.run([sys.executable, "-m", "affectagent", *args], capture_output=True, timeout=900, env=ENV)


@pytest.fixture
def small_kb(tmp_path):
    """A small text KB for the shipped checkpoint (384-d), so predictions exercise retrieval (the id exclusion query
    is where an undecodable file name used to crash)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "kb"
    with KnowledgeBase.create(path, text_dim=384) as kb:
        kb.add([KBEntry(id=f"x{i}", text=f"line {i}", label=("happy", "sad", "angry")[i % 3], source="toy",
                        text_emb=rng.standard_normal(384)) for i in range(12)])
    return path


def test_scrub_replaces_escaped_bytes_and_lone_surrogates():
    assert scrub("plain é") == ("plain é", 0)
    assert scrub(b"a\xffb".decode("utf-8", "surrogateescape")) == (f"a{REPLACEMENT}b", 1)
    assert scrub("x\ud800y\udfffz") == (f"x{REPLACEMENT}y{REPLACEMENT}z", 2)
    assert scrub(f"keeps a real {REPLACEMENT}")[1] == 0


def test_predict_with_invalid_bytes_in_name_text_speaker_and_context(tmp_path, ravdess_flac, small_kb):
    media = os.path.join(os.fsencode(tmp_path), b"clip-\xff.flac")
    shutil.copy(ravdess_flac, media)
    ctx = tmp_path / "ctx.txt"
    ctx.write_bytes(b"Rachel: I sold the \xffcar.\nRoss: Which car?\n")
    proc = _cli("predict", media, "--text", b"You did WHAT\xff?", "--speaker", b"Ro\xffss", "--context", str(ctx),
                "--kb", str(small_kb), "--json")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err[-3000:]
    out = json.loads(proc.stdout.decode("utf-8"))  # strict: stdout is valid UTF-8
    assert out["id"] == f"clip-{REPLACEMENT}.flac" and f"You did WHAT{REPLACEMENT}?" in out["rationale"]
    for what in ("--text: 1 invalid", "--speaker: 1 invalid", "the file name: 1 invalid", f"--context {ctx}: 1 invalid"):
        assert f"affectagent: note: {what} character(s) (not valid UTF-8) replaced by U+FFFD" in err
    assert "Traceback" not in err


def test_features_with_an_undecodable_file_name(tmp_path, ravdess_flac):
    media = os.path.join(os.fsencode(tmp_path), b"\xfe\xffvoice.flac")
    shutil.copy(ravdess_flac, media)
    proc = _cli("features", media, "--text", b"hi \xff", "--json", "--no-transcribe", "--cache-dir",
                str(tmp_path / "cache"))
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err[-3000:]
    out = json.loads(proc.stdout.decode("utf-8"))
    assert out["modality_mask"]["audio"] and "Traceback" not in err
    assert "the file name: 2 invalid character(s)" in err and "--text: 1 invalid character(s)" in err


def test_kb_build_from_a_manifest_with_lone_surrogates(tmp_path):
    shared("meld")  # the e5 text encoder is needed; the rows themselves are written here
    manifest = os.path.join(os.fsencode(tmp_path), b"mine-\xff.jsonl")
    with open(manifest, "wb") as f:
        f.write(b'{"id": "m1", "text": "I love this \\ud800 so much!", "label": "happy", "speaker": "Ann\\udfff"}\n'
                b'{"text": "No id: named after the undecodable file.", "meta": {"note": "\\ud83d"}}\n'
                b'{"id": "m3", "text": "Leave me alone.", "label": "angry"}\n')
    out = tmp_path / "kb"
    proc = _cli("kb", "build", "--manifest", manifest, "--out", str(out))  # notes show (--quiet = errors only)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err[-3000:]
    assert "line 1 and 1 more line(s): 3 invalid character(s) (not valid UTF-8) replaced by U+FFFD" in err
    assert "3 added" in proc.stdout.decode("utf-8")
    info = _cli("kb", "info", str(out))
    assert info.returncode == 0 and "entries: 3" in info.stdout.decode("utf-8")
    with KnowledgeBase.open(out, read_only=True) as kb:
        [m1] = kb.get(["m1"])
        assert m1.text == f"Ann{REPLACEMENT}: I love this {REPLACEMENT} so much!"
    conn = sqlite3.connect(out / "kb.sqlite")
    conn.text_factory = bytes
    rows = conn.execute("SELECT id, text, meta FROM entries").fetchall()
    conn.close()
    for row in rows:  # every stored string is valid UTF-8
        for cell in row:
            cell.decode("utf-8")
    assert {r[0].decode() for r in rows} == {"m1", "m3", f"mine-{REPLACEMENT}-2"}


def test_knowledge_base_stores_valid_utf8_whatever_it_is_given(tmp_path):
    with KnowledgeBase.create(tmp_path / "kb", text_dim=3) as kb:
        assert kb.add([KBEntry(id="a\udcff", text="x\ud800y", rationale="r\udfff", meta={"k\udcfe": ["v\ud800"]},
                               text_emb=np.ones(3))]) == 1
        [e] = kb.get([f"a{REPLACEMENT}"])
    assert (e.text, e.rationale, e.meta) == (f"x{REPLACEMENT}y", f"r{REPLACEMENT}",
                                             {f"k{REPLACEMENT}": [f"v{REPLACEMENT}"]})
