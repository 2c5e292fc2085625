"""Human judges of the arena (issue #13 item 5): the votes cast on the ``/arena`` page, one SQLite row per vote.

A human sees a stored match's stimulus, task and the two answers as "Answer A" / "Answer B" (which contestant is shown
as A depends on the voter and the match, ``shown_order``, so position bias spreads evenly) and answers A, B, tie or
both bad. Each vote is one row of table ``votes``:

    id        autoincrement, the order votes were cast in (the Elo replay order)
    run       the arena run's key (``run_key``: a digest of its run.json identity), so one file can hold several runs
    match     the match id, ``r<round>-m<index>`` (the task id of the stored match)
    voter     the voter id (the page's cookie, or the ``voter`` an API client names)
    time      unix seconds
    shown_a   the contestant shown as Answer A;  shown_b  the one shown as Answer B
    shown     "ab" (A is the match's side a) or "ba" (the sides were swapped for this voter)
    verdict   "A" | "B" | "tie" | "both-bad"

``UNIQUE(run, match, voter)``: a second vote of one voter on one match is refused (``DuplicateVoteError``). Rows are
committed one by one in WAL mode with ``synchronous=FULL``, so a vote that was answered survives a crash or a restart.

Ratings (pure functions below): a vote is a battle between ``shown_a`` and ``shown_b`` with A's score 1 (A), 0 (B),
0.5 (tie), and 0.5 for "both bad" (as large public arenas count "tie (both bad)"); the battles in vote order feed the
same Elo (``elo.replay``, Eqs. 1–2) and Bradley–Terry fit (``elo.fit_bt``) as the AI judge's.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import InputError
from .elo import INITIAL_RATING, K_FACTOR, SCALE_M, Battle, EloHistory, replay

VERDICTS: tuple[str, ...] = ("A", "B", "tie", "both-bad")
SCORE_OF_A: dict[str, float] = {"A": 1.0, "B": 0.0, "tie": 0.5, "both-bad": 0.5}
ORDERS: tuple[str, ...] = ("ab", "ba")
VOTER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run      TEXT NOT NULL,
    match    TEXT NOT NULL,
    voter    TEXT NOT NULL,
    time     REAL NOT NULL,
    shown_a  TEXT NOT NULL,
    shown_b  TEXT NOT NULL,
    shown    TEXT NOT NULL CHECK (shown IN ('ab', 'ba')),
    verdict  TEXT NOT NULL CHECK (verdict IN ('A', 'B', 'tie', 'both-bad')),
    UNIQUE (run, match, voter),
    CHECK (shown_a <> shown_b)
);
CREATE INDEX IF NOT EXISTS votes_by_run ON votes (run, id);
"""


class DuplicateVoteError(InputError):
    """This voter has already voted on this match (the service answers 409)."""


@dataclass(frozen=True)
class Vote:
    """One stored vote (see the module docstring for the fields)."""

    id: int
    run: str
    match: str
    voter: str
    time: float
    shown_a: str
    shown_b: str
    shown: str
    verdict: str

    @property
    def outcome(self) -> float:
        """The score of ``shown_a`` (1, 0.5 or 0)."""
        return SCORE_OF_A[self.verdict]

    @property
    def winner(self) -> str | None:
        """The preferred contestant; None for a tie or both bad."""
        return {"A": self.shown_a, "B": self.shown_b}.get(self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "run": self.run, "match": self.match, "voter": self.voter, "time": self.time,
                "shown_a": self.shown_a, "shown_b": self.shown_b, "shown": self.shown, "verdict": self.verdict,
                "winner": self.winner}


def check_voter(voter: str) -> str:
    """A voter id: 1–64 characters, letters, digits and ``_ . @ : -``, starting with a letter or digit."""
    if not isinstance(voter, str) or not VOTER_PATTERN.match(voter):
        raise InputError("voter id must be 1-64 characters of letters, digits and _ . @ : - (starting with a letter "
                         f"or digit); got {str(voter)[:80]!r}")
    return voter


def check_verdict(verdict: str) -> str:
    if verdict not in VERDICTS:
        raise InputError(f"verdict must be one of {', '.join(VERDICTS)}; got {str(verdict)[:40]!r}")
    return verdict


def shown_order(voter: str, match: str) -> str:
    """Which side of a match a voter sees as Answer A: "ab" (side a) or "ba" (swapped), fixed per (voter, match) so a
    reload shows the same order, and about half the voters see each order."""
    digest = hashlib.sha256(f"{voter}\n{match}".encode("utf-8")).digest()
    return ORDERS[digest[0] & 1]


def run_key(run: Mapping[str, Any]) -> str:
    """The key votes of an arena run are stored under: a digest of its ``run.json`` identity (contestants, pool,
    seed, judge, stimuli, settings), so the votes of another run in the same file never mix in."""
    ident = json.dumps(run.get("identity", run), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]


