"""The arena's human-judge page and API (issue #13 item 5), included by ``create_app`` (``app.py``).

Endpoints
    GET  /arena                          the voting page (``static/arena.html``); sets the voter cookie
    GET  /v1/arena                       is an arena run configured; its contestants, matches, votes, your votes
    GET  /v1/arena/next                  the next match for this voter (stimulus, task, Answer A / B), or done
    GET  /v1/arena/matches/{match}       one match as this voter sees it
    POST /v1/arena/votes                 {"match", "verdict": "A"|"B"|"tie"|"both-bad"} -> 201 the vote, who A and B
                                         were, the updated leaderboard; 409 when this voter already voted on it;
                                         with ``ServiceSettings.api_token``, 401 without the bearer token (``auth.py``)
    GET  /v1/arena/leaderboard           Elo of the human judge (with the curve per vote) beside the AI judge's
    GET  /v1/arena/stimuli/{id}/media    a stimulus's audio / video file (range requests for seeking)

The matches are the stored matches of ``ServiceSettings.arena_run`` (``affectagent serve --arena-run DIR``) in which
both contestants answered (a declined task has nothing to compare), read-only: the run folder may still be growing
(``arena run`` resumed beside the server); a changed ``matches.jsonl`` is re-read, its incomplete last line ignored.
Votes go to ``ServiceSettings.arena_votes`` (default ``DIR/votes.sqlite``), ``affectagent.arena.votes``.

Answers are anonymous until the vote: which contestant is shown as A is fixed per (voter, match)
(``votes.shown_order``) and recomputed by the server when the vote arrives, so a client sends only the verdict.
The voter is the ``affectagent_voter`` cookie (set by GET /arena) or a ``voter`` an API client passes (query
parameter or JSON field). Without a configured run, /arena says so and the API answers 404.
"""
# No ``from __future__ import annotations``: FastAPI reads endpoint annotations at definition time.
import hashlib
import json
import mimetypes
import secrets
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import anyio.to_thread
import fastapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from ..arena.elo import Battle, replay
from ..arena.runner import MATCHES_FILE, RUN_FILE, task_text
from ..arena.stimuli import Stimulus, StimulusStore
from ..arena.tasks import Task
from ..arena.votes import (DuplicateVoteError, VoteStore, check_verdict, check_voter, human_elo, run_key,
                           shown_order, tally)
from ..errors import InputError
from ..jsonlines import parse_json_lines
from .auth import token_dependencies
from .errors import one_line
from .settings import ServiceSettings

VOTER_COOKIE = "affectagent_voter"
VOTES_FILE = "votes.sqlite"
NOT_CONFIGURED = ("no arena run is configured: start the service with affectagent serve --arena-run RUN_DIR "
                  "(a folder written by affectagent arena run)")
ARENA_PAGE_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                     "connect-src 'self'; img-src 'self' data:; media-src 'self'; base-uri 'none'; "
                     "form-action 'self'; frame-ancestors 'none'")


class UnknownMatchError(InputError):
    """No votable match with this id in the configured run (HTTP 404)."""


class NotConfiguredError(InputError):
    """The service has no arena run (HTTP 404)."""


def arena_page_html() -> str:
    """The voting page (``static/arena.html``, shipped as package data)."""
    return resources.files(__package__).joinpath("static", "arena.html").read_text(encoding="utf-8")


def match_id(rec: dict[str, Any]) -> str:
    """The id of a stored match: ``r<round>-m<index>``."""
    return f"r{int(rec['round'])}-m{int(rec['index'])}"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Complete lines of a JSON-lines file that another process may be appending to (an unfinished last line is
    left for later, never truncated: this reader does not own the file)."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    complete = data[:data.rfind(b"\n") + 1]
    return [obj for _, obj in parse_json_lines(complete.decode("utf-8", errors="replace"),
                                               where=lambda n: f"{path} line {n}")]


