"""Compound Emotion QA (SAB paper §5.4, Table 5): preference pairs from a stored arena run, for DPO.

The paper: "for each round, we select the highest-ranked response as the *preferred* sample, and a median-quality
response as the *non-preferred* counterpart". A pair must share its prompt, and in this arena each match of a round
draws its own stimulus and task, so the unit is a **question of a round**: the answers of round r to one (stimulus,
task) — one match (two answers) as a rule, more when two matches of the round drew the same stimulus and task.

The rule, exactly (``pick_pair``):

1. **score** of an answer = its match score (winner 1, loser 0, tie / inconsistent 0.5), averaged over its matches in
   the question. The judge is the run's AI judge, or **human** for a match with votes when a vote store is given
   (``source``): a match's human score of side a is the mean over its votes of A = 1, B = 0, tie / both bad = 0.5,
   with A mapped to the side the voter was shown as A. A match with human votes is judged by the humans alone.
2. **Declined answers** (and empty texts) never enter: they are neither chosen nor rejected (a decline has no text to
   learn from); the match still happened, so the other side keeps its score.
3. **rank** the answers by score (high first), then by the contestant's Elo after round r (the run's AI-judge Elo
   replay, Eq. 1–2), then by name.
4. **chosen** = rank 1. **rejected** = the median-ranked of the answers whose score is strictly below the chosen
   one's (sorted best first; of m such answers index (m - 1) // 2, so the upper median: with two answers, the loser;
   with four answers scored 1, 1, 0, 0 the better-Elo loser).
5. **skipped** (with a reason): fewer than two answers (``declined``: a side declined, or ``both-declined``); no
   answer scored below the best (``tie``: every answer drew, ``inconsistent`` when the judge's two passes disagreed);
   chosen and rejected with the same text (``identical``); a human-judged match whose votes are an even split
   (``tie``).

Each pair (``DPOPair`` -> ``train.dpo_pairs`` JSON line) holds the ``prompt`` the contestants saw (``tasks.render``:
a text stimulus as its passage; an audio / video stimulus as a note and its stored transcript, or with
``media_prompt = "cues"`` the encoders' cue block the LLM contestants read), the LLM contestants' ``system`` prompt,
``chosen``, ``rejected`` and metadata: id (the question's match ids joined by "+"), round, matches, stimulus,
modality, setting (text / audio-language / visual-language), pool (mer / merg), task (kind), options, chosen_by /
rejected_by, their scores and Elo, judge (the AI judge's name or "human"), votes, answers (the question's answer
count).

    result = export_pairs(run, matches, stimuli=by_id, votes=votes)
    write_pairs(result.pairs, "pairs.jsonl"); print("\\n".join(result.lines()))
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence

from ..errors import InputError
from ..train.dpo_pairs import DPOPair
from .contestants import ANSWER_SYSTEM
from .elo import EloHistory, replay
from .runner import battles_of, load_run, task_key
from .stimuli import Stimulus, StimulusStore
from .tasks import Task, render
from .votes import Vote

HUMAN = "human"
SETTINGS: Mapping[str, str] = {"text": "text", "audio": "audio-language", "video": "visual-language"}
SKIP_REASONS: tuple[str, ...] = ("declined", "both-declined", "tie", "inconsistent", "identical")
PromptFn = Callable[[Task, Stimulus], str]


@dataclass(frozen=True)
class ExportConfig:
    """Which judgements make pairs and how prompts are written.

    source: whose preferences: all (human votes where a match has them, else the AI judge), judge (the AI judge only,
      votes ignored) or human (only the matches with votes).
    min_votes: a match is human-judged when it has at least this many votes.
    media_prompt: an audio / video stimulus in the prompt: transcript (the stimulus note and its stored transcript,
      no model needed) or cues (the encoders' cue block the LLM contestants read; loads the run's neural checkpoint).
    """

    source: Literal["all", "judge", "human"] = "all"
    min_votes: int = 1
    media_prompt: Literal["transcript", "cues"] = "transcript"

    def __post_init__(self) -> None:
        if self.source not in ("all", "judge", "human"):
            raise InputError(f"source must be all, judge or human; got {self.source!r}")
        if self.min_votes < 1:
            raise InputError(f"min_votes must be >= 1; got {self.min_votes}")
        if self.media_prompt not in ("transcript", "cues"):
            raise InputError(f"media_prompt must be transcript or cues; got {self.media_prompt!r}")


@dataclass(frozen=True)
class Candidate:
    """One answer to a question of a round. score: mean match score (1 win, 0.5 draw, 0 loss). elo: the
    contestant's Elo after the round. matches: ids of its matches in the question. judge: who scored it."""

    contestant: str
    text: str
    score: float
    elo: float
    matches: tuple[str, ...]
    judge: str


