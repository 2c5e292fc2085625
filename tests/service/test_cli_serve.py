"""``affectagent serve`` as a real process (with ``--api-token-file``): starts, prints its URL (never the token),
answers /health, /metrics and a text prediction (401 without the token), stops; bad options, a taken port and a
missing, empty or short token file exit 2 with one line before any model loads."""
import socket

import httpx

from affectagent.cli import build_parser, main

from ..llm.processes import free_port, running


def test_serve_is_a_subcommand():
    args = build_parser().parse_args(["serve", "--port", "9001", "--max-upload-mb", "5", "--variant", "no_rag"])
    assert (args.command, args.port, args.max_upload_mb, args.variant, args.workers) == ("serve", 9001, 5.0, "no_rag", 1)
    assert args.host == "127.0.0.1" and args.feature_cache is False and args.max_timeline_segments == 120
    assert build_parser().parse_args(["serve", "--max-timeline-segments", "30"]).max_timeline_segments == 30
    assert build_parser().parse_args(["serve"]).api_token_file is None


def test_real_server_process(tiny_checkpoint, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    token = "real-process-token-0123456789"
    (tmp_path / "token").write_text(token + "\n")
    cmd = ["-m", "affectagent", "serve", "--checkpoint", str(tiny_checkpoint), "--port", str(port),
           "--max-upload-mb", "20", "--log-level", "warning", "--api-token-file", str(tmp_path / "token")]
    with running(cmd, port=port, timeout=180, log=log) as base:
        health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["checkpoint"] == tiny_checkpoint.name and health["max_upload_mb"] == 20 and health["auth"]
        body = {"text": "You did WHAT?", "context": "Ann: I sold the car.", "explain": True}
        refused = httpx.post(f"{base}/v1/predict", json=body, timeout=60)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        r = httpx.post(f"{base}/v1/predict", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["label"] in d["probs"] and d["trace"]["queries"] and d["timing"]["model_seconds"] > 0
        assert httpx.get(base + "/", timeout=10).text.startswith("<!doctype html>")
        bad = httpx.post(f"{base}/v1/predict", content=b"hi", timeout=10,
                         headers={"content-type": "text/plain", "Authorization": f"Bearer {token}"})
        assert bad.status_code == 415 and "error" in bad.json()
        metrics = httpx.get(f"{base}/metrics", timeout=10)
        assert metrics.status_code == 200 and "affectagent_predictions_served_total 1" in metrics.text
    text = log.read_text()
    assert f"serving at http://127.0.0.1:{port}/" in text and "API token required" in text and token not in text


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


def test_a_bad_api_token_file_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AFFECTAGENT_API_TOKEN", raising=False)
    port = str(free_port())
    cases = [(tmp_path / "missing", None, "API token file not found"),
             (tmp_path / "empty", "\n", "is empty"),
             (tmp_path / "short", "tooshort\n", "at least 16 characters; got 8")]
    for path, content, needle in cases:
        if content is not None:
            path.write_text(content)
        assert main(["serve", "--port", port, "--api-token-file", str(path)]) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, err
        assert "tooshort" not in err  # the token itself is never echoed
    monkeypatch.setenv("AFFECTAGENT_API_TOKEN", "short")
    assert main(["serve", "--port", port]) == 2
    err = capsys.readouterr().err
    assert "at least 16" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "good").write_text("a-good-long-token-0123456789\n")
    monkeypatch.setenv("AFFECTAGENT_API_TOKEN", "another-long-token-0123456789")
    assert main(["serve", "--port", port, "--api-token-file", str(tmp_path / "good")]) == 2
    assert "given twice" in capsys.readouterr().err


def test_idle_connections_outlive_the_retry_after_of_a_busy_answer():
    """A client that waits Retry-After and reuses its connection must not race the server closing it (one request
    in 60 was lost that way in bench/load_service.py before), but idle connections never outlive the header deadline."""
    from affectagent.service.app import RETRY_AFTER_SECONDS
    from affectagent.service.server import keep_alive_seconds
    from affectagent.service.settings import ServiceSettings

    assert keep_alive_seconds(ServiceSettings()) > RETRY_AFTER_SECONDS
    assert keep_alive_seconds(ServiceSettings(header_timeout_seconds=3)) == 3