class ArenaView:
    """The configured run as the page shows it: its votable matches and stimuli (re-read when the run's files
    change), and the vote store.

    run_dir: an arena run folder (``run.json``, ``matches.jsonl``, ``stimuli/stimuli.jsonl``).
    votes: the SQLite vote file (default ``run_dir/votes.sqlite``).
    """

    def __init__(self, run_dir: str | Path, *, votes: str | Path | None = None) -> None:
        self.dir = Path(run_dir)
        run_path = self.dir / RUN_FILE
        if not run_path.is_file():
            raise InputError(f"{self.dir} is not an arena run folder (no {RUN_FILE})")
        try:
            self.run = json.loads(run_path.read_text(encoding="utf-8"))
            self.config = dict(self.run["identity"]["config"])
            self.models = list(self.config["contestants"])
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{run_path} is not an arena run description (affectagent arena run writes it)") from None
        self.judge = (self.run["identity"].get("judge") or {}).get("name")
        self.key = run_key(self.run)
        self.store = VoteStore(Path(votes) if votes else self.dir / VOTES_FILE, run=self.key)
        self._lock = threading.Lock()
        self._seen: tuple[Any, ...] | None = None
        self.matches: dict[str, dict[str, Any]] = {}
        self.all_matches: list[dict[str, Any]] = []
        self.stimuli: dict[str, Stimulus] = {}
        self.stimulus_root = self.dir / "stimuli"
        self.refresh()

    def _stamp(self) -> tuple[Any, ...]:
        out = []
        for p in (self.dir / MATCHES_FILE, self.stimulus_root / StimulusStore.FILE):
            st = p.stat() if p.is_file() else None
            out.append(None if st is None else (st.st_mtime_ns, st.st_size))
        return tuple(out)

    def refresh(self) -> None:
        """Re-read the matches and stimuli when their files changed since the last read."""
        with self._lock:
            stamp = self._stamp()
            if stamp == self._seen:
                return
            records = sorted(_read_jsonl(self.dir / MATCHES_FILE), key=lambda r: (r["round"], r["index"]))
            self.all_matches = records
            self.matches = {match_id(r): r for r in records
                            if not r["answers"]["a"].get("declined") and not r["answers"]["b"].get("declined")}
            if (self.stimulus_root / StimulusStore.FILE).is_file():
                store = StimulusStore(self.stimulus_root)
                self.stimuli = {s.id: s for s in store}
            self._seen = stamp

    # ---- matches -------------------------------------------------------------------------------------------------
    def match(self, mid: str) -> dict[str, Any]:
        self.refresh()
        rec = self.matches.get(mid)
        if rec is None:
            raise UnknownMatchError(f"no match {mid[:40]!r} to vote on in this arena run")
        return rec

    def next_for(self, voter: str) -> str | None:
        """The match this voter should judge next: of those not yet voted on, the one with the fewest votes (ties
        broken by a per-voter hash, so voters spread over the matches); None when every match is voted on."""
        self.refresh()
        done = self.store.voted(voter)
        counts = self.store.counts()
        todo = [m for m in self.matches if m not in done]
        if not todo:
            return None
        return min(todo, key=lambda m: (counts.get(m, 0), hashlib.sha256(f"{voter}|{m}".encode()).hexdigest()))

    def media_path(self, sid: str) -> Path:
        self.refresh()
        stim = self.stimuli.get(sid)
        if stim is None:
            raise UnknownMatchError(f"no stimulus {sid[:40]!r} in this arena run")
        role = "video" if "video" in stim.files else "audio" if "audio" in stim.files else None
        if role is None:
            raise UnknownMatchError(f"stimulus {sid[:40]!r} has no audio or video file")
        path = stim.file(role, root=self.stimulus_root)
        if not path.is_file():
            raise UnknownMatchError(f"the {role} file of stimulus {sid[:40]!r} is missing from the run folder")
        return path

    def shown(self, rec: dict[str, Any], voter: str) -> dict[str, Any]:
        """A match as ``voter`` sees it: no contestant names, the two answers in this voter's order."""
        mid = match_id(rec)
        order = shown_order(voter, mid)
        first, second = ("a", "b") if order == "ab" else ("b", "a")
        stim = self.stimuli.get(rec["stimulus"])
        task = Task.from_dict(rec["task"])
        media_kind = None
        if stim is not None:
            media_kind = "video" if "video" in stim.files else "audio" if "audio" in stim.files else None
            prompt = task_text(task, stim)
        else:
            prompt = "Task: " + task.instruction.format(medium="stimulus")
        return {
            "match": mid, "round": int(rec["round"]),
            "stimulus": {"id": rec["stimulus"], "modality": rec.get("modality") or (stim.modality if stim else None),
                         "text": stim.text if stim is not None else None, "media_kind": media_kind,
                         "media": f"v1/arena/stimuli/{rec['stimulus']}/media" if media_kind else None},
            "task": {"kind": task.kind, "pool": task.pool, "prompt": prompt, "options": list(task.options)},
            "answers": {"A": rec["answers"][first]["text"], "B": rec["answers"][second]["text"]},
            "voted": bool(self.store.votes(voter=voter, match=mid)),
        }

    # ---- votes ---------------------------------------------------------------------------------------------------
    def vote(self, *, voter: str, mid: str, verdict: str) -> dict[str, Any]:
        rec = self.match(mid)
        order = shown_order(voter, mid)
        shown_a, shown_b = (rec["a"], rec["b"]) if order == "ab" else (rec["b"], rec["a"])
        vote = self.store.add(match=mid, voter=voter, shown_a=shown_a, shown_b=shown_b, shown=order,
                              verdict=verdict)
        d = vote.to_dict()
        d.pop("run")
        return {"vote": d, "revealed": {"A": shown_a, "B": shown_b}, "leaderboard": self.leaderboard()}

    def leaderboard(self) -> dict[str, Any]:
        """Elo of the human judge (one curve point per vote, ``votes.human_elo``) and of the run's AI judge (one
        point per round, ``elo.replay`` over the stored battles)."""
        self.refresh()
        cfg = self.config
        elo_kw = {"k": cfg.get("k", 64.0), "scale": cfg.get("scale", 600.0), "initial": cfg.get("initial", 1000.0)}
        votes = self.store.votes()
        human = human_elo(votes, models=self.models, **elo_kw)
        counts = tally(votes, self.models)
        final = human.final
        rows = [{"contestant": m, "elo": round(final[m], 2), **counts[m]} for m in self.models]
        rows.sort(key=lambda r: (-r["elo"], r["contestant"]))
        battles = [Battle(a=r["a"], b=r["b"], outcome=float(r["outcome"]), round=int(r["round"]))
                   for r in self.all_matches if r.get("outcome") is not None]
        ai = replay(battles, models=self.models, **elo_kw)
        ai_rows = sorted(({"contestant": m, "elo": round(v, 2)} for m, v in ai.final.items()),
                         key=lambda r: (-r["elo"], r["contestant"]))
        return {
            "judge": "human", "votes": len(votes), "voters": len({v.voter for v in votes}),
            "rows": rows, "curves": {m: [round(float(x), 2) for x in human.curve(m)] for m in self.models},
            "ai": {"judge": self.judge, "battles": len(battles), "rows": ai_rows, "rounds": list(ai.rounds),
                   "curves": {m: [round(float(x), 2) for x in ai.curve(m)] for m in self.models}},
            "k": elo_kw["k"], "scale": elo_kw["scale"], "initial": elo_kw["initial"],
        }

    def status(self, voter: str | None) -> dict[str, Any]:
        self.refresh()
        mine = len(self.store.voted(voter)) if voter else 0
        return {"configured": True, "run": self.dir.name, "contestants": len(self.models),
                "pool": self.config.get("pool"), "judge": self.judge, "matches": len(self.matches),
                "stored_matches": len(self.all_matches), "votes": len(self.store), "your_votes": mine,
                "voter": voter}

    def close(self) -> None:
        self.store.close()


