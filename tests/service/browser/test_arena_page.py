"""The arena's human voting page (/arena) in Debian's chromium over a small real arena run: the stimulus (a WAV in an
<audio> player that loads), the task and two anonymous answers; a vote by click and one by keyboard shortcut, each
round-tripping into the SQLite store with what was shown; the revealed names; the leaderboard and its Elo curves
updating; 409 on a second vote; no horizontal overflow at 1280 and 400 px; a screenshot. Without a configured run the
page says so."""
from __future__ import annotations

import json
import sqlite3

from affectagent.arena.elo import update
from affectagent.arena.runner import MATCHES_FILE
from affectagent.service import ServiceSettings, create_app

from .conftest import LiveServer, assert_no_horizontal_overflow


def _matches(run_dir):
    return [json.loads(line) for line in (run_dir / MATCHES_FILE).read_text().splitlines() if line.strip()]


def _voter(page) -> str:
    [cookie] = [c for c in page.context.cookies() if c["name"] == "affectagent_voter"]
    return cookie["value"]


def _rows(db, voter):
    return sqlite3.connect(db).execute("SELECT match, shown_a, shown_b, shown, verdict FROM votes WHERE voter = ? "
                                       "ORDER BY id", (voter,)).fetchall()


def _board_elo(page) -> dict[str, float]:
    return {r.get_attribute("data-contestant"): float(r.locator("td.elo").inner_text())
            for r in page.locator("#leaderboard tbody tr").all()}


def test_vote_round_trips_into_the_store_and_the_leaderboard(page, live_server, arena_run, screenshots):
    audio = next(r for r in _matches(arena_run) if r["modality"] == "audio")
    mid = f"r{audio['round']}-m{audio['index']}"
    page.goto(f"{live_server.url}/arena?match={mid}")
    page.wait_for_selector("#answer-A")
    assert page.get_attribute("#match", "data-match") == mid
    # the WAV stimulus plays in the browser: its metadata loads from the server
    duration = page.evaluate("""() => new Promise((done, fail) => {
        const a = document.getElementById('stimulus-media');
        if (a.readyState >= 1) done(a.duration);
        a.addEventListener('loadedmetadata', () => done(a.duration));
        a.addEventListener('error', () => fail(new Error('audio failed to load')));
        setTimeout(() => fail(new Error('no metadata in 20 s')), 20000);
    })""")
    assert duration > 0.5
    assert page.locator("audio#stimulus-media").count() == 1
    assert page.inner_text("#task").startswith("Task: ")
    texts = {page.inner_text("#answer-A .text"), page.inner_text("#answer-B .text")}
    assert texts == {audio["answers"]["a"]["text"], audio["answers"]["b"]["text"]}
    for name in (audio["a"], audio["b"]):  # anonymous before the vote
        assert name not in page.inner_text("#match")
    page.wait_for_selector("#leaderboard")
    assert "0 votes" in page.inner_text("#board-votes")
    assert set(_board_elo(page).values()) == {1000.0}

    # vote by clicking "A is better"
    page.click("#vote-A")
    page.wait_for_selector("#voted")
    voter = _voter(page)
    [(match, shown_a, shown_b, shown, verdict)] = _rows(live_server.votes, voter)
    assert (match, verdict) == (mid, "A") and {shown_a, shown_b} == {audio["a"], audio["b"]}
    assert shown == ("ab" if shown_a == audio["a"] else "ba")
    assert page.inner_text("#answer-A .who") == f"was {shown_a}"
    assert page.inner_text("#answer-B .who") == f"was {shown_b}"
    assert page.locator("#answer-A.won").count() == 1
    page.wait_for_function("() => document.getElementById('board-votes').textContent.includes('1 vote')")
    won, lost = update(1000.0, 1000.0, 1.0)
    elo = _board_elo(page)
    assert elo[shown_a] == round(won) and elo[shown_b] == round(lost)
    assert page.locator("#leaderboard tbody tr").first.get_attribute("data-contestant") == shown_a
    curve = page.locator(f"svg.chart polyline[data-contestant='{shown_a}']").first.get_attribute("points")
    assert len(curve.split()) == 2  # start + one vote

    # a second vote on the same match is refused by the server (409), the store unchanged
    status = page.evaluate("""async (mid) => (await fetch('v1/arena/votes', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({match: mid, verdict: 'B'})})).status""", mid)
    assert status == 409 and len(_rows(live_server.votes, voter)) == 1

    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(screenshots / "arena_page.png"), full_page=True)

    # next match by keyboard ("n"), then a verdict by shortcut ("3" = tie)
    page.keyboard.press("n")
    page.wait_for_function(f"() => document.getElementById('match').dataset.match !== '{mid}' && "
                           "document.getElementById('answer-A')")
    second = page.get_attribute("#match", "data-match")
    page.keyboard.press("3")
    page.wait_for_selector("#voted")
    rows = _rows(live_server.votes, voter)
    assert [(r[0], r[4]) for r in rows] == [(mid, "A"), (second, "tie")]
    page.wait_for_function("() => document.getElementById('board-votes').textContent.includes('2 votes')")

    page.set_viewport_size({"width": 400, "height": 900})
    page.wait_for_timeout(100)
    assert_no_horizontal_overflow(page)
    assert page.js_errors == [] or all("409" in e for e in page.js_errors), page.js_errors


def test_page_without_an_arena_run(page, browser_agent):
    settings = ServiceSettings()
    with LiveServer(create_app(browser_agent, settings=settings), settings) as server:
        page.goto(server.url + "/arena")
        page.wait_for_selector("#notice")
        assert "no arena run is configured" in page.inner_text("#notice")
        assert "--arena-run" in page.inner_text("#notice")
