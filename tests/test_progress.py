"""``affectagent.progress``: nested stage events reach the listener of the block only; nothing happens without
one; a failing listener is dropped without breaking the watched call; threads do not share listeners."""
import threading

import pytest

from affectagent import progress
from affectagent.progress import StageEvent


def test_stages_nest_and_end_with_seconds():
    seen: list[StageEvent] = []
    with progress.listen(seen.append):
        assert progress.listening()
        with progress.stage("predict"):
            with progress.stage("features"):
                progress.report_done("asr", 0.84)
                progress.report_done("visual", 0.0, cached=True)
            with progress.stage("agents"):
                pass
    assert not progress.listening()
    assert [(e.path, e.event) for e in seen] == [
        (("predict",), "start"), (("predict", "features"), "start"), (("predict", "features", "asr"), "end"),
        (("predict", "features", "visual"), "cached"), (("predict", "features"), "end"),
        (("predict", "agents"), "start"), (("predict", "agents"), "end"), (("predict",), "end")]
    assert seen[2].seconds == 0.84 and seen[2].name == "asr"
    assert all(e.seconds is None for e in seen if e.event == "start")
    assert all(e.seconds is not None and e.seconds >= 0 for e in seen if e.event != "start")


def test_a_stage_that_raises_is_failed_and_the_error_propagates():
    seen: list[StageEvent] = []
    with progress.listen(seen.append), pytest.raises(ValueError, match="boom"):
        with progress.stage("check"):
            raise ValueError("boom")
    assert [(e.path, e.event) for e in seen] == [(("check",), "start"), (("check",), "failed")]


def test_without_a_listener_nothing_is_reported():
    with progress.stage("predict"):  # no listener anywhere: a plain block
        progress.report_done("asr", 1.0)
    seen: list[StageEvent] = []
    with progress.listen(seen.append):
        with progress.listen(None):  # muted inside
            with progress.stage("segment"):
                assert not progress.listening()
        with progress.stage("after"):
            pass
    assert [e.path for e in seen] == [("after",), ("after",)]


def test_a_failing_listener_is_dropped_and_the_call_goes_on():
    calls = []

    def bad(event):
        calls.append(event)
        raise RuntimeError("listener bug")

    with progress.listen(bad):
        with progress.stage("a"):
            with progress.stage("b"):
                pass
        assert not progress.listening()
    assert len(calls) == 1


def test_threads_have_their_own_listener():
    main: list[StageEvent] = []
    other: list[StageEvent] = []

    def work():
        with progress.stage("unwatched"):  # the main thread's listener does not leak into this thread
            pass
        with progress.listen(other.append), progress.stage("watched"):
            pass

    with progress.listen(main.append):
        t = threading.Thread(target=work)
        t.start()
        t.join()
        with progress.stage("main"):
            pass
    assert {e.path for e in main} == {("main",)} and {e.path for e in other} == {("watched",)}
