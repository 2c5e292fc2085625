"""An arena run (SAB paper §4.2, §5.3): contestants × rounds, judged, rated, stored durably, resumable.

Each round r (1, 2, …):

1. pair the contestants by closest Elo (``elo.pair_by_closest``; one sits out when their number is odd, the bye
   rotates), with a generator seeded by (seed, r) — so a round's plan depends only on the seed and the ratings
   before it, and a resumed run makes exactly the plan an uninterrupted one would;
2. for each pair draw a stimulus (uniform over the run's stimuli of the allowed modalities) and a task (kind uniform
   over the pool; multi-choice / ranking options drawn too): both contestants get the same;
3. collect both answers (cached per (contestant, stimulus, task) in ``answers.jsonl``, so a resumed run never asks
   twice), judge them (``judges.AIJudge``: twice, positions swapped), and turn the result into a battle: the judge's
   winner scores 1, a tie or an inconsistent pair 0.5 (Eq. 1's R); **a side that declines loses without judging**;
   when both decline there is no battle (recorded, the ratings do not move);
4. update Elo (Eq. 1–2, K = 64, M = 600) and append the match to ``matches.jsonl`` (one JSON object a line, flushed
   and fsynced: round, pair, stimulus id, task, both answers, both verdicts, outcome).

Re-running the same command continues from the last stored match: an incomplete last line (a write cut off by a
kill) is dropped, the rounds are re-planned from the seed, stored matches are checked against the plan and kept, and
only the missing ones are played. ``run.json`` pins what must not change between runs (contestants, pool, seed,
stimuli, judge, settings); ``rounds`` may grow.

``leaderboard(out)`` reads a stored run: final Elo, Bradley–Terry ratings with 95 % bootstrap intervals and ranks
(``elo.fit_bt``), wins / losses / ties / inconsistent / declined, the convergence round (``elo.converged_since``), and
the Elo curves as a PNG like the paper's Fig. 5.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np

from ..errors import InputError
from .contestants import Answer, Contestant, ContestantPool
from .elo import (INITIAL_RATING, K_FACTOR, SCALE_M, Battle, BTResult, EloHistory, converged_since, fit_bt,
                  pair_by_closest, ranking_of, replay, update)
from .judges import Judgement
from .stimuli import STIMULUS_MODALITIES, Stimulus
from .tasks import DEFAULT_OPTIONS, MEDIUM, OPTION_EMOTIONS, POOLS, Task, make_task, pool_kinds, render

RUN_FILE = "run.json"
MATCHES_FILE = "matches.jsonl"
ANSWERS_FILE = "answers.jsonl"
LEADERBOARD_FILE = "leaderboard.json"
CURVES_FILE = "elo_curves.png"
RESULTS: tuple[str, ...] = ("a", "b", "tie", "inconsistent", "a-declined", "b-declined", "both-declined")


@dataclass(frozen=True)
class ArenaConfig:
    """One arena run.

    contestants: contestant names (``contestants.CONTESTANTS`` forms), at least two.
    pool: task pool, mixed (MER + MERG), mer or merg (Tables 10–11).
    rounds: rounds to play; each round pairs every contestant once (one sits out when their number is odd).
    seed: seeds the pairing ties, the stimulus and the task of every match.
    n_options: emotions listed by multi-choice and ranking tasks.
    modalities: stimulus modalities drawn from (text, audio, video).
    k: Elo K, the step size (Table 7: 64).
    scale: Elo M, the rating difference that makes a win 10 times likelier (Table 7: 600).
    initial: the start score S0 of every contestant.
    """

    contestants: tuple[str, ...] = ()
    pool: Literal["mixed", "mer", "merg"] = "mixed"
    rounds: int = 100
    seed: int = 0
    n_options: int = DEFAULT_OPTIONS
    modalities: tuple[str, ...] = STIMULUS_MODALITIES
    k: float = K_FACTOR
    scale: float = SCALE_M
    initial: float = INITIAL_RATING

    def __post_init__(self) -> None:
        object.__setattr__(self, "contestants", tuple(self.contestants))
        object.__setattr__(self, "modalities", tuple(self.modalities))
        if self.rounds < 1:
            raise InputError(f"rounds must be >= 1; got {self.rounds}")
        if self.pool not in POOLS:
            raise InputError(f"unknown task pool {self.pool!r}; known: {', '.join(POOLS)}")
        bad = sorted(set(self.modalities) - set(STIMULUS_MODALITIES))
        if bad or not self.modalities:
            raise InputError(f"modalities must be some of {', '.join(STIMULUS_MODALITIES)}; got {self.modalities}")
        if self.k <= 0 or self.scale <= 0:
            raise InputError("Elo k and scale must be > 0")
        if not 2 <= self.n_options <= len(OPTION_EMOTIONS):
            raise InputError(f"n_options must be in 2..{len(OPTION_EMOTIONS)}; got {self.n_options}")

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the stored one (everything but ``rounds``)."""
        d = asdict(self)
        d.pop("rounds")
        d["contestants"] = list(self.contestants)
        d["modalities"] = list(self.modalities)
        return d


