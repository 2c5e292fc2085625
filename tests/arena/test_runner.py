"""Arena runs: every match stored, Elo from the stored battles, declines, resume after a kill (the store truncated
mid-line) and after more rounds, a changed run refused, the leaderboard from a stored run; one real smoke with the
SmolLM2 judge over two neural contestants."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from affectagent.arena.contestants import Answer
from affectagent.arena.elo import replay
from affectagent.arena.judges import AIJudge, JudgeConfig, Judgement, JudgePass
from affectagent.arena.runner import (
    ANSWERS_FILE, CURVES_FILE, LEADERBOARD_FILE, MATCHES_FILE, ArenaConfig, JsonlLog, battle_outcome, battles_of,
    leaderboard, load_run, plan_round, run_arena, task_key, task_text, write_leaderboard,
)
from affectagent.arena.stimuli import Stimulus
from affectagent.arena.tasks import make_task
from affectagent.errors import InputError
from affectagent.llm.backend import Completion

STIMULI = [Stimulus(id=f"s{i}", modality="text", origin="real", text=t) for i, t in enumerate((
    "I waited two hours at the station and nobody came.",
    "The doctor called back: the scan is clear.",
    "My brother borrowed the car again without asking.",
))]


@dataclass
class Fake:
    """A contestant whose answers carry ``quality`` times the word "good"; optionally declines MERG tasks."""

    name: str
    quality: int
    decline_merg: bool = False
    calls: int = 0

    def answer(self, task, stimulus, *, root=None) -> Answer:
        self.calls += 1
        if self.decline_merg and task.pool == "merg":
            return Answer.decline("no MERG here")
        return Answer(text="good " * self.quality + f"answer of {self.name} to {task.kind} on {stimulus.id}",
                      calls=1, seconds=0.01)

    def describe(self):
        return {"name": self.name}


@dataclass
class GoodCounter:
    """A consistent judge backend: prefers the response with more "good"s as shown (tie when equal)."""

    name: str = "good-counter"
    calls: int = 0

    def chat(self, messages, *, max_tokens=256, temperature=0.0, seed=None, stop=None):
        self.calls += 1
        user = messages[-1].content
        a = user.split("Response A: ")[1].split("\n\nResponse B: ")[0].split().count("good")
        b = user.split("Response B: ")[1].split("\n\nWhich response")[0].split().count("good")
        text = "[[A]]" if a > b else "[[B]]" if b > a else "[[C]]"
        return Completion(text=text, prompt_tokens=1, completion_tokens=1, seconds=0.0)


def _fakes():
    return {"best": Fake("best", 3), "good": Fake("good", 2, decline_merg=True),
            "fair": Fake("fair", 1, decline_merg=True), "poor": Fake("poor", 0)}


def _run(out, *, rounds=8, seed=0, fakes=None, backend=None, **kw):
    fakes = fakes or _fakes()
    backend = backend or GoodCounter()
    config = ArenaConfig(contestants=tuple(fakes), pool=kw.pop("pool", "mixed"), rounds=rounds, seed=seed)
    res = run_arena(config, contestants=fakes, judge=AIJudge(backend, JudgeConfig()), stimuli=STIMULI, out=out,
                    progress=False, log=lambda m: None, **kw)
    return res, fakes, backend


def _strip(obj):
    """A record without its timings (they differ between runs)."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in ("seconds", "time")}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


# ---- pure pieces -------------------------------------------------------------------------------------------------

def _judgement(result: str) -> Judgement:
    p = JudgePass(order="first-second", raw="", verdict=None, winner="tie", fallback=None, seconds=0.0)
    return Judgement(result=result, passes=(p, p), words=(1, 1), shown_words=1)


def test_battle_outcome_hand_cases():
    yes, no = Answer(text="x"), Answer.decline("no")
    assert battle_outcome(yes, yes, _judgement("first")) == ("a", 1.0)
    assert battle_outcome(yes, yes, _judgement("second")) == ("b", 0.0)
    assert battle_outcome(yes, yes, _judgement("tie")) == ("tie", 0.5)
    assert battle_outcome(yes, yes, _judgement("inconsistent")) == ("inconsistent", 0.5)
    assert battle_outcome(no, yes, None) == ("a-declined", 0.0)      # declined by one side: the other wins
    assert battle_outcome(yes, no, None) == ("b-declined", 1.0)
    assert battle_outcome(no, no, None) == ("both-declined", None)   # by both: no battle
    with pytest.raises(InputError):
        battle_outcome(yes, yes, None)


def test_plans_are_deterministic_and_the_bye_rotates():
    config = ArenaConfig(contestants=("x", "y", "z"), rounds=3, seed=5)
    ratings = {"x": 1000.0, "y": 1000.0, "z": 1000.0}
    p1 = plan_round(1, ratings, config=config, stimulus_ids=["s0", "s1"], sat_out={})
    assert p1 == plan_round(1, ratings, config=config, stimulus_ids=["s0", "s1"], sat_out={})
    [m], out = p1
    assert out not in (m.a, m.b) and m.task.id == "r1-m0" and m.stimulus in ("s0", "s1")
    [m2], out2 = plan_round(2, ratings, config=config, stimulus_ids=["s0", "s1"], sat_out={out: 1})
    assert out2 != out


