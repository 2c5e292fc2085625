"""The arena's human-judge API on a small real arena run (``tests/arena/fabricate.py``): matches shown anonymously in
a per-voter order, a vote stored with what was shown, 409 on a second vote, votes surviving an app restart, the
human Elo leaderboard, the WAV stimulus served, and /arena without a configured run. The arena routes never call the
model, so the app is built around a stand-in agent."""
import json
import sqlite3

import pytest
from fastapi.testclient import TestClient

from affectagent.arena.elo import update
from affectagent.arena.runner import MATCHES_FILE
from affectagent.arena.votes import shown_order
from affectagent.errors import InputError
from affectagent.service import ServiceSettings, create_app
from affectagent.service.arena_routes import VOTER_COOKIE

from ..arena.fabricate import CONTESTANTS, make_arena_run


class NoModel:
    """What create_app needs of an agent; predicting is not part of these tests."""

    default_labels = ("happy", "sad")

    def describe(self):
        return {"checkpoint": None, "encoders": {}, "kb": None}

    def predict(self, samples, **kw):
        raise AssertionError("the arena routes must not call the model")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_arena_run(tmp_path_factory.mktemp("arena") / "run", rounds=3)


def _app(run_dir, **kw):
    return create_app(NoModel(), settings=ServiceSettings(arena_run=run_dir, **kw))


def _matches(run_dir):
    return [json.loads(line) for line in (run_dir / MATCHES_FILE).read_text().splitlines() if line.strip()]


def _client(app, voter=None):
    c = TestClient(app)
    if voter:
        c.cookies.set(VOTER_COOKIE, voter)
    return c


def test_page_sets_a_voter_cookie_and_is_self_contained(run_dir, tmp_path):
    c = TestClient(_app(run_dir, arena_votes=tmp_path / "v.sqlite"))
    r = c.get("/arena")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    voter = r.cookies.get(VOTER_COOKIE)
    assert voter and voter.startswith("v")
    assert "media-src 'self'" in r.headers["content-security-policy"]
    page = r.text
    assert '"v1/arena/next"' in page and '"v1/arena/votes"' in page and "<link" not in page
    assert "https://" not in page and c.get("/arena").cookies.get(VOTER_COOKIE) is None  # kept, not replaced
    status = c.get("/v1/arena").json()
    assert status["configured"] and status["voter"] == voter and status["contestants"] == len(CONTESTANTS)


def test_next_match_is_anonymous_and_in_the_voters_order(run_dir, tmp_path):
    c = _client(_app(run_dir, arena_votes=tmp_path / "v.sqlite"), voter="ann")
    m = c.get("/v1/arena/next").json()
    assert not m["done"] and m["matches"] == len(_matches(run_dir)) and m["your_votes"] == 0
    assert not any(name in json.dumps(m) for name in CONTESTANTS)  # anonymous until the vote
    rec = next(r for r in _matches(run_dir) if f"r{r['round']}-m{r['index']}" == m["match"])
    first, second = ("a", "b") if shown_order("ann", m["match"]) == "ab" else ("b", "a")
    assert m["answers"] == {"A": rec["answers"][first]["text"], "B": rec["answers"][second]["text"]}
    assert m["task"]["prompt"].startswith("Task: ") and m["stimulus"]["id"] == rec["stimulus"]
    assert set(m) >= {"match", "round", "stimulus", "task", "answers"}
    assert c.get("/v1/arena/next").json()["match"] == m["match"]  # a reload shows the same match


