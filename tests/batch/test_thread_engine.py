"""``--engine threads``: N inputs in flight in this process (for predictors that wait on a server), results in input
order, the same rows as the local engine; its option is refused without it."""
import threading
import time

import pytest

from affectagent.batch import read_rows
from affectagent.batch.engine import ThreadEngine, make_engine
from affectagent.cli import main
from affectagent.errors import InputError

from .helpers import assert_same_row, real_folder, text_manifest


def test_inputs_run_at_once_and_come_back_in_order():
    made, state, lock = [], {"now": 0, "most": 0}, threading.Lock()

    def make():
        made.append(1)

        def fn(x):
            with lock:
                state["now"] += 1
                state["most"] = max(state["most"], state["now"])
            time.sleep(0.05 * (5 - x % 5))  # later inputs finish first
            with lock:
                state["now"] -= 1
            return x * 10

        return fn

    assert list(ThreadEngine(workers=3).map(make, list(range(9)))) == [x * 10 for x in range(9)]
    assert made == [1] and state["most"] == 3
    assert list(ThreadEngine().map(make, [])) == [] and made == [1]  # no inputs: nothing is loaded
    with pytest.raises(InputError, match="--threads must be >= 1"):
        make_engine("threads", workers=0)


def test_thread_rows_equal_the_local_rows(tiny_checkpoint, tmp_path, capsys):
    folder, manifest = real_folder(tmp_path), text_manifest(tmp_path)
    common = ["predict", str(folder), str(manifest), "--no-progress", "--json", "--checkpoint", str(tiny_checkpoint)]
    assert main([*common, "--out", str(tmp_path / "local.jsonl")]) == 1
    capsys.readouterr()
    assert main([*common, "--out", str(tmp_path / "threads.jsonl"), "--engine", "threads", "--threads", "3"]) == 1
    local, threaded = read_rows(tmp_path / "local.jsonl"), read_rows(tmp_path / "threads.jsonl")
    assert [r.id for r in threaded] == [r.id for r in local] and len(local) == 7
    for r, ref in zip(threaded, local):
        assert_same_row(r, ref)


def test_threads_option_needs_the_threads_engine(capsys):
    assert main(["predict", "a.mp4", "b.mp4", "--threads", "2"]) == 2
    assert "--threads is for --engine threads" in capsys.readouterr().err