class VoteStore:
    """The votes of one arena run in a SQLite file (created on first use; safe to share between threads).

    path: the SQLite file. run: the run's key (``run_key``); every read and write is limited to it.
    """

    def __init__(self, path: str | Path, *, run: str) -> None:
        if not run:
            raise InputError("a vote store needs a run key")
        self.path = Path(path)
        self.run = run
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise InputError(f"{self.path}: vote store schema {version} is newer than this version of "
                                 f"affectagent knows ({SCHEMA_VERSION})")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} is not a usable vote store: {exc}") from None

    # ---- writing -----------------------------------------------------------------------------------------------
    def add(self, *, match: str, voter: str, shown_a: str, shown_b: str, shown: str, verdict: str,
            time: float | None = None) -> Vote:
        """Store one vote and return it; ``DuplicateVoteError`` when this voter already voted on this match."""
        check_voter(voter)
        check_verdict(verdict)
        if shown not in ORDERS:
            raise InputError(f"shown must be one of {', '.join(ORDERS)}; got {shown!r}")
        if not match or not shown_a or not shown_b or shown_a == shown_b:
            raise InputError("a vote needs a match id and two different contestants")
        when = float(_time.time() if time is None else time)
        with self._lock:
            try:
                cur = self._db.execute(
                    "INSERT INTO votes (run, match, voter, time, shown_a, shown_b, shown, verdict) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (self.run, match, voter, when, shown_a, shown_b, shown, verdict))
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc):
                    raise DuplicateVoteError(f"voter {voter!r} has already voted on match {match!r}; one vote per "
                                             "voter and match") from None
                raise InputError(f"vote refused by the store: {exc}") from None
            return Vote(id=int(cur.lastrowid), run=self.run, match=match, voter=voter, time=when, shown_a=shown_a,
                        shown_b=shown_b, shown=shown, verdict=verdict)

    # ---- reading -----------------------------------------------------------------------------------------------
    def votes(self, *, voter: str | None = None, match: str | None = None) -> list[Vote]:
        """This run's votes in the order they were cast (optionally one voter's and / or one match's)."""
        sql = "SELECT id, run, match, voter, time, shown_a, shown_b, shown, verdict FROM votes WHERE run = ?"
        args: list[Any] = [self.run]
        if voter is not None:
            sql += " AND voter = ?"
            args.append(voter)
        if match is not None:
            sql += " AND match = ?"
            args.append(match)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [Vote(*row) for row in rows]

    def voted(self, voter: str) -> set[str]:
        """The matches this voter has voted on."""
        with self._lock:
            rows = self._db.execute("SELECT match FROM votes WHERE run = ? AND voter = ?", (self.run, voter)).fetchall()
        return {r[0] for r in rows}

    def counts(self) -> dict[str, int]:
        """Votes per match."""
        with self._lock:
            rows = self._db.execute("SELECT match, COUNT(*) FROM votes WHERE run = ? GROUP BY match",
                                    (self.run,)).fetchall()
        return {m: int(n) for m, n in rows}

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM votes WHERE run = ?", (self.run,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "VoteStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- ratings from votes (pure) ----------------------------------------------------------------------------------

def battles_of_votes(votes: Sequence[Vote]) -> list[Battle]:
    """One battle per vote, in vote order; round n = the n-th vote (so the Elo curve has a point per vote)."""
    return [Battle(a=v.shown_a, b=v.shown_b, outcome=v.outcome, round=n) for n, v in enumerate(votes, start=1)]


def human_elo(votes: Sequence[Vote], *, models: Iterable[str], k: float = K_FACTOR, scale: float = SCALE_M,
              initial: float = INITIAL_RATING) -> EloHistory:
    """Online Elo of the human judge: ``elo.replay`` over the votes in the order they were cast. Votes naming a
    contestant outside ``models`` (another run's) raise InputError."""
    return replay(battles_of_votes(votes), models=models, k=k, scale=scale, initial=initial)


def tally(votes: Sequence[Vote], models: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per contestant: wins, losses, ties, both_bad (counted among the ties too) and votes."""
    out = {m: {"wins": 0, "losses": 0, "ties": 0, "both_bad": 0, "votes": 0} for m in models}
    for v in votes:
        for name, score in ((v.shown_a, v.outcome), (v.shown_b, 1.0 - v.outcome)):
            s = out.setdefault(name, {"wins": 0, "losses": 0, "ties": 0, "both_bad": 0, "votes": 0})
            s["votes"] += 1
            s["wins" if score == 1.0 else "losses" if score == 0.0 else "ties"] += 1
            s["both_bad"] += v.verdict == "both-bad"
    return out


__all__ = ["DuplicateVoteError", "ORDERS", "SCORE_OF_A", "VERDICTS", "Vote", "VoteStore", "battles_of_votes",
           "check_verdict", "check_voter", "human_elo", "run_key", "shown_order", "tally"]