def test_a_vote_round_trips_into_sqlite_and_the_leaderboard(run_dir, tmp_path):
    db = tmp_path / "v.sqlite"
    c = _client(_app(run_dir, arena_votes=db), voter="ann")
    m = c.get("/v1/arena/next").json()
    r = c.post("/v1/arena/votes", json={"match": m["match"], "verdict": "A"})
    assert r.status_code == 201, r.text
    body = r.json()
    rec = next(x for x in _matches(run_dir) if f"r{x['round']}-m{x['index']}" == m["match"])
    order = shown_order("ann", m["match"])
    shown_a, shown_b = (rec["a"], rec["b"]) if order == "ab" else (rec["b"], rec["a"])
    assert body["revealed"] == {"A": shown_a, "B": shown_b} and body["vote"]["winner"] == shown_a
    rows = sqlite3.connect(db).execute("SELECT match, voter, shown_a, shown_b, shown, verdict FROM votes").fetchall()
    assert rows == [(m["match"], "ann", shown_a, shown_b, order, "A")]
    board = body["leaderboard"]
    assert board["votes"] == 1 and board["voters"] == 1
    won, lost = update(1000.0, 1000.0, 1.0)
    elo = {row["contestant"]: row["elo"] for row in board["rows"]}
    assert elo[shown_a] == pytest.approx(won) and elo[shown_b] == pytest.approx(lost)
    assert board["curves"][shown_a] == pytest.approx([1000.0, won])
    assert board["rows"][0]["contestant"] == shown_a and board["ai"]["battles"] == len(_matches(run_dir))
    assert c.get("/v1/arena/leaderboard").json()["rows"] == board["rows"]
    nxt = c.get("/v1/arena/next").json()
    assert nxt["match"] != m["match"] and nxt["your_votes"] == 1


def test_second_vote_on_a_match_is_409(run_dir, tmp_path):
    c = _client(_app(run_dir, arena_votes=tmp_path / "v.sqlite"), voter="ann")
    mid = c.get("/v1/arena/next").json()["match"]
    assert c.post("/v1/arena/votes", json={"match": mid, "verdict": "tie"}).status_code == 201
    r = c.post("/v1/arena/votes", json={"match": mid, "verdict": "B"})
    assert r.status_code == 409 and set(r.json()) == {"error"} and "already voted" in r.json()["error"]
    other = _client(c.app, voter="bob")  # another voter may
    assert other.post("/v1/arena/votes", json={"match": mid, "verdict": "B"}).status_code == 201
    assert c.get("/v1/arena/leaderboard").json()["votes"] == 2


def test_votes_survive_a_restart(run_dir, tmp_path):
    db = tmp_path / "v.sqlite"
    c = _client(_app(run_dir, arena_votes=db), voter="ann")
    mid = c.get("/v1/arena/next").json()["match"]
    assert c.post("/v1/arena/votes", json={"match": mid, "verdict": "both-bad"}).status_code == 201
    c.app.state.arena.close()
    again = _client(_app(run_dir, arena_votes=db), voter="ann")   # a new app on the same files: a restart
    assert again.get("/v1/arena/leaderboard").json()["votes"] == 1
    assert again.post("/v1/arena/votes", json={"match": mid, "verdict": "A"}).status_code == 409
    assert again.get("/v1/arena/next").json()["match"] != mid


def test_default_vote_file_is_in_the_run_folder(tmp_path):
    run = make_arena_run(tmp_path / "run", rounds=1, audio=False)
    c = _client(_app(run), voter="ann")
    mid = c.get("/v1/arena/next").json()["match"]
    assert c.post("/v1/arena/votes", json={"match": mid, "verdict": "B"}).status_code == 201
    assert (run / "votes.sqlite").is_file()


