"""The metrics loggers on real files: JSONL read back and appended across loggers, TensorBoard event files written
and read back, stdout lines, the factory and the registry."""
import io
import json
import math

import pytest

from affectagent.train.metrics_logger import (
    METRICS_LOGGERS,
    JSONLLogger,
    MetricsLogger,
    MultiLogger,
    StdoutLogger,
    TensorBoardLogger,
    make_logger,
    scalars,
)


def _rows(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_writes_one_flushed_line_per_record_and_a_second_logger_appends(tmp_path):
    path = tmp_path / "sub" / "log.jsonl"  # parent folders are created
    first = JSONLLogger(path)
    first.log({"step": 1, "kind": "train", "loss": 0.5})
    assert _rows(path) == [{"step": 1, "kind": "train", "loss": 0.5}]  # readable before close: flushed per line
    first.log({"step": 2, "kind": "dev", "wf1": 0.25, "note": "x"})
    first.close()
    first.close()  # harmless twice
    with pytest.raises(ValueError):
        first.log({"step": 3})
    with JSONLLogger(path) as resumed:  # a resumed run appends to the same file
        resumed.log({"step": 3, "kind": "train", "loss": float("nan")})
    rows = _rows(path)
    assert [r["step"] for r in rows] == [1, 2, 3] and rows[1]["note"] == "x" and math.isnan(rows[2]["loss"])


def test_stdout_prints_json_lines():
    buf = io.StringIO()
    StdoutLogger(buf).log({"epoch": 1, "train_acc": 0.5})
    assert json.loads(buf.getvalue()) == {"epoch": 1, "train_acc": 0.5}


def test_scalars_skip_non_numbers_and_flatten_dicts():
    rec = {"a": 1, "b": 0.5, "flag": True, "name": "x", "nan": float("nan"), "none": None,
           "meld": {"accuracy": 0.6, "corpus": "meld"}}
    assert dict(scalars(rec)) == {"a": 1, "b": 0.5, "meld/accuracy": 0.6}


def test_tensorboard_event_file_holds_the_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = TensorBoardLogger(tmp_path / "tb")
    tb.log({"step": 1, "kind": "train", "task_reward": 0.25, "label": "joy", "ok": True})
    tb.log({"step": 2, "kind": "train", "task_reward": 0.5})
    tb.log({"step": 2, "kind": "dev", "dev_weighted_f1": 0.6, "dev_hit": float("nan")})
    tb.log({"final": True, "val_acc": 0.7})  # no step: the last step seen
    tb.close()
    events = list((tmp_path / "tb").glob("events.out.tfevents*"))
    assert len(events) == 1
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert tags == {"train/task_reward", "dev/dev_weighted_f1", "train/val_acc"}
    assert [(e.step, e.value) for e in acc.Scalars("train/task_reward")] == [(1, 0.25), (2, 0.5)]
    assert [e.step for e in acc.Scalars("train/val_acc")] == [2]


def test_make_logger_combines_and_closes(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    with make_logger(jsonl=tmp_path / "log.jsonl", tensorboard=tmp_path / "tb", stdout=True) as logger:
        assert isinstance(logger, MultiLogger) and isinstance(logger, MetricsLogger)
        assert [type(x) for x in logger.loggers] == [StdoutLogger, JSONLLogger, TensorBoardLogger]
        logger.log({"step": 1, "loss": 1.0})
    assert json.loads(capsys.readouterr().out) == {"step": 1, "loss": 1.0}
    assert _rows(tmp_path / "log.jsonl") == [{"step": 1, "loss": 1.0}]
    assert any((tmp_path / "tb").glob("events.out.tfevents*"))
    empty = make_logger()
    empty.log({"step": 1})  # no sinks: records are dropped
    empty.close()
    assert empty.loggers == []


def test_registry_names():
    assert METRICS_LOGGERS.names() == ["jsonl", "stdout", "tensorboard"]
    assert METRICS_LOGGERS.get("jsonl") is JSONLLogger


def test_tensorboard_missing_gives_an_install_hint(monkeypatch, tmp_path):
    import sys

    from affectagent.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError, match="pip install tensorboard"):
        make_logger(jsonl=tmp_path / "log.jsonl", tensorboard=tmp_path / "tb")
