"""The arena's AI judge: verdict parsing (strict, fallbacks, echoes), swap consistency with scripted judges (agree /
disagree / tie / malformed), length control, backend names, and the EmoPrefer loader, length baseline and
validation on the real file."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import pytest

from affectagent.arena.emoprefer import (
    PreferencePair, length_balanced, load_emoprefer, longer_baseline, preference_metrics, sample_pairs,
)
from affectagent.arena.judges import (
    AIJudge, JudgeConfig, Judgement, combine, equalize_lengths, judge_messages, map_verdict, parse_backend_spec,
    parse_verdict, position_calibrated, truncate_words, validate_on_emoprefer,
)
from affectagent.errors import DataNotFoundError, InputError
from affectagent.llm.backend import Completion
from tests.resources import shared

from ..llm.conftest import scripted  # noqa: F401 - fixture: a scripted OpenAI-compatible server process

_RESP = re.compile(r"Response A: (?P<a>.*?)\n\nResponse B: (?P<b>.*?)\n\nWhich response", re.S)


@dataclass
class ScriptedJudge:
    """A judge backend scripted on what it is shown: ``decide(a, b) -> text`` gets Response A and B as shown."""

    decide: object
    name: str = "scripted-judge"
    calls: list = field(default_factory=list)

    def chat(self, messages, *, max_tokens=256, temperature=0.0, seed=None, stop=None):
        m = _RESP.search(messages[-1].content)
        assert m, "the judge prompt lost its response blocks"
        self.calls.append({"a": m["a"], "b": m["b"], "temperature": temperature, "max_tokens": max_tokens})
        text = self.decide(m["a"], m["b"])
        return Completion(text=text, prompt_tokens=len(messages[-1].content.split()),
                          completion_tokens=len(text.split()), seconds=0.001)


def _judge(decide, **config) -> tuple[AIJudge, ScriptedJudge]:
    backend = ScriptedJudge(decide)
    return AIJudge(backend, JudgeConfig(**config)), backend


GOOD, BAD = "She sounds relieved: her voice steadies as the news sinks in.", "Happy."


# ---- parsing -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, verdict, fallback", [
    ("[[A]] A names the cues.", "A", None),
    ("[[b]]", "B", None),
    ("Verdict: [[C]]", "C", None),
    ("[[A]] if Response A is better, [[B]] if Response B is better, or [[C]] for a tie.", None,
     "no verdict (format instruction echoed)"),
    ("[[A]] if Response A is better ... [[B]]", "B", "format instruction echoed; verdict token after it"),
    ("[[A]] no wait [[B]]", "A", "several verdict tokens (A, B); took the first"),
    ("[B] because it is deeper", "B", "verdict without double brackets"),
    ("The best response is Response B, which is better than Response A.", "B", "verdict read from prose"),
    ("Response A is clearly better.", "A", "verdict read from prose"),
    ("I prefer B.", "B", "verdict read from prose"),
    ("It's a tie, both are vague.", "C", "tie read from prose"),
    ("A.", "A", "bare verdict letter"),
    ("A good answer would mention the voice.", None, "no verdict"),   # "A" the article is not a verdict
    # small models choose by quoting: "The best response is:\n\nResponse A: <A's text>"
    ("The best response is:\n\nResponse A: In the video", "A", "verdict read from a quoted response"),
    ("Stimulus: a clip\n\nResponse A: In the video", None, "no verdict"),  # an echo of the prompt is not one
    ("", None, "no verdict"),
])
def test_parse_verdict(text, verdict, fallback):
    p = parse_verdict(text)
    assert (p.verdict, p.fallback) == (verdict, fallback)


def test_parse_verdict_last_for_explain_first_prompts():
    assert parse_verdict("A is vague; B names cues. [[A]]? No: [[B]]", prefer="last").verdict == "B"
    with pytest.raises(InputError):
        parse_verdict("[[A]]", prefer="middle")


def test_map_and_combine_hand_cases():
    assert map_verdict("A", "first-second") == "first" and map_verdict("B", "first-second") == "second"
    assert map_verdict("A", "second-first") == "second" and map_verdict("B", "second-first") == "first"
    assert map_verdict("C", "second-first") == "tie" and map_verdict(None, "first-second") == "tie"
    assert combine("first", "first") == "first" and combine("tie", "tie") == "tie"
    assert combine("first", "second") == "inconsistent" and combine("first", "tie") == "inconsistent"
    with pytest.raises(InputError):
        combine("a", "first")


# ---- swap consistency with scripted judges -----------------------------------------------------------------------

def test_agreeing_passes_give_a_winner_in_either_position():
    judge, backend = _judge(lambda a, b: "[[A]]" if "voice" in a else "[[B]]", length_control=False)
    j = judge.judge(stimulus="s", task="t", first=GOOD, second=BAD)
    assert (j.result, j.outcome, j.consistent) == ("first", 1.0, True)
    assert [p.order for p in j.passes] == ["first-second", "second-first"]
    assert [p.verdict for p in j.passes] == ["A", "B"] and [p.winner for p in j.passes] == ["first", "first"]
    assert backend.calls[0]["a"] == GOOD and backend.calls[1]["a"] == BAD       # positions really swapped
    assert all(c["temperature"] == 0.0 for c in backend.calls)
    j2 = judge.judge(stimulus="s", task="t", first=BAD, second=GOOD)
    assert (j2.result, j2.outcome) == ("second", 0.0)


def test_position_bias_is_inconsistent_and_scores_a_draw():
    judge, _ = _judge(lambda a, b: "[[A]]")
    j = judge.judge(stimulus="s", task="t", first=GOOD, second=BAD)
    assert (j.result, j.outcome, j.consistent) == ("inconsistent", 0.5, False)
    assert Judgement.from_dict(j.to_dict()).to_dict() == j.to_dict()


def test_tie_verdicts_are_a_tie_not_inconsistent():
    judge, _ = _judge(lambda a, b: "[[C]] equally good")
    j = judge.judge(stimulus="s", task="t", first=GOOD, second=BAD)
    assert (j.result, j.outcome, j.consistent) == ("tie", 0.5, True) and j.fallbacks == []


def test_malformed_output_falls_back_to_a_recorded_tie(caplog):
    judge, _ = _judge(lambda a, b: "Hmm, hard to say really")
    with caplog.at_level(logging.INFO, logger="affectagent.arena.judges"):
        j = judge.judge(stimulus="s", task="t", first=GOOD, second=BAD)
    assert j.result == "tie" and [p.verdict for p in j.passes] == [None, None]
    assert j.fallbacks == ["first-second: no verdict", "second-first: no verdict"]
    assert sum("no verdict" in r.getMessage() for r in caplog.records) == 2
    # prose in one order, a malformed reply in the other: a winner in one pass only -> inconsistent
    replies = iter(["Response A is better.", "???"])
    judge, _ = _judge(lambda a, b: next(replies))
    j = judge.judge(stimulus="s", task="t", first=GOOD, second=BAD)
    assert j.result == "inconsistent" and j.passes[0].fallback == "verdict read from prose"


def test_choice_verdicts_need_a_local_transformers_backend():
    judge, _ = _judge(lambda a, b: "[[A]]", verdict="choice")
    with pytest.raises(InputError, match="local transformers backend"):
        judge.judge(stimulus="s", task="t", first=GOOD, second=BAD)


def test_position_calibration_averages_both_orders():
    judge, _ = _judge(lambda a, b: "[[A]]")
    j = judge.judge(stimulus="s", task="t", first=GOOD, second=BAD)
    assert position_calibrated(j) is None
    j.passes[0].probs = {"A": 0.6, "B": 0.3, "C": 0.1}   # first shown as A
    j.passes[1].probs = {"A": 0.5, "B": 0.45, "C": 0.05}  # second shown as A
    assert position_calibrated(j) == "first"              # (0.6 + 0.45) / 2 > (0.3 + 0.5) / 2


def test_calibrated_rule_cancels_a_constant_position_bias(monkeypatch):
    """A judge that always leans to position A but prefers GOOD's content: the MT-Bench rule calls it
    inconsistent (a draw), the calibrated rule recovers GOOD, and swap consistency still reports the bias."""
    import math

    import affectagent.arena.judges as judges_mod

    def scripted(backend, messages, *, prefix, choices):
        m = _RESP.search(messages[-1].content)
        pa, pb = (0.8, 0.15) if m["a"] == GOOD else (0.6, 0.35)
        return {"A": math.log(pa), "B": math.log(pb), "C": math.log(1 - pa - pb), "_prompt_tokens": 10.0}

    monkeypatch.setattr(judges_mod, "choice_logprobs", scripted)
    agree, _ = _judge(lambda a, b: "", verdict="choice", length_control=False)
    j = agree.judge(stimulus="s", task="t", first=GOOD, second=BAD)
    assert [p.verdict for p in j.passes] == ["A", "A"] and j.result == "inconsistent" and not j.consistent
    calibrated, _ = _judge(lambda a, b: "", verdict="choice", rule="calibrated", length_control=False)
    for first, second, winner in ((GOOD, BAD, "first"), (BAD, GOOD, "second")):
        j = calibrated.judge(stimulus="s", task="t", first=first, second=second)
        assert j.result == winner and j.outcome == (1.0 if winner == "first" else 0.0)
        assert not j.consistent                              # the passes themselves still disagree
    # (0.8 + 0.35) / 2 - (0.15 + 0.6) / 2 = 0.2: a margin above that makes it a tie
    wide, _ = _judge(lambda a, b: "", verdict="choice", rule="calibrated", tie_margin=0.25, length_control=False)
    assert wide.judge(stimulus="s", task="t", first=GOOD, second=BAD).result == "tie"


def test_calibrated_rule_needs_choice_verdicts_and_a_sane_margin():
    with pytest.raises(InputError, match="needs --verdict choice"):
        JudgeConfig(rule="calibrated")
    with pytest.raises(InputError, match="tie_margin"):
        JudgeConfig(verdict="choice", rule="calibrated", tie_margin=1.5)
    with pytest.raises(InputError, match="rule must be"):
        JudgeConfig(rule="majority")


# ---- length control ----------------------------------------------------------------------------------------------

def test_truncate_and_equalize_words():
    assert truncate_words("one two\nthree four", 3) == "one two\nthree"
    assert truncate_words("one two", 5) == "one two" and truncate_words("one two", 0) == ""
    a, b, n = equalize_lengths("w " * 50, "x y z")
    assert n == 3 and len(a.split()) == len(b.split()) == 3
    a, b, n = equalize_lengths("w " * 50, "x " * 40, max_words=10)
    assert n == 10 and len(a.split()) == len(b.split()) == 10
    assert equalize_lengths("", "x y") == ("", "x y", 2)


def _longer_wins(a: str, b: str) -> str:
    """Prefers the longer response shown (words, then characters, as the EmoPrefer baseline measures length)."""
    na, nb = (len(a.split()), len(a)), (len(b.split()), len(b))
    return "[[A]]" if na > nb else "[[B]]" if nb > na else "[[C]]"


def _more_words(a: str, b: str) -> str:
    na, nb = len(a.split()), len(b.split())
    return "[[A]]" if na > nb else "[[B]]" if nb > na else "[[C]]"


def test_length_control_shows_both_answers_at_the_same_length():
    judge, backend = _judge(_more_words)
    long = "The man is happy because he smiles widely, laughs loudly and raises his voice in delight."
    j = judge.judge(stimulus="s", task="t", first=long, second="He is happy and relieved.")
    assert j.words == (len(long.split()), 5) and j.shown_words == 5
    assert all(len(c["a"].split()) == len(c["b"].split()) == 5 for c in backend.calls)
    assert j.result == "tie"                         # a judge that only counts words has nothing left to go on
    judge, _ = _judge(_more_words, length_control=False)
    assert judge.judge(stimulus="s", task="t", first=long, second="He is happy and relieved.").result == "first"


def test_judge_prompt_has_the_criteria_task_and_anonymous_answers():
    [system, user] = judge_messages(stimulus="x" * 2000, task="Rank the emotions.", answer_a="A text",
                                    answer_b="")
    for c in ("emotional relevance", "coherence", "depth of reasoning"):
        assert c in system.content
    assert "Response A: A text" in user.content and "Response B: (empty answer)" in user.content
    assert "Rank the emotions." in user.content and "x" * 697 + "..." in user.content
    assert "[[A]]" in user.content and "[[C]] for a tie" in user.content


# ---- backend names -----------------------------------------------------------------------------------------------

def test_parse_backend_spec(tmp_path):
    assert parse_backend_spec("smollm2-135m").kind == "hf" and parse_backend_spec("qwen-0.5b").model == "qwen-0.5b"
    assert parse_backend_spec("hf:qwen-1.5b").model == "qwen-1.5b"
    s = parse_backend_spec("openai:my-model@http://127.0.0.1:8000/v1")
    assert (s.kind, s.model, s.base_url) == ("openai", "my-model", "http://127.0.0.1:8000/v1")
    assert parse_backend_spec(str(tmp_path)).model == str(tmp_path)
    for bad in ("gpt-9", "nosuch:thing", "hf:", "", "hf:/no/such/folder"):
        with pytest.raises(InputError):
            parse_backend_spec(bad)


# ---- EmoPrefer ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pairs() -> list[PreferencePair]:
    shared("emoprefer")
    return load_emoprefer()


def test_emoprefer_loader_reads_the_real_file(pairs):
    assert len(pairs) == 574
    assert {p.preference for p in pairs} == {"a1", "a2", "same"}
    assert sum(p.preference == "same" for p in pairs) == 11 and sum(p.decisive for p in pairs) == 563
    assert {frozenset((p.model1, p.model2)) for p in pairs} == {frozenset(("mercaptionplus", "merrfine"))}
    assert all(p.a1 and p.a2 and p.id.startswith("samplenew") for p in pairs)
    assert load_emoprefer(limit=5) == pairs[:5]


def test_the_length_shortcut_and_the_balanced_subset(pairs):
    decisive = [p for p in pairs if p.decisive]
    human = [p.human for p in pairs]
    longer = longer_baseline(pairs)
    m = preference_metrics(human, longer, longer)
    # DESIGN.md: on the 563 decisive pairs the longer description wins 79.6 % (characters); by words 449 / 563
    assert m["n_decisive"] == 563 and m["accuracy"] == pytest.approx(449 / 563)
    assert sum(len(p.a1) > len(p.a2) if p.human == "first" else len(p.a2) > len(p.a1)
               for p in decisive) / 563 == pytest.approx(0.7957, abs=1e-4)
    assert m["length_preference"] == 1.0 and m["tie_rate"] == 0.0
    idx = length_balanced(pairs, seed=0)
    assert len(idx) == 2 * 114 and idx == sorted(set(idx)) and idx == length_balanced(pairs, seed=0)
    assert sum(pairs[i].longer_won for i in idx) == 114
    b = preference_metrics([human[i] for i in idx], [longer[i] for i in idx], [longer[i] for i in idx])
    assert b["accuracy"] == 0.5


def test_preference_metrics_hand_values():
    m = preference_metrics(["first", "second", "first", "tie"], ["first", "first", "tie", "tie"],
                           ["first", "first", "second", "first"])
    assert m["accuracy"] == pytest.approx(1 / 3) and m["agreement_with_ties"] == 0.5
    assert m["tie_rate"] == 0.5 and m["length_preference"] == 1.0   # both decisive verdicts went to the longer
    # weighted F1 over the two human classes: first (support 2): P 1/2, R 1/2; second (support 1): P 0, R 0
    assert m["waf"] == pytest.approx((2 * 0.5 + 1 * 0.0) / 3)
    with pytest.raises(InputError):
        preference_metrics(["a1"], ["first"], ["first"])


def test_emoprefer_loader_errors(tmp_path):
    with pytest.raises(DataNotFoundError):
        load_emoprefer(path=tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,a1,a2\nx,y,z\n")
    with pytest.raises(InputError, match="missing EmoPrefer column"):
        load_emoprefer(path=bad)
    bad.write_text("name,model1,a1,model2,a2,preference\nx,m,y,n,z,a3\n")
    with pytest.raises(InputError, match="line 2"):
        load_emoprefer(path=bad)


def test_sample_pairs_is_seeded(pairs):
    a, b = sample_pairs(pairs, 20, seed=3), sample_pairs(pairs, 20, seed=3)
    assert a == b and len(a) == 20 and a != sample_pairs(pairs, 20, seed=4)
    assert sample_pairs(pairs, None) == pairs


def test_validate_on_emoprefer_with_a_length_counting_judge(pairs):
    """A judge that only counts words: without length control it *is* the length baseline; with it, it ties."""
    judge, backend = _judge(_longer_wins, length_control=False)
    res = validate_on_emoprefer(judge, pairs, n=40, seed=1, progress=False)
    m = res.metrics
    assert m["n"] == 40 and len(backend.calls) == 80 and len(res.rows) == 40
    assert m["all"]["accuracy"] == m["baseline_all"]["accuracy"] and m["all"]["length_preference"] == 1.0
    assert m["swap_consistency"] == 1.0 and m["position_a_rate"] == pytest.approx(0.5)
    assert m["fallback_rate"] == 0.0 and m["calibrated"] is None
    assert m["balanced"]["accuracy"] == 0.5 and m["n_balanced"] == 2 * sum(p.longer_won is False
                                                                           for p in sample_pairs(pairs, 40, seed=1))
    judge, _ = _judge(_more_words)
    m = validate_on_emoprefer(judge, pairs, n=40, seed=1, progress=False).metrics
    assert m["all"]["tie_rate"] == 1.0 and m["all"]["accuracy"] == 0.0
    lines = validate_on_emoprefer(judge, pairs, n=5, seed=1, progress=False).lines()
    assert any(line.startswith("pick-longer, all") for line in lines) and "swap consistency" in lines[-1]


def test_a_server_backend_gets_both_swapped_passes_at_once(scripted):
    """The openai backend is ``concurrent``: the two passes of one judgement are in flight together (a real scripted
    server that answers after 0.3 s and counts the requests in flight)."""
    from affectagent.arena.judges import AIJudge, JudgeConfig
    from affectagent.llm.backend import load_backend

    base, stats = scripted("slow")
    judge = AIJudge(load_backend("openai", base_url=base, model="scripted-model"), JudgeConfig(verdict="generate"))
    j = judge.judge(stimulus="I lost my keys again.", task="Describe the emotion.", first="annoyed", second="calm")
    assert [p.order for p in j.passes] == ["first-second", "second-first"]
    assert stats() == {**stats(), "requests": 2, "max_in_flight": 2}
