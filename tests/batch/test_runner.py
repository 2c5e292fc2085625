"""The batch loop on real files with a scripted predictor: a bad input is one failed row, resuming skips finished ids
and retries failed ones, an interrupted run keeps its rows, models load only when something is left to do."""
import shutil

import pytest

from affectagent.batch import LazyPredict, discover, read_rows, run_batch
from affectagent.schema import Prediction

from .helpers import shared_file


class ScriptedAgent:
    """Answers from the sample's media kind (no model); records what it was asked."""

    def __init__(self, *, fail_on: str | None = None, interrupt_after: int | None = None) -> None:
        self.calls: list[str] = []
        self.fail_on = fail_on
        self.interrupt_after = interrupt_after

    def __call__(self, sample) -> Prediction:
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(sample.id)
        if self.fail_on and self.fail_on in sample.id:
            raise RuntimeError("the model fell over")
        label = "happy" if sample.video else "sad"
        return Prediction(sample_id=sample.id, label=label, probs={label: 0.9, "neutral": 0.1}, sentiment="neutral",
                          ov_set=(label,), rationale=f"scripted for {sample.id}")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_two_clips_and_a_corrupt_file_give_three_rows_one_failed(inputs_folder, tmp_path, suffix):
    out = tmp_path / f"preds{suffix}"
    agent = ScriptedAgent()
    s = run_batch(discover([inputs_folder]).items, predict=agent, out=out, progress=False)
    rows = {r.id: r for r in read_rows(out)}
    assert list(rows) == ["a/face1.mp4", "broken.mp4", "face2.mp4"]
    assert rows["broken.mp4"].error.startswith("cannot decode broken.mp4: corrupt")
    assert rows["broken.mp4"].label is None and rows["broken.mp4"].kind == "video"
    assert rows["face2.mp4"].ok and rows["face2.mp4"].label == "happy" and rows["face2.mp4"].seconds > 0
    assert rows["face2.mp4"].path == str(inputs_folder / "face2.mp4")
    assert (s.ok, s.failed, s.skipped, s.exit_code) == (2, 1, 0, 1)
    assert agent.calls == ["a/face1.mp4", "face2.mp4"]  # the corrupt file never reached the model

    again = ScriptedAgent()
    s2 = run_batch(discover([inputs_folder]).items, predict=again, out=out, progress=False)
    assert (s2.skipped, s2.retried, s2.failed) == (2, 1, 1) and again.calls == []
    assert "2 skipped (already in" in s2.format()
    assert [r.id for r in read_rows(out)] == ["a/face1.mp4", "face2.mp4", "broken.mp4"]  # one row per id

    shutil.copy(shared_file("clips/video_retalking/face3.mp4"), inputs_folder / "broken.mp4")
    s3 = run_batch(discover([inputs_folder]).items, predict=ScriptedAgent(), out=out, progress=False)
    assert (s3.ok, s3.failed, s3.skipped, s3.exit_code) == (1, 0, 2, 0)
    assert all(r.ok for r in read_rows(out)) and len(read_rows(out)) == 3


def test_any_exception_in_the_model_is_a_row(inputs_folder, tmp_path):
    out = tmp_path / "p.jsonl"
    s = run_batch(discover([inputs_folder / "face2.mp4", inputs_folder / "a"]).items,
                  predict=ScriptedAgent(fail_on="face1"), out=out, progress=False)
    rows = {r.id: r for r in read_rows(out)}
    assert rows["face1.mp4"].error == "RuntimeError: the model fell over" and rows["face2.mp4"].ok
    assert s.failed_ids == ["face1.mp4"]


def test_an_interrupted_run_keeps_its_rows_and_resumes(inputs_folder, tmp_path):
    out = tmp_path / "p.csv"
    items = discover([inputs_folder]).items
    with pytest.raises(KeyboardInterrupt):
        run_batch(items, predict=ScriptedAgent(interrupt_after=1), out=out, progress=False)
    assert [r.id for r in read_rows(out)] == ["a/face1.mp4", "broken.mp4"]
    agent = ScriptedAgent()
    s = run_batch(items, predict=agent, out=out, progress=False)
    assert agent.calls == ["face2.mp4"] and s.skipped == 1 and s.retried == 1


def test_fresh_replaces_and_nothing_left_loads_nothing(inputs_folder, tmp_path):
    out = tmp_path / "p.jsonl"
    items = [i for i in discover([inputs_folder]).items if i.id != "broken.mp4"]
    run_batch(items, predict=ScriptedAgent(), out=out, progress=False)
    lazy = LazyPredict(lambda: pytest.fail("models loaded although every input is done"))
    s = run_batch(items, predict=lazy, out=out, progress=False)
    assert s.skipped == 2 and not lazy.loaded
    agent = ScriptedAgent()
    run_batch(items[:1], predict=agent, out=out, resume=False, progress=False)
    assert agent.calls == ["a/face1.mp4"] and [r.id for r in read_rows(out)] == ["a/face1.mp4"]


def test_rows_without_an_output_file_go_to_the_callback(inputs_folder):
    seen = []
    s = run_batch(discover([inputs_folder]).items, predict=ScriptedAgent(), out=None, progress=False,
                  on_row=seen.append)
    assert [r.id for r in seen] == ["a/face1.mp4", "broken.mp4", "face2.mp4"] and s.exit_code == 1
