"""``affectagent arena``: bad input exits 2 with one line; run (and resume) -> leaderboard on the tiny checkpoint with
a scripted judge backend; stimuli generation; validate-judge on the real EmoPrefer file."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from affectagent.arena import stimuli as st
from affectagent.cli import main
from affectagent.llm.backend import LLM_BACKENDS, Completion
from tests.resources import shared

KIND = "arena-test"


@dataclass
class _Scripted:
    """model "a": a judge that always says [[A]] (position bias: every pair inconsistent); model "stimuli": writes
    the arena's scene and passage."""

    model: str
    name: str = ""

    def __post_init__(self):
        self.name = f"{KIND}:{self.model}"

    def chat(self, messages, *, max_tokens=256, temperature=0.0, seed=None, stop=None):
        system = messages[0].content
        if system == st.SCENARIO_SYSTEM:
            text = "A nurse finds a ladder in the hallway before her night shift."
        elif system == st.PASSAGE_SYSTEM:
            text = "I found a ladder in the hallway. Nobody knew whose it was, so I carried it outside myself."
        else:
            text = "[[A]]"
        return Completion(text=text, prompt_tokens=1, completion_tokens=len(text.split()), seconds=0.0)


if KIND not in LLM_BACKENDS:
    LLM_BACKENDS.register(KIND)(lambda *, model=None, **kw: _Scripted(model or "a"))


@pytest.fixture
def stim_dir(tmp_path):
    d = tmp_path / "stimuli"
    d.mkdir()
    (d / "one.txt").write_text("I waited two hours at the station and nobody came. Then my phone died.")
    (d / "two.txt").write_text("The doctor called back this morning. The scan is clear!")
    (d / "README.md").write_text("not a stimulus")
    return d


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("affectagent: error: "), err
    return err


@pytest.mark.parametrize("change, message", [
    ({"--contestants": "neural-full,neural-best"}, "unknown contestant 'neural-best'"),
    ({"--contestants": "neural-full"}, "at least two contestants"),
    ({"--contestants": "neural-full,llm:gpt-9"}, "unknown LLM backend 'gpt-9'"),
    ({"--judge": "gpt-9"}, "unknown LLM backend 'gpt-9'"),
    ({"--judge": "nosuch:model"}, "unknown LLM backend"),
    ({"--rounds": "0"}, "rounds must be >= 1"),
    ({"--stimuli": "/no/such/folder"}, "stimulus source not found"),
    ({"--n-options": "1"}, "n_options must be in 2..13"),
])
def test_run_bad_input_exits_2_with_one_line(capsys, tmp_path, stim_dir, change, message):
    args = {"--contestants": "neural-full,neural-no-rag", "--judge": f"{KIND}:a", "--stimuli": str(stim_dir),
            "--rounds": "2", "--out": str(tmp_path / "out"), **change}
    err = _error(capsys, ["arena", "run", *[x for kv in args.items() for x in kv], "--quiet"])
    if message:
        assert message in err


def test_other_subcommands_bad_input(capsys, tmp_path):
    assert "not an arena run folder" in _error(capsys, ["arena", "leaderboard", str(tmp_path)])
    assert "--limit must be >= 1" in _error(capsys, ["arena", "validate-judge", "--judge", f"{KIND}:a",
                                                     "--limit", "0"])
    assert "unknown LLM backend" in _error(capsys, ["arena", "validate-judge", "--judge", "gpt-9"])
    assert "EmoPrefer file not found" in _error(capsys, ["arena", "validate-judge", "--judge", f"{KIND}:a",
                                                         "--file", str(tmp_path / "x.csv")])
    assert "--n must be >= 1" in _error(capsys, ["arena", "stimuli", "--n", "0", "--generator", f"{KIND}:x",
                                                 "--out", str(tmp_path / "s")])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no text / audio / video stimulus files" in _error(capsys, [
        "arena", "run", "--contestants", "neural-full,neural-no-rag", "--judge", f"{KIND}:a", "--stimuli",
        str(empty), "--out", str(tmp_path / "o"), "--quiet"])