def test_task_key_ignores_the_id_and_task_text_drops_the_stimulus():
    a, b = make_task("ranking", 3, id="r1-m0"), make_task("ranking", 3, id="r9-m1")
    assert task_key(a) == task_key(b) == "ranking|" + ",".join(a.options)
    text = task_text(a, STIMULI[0])
    assert text.startswith("Task: Rank the emotions") and STIMULI[0].text not in text


def test_config_validation():
    with pytest.raises(InputError, match="rounds"):
        ArenaConfig(contestants=("a", "b"), rounds=0)
    with pytest.raises(InputError, match="modalities"):
        ArenaConfig(contestants=("a", "b"), modalities=("smell",))


def test_jsonl_log_drops_an_interrupted_last_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3, "b": [1, 2')
    logged = []
    log = JsonlLog(path, log=logged.append)
    assert [r["a"] for r in log.records] == [1, 2] and log.dropped == 1 and logged
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'
    log.append({"a": 4})
    assert [r["a"] for r in JsonlLog(path).records] == [1, 2, 4]
    path.write_text('{"a": 1}\n{"a": 2}')       # whole object, only its newline lost: kept
    assert [r["a"] for r in JsonlLog(path).records] == [1, 2] and path.read_text().endswith("}\n")
    path.write_text('{"a": 1}\nnot json\n{"a": 3}\n')
    with pytest.raises(InputError, match="line 2"):
        JsonlLog(path)


# ---- runs --------------------------------------------------------------------------------------------------------

def test_run_stores_every_match_and_rates_them(tmp_path):
    res, fakes, backend = _run(tmp_path / "run", rounds=8)
    run, matches = load_run(tmp_path / "run")
    assert res.played == len(matches) == 8 * 2 and res.rounds == 8
    assert [(m["round"], m["index"]) for m in matches] == [(r, i) for r in range(1, 9) for i in range(2)]
    for m in matches:
        assert set(m) >= {"round", "index", "a", "b", "stimulus", "task", "answers", "judgement", "result",
                          "outcome", "sitting_out", "judge"}
        assert m["stimulus"] in {s.id for s in STIMULI} and m["a"] != m["b"]
        declined = [m["answers"][s]["declined"] for s in ("a", "b")]
        if any(declined):
            assert m["judgement"] is None            # a decline decides without the judge
            assert m["result"] == {(True, False): "a-declined", (False, True): "b-declined",
                                   (True, True): "both-declined"}[tuple(declined)]
        else:
            assert len(m["judgement"]["passes"]) == 2 and m["result"] in ("a", "b", "tie", "inconsistent")
    judged = sum(m["judgement"] is not None for m in matches)
    assert backend.calls == 2 * judged
    results = {m["result"] for m in matches}
    assert {"both-declined", "a-declined", "b-declined"} & results and {"a", "b"} & results
    assert all(m["outcome"] is None for m in matches if m["result"] == "both-declined")
    # the stored battles replay to the ratings the runner paired with; the better fakes end on top
    history = replay(battles_of(matches), models=list(fakes))
    config = ArenaConfig(contestants=tuple(fakes), rounds=8)
    for rnd in range(1, 9):
        before = dict(zip(history.models, history.ratings[rnd - 1]))
        plan, _ = plan_round(rnd, before, config=config, stimulus_ids=[s.id for s in STIMULI], sat_out={})
        assert [(p.a, p.b, p.stimulus) for p in plan] == [(m["a"], m["b"], m["stimulus"]) for m in matches
                                                          if m["round"] == rnd]
    assert history.ranking()[0] == "best"
    assert run["identity"]["config"]["contestants"] == list(fakes) and run["rounds"] == 8


def test_resume_after_a_kill_gives_the_uninterrupted_run(tmp_path):
    full, _, _ = _run(tmp_path / "full", rounds=8)
    out = tmp_path / "killed"
    _run(out, rounds=8)
    # kill mid-write: cut matches.jsonl inside its 11th record, answers.jsonl inside its 20th
    for name, keep in ((MATCHES_FILE, 10), (ANSWERS_FILE, 19)):
        lines = (out / name).read_text().splitlines(keepends=True)
        (out / name).write_text("".join(lines[:keep]) + lines[keep][: len(lines[keep]) // 2])
    res, fakes, backend = _run(out, rounds=8)
    assert res.played == 16 - 10
    assert [_strip(m) for m in res.matches] == [_strip(m) for m in full.matches]
    # answers are cached per (contestant, stimulus, task): only those lost with the cut are asked again
    answers = JsonlLog(out / ANSWERS_FILE).records
    keys = [(r["contestant"], r["stimulus"], r["task"]) for r in answers]
    assert len(keys) == len(set(keys))
    assert sum(f.calls for f in fakes.values()) == len(keys) - 19
    assert backend.calls == 2 * sum(m["judgement"] is not None for m in res.matches[10:])
    again, fakes, backend = _run(out, rounds=8)  # a complete run: nothing to do
    assert again.played == 0 and backend.calls == 0 and sum(f.calls for f in fakes.values()) == 0


def test_more_rounds_continue_the_same_run(tmp_path):
    direct, _, _ = _run(tmp_path / "direct", rounds=6)
    _run(tmp_path / "grown", rounds=3)
    grown, _, _ = _run(tmp_path / "grown", rounds=6)
    assert grown.played == 6 and [_strip(m) for m in grown.matches] == [_strip(m) for m in direct.matches]


def test_a_changed_run_is_refused(tmp_path):
    _run(tmp_path / "r", rounds=2)
    with pytest.raises(InputError, match="other config"):
        _run(tmp_path / "r", rounds=2, seed=1)
    with pytest.raises(InputError, match="other judge"):
        fakes = _fakes()
        config = ArenaConfig(contestants=tuple(fakes), rounds=2)
        run_arena(config, contestants=fakes, judge=AIJudge(GoodCounter(), JudgeConfig(length_control=False)),
                  stimuli=STIMULI, out=tmp_path / "r", progress=False, log=lambda m: None)
    with pytest.raises(InputError, match="no text stimuli"):
        fakes = _fakes()
        run_arena(ArenaConfig(contestants=tuple(fakes), rounds=2, modalities=("text",)), contestants=fakes,
                  judge=AIJudge(GoodCounter()), stimuli=[], out=tmp_path / "e", progress=False, log=lambda m: None)


def test_leaderboard_from_a_stored_run(tmp_path):
    out = tmp_path / "run"
    _run(out, rounds=30)
    board = write_leaderboard(out, n_bootstrap=20, window=5)
    rows = {r["contestant"]: r for r in board.rows}
    assert [r["contestant"] for r in board.rows][0] == "best" and set(rows) == {"best", "good", "fair", "poor"}
    assert sum(r["wins"] for r in board.rows) == sum(r["losses"] for r in board.rows)
    assert all(r["matches"] == 30 for r in board.rows)                       # four contestants: nobody sits out
    assert rows["poor"]["declined"] == 0 and rows["good"]["declined"] > 0
    for r in board.rows:
        assert r["bt_lower"] <= r["bt"] <= r["bt_upper"] and r["rank"] >= 1
        assert r["wins"] + r["losses"] + r["ties"] <= r["matches"]
    assert np.isclose(np.mean([r["bt"] for r in board.rows]), 1000.0)
    assert board.n_rounds == 30 and board.n_matches == 60
    assert board.n_battles == 60 - sum(m["outcome"] is None for m in load_run(out)[1])
    assert board.converged is None or 1 <= board.converged <= 25
    saved = json.loads((out / LEADERBOARD_FILE).read_text())
    assert saved["rows"] == board.rows and len(saved["elo_curves"]["best"]) == 31
    assert (out / CURVES_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = board.lines()
    assert lines[0].split()[:3] == ["rank", "contestant", "Elo"] and "30 rounds, 60 matches" in lines[-1]
    assert leaderboard(out, n_bootstrap=0).rows[0]["bt_lower"] is None
    with pytest.raises(InputError, match="not an arena run"):
        leaderboard(tmp_path)


# ---- one real smoke ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_real_smoke_smollm2_judge_over_two_neural_contestants(tiny_checkpoint, tmp_path):
    from affectagent.api import AffectAgent
    from affectagent.arena.contestants import ContestantConfig, ContestantPool, build_contestants
    from affectagent.arena.judges import load_backend_spec
    from affectagent.datasets import load
    from tests.resources import shared

    shared("meld")
    [utt] = [s for s in load("meld", "dev", limit=60) if len((s.text or "").split()) >= 8][:1]
    stim = Stimulus(id=f"real/meld/{utt.id}", modality="text", origin="real", text=utt.text)
    pool = ContestantPool(ContestantConfig(checkpoint=str(tiny_checkpoint)),
                          agent=AffectAgent.load(tiny_checkpoint, log=lambda m: None), log=lambda m: None)
    systems = build_contestants(["neural-full", "neural-no-rag"], pool)
    judge = AIJudge(load_backend_spec("smollm2-135m"), JudgeConfig())
    config = ArenaConfig(contestants=tuple(systems), pool="mer", rounds=2, seed=0)
    res = run_arena(config, contestants=systems, judge=judge, stimuli=[stim], out=tmp_path, pool=pool,
                    progress=False, log=lambda m: None)
    assert res.played == 2
    for m in res.matches:
        j = m["judgement"]
        assert j is not None and j["judge"] == "judge:hf:smollm2-135m" and len(j["passes"]) == 2
        assert m["result"] in ("a", "b", "tie", "inconsistent") and m["outcome"] in (0.0, 0.5, 1.0)
        assert all(p["raw"] is not None for p in j["passes"])
    board = write_leaderboard(tmp_path, n_bootstrap=10)
    assert board.n_battles == 2 and (tmp_path / CURVES_FILE).is_file()