def _error(exc: BaseException) -> JSONResponse:
    if isinstance(exc, DuplicateVoteError):
        status = 409
    elif isinstance(exc, (UnknownMatchError, NotConfiguredError)):
        status = 404
    elif isinstance(exc, InputError):
        status = 400
    else:
        raise exc
    return JSONResponse({"error": one_line(str(exc))}, status_code=status)


def add_arena_routes(app: fastapi.FastAPI, settings: ServiceSettings) -> ArenaView | None:
    """Serve /arena and /v1/arena/* on ``app`` over ``settings.arena_run`` (None: the page says none is
    configured). Returns the view (also ``app.state.arena``)."""
    view = ArenaView(settings.arena_run, votes=settings.arena_votes) if settings.arena_run else None
    app.state.arena = view
    page = arena_page_html()

    def need() -> ArenaView:
        if view is None:
            raise NotConfiguredError(NOT_CONFIGURED)
        return view

    def voter_of(request: fastapi.Request, given: Any = None) -> str:
        voter = given if given not in (None, "") else request.cookies.get(VOTER_COOKIE)
        if not voter:
            raise InputError("no voter id: open /arena in a browser (it sets a cookie) or pass voter=<id>")
        return check_voter(str(voter))

    @app.get("/arena", response_class=HTMLResponse, include_in_schema=False)
    def arena_page(request: fastapi.Request):
        resp = HTMLResponse(page, headers={"Content-Security-Policy": ARENA_PAGE_POLICY,
                                           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})
        cookie = request.cookies.get(VOTER_COOKIE)
        try:
            check_voter(cookie or "")
        except InputError:
            resp.set_cookie(VOTER_COOKIE, "v" + secrets.token_hex(8), max_age=10 * 365 * 86400, httponly=True,
                            samesite="strict")
        return resp

    @app.get("/v1/arena", tags=["arena"])
    def arena_status(request: fastapi.Request, voter: str | None = None):
        if view is None:
            return {"configured": False, "error": NOT_CONFIGURED}
        try:
            who = voter_of(request, voter)
        except InputError:
            who = None
        return view.status(who)

    @app.get("/v1/arena/next", tags=["arena"])
    def arena_next(request: fastapi.Request, voter: str | None = None):
        try:
            v, who = need(), voter_of(request, voter)
            mid = v.next_for(who)
            if mid is None:
                return {"done": True, "matches": len(v.matches), "your_votes": len(v.store.voted(who))}
            return {"done": False, **v.shown(v.match(mid), who), "your_votes": len(v.store.voted(who)),
                    "matches": len(v.matches)}
        except InputError as exc:
            return _error(exc)

    @app.get("/v1/arena/matches/{mid}", tags=["arena"])
    def arena_match(mid: str, request: fastapi.Request, voter: str | None = None):
        try:
            v, who = need(), voter_of(request, voter)
            return v.shown(v.match(mid), who)
        except InputError as exc:
            return _error(exc)

    @app.post("/v1/arena/votes", tags=["arena"], status_code=201,
              dependencies=token_dependencies(settings.api_token))
    async def arena_vote(request: fastapi.Request):
        try:
            v = need()
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                raise InputError("the body must be JSON: {\"match\": ..., \"verdict\": \"A\"|\"B\"|\"tie\"|"
                                 "\"both-bad\"}") from None
            if not isinstance(body, dict) or set(body) - {"match", "verdict", "voter"}:
                raise InputError("the body must be a JSON object with match, verdict and optionally voter")
            if not isinstance(body.get("match"), str) or not isinstance(body.get("verdict"), str):
                raise InputError("match and verdict must be strings")
            who = voter_of(request, body.get("voter"))
            verdict = check_verdict(body["verdict"])
            out = await anyio.to_thread.run_sync(lambda: v.vote(voter=who, mid=body["match"], verdict=verdict))
            return JSONResponse(out, status_code=201)
        except InputError as exc:
            return _error(exc)

    @app.get("/v1/arena/leaderboard", tags=["arena"])
    def arena_leaderboard():
        try:
            return need().leaderboard()
        except InputError as exc:
            return _error(exc)

    @app.get("/v1/arena/stimuli/{sid}/media", tags=["arena"])
    def arena_media(sid: str):
        try:
            path = need().media_path(sid)
        except InputError as exc:
            return _error(exc)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=kind, headers={"X-Content-Type-Options": "nosniff",
                                                            "Cache-Control": "no-cache"})

    return view