def test_run_resume_and_leaderboard(capsys, tmp_path, stim_dir, tiny_checkpoint):
    out = tmp_path / "arena"
    argv = ["arena", "run", "--contestants", "neural-full,neural-no-rag", "--pool", "mer", "--rounds", "2",
            "--judge", f"{KIND}:a", "--stimuli", str(stim_dir), "--checkpoint", str(tiny_checkpoint),
            "--out", str(out), "--bootstrap", "20", "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "rank  contestant" in text and "neural-full" in text and "2 rounds, 2 matches" in text
    matches = [json.loads(x) for x in (out / "matches.jsonl").read_text().splitlines()]
    assert len(matches) == 2 and all(m["result"] == "inconsistent" for m in matches)  # the always-A judge
    assert {m["stimulus"] for m in matches} <= {"real/one.txt", "real/two.txt"}
    assert (out / "stimuli" / "stimuli.jsonl").is_file() and (out / "elo_curves.png").is_file()
    argv[argv.index("--rounds") + 1] = "3"
    assert main(argv) == 0
    assert "(1 matches played now)" in capsys.readouterr().out
    assert len((out / "matches.jsonl").read_text().splitlines()) == 3
    assert "other config" in _error(capsys, argv + ["--seed", "7"])
    assert main(["arena", "leaderboard", str(out), "--json", "--bootstrap", "10"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert board["rounds"] == 3 and {r["contestant"] for r in board["rows"]} == {"neural-full", "neural-no-rag"}
    assert all(r["ties"] == 3 and r["inconsistent"] == 3 for r in board["rows"])


def test_stimuli_generation(capsys, tmp_path):
    out = tmp_path / "gen"
    assert main(["arena", "stimuli", "--n", "2", "--generator", f"{KIND}:stimuli", "--out", str(out),
                 "--no-speech", "--quiet"]) == 0
    assert "2 new stimuli" in capsys.readouterr().out
    store = st.StimulusStore(out)
    assert store.ids() == ["gen-0", "gen-1"] and "ladder" in store.get("gen-0").text
    assert main(["arena", "stimuli", "--n", "2", "--generator", f"{KIND}:stimuli", "--out", str(out),
                 "--no-speech", "--quiet"]) == 0
    assert "0 new stimuli" in capsys.readouterr().out


def test_validate_judge_on_emoprefer(capsys, tmp_path):
    shared("emoprefer")
    out = tmp_path / "v.json"
    assert main(["arena", "validate-judge", "--judge", f"{KIND}:a", "--limit", "6", "--json", "--quiet",
                 "--out", str(out)]) == 0
    m = json.loads(capsys.readouterr().out)["metrics"]
    assert m["n"] == 6 and m["swap_consistency"] == 0.0 and m["position_a_rate"] == 1.0
    assert m["all"]["tie_rate"] == 1.0 and m["baseline_all"]["n"] == 6
    assert len(json.loads(out.read_text())["rows"]) == 6
    assert main(["arena", "validate-judge", "--judge", f"{KIND}:a", "--limit", "3", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "pick-longer, all" in text and "swap consistency 0.0 %" in text


def test_run_on_generated_stimuli(capsys, tmp_path, tiny_checkpoint):
    out = tmp_path / "gen-arena"
    assert main(["arena", "run", "--contestants", "neural-full,neural-no-rag", "--pool", "mer", "--rounds", "2",
                 "--judge", f"{KIND}:a", "--stimuli", "generate", "--generator", f"{KIND}:stimuli",
                 "--n-stimuli", "2", "--no-speech", "--checkpoint", str(tiny_checkpoint), "--out", str(out),
                 "--bootstrap", "0", "--quiet"]) == 0
    assert "generating 2 stimuli" in capsys.readouterr().out
    assert st.StimulusStore(out / "stimuli").ids() == ["gen-0", "gen-1"]
    matches = [json.loads(x) for x in (out / "matches.jsonl").read_text().splitlines()]
    assert len(matches) == 2 and {m["stimulus"] for m in matches} <= {"gen-0", "gen-1"}
    run = json.loads((out / "run.json").read_text())
    assert run["identity"]["settings"]["stimuli"]["generator"] == f"{KIND}:stimuli"
    assert "--generator is for --stimuli generate" in _error(capsys, [
        "arena", "run", "--contestants", "neural-full,neural-no-rag", "--judge", f"{KIND}:a", "--stimuli",
        str(out / "stimuli"), "--generator", f"{KIND}:x", "--out", str(tmp_path / "o2"), "--quiet"])