@dataclass(frozen=True)
class PlannedMatch:
    """One match of a round's plan: a is the lower-rated of the pair (``pair_by_closest``)."""

    round: int
    index: int
    a: str
    b: str
    stimulus: str
    task: Task

    @property
    def key(self) -> tuple[int, int]:
        return self.round, self.index


def task_key(task: Task) -> str:
    """What makes two tasks the same question (kind and options; not the id): the answer-cache key."""
    return task.kind + ("|" + ",".join(task.options) if task.options else "")


def plan_round(
    round: int,
    ratings: Mapping[str, float],
    *,
    config: ArenaConfig,
    stimulus_ids: Sequence[str],
    sat_out: Mapping[str, int],
) -> tuple[list[PlannedMatch], str | None]:
    """The matches of round ``round`` given the ratings before it (deterministic per seed and round)."""
    if not stimulus_ids:
        raise InputError("the arena has no stimuli to draw from")
    rng = np.random.default_rng([config.seed, round])
    pairing = pair_by_closest(ratings, rng, sat_out=sat_out)
    kinds = pool_kinds(config.pool)
    out = []
    for i, (a, b) in enumerate(pairing.pairs):
        sid = stimulus_ids[int(rng.integers(len(stimulus_ids)))]
        kind = kinds[int(rng.integers(len(kinds)))]
        task = make_task(kind, rng, id=f"r{round}-m{i}", n_options=config.n_options)
        out.append(PlannedMatch(round=round, index=i, a=a, b=b, stimulus=sid, task=task))
    return out, pairing.sitting_out


def battle_outcome(answer_a: Answer, answer_b: Answer, judgement: Judgement | None) -> tuple[str, float | None]:
    """(result, score of a): declines decide without a judge (both declined: no battle, None); otherwise the
    judge's first = a."""
    if answer_a.declined and answer_b.declined:
        return "both-declined", None
    if answer_a.declined:
        return "a-declined", 0.0
    if answer_b.declined:
        return "b-declined", 1.0
    if judgement is None:
        raise InputError("a match where both sides answered needs a judgement")
    result = {"first": "a", "second": "b"}.get(judgement.result, judgement.result)
    return result, judgement.outcome


# ---- durable storage ---------------------------------------------------------------------------------------------

