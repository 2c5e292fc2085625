"""Parquet outputs of a batch (real clips, scripted predictor): a ``.parquet`` file and a folder of part files hold
the same rows as .jsonl, typed columns, and resume like the line formats (ok ids skipped, failed ids retried, one
row per id)."""
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from affectagent.batch import discover, read_rows, run_batch
from affectagent.batch.outputs import out_kind, output_path, previous
from affectagent.batch.parquet import ParquetSink, parts, read_parquet_rows, row_schema
from affectagent.errors import InputError

from .helpers import shared_file
from .test_runner import ScriptedAgent


@pytest.mark.parametrize("name", ["preds.parquet", "preds_dir/"])
def test_parquet_file_and_folder_hold_the_jsonl_rows_and_resume(inputs_folder, tmp_path, name):
    items = discover([inputs_folder]).items
    run_batch(items, predict=ScriptedAgent(), out=tmp_path / "ref.jsonl", progress=False)
    out = output_path(f"{tmp_path}/{name}")
    s = run_batch(items, predict=ScriptedAgent(), out=out, progress=False)
    assert (s.ok, s.failed) == (2, 1)
    ref = {r.id: r for r in read_rows(tmp_path / "ref.jsonl")}
    got = {r.id: r for r in read_parquet_rows(out)}
    assert list(got) == list(ref) == ["a/face1.mp4", "broken.mp4", "face2.mp4"]
    for rid, r in ref.items():  # every field but the timing
        assert {**got[rid].to_record(), "seconds": None} == {**r.to_record(), "seconds": None}
    table = pq.read_table(out)
    assert table.schema.equals(row_schema()) and pa.types.is_map(table.schema.field("probs").type)

    again = ScriptedAgent()
    s2 = run_batch(items, predict=again, out=out, progress=False)
    assert (s2.skipped, s2.retried, s2.failed) == (2, 1, 1) and again.calls == []
    assert sorted(r.id for r in previous(out)) == sorted(ref)  # the failed row was replaced, not duplicated

    shutil.copy(shared_file("clips/video_retalking/face3.mp4"), inputs_folder / "broken.mp4")
    s3 = run_batch(items, predict=ScriptedAgent(), out=out, progress=False)
    assert (s3.ok, s3.failed, s3.skipped) == (1, 0, 2)
    rows = previous(out)
    assert len(rows) == 3 and all(r.ok for r in rows)
    if out.is_dir():
        assert len(parts(out)) >= 2  # each run adds its own part


def test_a_parquet_folder_keeps_finished_parts_when_interrupted(inputs_folder, tmp_path):
    items = discover([inputs_folder]).items
    out = output_path(f"{tmp_path}/parts/")
    with ParquetSink(out, folder=True, part_rows=1) as sink:
        for row in [r for r in _rows(items)][:2]:
            sink.write(row)
    assert len(parts(out)) == 2
    with pytest.raises(KeyboardInterrupt):
        run_batch(items, predict=ScriptedAgent(interrupt_after=0), out=out, progress=False)
    assert [r.id for r in previous(out)] == ["a/face1.mp4", "broken.mp4"]


def _rows(items):
    from affectagent.batch.runner import predict_item

    agent = ScriptedAgent()
    return [predict_item(it, agent) for it in items]


def test_out_kinds(tmp_path):
    assert [out_kind(p) for p in ("a.jsonl", "a.CSV", "a.parquet", str(tmp_path), "new/")] == \
        ["jsonl", "csv", "parquet", "parquet-folder", "parquet-folder"]
    with pytest.raises(InputError, match=r"use .jsonl or .csv \(or .parquet"):
        out_kind("preds.txt")
    (tmp_path / "f.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        previous(tmp_path / "f.parquet")