def test_bad_votes(run_dir, tmp_path):
    c = _client(_app(run_dir, arena_votes=tmp_path / "v.sqlite"), voter="ann")
    mid = c.get("/v1/arena/next").json()["match"]
    for body, status in (({"match": mid, "verdict": "C"}, 400), ({"match": "r99-m0", "verdict": "A"}, 404),
                         ({"match": mid}, 400), ({"match": mid, "verdict": "A", "extra": 1}, 400),
                         ([1, 2], 400)):
        r = c.post("/v1/arena/votes", json=body)
        assert r.status_code == status, (body, r.text)
        assert set(r.json()) == {"error"}
    r = c.post("/v1/arena/votes", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    anonymous = TestClient(c.app)  # no cookie, no voter
    r = anonymous.post("/v1/arena/votes", json={"match": mid, "verdict": "A"})
    assert r.status_code == 400 and "voter" in r.json()["error"]
    r = anonymous.post("/v1/arena/votes", json={"match": mid, "verdict": "A", "voter": "script-1"})
    assert r.status_code == 201  # an API client may name itself
    assert anonymous.get("/v1/arena/next", params={"voter": "bad voter!"}).status_code == 400
    assert c.get("/v1/arena/leaderboard").json()["votes"] == 1


def test_wav_stimulus_is_served(run_dir, tmp_path):
    c = _client(_app(run_dir, arena_votes=tmp_path / "v.sqlite"), voter="ann")
    audio = [r for r in _matches(run_dir) if r["modality"] == "audio"]
    assert audio, "the fabricated run should draw the speech stimulus at least once"
    mid = f"r{audio[0]['round']}-m{audio[0]['index']}"
    m = c.get(f"/v1/arena/matches/{mid}").json()
    assert m["stimulus"]["media_kind"] == "audio" and m["stimulus"]["media"] == "v1/arena/stimuli/speech-0/media"
    r = c.get("/" + m["stimulus"]["media"])
    assert r.status_code == 200 and r.content[:4] == b"RIFF" and r.headers["content-type"] in ("audio/x-wav",
                                                                                                "audio/wav")
    part = c.get("/" + m["stimulus"]["media"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert c.get("/v1/arena/stimuli/nope/media").status_code == 404
    assert c.get("/v1/arena/stimuli/text-0/media").status_code == 404


def test_new_matches_appear_while_serving(tmp_path):
    run = make_arena_run(tmp_path / "run", rounds=1, audio=False)
    c = _client(_app(run), voter="ann")
    before = c.get("/v1/arena").json()["matches"]
    make_arena_run(run, rounds=2, audio=False)   # `arena run` resumed with more rounds beside the server
    with (run / MATCHES_FILE).open("a") as fh:
        fh.write('{"round": 3, "index": 0, "a": "alpha"')  # a write in progress: left alone, not truncated
    assert c.get("/v1/arena").json()["matches"] == before * 2
    assert (run / MATCHES_FILE).read_text().endswith('"a": "alpha"')


def test_without_an_arena_run(tmp_path):
    c = TestClient(create_app(NoModel()))
    page = c.get("/arena")
    assert page.status_code == 200
    s = c.get("/v1/arena").json()
    assert s["configured"] is False and "no arena run is configured" in s["error"]
    for url in ("/v1/arena/next?voter=ann", "/v1/arena/leaderboard", "/v1/arena/matches/r1-m0?voter=ann"):
        r = c.get(url)
        assert r.status_code == 404 and "--arena-run" in r.json()["error"]
    assert c.post("/v1/arena/votes", json={"match": "r1-m0", "verdict": "A", "voter": "ann"}).status_code == 404


def test_settings_check_the_run_folder(tmp_path):
    with pytest.raises(InputError, match="not a run"):
        ServiceSettings(arena_run=tmp_path)
    with pytest.raises(InputError, match="needs arena_run"):
        ServiceSettings(arena_votes=tmp_path / "v.sqlite")


def test_serve_flags_reach_the_settings(run_dir, tmp_path, capsys, monkeypatch):
    from affectagent.cli import build_parser, main
    from affectagent.service import server

    args = build_parser().parse_args(["serve", "--arena-run", str(run_dir), "--arena-votes", str(tmp_path / "v.db")])
    assert (args.arena_run, args.arena_votes) == (str(run_dir), str(tmp_path / "v.db"))
    seen = {}
    monkeypatch.setattr(server, "serve", lambda spec, settings, **kw: seen.update(settings=settings))
    assert main(["serve", "--arena-run", str(run_dir), "--arena-votes", str(tmp_path / "v.db")]) == 0
    settings = seen["settings"]
    assert settings.arena_run == run_dir and settings.arena_votes == tmp_path / "v.db"
    assert server._settings_from_json(server._settings_to_json(settings)) == settings  # --workers > 1 passes them on
    assert main(["serve", "--arena-run", str(tmp_path)]) == 2
    assert "not a run" in capsys.readouterr().err