class JsonlLog:
    """An append-only JSON-lines file. On open, an incomplete last line (a write cut off by a kill) is dropped and
    the file truncated back to its last complete line; a bad line before it raises InputError."""

    def __init__(self, path: str | Path, *, log: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.records: list[dict[str, Any]] = []
        self.dropped = 0
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        *complete, tail = data.split(b"\n")  # tail: b"" when the file ends with a newline
        for n, line in enumerate(complete, start=1):
            if line.strip():
                self.records.append(self._parse(line, n))
        if tail.strip():
            try:
                self.records.append(self._parse(tail, len(complete) + 1))
                with self.path.open("ab") as fh:  # a whole object that lost only its newline
                    fh.write(b"\n")
            except InputError:
                self.dropped = 1
                with self.path.open("r+b") as fh:
                    fh.truncate(len(data) - len(tail))
                if log:
                    log(f"{self.path.name}: dropped an incomplete last line (an interrupted write)")

    def _parse(self, line: bytes, n: int) -> dict[str, Any]:
        try:
            obj = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            obj = None
        if not isinstance(obj, dict):
            raise InputError(f"{self.path} line {n}: not a JSON object; the run store is damaged")
        return obj

    def append(self, obj: Mapping[str, Any]) -> None:
        line = json.dumps(obj, ensure_ascii=False) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self.records.append(dict(obj))


def _digest(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:16]


def stimulus_text(stimulus: Stimulus, pool: ContestantPool | None, *, root: str | Path | None = None) -> str:
    """The stimulus as the judge reads it: the passage, or for media what the encoders read from it (the same text
    the LLM contestants get); without a pool, the transcript alone."""
    if stimulus.modality == "text":
        return stimulus.text or ""
    what = "an audio recording" if stimulus.modality == "audio" else "a video"
    if pool is None:
        return f"({what}; transcript) {stimulus.text or '(no transcript)'}"
    return f"({what}; what the toolkit's encoders read from it)\n{pool.cues(stimulus, root=root).text}"


def task_text(task: Task, stimulus: Stimulus) -> str:
    """The task as the contestants got it, without the stimulus block (the judge sees the stimulus separately)."""
    rendered = render(task, stimulus)
    return rendered.split("\n\n", 1)[1] if "\n\n" in rendered else rendered


@dataclass
class ArenaRun:
    """What ``run_arena`` did. out: the run folder. rounds: rounds now complete. played: matches played by this call
    (the rest were already stored). matches: all stored match records."""

    out: Path
    rounds: int
    played: int
    matches: list[dict[str, Any]] = field(default_factory=list)


def run_arena(
    config: ArenaConfig,
    *,
    contestants: Mapping[str, Contestant],
    judge: Any,
    stimuli: Sequence[Stimulus],
    out: str | Path,
    pool: ContestantPool | None = None,
    stimulus_root: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> ArenaRun:
    """Play (or continue) an arena run into ``out`` (see the module docstring).

    contestants: name -> contestant, exactly ``config.contestants``. judge: an ``AIJudge`` (anything with ``name``,
    ``describe()`` and ``judge(stimulus=, task=, first=, second=) -> Judgement``). stimuli: the run's stimuli (those
    of ``config.modalities`` are drawn from; ids must be unique); media paths resolve against ``stimulus_root``.
    pool: the contestants' shared pool (its cue reader describes media stimuli to the judge). settings: anything
    else the run must keep between resumes (e.g. the contestant config), stored in ``run.json``.
    """
    from tqdm.auto import tqdm

    if list(contestants) != list(config.contestants):
        raise InputError("the contestants given do not match config.contestants")
    if len(config.contestants) < 2:
        raise InputError("an arena needs at least two contestants")
    by_id: dict[str, Stimulus] = {}
    for s in stimuli:
        if s.id in by_id:
            raise InputError(f"stimulus id {s.id!r} appears twice")
        by_id[s.id] = s
    ids = sorted(s for s, st in by_id.items() if st.modality in config.modalities)
    if not ids:
        raise InputError(f"no {' / '.join(config.modalities)} stimuli to draw from (got {len(by_id)} stimuli)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    identity = {"config": config.identity(), "judge": judge.describe(), "stimuli": {"n": len(ids),
                                                                                   "digest": _digest(ids)},
                "settings": json.loads(json.dumps(dict(settings or {}), default=str))}
    run_path = out / RUN_FILE
    if run_path.is_file():
        stored = json.loads(run_path.read_text(encoding="utf-8"))
        changed = [k for k in identity if stored.get("identity", {}).get(k) != identity[k]]
        if changed:
            raise InputError(f"{out} holds an arena run with other {', '.join(changed)}; resume it with the same "
                             "settings, or use a new --out (or --fresh)")
    run_path.write_text(json.dumps({"identity": identity, "rounds": config.rounds, "updated": time.time()},
                                   indent=2, ensure_ascii=False), encoding="utf-8")
    matches = JsonlLog(out / MATCHES_FILE, log=log)
    answers = JsonlLog(out / ANSWERS_FILE, log=log)
    cache = {(r["contestant"], r["stimulus"], r["task"]): Answer.from_dict(r["answer"]) for r in answers.records}
    stored = {(int(r["round"]), int(r["index"])): r for r in matches.records}

    def get_answer(name: str, task: Task, stim: Stimulus) -> Answer:
        key = (name, stim.id, task_key(task))
        if key not in cache:
            ans = contestants[name].answer(task, stim, root=stimulus_root)
            answers.append({"contestant": name, "stimulus": stim.id, "task": key[2], "answer": ans.to_dict()})
            cache[key] = ans
        return cache[key]

    ratings = {c: float(config.initial) for c in config.contestants}
    sat_out: dict[str, int] = {}
    done = sum(1 for r in range(1, config.rounds + 1) if _round_complete(stored, r, len(config.contestants)))
    played = 0
    bar = tqdm(total=config.rounds, initial=done, desc="arena", unit="round", disable=not progress)
    try:
        for rnd in range(1, config.rounds + 1):
            plan, sitting = plan_round(rnd, ratings, config=config, stimulus_ids=ids, sat_out=sat_out)
            new_round = any(m.key not in stored for m in plan)
            for m in plan:
                rec = stored.get(m.key)
                if rec is not None:
                    _check_stored(rec, m, out)
                else:
                    rec = _play(m, sitting, get_answer=get_answer, judge=judge, stimulus=by_id[m.stimulus],
                                pool=pool, stimulus_root=stimulus_root)
                    matches.append(rec)
                    stored[m.key] = rec
                    played += 1
                if rec["outcome"] is not None:
                    ratings[m.a], ratings[m.b] = update(ratings[m.a], ratings[m.b], float(rec["outcome"]),
                                                        k=config.k, scale=config.scale)
            if sitting is not None:
                sat_out[sitting] = sat_out.get(sitting, 0) + 1
            if new_round:
                bar.update(1)
                leader = ranking_of(ratings)[0]
                bar.set_postfix_str(f"leader {leader} {ratings[leader]:.0f}")
    finally:
        bar.close()
    return ArenaRun(out=out, rounds=config.rounds, played=played,
                    matches=sorted(stored.values(), key=lambda r: (r["round"], r["index"])))


def _round_complete(stored: Mapping[tuple[int, int], Any], rnd: int, n: int) -> bool:
    return all((rnd, i) in stored for i in range(n // 2))


def _check_stored(rec: Mapping[str, Any], m: PlannedMatch, out: Path) -> None:
    got = (rec["a"], rec["b"], rec["stimulus"], rec["task"]["kind"], tuple(rec["task"].get("options") or ()))
    want = (m.a, m.b, m.stimulus, m.task.kind, m.task.options)
    if got != want:
        raise InputError(f"{out / MATCHES_FILE}: stored match {m.round}.{m.index} ({got[0]} vs {got[1]}) is not the "
                         f"one this run plans ({want[0]} vs {want[1]}); the store belongs to another run")


def _play(m: PlannedMatch, sitting: str | None, *, get_answer, judge, stimulus: Stimulus,
          pool: ContestantPool | None, stimulus_root: str | Path | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    ans_a = get_answer(m.a, m.task, stimulus)
    ans_b = get_answer(m.b, m.task, stimulus)
    judgement = None
    if not ans_a.declined and not ans_b.declined:
        judgement = judge.judge(stimulus=stimulus_text(stimulus, pool, root=stimulus_root),
                                task=task_text(m.task, stimulus), first=ans_a.text, second=ans_b.text)
    result, outcome = battle_outcome(ans_a, ans_b, judgement)
    return {
        "round": m.round, "index": m.index, "a": m.a, "b": m.b, "sitting_out": sitting,
        "stimulus": m.stimulus, "modality": stimulus.modality, "task": m.task.to_dict(),
        "answers": {"a": ans_a.to_dict(), "b": ans_b.to_dict()},
        "judgement": judgement.to_dict() if judgement is not None else None,
        "result": result, "outcome": outcome, "judge": getattr(judge, "name", None),
        "seconds": round(time.perf_counter() - t0, 3), "time": round(time.time(), 3),
    }


# ---- the leaderboard ---------------------------------------------------------------------------------------------

def load_run(out: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(run.json, stored matches in round order) of a run folder; InputError when it is not one."""
    out = Path(out)
    run_path = out / RUN_FILE
    if not run_path.is_file():
        raise InputError(f"{out} is not an arena run folder (no {RUN_FILE})")
    run = json.loads(run_path.read_text(encoding="utf-8"))
    matches = sorted(JsonlLog(out / MATCHES_FILE).records, key=lambda r: (r["round"], r["index"]))
    return run, matches


def battles_of(matches: Sequence[Mapping[str, Any]]) -> list[Battle]:
    """The rated battles of stored matches (both-declined matches are none)."""
    return [Battle(a=r["a"], b=r["b"], outcome=float(r["outcome"]), round=int(r["round"]))
            for r in matches if r["outcome"] is not None]


@dataclass
class Leaderboard:
    """A stored run's standings. rows: one per contestant, best Bradley–Terry rating first (Elo when there is no
    fit). history: the Elo replay. bt: the Bradley–Terry fit (None without battles). converged: the round from which
    the Elo ranking stopped changing for ``window`` rounds (None: not converged)."""

    rows: list[dict[str, Any]]
    history: EloHistory
    bt: BTResult | None
    converged: int | None
    window: int
    n_rounds: int
    n_matches: int
    n_battles: int
    config: dict[str, Any]
    judge: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "converged_round": self.converged, "window": self.window,
                "rounds": self.n_rounds, "matches": self.n_matches, "battles": self.n_battles,
                "judge": self.judge, "config": self.config,
                "bt_converged": None if self.bt is None else self.bt.converged,
                "bootstrap": None if self.bt is None else self.bt.n_bootstrap,
                "elo_curves": {m: [round(float(v), 2) for v in self.history.curve(m)] for m in self.history.models},
                "elo_rounds": list(self.history.rounds)}

    def lines(self) -> list[str]:
        """The table: rank (BT), contestant, Elo, BT rating [95 % interval], W / L / T / inconsistent / declined."""
        width = max(10, *(len(r["contestant"]) for r in self.rows))
        out = [f"{'rank':>4}  {'contestant':<{width}} {'Elo':>7} {'BT':>7} {'95% interval':>17} {'W':>4} {'L':>4} "
               f"{'T':>4} {'inc':>4} {'decl':>5} {'games':>5}"]
        for r in self.rows:
            bt = "-" if r["bt"] is None else f"{r['bt']:.0f}"
            ci = "-" if r["bt_lower"] is None else f"[{r['bt_lower']:.0f}, {r['bt_upper']:.0f}]"
            out.append(f"{r['rank'] if r['rank'] is not None else '-':>4}  {r['contestant']:<{width}} "
                       f"{r['elo']:7.0f} {bt:>7} {ci:>17} {r['wins']:>4} {r['losses']:>4} {r['ties']:>4} "
                       f"{r['inconsistent']:>4} {r['declined']:>5} {r['matches']:>5}")
        conv = (f"converged at round {self.converged} (ranking unchanged for the last {self.window}+ rounds)"
                if self.converged is not None else f"not converged (ranking changed within the last {self.window} "
                                                   "rounds)")
        out.append(f"{self.n_rounds} rounds, {self.n_matches} matches, {self.n_battles} rated battles; judge "
                   f"{self.judge}; {conv}")
        return out


def leaderboard(out: str | Path, *, n_bootstrap: int = 100, window: int = 20, seed: int = 0) -> Leaderboard:
    """The standings of a stored run (see ``Leaderboard``); T counts judged ties and inconsistent pairs (draws),
    ``inc`` the inconsistent ones among them, ``decl`` the tasks this contestant declined."""
    run, matches = load_run(out)
    ident = run["identity"]
    models = list(ident["config"]["contestants"])
    cfg = ident["config"]
    battles = battles_of(matches)
    history = replay(battles, models=models, k=cfg["k"], scale=cfg["scale"], initial=cfg["initial"])
    bt = fit_bt(battles, models=models, n_bootstrap=n_bootstrap, seed=seed) if battles else None
    stats = {m: {"wins": 0, "losses": 0, "ties": 0, "inconsistent": 0, "declined": 0, "matches": 0,
                 "answer_seconds": 0.0, "answers": 0} for m in models}
    for r in matches:
        for side, name in (("a", r["a"]), ("b", r["b"])):
            s = stats[name]
            s["matches"] += 1
            ans = r["answers"][side]
            s["declined"] += bool(ans.get("declined"))
            if not ans.get("declined"):
                s["answer_seconds"] += float(ans.get("seconds", 0.0))
                s["answers"] += 1
            if r["outcome"] is None:
                continue
            score = r["outcome"] if side == "a" else 1.0 - r["outcome"]
            s["wins" if score == 1.0 else "losses" if score == 0.0 else "ties"] += 1
            s["inconsistent"] += r["result"] == "inconsistent"
    final = history.final
    rows = []
    for m in models:
        s = stats[m]
        i = bt.models.index(m) if bt is not None else None
        ok = bt is not None and bt.n_bootstrap > 0
        rows.append({"contestant": m, "elo": round(final[m], 2),
                     "bt": None if bt is None else round(float(bt.ratings[i]), 2),
                     "bt_lower": round(float(bt.lower[i]), 2) if ok else None,
                     "bt_upper": round(float(bt.upper[i]), 2) if ok else None,
                     "rank": None if bt is None else int(bt.ranks[i]),
                     **{k: s[k] for k in ("wins", "losses", "ties", "inconsistent", "declined", "matches")},
                     "seconds_per_answer": round(s["answer_seconds"] / s["answers"], 3) if s["answers"] else None})
    rows.sort(key=lambda r: (-(r["bt"] if r["bt"] is not None else r["elo"]), -r["elo"], r["contestant"]))
    n_rounds = len({r["round"] for r in matches})
    return Leaderboard(rows=rows, history=history, bt=bt, converged=converged_since(history, window=window)
                       if history.rounds else None, window=window, n_rounds=n_rounds, n_matches=len(matches),
                       n_battles=len(battles), config=cfg, judge=ident.get("judge", {}).get("name"))


def plot_curves(board: Leaderboard, path: str | Path, *, title: str | None = None) -> Path:
    """Elo of every contestant after each round (start = round 0), like the paper's Fig. 5; the convergence round
    dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = board.history
    x = [0, *h.rounds]
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for m in ranking_of(h.final):
        y = h.curve(m)
        ax.plot(x, y, marker="o" if len(x) <= 30 else None, markersize=3, linewidth=1.6, label=f"{m} ({y[-1]:.0f})")
    if board.converged is not None:
        ax.axvline(board.converged, color="grey", linestyle="--", linewidth=1, label=f"converged (round "
                                                                                      f"{board.converged})")
    cfg = board.config
    ax.set_xlabel("round")
    ax.set_ylabel("Elo score")
    ax.set_title(title or f"SAB arena, {cfg['pool']} pool (K={cfg['k']:g}, M={cfg['scale']:g}); judge {board.judge}",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def write_leaderboard(out: str | Path, *, n_bootstrap: int = 100, window: int = 20, seed: int = 0) -> Leaderboard:
    """``leaderboard`` + ``leaderboard.json`` and ``elo_curves.png`` written into the run folder."""
    board = leaderboard(out, n_bootstrap=n_bootstrap, window=window, seed=seed)
    out = Path(out)
    (out / LEADERBOARD_FILE).write_text(json.dumps(board.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    plot_curves(board, out / CURVES_FILE)
    return board


__all__ = [
    "ANSWERS_FILE", "ArenaConfig", "ArenaRun", "CURVES_FILE", "JsonlLog", "LEADERBOARD_FILE", "Leaderboard",
    "MATCHES_FILE", "MEDIUM", "PlannedMatch", "RESULTS", "RUN_FILE", "battle_outcome", "battles_of", "leaderboard",
    "load_run", "plan_round", "plot_curves", "run_arena", "stimulus_text", "task_key", "task_text",
    "write_leaderboard",
]
