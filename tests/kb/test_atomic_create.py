"""Creating a knowledge base is atomic: a process killed with SIGKILL while the schema is being written leaves no
``kb.sqlite`` (or a complete one), a blank store left by an older version is repaired by the next build, two builds
into one new folder both finish (the second joins the first), and ``--out`` naming a file is one line (issue 19,
class 2). Before, a kill in the first instant left a schema-less ``kb.sqlite`` that ``kb info`` and a re-run both
refused with "no such table: kb_meta"."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from affectagent.cli import main
from affectagent.kb import KBEntry, KnowledgeBase
from affectagent.kb.errors import KBInputError, KBNotFoundError, KBSchemaError
from affectagent.kb.sqlite_store import DB_NAME

from ..resources import shared

# Runs KnowledgeBase.create in a child whose SQLite connections SIGKILL the process at the first statement that
# starts with argv[2] (so the kill lands inside schema creation, wherever the code does it).
KILL_AT = textwrap.dedent("""
    import os, signal, sqlite3, sys
    class Killer(sqlite3.Connection):
        def execute(self, sql, *a):
            if sql.lstrip().startswith(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)
            return super().execute(sql, *a)
        def executemany(self, sql, *a):
            if sql.lstrip().startswith(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)
            return super().executemany(sql, *a)
    _connect = sqlite3.connect
    sqlite3.connect = lambda *a, **k: _connect(*a, factory=Killer, **k)
    from affectagent.kb import KnowledgeBase
    KnowledgeBase.create(sys.argv[1], text_dim=4)
    print("created")
""")


def _entries(n: int, start: int = 0) -> list[KBEntry]:
    rng = np.random.default_rng(start)
    return [KBEntry(id=f"e{i}", text=f"t{i}", text_emb=rng.standard_normal(4)) for i in range(start, start + n)]


@pytest.mark.parametrize("statement", ["CREATE TABLE kb_meta", "CREATE TABLE entries", "INSERT INTO kb_meta",
                                       "COMMIT"])
def test_sigkill_while_creating_leaves_nothing_half_made(tmp_path, capsys, statement):
    path = tmp_path / "kb"
    proc = subprocess.run([sys.executable, "-c", KILL_AT, str(path), statement], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -9 and "created" not in proc.stdout, proc.stderr
    assert not (path / DB_NAME).exists()       # nothing visible under the public name
    with pytest.raises(KBNotFoundError):
        KnowledgeBase.open(path)
    assert main(["kb", "info", str(path)]) == 2
    assert "is not a knowledge base" in capsys.readouterr().err
    with KnowledgeBase.create(path, text_dim=4) as kb:  # the re-run just works
        assert kb.add(_entries(5)) == 5
    assert KnowledgeBase.peek(path).entries == 5
    assert sorted(p.name for p in path.iterdir() if p.name.startswith(".")) == []  # the dead creator's temp is gone


def _blank_zero(db):
    db.write_bytes(b"")


def _blank_wal(db):  # what the old create left when killed between opening the file and committing the schema
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("ROLLBACK")
    conn.close()


@pytest.mark.parametrize("make_blank", [_blank_zero, _blank_wal])
def test_blank_store_is_refused_clearly_and_repaired_by_create(tmp_path, capsys, make_blank):
    path = tmp_path / "kb"
    path.mkdir()
    make_blank(path / DB_NAME)
    with pytest.raises(KBSchemaError, match="interrupted before its schema was written; build into the same folder"):
        KnowledgeBase.open(path)
    assert main(["kb", "info", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "interrupted" in err and "\n" not in err
    with KnowledgeBase.create(path, text_dim=4) as kb:
        kb.add(_entries(3))
    assert KnowledgeBase.peek(path).entries == 3


def test_a_file_that_is_not_a_database_is_never_deleted(tmp_path):
    path = tmp_path / "kb"
    path.mkdir()
    (path / DB_NAME).write_text("my notes, not a database")
    with pytest.raises(KBSchemaError, match="not a readable knowledge-base database"):
        KnowledgeBase.open(path)
    with pytest.raises(Exception, match="already exists"):
        KnowledgeBase.create(path, text_dim=4)
    assert (path / DB_NAME).read_text() == "my notes, not a database"


def test_out_naming_a_file_is_one_line(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("hello")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": "a", "text": "hi"}\n')
    assert main(["kb", "build", "--manifest", str(manifest), "--out", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"affectagent: error: {target} is a file, not a folder: give a folder for the knowledge base"
    with pytest.raises(KBInputError, match="is a file, not a folder"):
        KnowledgeBase.create(target, text_dim=4)
    assert target.read_text() == "hello"


def test_kb_build_repairs_a_blank_store(tmp_path, capsys):
    shared("meld")
    out = tmp_path / "kb"
    out.mkdir()
    _blank_wal(out / DB_NAME)
    argv = ["kb", "build", "--dataset", "meld", "--limit", "6", "--out", str(out), "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    assert "6 added" in capsys.readouterr().out
    assert main(argv) == 0 and "0 added, 6 already present" in capsys.readouterr().out


# Two builds into one new folder that both looked before either had created it: a file barrier inside
# KnowledgeBase.create makes them call it at the same moment.
RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from affectagent.kb import knowledge_base
    from affectagent.kb.build import BuildConfig, BuildSource, build_kb
    out, barrier, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    create = knowledge_base.KnowledgeBase.create.__func__
    def synced(cls, *a, **k):
        (barrier / me).touch()
        deadline = time.monotonic() + 120
        while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        return create(cls, *a, **k)
    knowledge_base.KnowledgeBase.create = classmethod(synced)
    s = build_kb(out, [BuildSource("meld", "train", limit=12)], config=BuildConfig(batch_size=3), progress=False)
    print("added", s.sources[0].added, "entries", s.info.entries)
""")


def test_two_concurrent_builds_into_one_new_folder_both_finish(tmp_path):
    shared("meld")
    out, barrier = tmp_path / "kb", tmp_path / "barrier"
    barrier.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(out), str(barrier), name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (so, se) in zip(procs, results):
        assert p.returncode == 0, se[-2000:]
    added = [int(so.split()[1]) for so, _ in results]
    assert sum(added) == 12 and all(so.split()[3] == "12" for so, _ in results)
    with KnowledgeBase.open(out, read_only=True) as kb:
        assert len(kb) == 12
