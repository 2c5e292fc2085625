"""Compound Emotion QA export (``arena.export``, ``affectagent arena export``) on a hand-built arena log: which
answers are chosen and rejected (rank by match score, then Elo after the round; the median of the lower-scored),
which questions are skipped and why (ties, inconsistent pairs, declines, identical answers), human votes overriding
the AI judge, the prompt the contestants saw, and the Table-5-style counts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from affectagent.arena.contestants import ANSWER_SYSTEM
from affectagent.arena.export import Candidate, ExportConfig, export_run, pick_pair, rank
from affectagent.arena.stimuli import Stimulus, StimulusStore
from affectagent.arena.tasks import Task, make_task
from affectagent.arena.votes import VoteStore, run_key
from affectagent.cli import main
from affectagent.errors import InputError
from affectagent.train.dpo_pairs import read_pairs

JUDGE = "judge:test"
CONTESTANTS = ["A", "B", "C", "D"]
TEXTS = {"text-0": "I waited two hours at the station and nobody came.",
         "text-1": "The doctor called back: the scan is clear."}
SPEECH = "Nobody told me the meeting was cancelled."
OUTCOME = {"a": 1.0, "b": 0.0, "tie": 0.5, "inconsistent": 0.5, "a-declined": 0.0, "b-declined": 1.0,
           "both-declined": None}


def _task(rnd: int, i: int, kind: str, options=()) -> dict:
    t = make_task(kind, 0, id=f"r{rnd}-m{i}")
    return Task(id=t.id, pool=t.pool, kind=kind, instruction=t.instruction, options=tuple(options)).to_dict()


def _answer(text: str | None) -> dict:
    if text is None:
        return {"text": "", "declined": True, "reason": "does not do this task", "seconds": 0.0, "calls": 0,
                "meta": {}}
    return {"text": text, "declined": False, "reason": None, "seconds": 0.1, "calls": 1, "meta": {}}


def _match(rnd, i, a, b, stim, task, result, text_a, text_b) -> dict:
    modality = "audio" if stim.startswith("audio") else "text"
    return {"round": rnd, "index": i, "a": a, "b": b, "sitting_out": None, "stimulus": stim, "modality": modality,
            "task": task, "answers": {"a": _answer(text_a), "b": _answer(text_b)},
            "judgement": None if "declined" in result else {"result": result}, "result": result,
            "outcome": OUTCOME[result], "judge": JUDGE, "seconds": 0.1, "time": 0.0}


RANK3 = ("angry", "sad", "happy")
MATCHES = [
    # round 1: A beats B (pair A > B); D declines a MERG task (C wins the battle, no pair)
    _match(1, 0, "A", "B", "text-0", _task(1, 0, "recognition_analysis"), "a", "A1: sadness, abandoned.",
           "B1: happy."),
    _match(1, 1, "C", "D", "audio-0", _task(1, 1, "merg_feeling_now"), "b-declined", "C1: I would feel hurt.", None),
    # round 2: both matches drew the same stimulus and ranking task -> one question with four answers.
    # scores B 1, A 0.5, C 0.5, D 0; Elo after round 2: A 1032, C 1032, B 1000, D 936.
    # chosen B; lower-scored A, C, D (A before C by name at equal Elo) -> the median, C.
    _match(2, 0, "A", "C", "text-1", _task(2, 0, "ranking", RANK3), "tie", "A2: happy, sad, angry.",
           "C2: happy, angry, sad."),
    _match(2, 1, "B", "D", "text-1", _task(2, 1, "ranking", RANK3), "a", "B2: happy (relief), sad, angry.",
           "D2: angry, sad, happy."),
    # round 3: an inconsistent pair and a both-declined match: no pairs
    _match(3, 0, "A", "B", "text-0", _task(3, 0, "multi_choice", ("happy", "sad")), "inconsistent", "A3: B. sad",
           "B3: A. happy"),
    _match(3, 1, "C", "D", "text-1", _task(3, 1, "merg_reflect"), "both-declined", None, None),
    # round 4: the AI judge prefers D, two human votes prefer A; B and C answer with the same text
    _match(4, 0, "A", "D", "audio-0", _task(4, 0, "recognition_analysis"), "b", "A4: frustration at being left out.",
           "D4: neutral."),
    _match(4, 1, "B", "C", "text-0", _task(4, 1, "transition_detection"), "a", "No transition.", "No transition."),
]


@pytest.fixture
def run_dir(tmp_path) -> Path:
    out = tmp_path / "run"
    store = StimulusStore(out / "stimuli")
    for sid, text in TEXTS.items():
        store.add(Stimulus(id=sid, modality="text", origin="real", text=text))
    (out / "stimuli" / "audio").mkdir()
    (out / "stimuli" / "audio" / "a.wav").write_bytes(b"RIFF")  # never read: the transcript prompt needs no audio
    store.add(Stimulus(id="audio-0", modality="audio", origin="real", text=SPEECH, files={"audio": "audio/a.wav"}))
    run = {"identity": {"config": {"contestants": CONTESTANTS, "pool": "mixed", "seed": 0, "n_options": 3,
                                   "modalities": ["text", "audio"], "k": 64.0, "scale": 600.0, "initial": 1000.0},
                        "judge": {"name": JUDGE}, "stimuli": {"n": 3, "digest": "x"}, "settings": {}},
           "rounds": 4}
    (out / "run.json").write_text(json.dumps(run))
    (out / "matches.jsonl").write_text("".join(json.dumps(m) + "\n" for m in MATCHES))
    return out


@pytest.fixture
def votes(run_dir) -> Path:
    run = json.loads((run_dir / "run.json").read_text())
    path = run_dir / "votes.sqlite"
    with VoteStore(path, run=run_key(run)) as store:
        store.add(match="r4-m0", voter="v1", shown_a="A", shown_b="D", shown="ab", verdict="A")
        store.add(match="r4-m0", voter="v2", shown_a="D", shown_b="A", shown="ba", verdict="B")  # A again
        store.add(match="r9-m0", voter="v1", shown_a="A", shown_b="B", shown="ab", verdict="A")  # no such match
    return path


def _by_round(result):
    return {(p.meta["round"], p.meta["stimulus"]): p for p in result.pairs}


def test_chosen_and_rejected_by_score_then_elo_then_median(run_dir):
    res = export_run(run_dir)
    pairs = _by_round(res)
    p1 = pairs[(1, "text-0")]
    assert (p1.meta["chosen_by"], p1.meta["rejected_by"]) == ("A", "B")
    assert (p1.chosen, p1.rejected) == ("A1: sadness, abandoned.", "B1: happy.")
    assert p1.meta["judge"] == JUDGE and p1.meta["setting"] == "text" and p1.meta["pool"] == "mer"
    assert (p1.meta["chosen_elo"], p1.meta["rejected_elo"]) == (1032.0, 968.0)
    p2 = pairs[(2, "text-1")]
    assert (p2.meta["chosen_by"], p2.meta["rejected_by"]) == ("B", "C")   # the median of A, C, D
    assert p2.meta["matches"] == ["r2-m0", "r2-m1"] and p2.meta["answers"] == 4 and p2.meta["id"] == "r2-m0+r2-m1"
    assert (p2.meta["chosen_score"], p2.meta["rejected_score"]) == (1.0, 0.5)
    assert p2.meta["chosen_elo"] == 1000.0 and p2.meta["rejected_elo"] == 1032.0
    p4 = pairs[(4, "audio-0")]  # without votes: the AI judge's winner D
    assert (p4.meta["chosen_by"], p4.meta["rejected_by"]) == ("D", "A") and p4.meta["setting"] == "audio-language"
    assert len(res.pairs) == 3


def test_skipped_questions_and_their_reasons(run_dir):
    res = export_run(run_dir)
    why = {(s.round, s.stimulus): s.reason for s in res.skipped}
    assert why == {(1, "audio-0"): "declined", (3, "text-0"): "inconsistent", (3, "text-1"): "both-declined",
                   (4, "text-0"): "identical"}
    declined = {"C1: I would feel hurt."}
    assert not any(p.chosen in declined or p.rejected in declined for p in res.pairs)
    assert all(p.chosen.strip() and p.rejected.strip() for p in res.pairs)


def test_human_votes_override_the_judge_and_are_counted(run_dir, votes):
    res = export_run(run_dir, votes=votes)
    p4 = _by_round(res)[(4, "audio-0")]
    assert (p4.meta["chosen_by"], p4.meta["rejected_by"]) == ("A", "D")
    assert p4.meta["judge"] == "human" and p4.meta["votes"] == 2
    assert res.ignored_votes == 1
    counts = res.counts()
    assert counts[("mer", "audio-language")] == {"human": 1} and counts[("mer", "text")] == {JUDGE: 2}
    lines = res.lines()
    assert lines[1].split() == ["data", "type", JUDGE, "human", "total"]
    assert lines[2].split() == ["MER", "audio-language", "0", "1", "1"]
    assert lines[-2].startswith("skipped questions: declined 1, both-declined 1, inconsistent 1, identical 1")
    human_only = export_run(run_dir, votes=votes, config=ExportConfig(source="human"))
    assert [p.meta["stimulus"] for p in human_only.pairs] == ["audio-0"]
    judge_only = export_run(run_dir, votes=votes, config=ExportConfig(source="judge"))
    assert _by_round(judge_only)[(4, "audio-0")].meta["chosen_by"] == "D"
    with pytest.raises(InputError, match="--votes"):
        export_run(run_dir, config=ExportConfig(source="human"))


def test_prompt_is_the_rendered_task_with_the_stimulus(run_dir):
    pairs = _by_round(export_run(run_dir))
    text = pairs[(2, "text-1")]
    assert text.prompt[0].role == "system" and text.prompt[0].content == ANSWER_SYSTEM
    user = text.prompt[-1].content
    assert TEXTS["text-1"] in user and "Task: Rank the emotions" in user and "Emotions: angry, sad, happy" in user
    audio = pairs[(4, "audio-0")].prompt[-1].content
    assert "the attached audio recording" in audio and f'Transcript: "{SPEECH}"' in audio
    row = text.to_dict()
    assert {"prompt", "chosen", "rejected", "system", "round", "stimulus", "task", "modality", "chosen_by",
            "rejected_by", "judge"} <= set(row) and row["task"] == "ranking" and row["modality"] == "text"


def test_pick_pair_rule_on_candidates():
    c = lambda name, score, elo, text=None: Candidate(name, text or name, score, elo, (), JUDGE)
    assert pick_pair([c("x", 1, 900)]) == "declined"
    assert pick_pair([c("x", 0.5, 900), c("y", 0.5, 1100)]) == "tie"
    assert pick_pair([c("x", 1, 900, "same"), c("y", 0, 1100, "same")]) == "identical"
    five = [c("a", 1, 1000), c("b", 1, 1200), c("c", 0.5, 1000), c("d", 0, 1300), c("e", 0, 1000)]
    assert [x.contestant for x in rank(five)] == ["b", "a", "c", "d", "e"]
    chosen, rejected = pick_pair(five)
    assert chosen.contestant == "b" and rejected.contestant == "d"  # lower-scored c, d, e -> median d


def test_cli_export_writes_pairs_and_prints_the_table(run_dir, votes, tmp_path, capsys):
    out = tmp_path / "pairs.jsonl"
    assert main(["arena", "export", str(run_dir), "--out", str(out), "--votes", str(votes)]) == 0
    printed = capsys.readouterr().out
    assert "Table 5" in printed and "MER audio-language" in printed and f"pairs: {out}" in printed
    pairs = read_pairs(out)  # what train dpo reads
    assert len(pairs) == 3 and {p.meta["judge"] for p in pairs} == {JUDGE, "human"}
    assert main(["arena", "export", str(run_dir), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pairs"] == 3 and summary["skipped"] == {"declined": 1, "inconsistent": 1, "both-declined": 1,
                                                            "identical": 1}


@pytest.mark.parametrize("extra, needle", [
    (["--votes", "MISSING"], "vote store not found"),
    (["--stimuli", "EMPTY"], "not a stimulus store"),
    (["--min-votes", "0"], "min_votes"),
])
def test_cli_export_errors_exit_2_with_one_line(run_dir, tmp_path, capsys, extra, needle):
    (tmp_path / "empty").mkdir()
    extra = [str(tmp_path / "nope.sqlite") if a == "MISSING" else str(tmp_path / "empty") if a == "EMPTY" else a
             for a in extra]
    assert main(["arena", "export", str(run_dir), "--out", str(tmp_path / "p.jsonl"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("affectagent: error: ") and needle in err
    assert not (tmp_path / "p.jsonl").exists()


def test_cli_export_of_a_folder_that_is_no_run(tmp_path, capsys):
    assert main(["arena", "export", str(tmp_path), "--out", str(tmp_path / "p.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an arena run folder" in err
