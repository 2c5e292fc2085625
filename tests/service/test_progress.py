"""``ProgressBoard`` / ``Job`` (pure, a fake clock): stage order and seconds, service stages, counts, finishing,
job ids, conflicts, expiry and the size cap."""
import pytest

from affectagent.errors import InputError
from affectagent.progress import StageEvent
from affectagent.service.errors import JobConflictError, status_of
from affectagent.service.progress import STAGE_TITLES, ProgressBoard, check_job_id


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _ev(path: str, event: str, seconds=None) -> StageEvent:
    return StageEvent(path=tuple(path.split("/")), event=event, seconds=seconds)


def test_stages_in_start_order_with_seconds_depth_and_titles():
    clock = Clock()
    board = ProgressBoard(clock=clock)
    job = board.open("abc-1")
    job.start("receive")
    clock.now += 0.5
    job.end("receive")
    job.on_event(_ev("predict", "start"))
    job.on_event(_ev("predict/features", "start"))
    clock.now += 2.0
    snap = board.snapshot("abc-1")
    assert snap["state"] == "running" and snap["active"] == "predict/features" and snap["seconds"] == 2.5
    assert [(s["key"], s["state"]) for s in snap["stages"]] == [
        ("receive", "done"), ("predict", "active"), ("predict/features", "active")]
    assert snap["stages"][0]["seconds"] == 0.5 and snap["stages"][2]["seconds"] == 2.0  # active: so far
    # the extractor's timings arrive when the features are done (reported after the fact, in run order)
    job.on_event(_ev("predict/features/decode_audio", "end", 0.2))
    job.on_event(_ev("predict/features/asr", "end", 1.1))
    job.on_event(_ev("predict/features/visual", "cached", 0.0))
    job.on_event(_ev("predict/features", "end", 2.0))
    job.on_event(_ev("predict/agents", "start"))
    clock.now += 0.1
    job.on_event(_ev("predict/agents", "end", 0.1))
    job.on_event(_ev("predict", "end", 2.1))
    job.finish()
    clock.now += 50  # a finished job's clock stops
    snap = board.snapshot("abc-1")
    assert snap["state"] == "done" and snap["error"] is None and snap["active"] is None and snap["seconds"] == 2.6
    by_key = {s["key"]: s for s in snap["stages"]}
    assert list(by_key) == ["receive", "predict", "predict/features", "predict/features/decode_audio",
                            "predict/features/asr", "predict/features/visual", "predict/agents"]
    assert by_key["predict/features/asr"] == {
        "key": "predict/features/asr", "name": "asr", "title": STAGE_TITLES["asr"], "depth": 2, "state": "done",
        "started": 2.5, "seconds": 1.1, "done": None, "total": None}
    assert by_key["predict/features/visual"]["state"] == "cached"
    assert by_key["predict/agents"]["seconds"] == pytest.approx(0.1)


def test_a_stage_that_runs_twice_accumulates_in_place():
    clock = Clock()
    job = ProgressBoard(clock=clock).open("j")
    for _ in range(2):
        job.on_event(_ev("hash", "start"))
        clock.now += 0.25
        job.on_event(_ev("hash", "end", 0.25))
        job.on_event(_ev("other", "end", 0.0))
    snap = job.snapshot()
    assert [s["key"] for s in snap["stages"]] == ["hash", "other"] and snap["stages"][0]["seconds"] == 0.5


def test_counts_failures_and_unknown_stage_titles():
    clock = Clock()
    board = ProgressBoard(clock=clock)
    job = board.open("t")
    job.start("timeline")
    job.count("timeline", 2, 6)
    job.on_event(_ev("some_new_stage", "start"))
    snap = job.snapshot()
    assert snap["stages"][0]["done"] == 2 and snap["stages"][0]["total"] == 6
    assert snap["stages"][1]["title"] == "some new stage"
    job.finish(error="the clip is corrupt")
    snap = board.snapshot("t")
    assert snap["state"] == "failed" and snap["error"] == "the clip is corrupt"
    assert {s["state"] for s in snap["stages"]} == {"failed"}  # what was running when it failed


def test_job_ids_conflicts_expiry_and_cap():
    clock = Clock()
    board = ProgressBoard(max_jobs=3, keep_seconds=60, clock=clock)
    for bad in ("", "has space", "x" * 65, "semi;colon", "ünï"):
        with pytest.raises(InputError, match="job must be 1 to 64"):
            board.open(bad)
    assert check_job_id("page-0123abcd_X") == "page-0123abcd_X"
    first = board.open("a")
    with pytest.raises(JobConflictError, match="already running"):
        board.open("a")
    assert status_of(JobConflictError("x")) == 409
    first.finish()
    again = board.open("a")  # a finished id may be reused
    assert again is not first and board.snapshot("a")["state"] == "running"
    again.finish()
    clock.now += 61
    assert board.snapshot("a") is None  # forgotten keep_seconds after it finished
    jobs = [board.open(f"r{i}") for i in range(3)]
    jobs[1].finish()
    board.open("r3")  # over the cap: the oldest finished job goes first
    assert board.snapshot("r1") is None and board.snapshot("r0") is not None and len(board) == 3
    board.open("r4")  # then the oldest running one
    assert board.snapshot("r0") is None and board.snapshot("r4") is not None
    assert board.snapshot("never") is None
