"""``cli.timeline``: the --timeline flags on a parser like ``predict``'s, validation (one-line InputErrors before any
model loads), outputs and exit codes, on the real face1.mp4 with a scripted predictor (no agents, no KB)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from PIL import Image

from affectagent.batch import LazyPredict
from affectagent.cli.timeline import (
    PLOT_SUFFIX,
    add_timeline_arguments,
    check_timeline_arguments,
    run_timeline_cli,
    timeline_config,
)
from affectagent.errors import InputError
from affectagent.schema import Prediction
from affectagent.timeline import TIMELINE_FIELDS

from ..resources import shared

CLIP_REL = "clips/video_retalking/face1.mp4"
IMAGE_REL = "clips/fer/justin.jpg"


@pytest.fixture(scope="module")
def clip() -> Path:
    return shared(CLIP_REL) / CLIP_REL


def parser() -> argparse.ArgumentParser:
    """The predict options ``run_timeline_cli`` reads, plus the timeline group."""
    p = argparse.ArgumentParser(prog="affectagent predict")
    p.add_argument("paths", nargs="*")
    p.add_argument("--text")
    p.add_argument("--context")
    p.add_argument("--speaker")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    add_timeline_arguments(p)
    return p


def parse(*argv: str) -> argparse.Namespace:
    return parser().parse_args(["--no-progress", *argv])


def predict(sample):
    """happy before 3 s, sad after."""
    start = sample.meta["timeline"]["start"]
    label = "happy" if start < 3.0 else "sad"
    return Prediction(sample_id=sample.id, label=label, probs={label: 0.7, "neutral": 0.3}, sentiment="neutral")


def not_loaded():
    raise AssertionError("the models must not load for an input that is refused")


def test_flags_parse_and_default_to_the_config():
    args = parse("x.mp4", "--timeline", "--window", "1.5s", "--hop", "500ms", "--segments", "vad",
                 "--max-segments", "40")
    cfg = timeline_config(args)
    assert (cfg.window, cfg.hop, cfg.mode, cfg.max_segments) == (1.5, 0.5, "vad", 40)
    cfg = timeline_config(parse("x.mp4", "--timeline"))
    assert (cfg.window, cfg.hop, cfg.mode) == (2.0, 1.0, "fixed")
    assert timeline_config(parse("x.mp4", "--timeline", "--window", "3", "--hop", "3s")).hop == 3.0


@pytest.mark.parametrize("argv,match", [
    (("--window", "2m"), "--window: expected seconds"),
    (("--window", "0"), r"--window\) must be a number of seconds > 0"),
    (("--hop=-1s",), "--hop: expected seconds"),
    (("--window", "1s", "--hop", "2s"), r"hop \(2 s, --hop\) must be <= window"),
    (("--window", "0.5s",), r"hop \(1 s, --hop\) must be <= window \(0.5 s"),  # no silent change of --hop
    (("--max-segments", "0"), "--max-segments"),
])
def test_bad_durations_are_one_line_errors(clip, argv, match):
    with pytest.raises(InputError, match=match) as info:
        run_timeline_cli(parse(str(clip), "--timeline", *argv), LazyPredict(not_loaded))
    assert "\n" not in str(info.value)


def test_refused_inputs(clip, tmp_path):
    image = shared(IMAGE_REL) / IMAGE_REL
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("{}\n")
    cases = [
        (parse("--timeline"), "needs one video or audio PATH"),
        (parse(str(clip), str(clip), "--timeline"), "exactly one video or audio PATH"),
        (parse(str(tmp_path), "--timeline"), "not a folder"),
        (parse(str(manifest), "--timeline"), "not a manifest"),
        (parse(str(image), "--timeline"), "justin.jpg is a still image"),
        (parse("--text", "hello", "--timeline"), "--text does not go with --timeline"),
        (parse(str(clip), "--text", "hello", "--timeline"), "--text does not go with --timeline"),
        (parse(str(clip), "--speaker", "Ann", "--timeline"), "--speaker does not go with --timeline"),
        (parse(str(clip), "--fresh", "--timeline"), "--fresh is for a batch"),
        (parse(str(clip), "--timeline", "--out", str(tmp_path / "t.txt")), "use .jsonl or .csv"),
        (parse(str(tmp_path / "missing.mp4"), "--timeline"), "not found"),
    ]
    for args, match in cases:
        with pytest.raises(InputError, match=match):
            run_timeline_cli(args, LazyPredict(not_loaded))


def test_timeline_flags_need_timeline():
    check_timeline_arguments(parse("x.mp4"))  # nothing given: fine
    check_timeline_arguments(parse("x.mp4", "--timeline", "--window", "3"))
    with pytest.raises(InputError, match="--window / --segments need --timeline"):
        check_timeline_arguments(parse("x.mp4", "--window", "3", "--segments", "vad"))
    with pytest.raises(InputError, match="--max-segments needs --timeline"):
        check_timeline_arguments(parse("x.mp4", "--max-segments", "9"))


def test_out_gets_rows_and_a_png_beside_it(clip, tmp_path, capsys):
    out = tmp_path / "runs" / "t.jsonl"
    code = run_timeline_cli(parse(str(clip), "--timeline", "--window", "3s", "--hop", "3s", "--out", str(out)),
                            LazyPredict(lambda: predict))
    assert code == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["index"], r["start"], r["end"], r["label"]) for r in rows] == [(0, 0.0, 3.0, "happy"),
                                                                             (1, 3.0, 6.133, "sad")]
    assert all(list(r) == list(TIMELINE_FIELDS) for r in rows) and all(r["face_present"] for r in rows)
    png = tmp_path / "runs" / "t.png"
    assert Image.open(png).format == "PNG"
    printed = capsys.readouterr().out
    assert "face1.mp4: 2 segments (3 s windows every 3 s)" in printed and "2 ok, 0 failed" in printed
    assert f"rows: {out}; plot: {png}" in printed


def test_without_out_rows_print_and_the_png_goes_to_the_cwd(clip, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def failing_second(sample):
        if sample.meta["timeline"]["index"] == 1:
            raise InputError("no speech here")
        return predict(sample)

    code = run_timeline_cli(parse(str(clip), "--timeline", "--window", "3", "--hop", "3"), failing_second)
    assert code == 1  # some segments failed
    cap = capsys.readouterr()
    lines = cap.out.splitlines()
    assert lines[0].split()[:4] == ["#", "start", "end", "label"]
    assert lines[1].split()[:5] == ["0", "0.00", "3.00", "happy", "0.70"]
    assert lines[2].split() == ["1", "3.00", "6.13", "error:", "no", "speech", "here"]
    assert "1 ok, 1 failed" in cap.err and f"plot: {tmp_path / ('face1' + PLOT_SUFFIX)}" in cap.err
    assert Image.open(tmp_path / "face1.timeline.png").format == "PNG"


def test_json_rows_and_json_summary(clip, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_timeline_cli(parse(str(clip), "--timeline", "--json", "--window", "4", "--hop", "4"), predict)
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in rows] == ["happy", "sad"] and rows[1]["end"] == 6.133
    out = tmp_path / "t.csv"
    run_timeline_cli(parse(str(clip), "--timeline", "--json", "--window", "4", "--hop", "4", "--out", str(out)),
                     predict)
    summary = json.loads(capsys.readouterr().out)
    assert summary["segments"] == 2 and summary["failed"] == 0 and summary["rows"] == str(out)
    assert summary["plot"] == str(tmp_path / "t.png")
    assert out.read_text().splitlines()[0] == ",".join(TIMELINE_FIELDS)
