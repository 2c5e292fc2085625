"""The human vote store: one row per vote with what was shown, durable across a reopen (a restart), a second vote of
one voter on one match refused, runs kept apart in one file, and the human Elo against hand-computed values."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from affectagent.arena.elo import expected
from affectagent.arena.votes import (SCORE_OF_A, DuplicateVoteError, VoteStore, battles_of_votes, human_elo, run_key,
                                     shown_order, tally)
from affectagent.errors import InputError


def _vote(store, match="r1-m0", voter="ann", verdict="A", a="x", b="y", shown="ab", time=100.0):
    return store.add(match=match, voter=voter, shown_a=a, shown_b=b, shown=shown, verdict=verdict, time=time)


def test_a_vote_is_one_row_with_what_was_shown(tmp_path):
    path = tmp_path / "votes.sqlite"
    with VoteStore(path, run="run1") as store:
        v = _vote(store, a="beta", b="alpha", shown="ba", verdict="B")
        assert v.id == 1 and v.winner == "alpha" and v.outcome == 0.0
    rows = sqlite3.connect(path).execute("SELECT run, match, voter, time, shown_a, shown_b, shown, verdict "
                                         "FROM votes").fetchall()
    assert rows == [("run1", "r1-m0", "ann", 100.0, "beta", "alpha", "ba", "B")]


def test_votes_survive_a_reopen(tmp_path):
    path = tmp_path / "votes.sqlite"
    store = VoteStore(path, run="run1")
    _vote(store, voter="ann", verdict="A")
    _vote(store, voter="bob", verdict="tie", time=101.0)
    store.close()                                   # the server stops ...
    again = VoteStore(path, run="run1")             # ... and starts again
    assert [(v.voter, v.verdict) for v in again.votes()] == [("ann", "A"), ("bob", "tie")]
    assert again.voted("ann") == {"r1-m0"} and again.counts() == {"r1-m0": 2} and len(again) == 2
    with pytest.raises(DuplicateVoteError, match="already voted"):   # the constraint holds after the restart too
        _vote(again, voter="ann", verdict="B")
    _vote(again, voter="ann", match="r1-m1", verdict="both-bad")     # another match is fine
    assert len(again) == 3
    again.close()


def test_one_voter_cannot_vote_twice_on_a_match(tmp_path):
    with VoteStore(tmp_path / "v.sqlite", run="run1") as store:
        _vote(store)
        with pytest.raises(DuplicateVoteError):
            _vote(store, verdict="B")
        with pytest.raises(DuplicateVoteError):  # not even with the order shown the other way round
            _vote(store, a="y", b="x", shown="ba")
        assert [v.verdict for v in store.votes()] == ["A"]
        assert isinstance(DuplicateVoteError("x"), InputError)


def test_concurrent_double_votes_store_exactly_one(tmp_path):
    store = VoteStore(tmp_path / "v.sqlite", run="run1")
    results = []

    def cast():
        try:
            results.append(_vote(store).id)
        except DuplicateVoteError:
            results.append("dup")

    threads = [threading.Thread(target=cast) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("dup") == 7 and len(store) == 1
    store.close()


def test_runs_sharing_a_file_stay_apart(tmp_path):
    path = tmp_path / "v.sqlite"
    with VoteStore(path, run="run1") as one, VoteStore(path, run="run2") as two:
        _vote(one)
        _vote(two)  # the same voter and match id in another run is another vote
        assert len(one) == 1 and len(two) == 1 and one.votes()[0].run == "run1"


def test_bad_votes_are_refused(tmp_path):
    with VoteStore(tmp_path / "v.sqlite", run="run1") as store:
        for kw in ({"verdict": "C"}, {"voter": ""}, {"voter": "a b"}, {"voter": "x" * 65}, {"shown": "xy"},
                   {"a": "same", "b": "same"}, {"match": ""}):
            with pytest.raises(InputError):
                _vote(store, **kw)
        assert len(store) == 0
    (tmp_path / "junk.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="not a usable vote store"):
        VoteStore(tmp_path / "junk.sqlite", run="run1")


def test_shown_order_is_stable_and_spreads():
    assert shown_order("ann", "r1-m0") == shown_order("ann", "r1-m0")
    orders = [shown_order(f"voter{i}", "r1-m0") for i in range(200)]
    assert set(orders) == {"ab", "ba"} and 60 < orders.count("ab") < 140


def test_run_key_depends_on_the_identity_only():
    run = {"identity": {"config": {"contestants": ["a", "b"], "seed": 0}}, "rounds": 3, "updated": 1.0}
    grown = {**run, "rounds": 10, "updated": 2.0}
    other = {"identity": {"config": {"contestants": ["a", "b"], "seed": 1}}}
    assert run_key(run) == run_key(grown) != run_key(other)


def test_human_elo_by_hand(tmp_path):
    with VoteStore(tmp_path / "v.sqlite", run="r") as store:
        _vote(store, match="m1", a="x", b="y", verdict="A")         # x beats y
        _vote(store, match="m2", a="y", b="z", verdict="both-bad")  # a draw
        votes = store.votes()
    assert SCORE_OF_A == {"A": 1.0, "B": 0.0, "tie": 0.5, "both-bad": 0.5}
    assert [(b.a, b.b, b.outcome, b.round) for b in battles_of_votes(votes)] == [("x", "y", 1.0, 1), ("y", "z", 0.5, 2)]
    h = human_elo(votes, models=["x", "y", "z", "w"])
    # vote 1: equal ratings, E = 0.5, x gains 64 * 0.5 = 32
    assert h.curve("x").tolist() == pytest.approx([1000, 1032, 1032])
    # vote 2: y (968) draws z (1000): y moves by 64 * (0.5 - E(968, 1000))
    dy = 64 * (0.5 - expected(968.0, 1000.0))
    assert h.curve("y").tolist() == pytest.approx([1000, 968, 968 + dy])
    assert h.curve("z").tolist() == pytest.approx([1000, 1000, 1000 - dy])
    assert h.curve("w").tolist() == [1000, 1000, 1000]                 # never shown: stays at S0
    t = tally(votes, ["x", "y", "z", "w"])
    assert t["x"] == {"wins": 1, "losses": 0, "ties": 0, "both_bad": 0, "votes": 1}
    assert t["y"] == {"wins": 0, "losses": 1, "ties": 1, "both_bad": 1, "votes": 2}
    assert t["w"]["votes"] == 0
