"""``affectagent serve`` as a real process: starts, prints its URL, answers /health and a text prediction, stops;
bad options and a taken port exit 2 with one line before any model loads."""
import socket

import httpx

from affectagent.cli import build_parser, main

from ..llm.processes import free_port, running


def test_serve_is_a_subcommand():
    args = build_parser().parse_args(["serve", "--port", "9001", "--max-upload-mb", "5", "--variant", "no_rag"])
    assert (args.command, args.port, args.max_upload_mb, args.variant, args.workers) == ("serve", 9001, 5.0, "no_rag", 1)
    assert args.host == "127.0.0.1" and args.feature_cache is False and args.max_timeline_segments == 120
    assert build_parser().parse_args(["serve", "--max-timeline-segments", "30"]).max_timeline_segments == 30


def test_real_server_process(tiny_checkpoint, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    cmd = ["-m", "affectagent", "serve", "--checkpoint", str(tiny_checkpoint), "--port", str(port),
           "--max-upload-mb", "20", "--log-level", "warning"]
    with running(cmd, port=port, timeout=180, log=log) as base:
        health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["checkpoint"] == tiny_checkpoint.name and health["max_upload_mb"] == 20
        r = httpx.post(f"{base}/v1/predict", json={"text": "You did WHAT?", "context": "Ann: I sold the car.",
                                                   "explain": True}, timeout=60)
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["label"] in d["probs"] and d["trace"]["queries"] and d["timing"]["model_seconds"] > 0
        assert httpx.get(base + "/", timeout=10).text.startswith("<!doctype html>")
        bad = httpx.post(f"{base}/v1/predict", content=b"hi", headers={"content-type": "text/plain"}, timeout=10)
        assert bad.status_code == 415 and "error" in bad.json()
    assert f"serving at http://127.0.0.1:{port}/" in log.read_text()


def test_bad_options_exit_2_with_one_line(tiny_checkpoint, tmp_path, capsys):
    assert main(["serve", "--checkpoint", str(tmp_path / "missing.pt"), "--port", str(free_port())]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["serve", "--variant", "bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["serve", "--max-upload-mb", "0"]) == 2
    assert "max_upload_mb must be > 0" in capsys.readouterr().err
    assert main(["serve", "--max-timeline-segments", "0"]) == 2
    assert "max_timeline_segments must be > 0" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--checkpoint", str(tiny_checkpoint), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1
