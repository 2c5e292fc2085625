"""``predict --engine ray`` on a real local Ray cluster (2 CPUs, module fixture ``ray_cluster``): two real clips, a
corrupt file and a text manifest (with a bad line) through the tiny real checkpoint give the local engine's rows, id
by id (labels equal, probabilities within 1e-6, the same error rows), in input order; the Parquet output resumes;
a bad checkpoint stops the run with its own one-line error; without Ray the command says how to install it."""
import json
import sys

import pytest

from affectagent.batch import read_rows
from affectagent.batch.parquet import read_parquet_rows
from affectagent.batch.ray_engine import RAY_PIP, RayEngineConfig, plan_pool, require_ray
from affectagent.cli import main
from affectagent.errors import InputError, MissingDependencyError

from ..ray_cluster import ray_cluster  # noqa: F401 - module fixture
from .helpers import assert_same_row, real_folder, text_manifest

def test_ray_rows_equal_the_local_rows_and_resume(ray_cluster, tiny_checkpoint, tmp_path, capsys):
    folder, manifest = real_folder(tmp_path), text_manifest(tmp_path)
    common = ["predict", str(folder), str(manifest), "--no-progress", "--json", "--checkpoint", str(tiny_checkpoint)]
    assert main([*common, "--out", str(tmp_path / "local.jsonl")]) == 1
    capsys.readouterr()
    out = tmp_path / "ray.parquet"
    assert main([*common, "--out", str(out), "--engine", "ray", "--concurrency", "2"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["ok"], summary["failed"]) == (5, 2) and sorted(summary["failed_ids"]) == ["broken.mp4", "t4"]

    local = read_rows(tmp_path / "local.jsonl")
    got = read_parquet_rows(out)
    assert [r.id for r in got] == [r.id for r in local] == \
        ["a/face1.mp4", "broken.mp4", "face2.mp4", "t1", "t2", "t3", "t4"]
    for r, ref in zip(got, local):
        assert_same_row(r, ref)
    bad = got[1]
    assert bad.label is None and "corrupt" in bad.error
    assert {r.kind for r in got if r.ok} == {"video", "text"}

    # resume: the ok ids are skipped, the two failed ones tried again (and fail again), one row per id
    assert main([*common, "--out", str(out), "--engine", "ray", "--concurrency", "1"]) == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["skipped"], again["retried"], again["failed"]) == (5, 2, 2)
    assert sorted(r.id for r in read_parquet_rows(out)) == sorted(r.id for r in local)


def test_a_bad_checkpoint_stops_the_ray_run_with_its_error(ray_cluster, tmp_path, capsys):
    folder = real_folder(tmp_path)
    argv = ["predict", str(folder), "--out", str(tmp_path / "p.jsonl"), "--engine", "ray", "--no-progress",
            "--checkpoint", str(tmp_path / "missing.pt")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "checkpoint not found" in err and "missing.pt" in err and "Traceback" not in err


def test_without_ray_the_error_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'ray\[data\]==2\.60\.0'"):
        require_ray()
    folder = real_folder(tmp_path)
    assert main(["predict", str(folder), "--out", str(tmp_path / "p.jsonl"), "--engine", "ray"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("affectagent: error: --engine ray needs Ray Data") and RAY_PIP in last


def test_ray_options_need_the_ray_engine(capsys):
    assert main(["predict", "a.mp4", "b.mp4", "--concurrency", "2"]) == 2
    assert "--concurrency is for --engine ray" in capsys.readouterr().err


def test_the_pool_fits_the_cluster():
    p = plan_pool(RayEngineConfig(), n_inputs=9, cluster_cpus=2)
    assert (p.actors, p.batch_size, p.blocks) == (2, 1, 9)
    p = plan_pool(RayEngineConfig(num_cpus_per_actor=0.5), n_inputs=1000, cluster_cpus=2)
    assert (p.actors, p.batch_size, p.blocks) == (4, 62, 17)
    assert plan_pool(RayEngineConfig(concurrency=2), n_inputs=1, cluster_cpus=8).actors == 1  # never idle actors
    with pytest.raises(InputError, match="needs 4 CPUs; the Ray cluster has 2"):
        plan_pool(RayEngineConfig(concurrency=4), n_inputs=10, cluster_cpus=2)
    with pytest.raises(InputError, match="--concurrency must be >= 1"):
        RayEngineConfig(concurrency=0)


def test_the_ray_actor_pool_note_is_native_noise_but_other_ray_errors_are_not():
    from affectagent.quiet import strip_native_noise

    note = ("[2026-12-03 08:44:00,093 E 29099 29099] core_worker.cc:2465: Actor with class name: "
            "'MapWorker(MapBatches(_Worker))' and ID: 'd3a3eb99c4b6d3693127c9c103000000' has constructor arguments in "
            "the object store and max_restarts > 0. If the arguments in the object store go out of scope or are lost, "
            "the actor restart will fail. See https://github.com/ray-project/ray/issues/53727 for more details.")
    assert strip_native_noise(note) == ""
    line = "[2026-12-03 08:44:00,093 E 29099 29099] core_worker.cc:100: the object store is full"
    assert strip_native_noise(line) == line