@dataclass(frozen=True)
class Skip:
    """A question of a round that made no pair, and why (one of ``SKIP_REASONS``)."""

    round: int
    matches: tuple[str, ...]
    stimulus: str
    task: str
    reason: str


@dataclass
class ExportResult:
    """The pairs, the skipped questions, and the size of the run they came from."""

    pairs: list[DPOPair] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    rounds: int = 0
    matches: int = 0
    ignored_votes: int = 0

    def counts(self) -> dict[tuple[str, str], Counter]:
        """{(pool, setting): Counter(judge -> pairs)}: Table 5's layout, data type x judge."""
        out: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for p in self.pairs:
            out[(p.meta["pool"], p.meta["setting"])][p.meta["judge"]] += 1
        return dict(out)

    def lines(self) -> list[str]:
        """The Table-5-style count: one row per data type (task pool x modality setting), one column per judge."""
        counts = self.counts()
        judges = sorted({j for c in counts.values() for j in c}, key=lambda j: (j == HUMAN, j))
        head = ["data type", *judges, "total"]
        rows = [[f"{pool.upper()} {setting}", *(str(c[j]) for j in judges), str(sum(c.values()))]
                for (pool, setting), c in sorted(counts.items())]
        totals = ["total", *(str(sum(c[j] for c in counts.values())) for j in judges), str(len(self.pairs))]
        widths = [max(len(r[i]) for r in [head, *rows, totals]) for i in range(len(head))]
        fmt = lambda r: "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
        out = [f"Compound Emotion QA pairs (SAB Table 5 layout): {len(self.pairs)} pairs from {self.matches} matches "
               f"in {self.rounds} rounds"]
        out += [fmt(head), *(fmt(r) for r in rows), fmt(totals)]
        why = Counter(s.reason for s in self.skipped)
        out.append("skipped questions: " + (", ".join(f"{r} {why[r]}" for r in SKIP_REASONS if why[r]) or "none"))
        if self.ignored_votes:
            out.append(f"{self.ignored_votes} vote(s) name no match of this run (ignored)")
        return out


# ---- the rule (pure) ---------------------------------------------------------------------------------------------

def match_id(rec: Mapping[str, Any]) -> str:
    """``r<round>-m<index>``, the id votes refer to."""
    return f"r{int(rec['round'])}-m{int(rec['index'])}"


def human_scores(votes: Sequence[Vote], matches: Sequence[Mapping[str, Any]]) -> tuple[dict[str, tuple[float, int]],
                                                                                          int]:
    """({match id: (mean human score of side a, votes)}, votes naming no match here). A vote's A is whichever side
    the voter was shown as A (``shown_a``)."""
    sides = {match_id(r): (r["a"], r["b"]) for r in matches}
    sums: dict[str, list[float]] = defaultdict(list)
    ignored = 0
    for v in votes:
        pair = sides.get(v.match)
        if pair is None or {v.shown_a, v.shown_b} != set(pair):
            ignored += 1
            continue
        sums[v.match].append(v.outcome if v.shown_a == pair[0] else 1.0 - v.outcome)
    return {m: (sum(s) / len(s), len(s)) for m, s in sums.items()}, ignored


def elo_after(history: EloHistory, round: int) -> dict[str, float]:
    """The ratings after ``round`` (the last rated round at or before it; the start ratings before any)."""
    row = sum(1 for r in history.rounds if r <= round)
    return {m: float(v) for m, v in zip(history.models, history.ratings[row])}


