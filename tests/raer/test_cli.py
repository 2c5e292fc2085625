"""`affectagent raer run` and `predict --raer` on the tiny real checkpoint; bad input is one line and exit 2."""
import json

import pytest

from affectagent.cli import main


def test_raer_run_cli_table_plot_and_resume(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "raer"
    argv = ["raer", "run", "--dataset", "meld", "--split", "dev", "--epochs", "1", "--limit", "30",
            "--epsilon", "0.8", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "w/o" in text and "growth.png" in text
    summary = json.loads((out / "growth.json").read_text())
    assert [r["epoch"] for r in summary["epochs"]] == [0, 1] and summary["config"]["protocol"] == "honest"
    assert main(argv + ["--json"]) == 0                          # finished run: resumes, recomputes nothing
    assert json.loads(capsys.readouterr().out)["epochs"] == summary["epochs"]


def test_raer_run_with_threads_gives_the_same_epochs(tiny_checkpoint, tmp_path, capsys):
    """Chunks reasoned in threads (--threads) give the sequential run's rows: the KB grows between epochs only."""
    runs = {}
    for name, extra in (("seq", []), ("threads", ["--threads", "3"])):
        out = tmp_path / name
        assert main(["raer", "run", "--dataset", "meld", "--split", "dev", "--epochs", "1", "--limit", "24",
                     "--batch-size", "4", "--epsilon", "0.8", "--checkpoint", str(tiny_checkpoint), "--out", str(out),
                     *extra]) == 0
        runs[name] = [{k: r[k] for k in ("epoch", "war", "uar", "added", "kb_size_after")}
                      for r in json.loads((out / "growth.json").read_text())["epochs"]]
        runs[name + "_preds"] = (out / "predictions_epoch1.jsonl").read_text()
    capsys.readouterr()
    assert runs["threads"] == runs["seq"] and runs["threads_preds"] == runs["seq_preds"]
    assert main(["raer", "run", "--dataset", "meld", "--threads", "0", "--checkpoint", str(tiny_checkpoint),
                 "--out", str(tmp_path / "z")]) == 2
    assert "--threads must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--epsilon", "1.5"], "epsilon"),
    (["--backend", "neural", "--model", "qwen-0.5b"], "--model"),
    (["--backend", "llm"], "--model"),
    (["--uncertainty", "logprob"], "neural agents"),
    (["--protocol", "paper", "--dataset", "manifest"], ""),
])
def test_raer_run_bad_input_is_one_line(tiny_checkpoint, tmp_path, capsys, extra, message):
    argv = ["raer", "run", "--dataset", "meld", "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "x")]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("affectagent: error:") and message in err[0]


def test_predict_raer_prints_steps_and_gate(tiny_checkpoint, capsys):
    assert main(["predict", "--text", "Oh no, I lost my keys again!", "--checkpoint", str(tiny_checkpoint),
                 "--raer", "--raer-epsilon", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "RAER: uncertainty" in out and "would grow with this sample" in out
    assert " 1. hypothesis:" in out and " 3. conclusion:" in out
    assert main(["predict", "--text", "fine", "--checkpoint", str(tiny_checkpoint), "--raer", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)  # the RAER record as the service gives it; the trace needs --explain
    assert [s["kind"] for s in d["raer"]["steps"]] == ["hypothesis", "evidence", "conclusion"] and "trace" not in d
    assert main(["predict", "--text", "fine", "--checkpoint", str(tiny_checkpoint), "--raer-epsilon", "0.5"]) == 2


@pytest.mark.slow
def test_predict_raer_with_the_real_smollm2_backbone(tiny_checkpoint, capsys):
    assert main(["predict", "--text", "I can't believe you did that!", "--checkpoint", str(tiny_checkpoint),
                 "--agents", "llm", "--model", "smollm2-135m", "--raer", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    r = d["raer"]
    assert r["steps"] and 0 <= r["uncertainty"] <= 1 and r["uncertainty_method"] == "logprob"
    assert d["label"] in ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")
    assert main(["predict", "--text", "x", "--checkpoint", str(tiny_checkpoint), "--agents", "llm",
                 "--model", "smollm2-135m", "--raer", "--variant", "no_rag"]) == 2