def rank(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Best first: score, then Elo after the round, then name."""
    return sorted(candidates, key=lambda c: (-c.score, -c.elo, c.contestant))


def pick_pair(candidates: Sequence[Candidate]) -> tuple[Candidate, Candidate] | str:
    """(chosen, rejected) by the module's rule, or the skip reason ("declined", "tie", "identical")."""
    ranked = rank(candidates)
    if len(ranked) < 2:
        return "declined"
    best = ranked[0]
    below = [c for c in ranked[1:] if c.score < best.score]
    if not below:
        return "tie"
    rejected = below[(len(below) - 1) // 2]
    if rejected.text.strip() == best.text.strip():
        return "identical"
    return best, rejected


def transcript_prompt(task: Task, stimulus: Stimulus) -> str:
    """The rendered task: a text stimulus's passage; for audio / video the note and the stored transcript."""
    return render(task, stimulus, transcript=True)


def _group_candidates(group: Sequence[Mapping[str, Any]], *, elo: Mapping[str, float],
                      human: Mapping[str, tuple[float, int]]) -> tuple[list[Candidate], int, bool]:
    """(eligible candidates, human votes used, whether an AI-judged match of the group was inconsistent)."""
    scores: dict[str, list[float]] = defaultdict(list)
    texts: dict[str, str] = {}
    ids: dict[str, list[str]] = defaultdict(list)
    judges: dict[str, str] = {}
    n_votes, inconsistent = 0, False
    for rec in group:
        mid = match_id(rec)
        voted = human.get(mid)
        if voted is not None:
            score_a, judge = voted[0], HUMAN
            n_votes += voted[1]
        elif rec.get("outcome") is None:  # both declined: no battle, no candidate
            continue
        else:
            score_a, judge = float(rec["outcome"]), str(rec.get("judge") or "judge")
            inconsistent = inconsistent or rec.get("result") == "inconsistent"
        for side, name, score in (("a", rec["a"], score_a), ("b", rec["b"], 1.0 - score_a)):
            ans = rec["answers"][side]
            if ans.get("declined") or not (ans.get("text") or "").strip():
                continue
            scores[name].append(score)
            texts[name] = ans["text"]
            ids[name].append(mid)
            judges[name] = judge
    cands = [Candidate(contestant=n, text=texts[n], score=sum(s) / len(s), elo=elo.get(n, 0.0),
                       matches=tuple(ids[n]), judge=judges[n]) for n, s in scores.items()]
    return cands, n_votes, inconsistent


def export_pairs(run: Mapping[str, Any], matches: Sequence[Mapping[str, Any]], *, stimuli: Mapping[str, Stimulus],
                 votes: Sequence[Vote] = (), config: ExportConfig = ExportConfig(),
                 prompt: PromptFn = transcript_prompt) -> ExportResult:
    """The pairs of a stored run (``runner.load_run``'s run.json and matches; see the module docstring).

    stimuli: id -> stimulus (every stimulus a match names). votes: the run's human votes (``VoteStore.votes()``).
    prompt: how a (task, stimulus) becomes the prompt text (default: ``transcript_prompt``).
    """
    ident = run.get("identity", {})
    cfg = ident.get("config", {})
    models = list(cfg.get("contestants") or sorted({r["a"] for r in matches} | {r["b"] for r in matches}))
    history = replay(battles_of(matches), models=models, k=cfg.get("k", 64.0), scale=cfg.get("scale", 600.0),
                     initial=cfg.get("initial", 1000.0))
    human, ignored = human_scores(votes, matches) if config.source != "judge" else ({}, 0)
    human = {m: v for m, v in human.items() if v[1] >= config.min_votes}
    result = ExportResult(rounds=len({int(r["round"]) for r in matches}), matches=len(matches),
                          ignored_votes=ignored)
    groups: dict[tuple[int, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for rec in sorted(matches, key=lambda r: (int(r["round"]), int(r["index"]))):
        if config.source == "human" and match_id(rec) not in human:
            continue
        task = Task.from_dict(rec["task"])
        groups[(int(rec["round"]), rec["stimulus"], task_key(task))].append(rec)
    missing = sorted({sid for (_, sid, _) in groups if sid not in stimuli})
    if missing:
        raise InputError(f"the run's matches name stimuli that were not found: {', '.join(missing[:5])}"
                         f"{' ...' if len(missing) > 5 else ''} (give the stimulus store with --stimuli DIR)")
    for (rnd, sid, _), group in groups.items():
        first = group[0]
        task = Task.from_dict(first["task"])
        ids = tuple(match_id(r) for r in group)
        cands, n_votes, inconsistent = _group_candidates(group, elo=elo_after(history, rnd), human=human)
        picked = pick_pair(cands)
        if isinstance(picked, str):
            reason = ("both-declined" if not cands else "inconsistent" if picked == "tie" and inconsistent
                      else picked)
            result.skipped.append(Skip(round=rnd, matches=ids, stimulus=sid, task=task.kind, reason=reason))
            continue
        chosen, rejected = picked
        stim = stimuli[sid]
        judge = HUMAN if HUMAN in (chosen.judge, rejected.judge) else chosen.judge
        result.pairs.append(DPOPair.of(
            prompt(task, stim), chosen.text, rejected.text, system=ANSWER_SYSTEM,
            id="+".join(ids), round=rnd, matches=list(ids), stimulus=sid, modality=stim.modality,
            setting=SETTINGS[stim.modality], pool=task.pool, task=task.kind, options=list(task.options),
            chosen_by=chosen.contestant, rejected_by=rejected.contestant, chosen_score=round(chosen.score, 4),
            rejected_score=round(rejected.score, 4), chosen_elo=round(chosen.elo, 2),
            rejected_elo=round(rejected.elo, 2), judge=judge, votes=n_votes if judge == HUMAN else None,
            answers=len(cands)))
    return result


# ---- reading a run folder ----------------------------------------------------------------------------------------

def run_stimuli(run_dir: str | Path, run: Mapping[str, Any], *, store: str | Path | None = None
                ) -> tuple[dict[str, Stimulus], Path | None]:
    """(id -> stimulus, the folder media paths resolve against): ``store`` when given, else the run's own
    ``stimuli/`` snapshot, else the stimulus store the run was played from (run.json)."""
    candidates = [Path(store)] if store else [Path(run_dir) / "stimuli"]
    if not store:
        source = (((run.get("identity") or {}).get("settings") or {}).get("stimuli") or {}).get("source")
        if source and source != "generate":
            candidates.append(Path(source))
    found: dict[str, Stimulus] = {}
    root = None
    for folder in candidates:
        if (folder / StimulusStore.FILE).is_file():
            st = StimulusStore(folder)
            for s in st:
                found.setdefault(s.id, s)
            root = root or st.folder
    if store and root is None:
        raise InputError(f"{store} is not a stimulus store (no {StimulusStore.FILE})")
    return found, root


def load_votes(path: str | Path, run: Mapping[str, Any]) -> list[Vote]:
    """This run's votes from a vote store file (``arena.votes``; keyed by the run's identity)."""
    from .votes import VoteStore, run_key

    p = Path(path)
    if not p.is_file():
        raise InputError(f"vote store not found: {p}")
    with VoteStore(p, run=run_key(run)) as store:
        return store.votes()


def export_run(run_dir: str | Path, *, votes: str | Path | None = None, stimuli: str | Path | None = None,
               config: ExportConfig = ExportConfig(), prompt: PromptFn | None = None) -> ExportResult:
    """``export_pairs`` on a run folder (run.json, matches.jsonl, stimuli/), with the votes of a vote store file.
    ``prompt`` overrides the prompt writer (the CLI passes the cue reader for ``media_prompt = "cues"``)."""
    run, matches = load_run(run_dir)
    if not matches:
        raise InputError(f"{run_dir} holds no matches yet (matches.jsonl is empty)")
    if config.source == "human" and votes is None:
        raise InputError("source human needs a vote store (--votes FILE)")
    by_id, _ = run_stimuli(run_dir, run, store=stimuli)
    vote_rows = load_votes(votes, run) if votes is not None else []
    return export_pairs(run, matches, stimuli=by_id, votes=vote_rows, config=config,
                        prompt=prompt or transcript_prompt)


def summary(result: ExportResult) -> dict[str, Any]:
    """JSON-ready counts: pairs by data type and judge, skips by reason."""
    return {"pairs": len(result.pairs), "rounds": result.rounds, "matches": result.matches,
            "by_type": {f"{pool} {setting}": dict(c) for (pool, setting), c in sorted(result.counts().items())},
            "skipped": dict(Counter(s.reason for s in result.skipped)), "ignored_votes": result.ignored_votes}


__all__ = ["Candidate", "ExportConfig", "ExportResult", "HUMAN", "SETTINGS", "SKIP_REASONS", "Skip", "elo_after",
           "export_pairs", "export_run", "human_scores", "load_votes", "match_id", "pick_pair", "rank",
           "run_stimuli", "summary", "transcript_prompt"]
