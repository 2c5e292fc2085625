"""Both pages against a server with an API token, in Debian's chromium: the prediction page shows a password-type
"API token" field only when /health says auth is on, a prediction without the token (or with a wrong one) shows the
server's 401 message in the red error box, with the token the result appears; the token is sent as a bearer header
and kept in memory only (nothing in localStorage, sessionStorage or cookies). The arena page's vote needs the token
the same way. A server without a token shows no field."""
from __future__ import annotations

from affectagent.service import ServiceSettings, create_app

from .conftest import LiveServer

TOKEN = "browser-token-0123456789abcdef"
TEXT = "I can't believe you did that!"


def _stored(page) -> dict:
    return page.evaluate("() => ({local: {...localStorage}, session: {...sessionStorage}, cookie: document.cookie})")


def _predict(page) -> None:
    page.fill("#text", TEXT)
    page.click("#submit")
    page.wait_for_selector("#result .error, #result-label")


def test_prediction_page_asks_for_the_token_and_shows_the_401(page, browser_agent):
    settings = ServiceSettings(api_token=TOKEN)
    with LiveServer(create_app(browser_agent, settings=settings), settings) as server:
        sent: list[str | None] = []
        page.on("request", lambda req: sent.append(req.headers.get("authorization"))
                if "v1/predict" in req.url or "v1/progress" in req.url else None)
        page.goto(server.url + "/")
        page.wait_for_selector("#token-row:not([hidden])")
        assert page.get_attribute("#token", "type") == "password"
        assert "API token needed" in page.inner_text("#status")
        page.wait_for_selector("#labels input[type=checkbox]")

        _predict(page)  # no token: the server's message in the error box
        assert page.locator("#result .error").count() == 1
        assert "Error 401" in page.inner_text("#result .error b")
        assert "needs an API token" in page.inner_text("#result .error")

        page.fill("#token", "wrong-token-but-long-enough")
        _predict(page)
        page.wait_for_function("() => document.querySelector('#result .error')?.textContent.includes('wrong API')")

        page.fill("#token", TOKEN)
        _predict(page)
        page.wait_for_selector("#result-label")
        assert page.inner_text("#result-label").strip()
        assert f"Bearer {TOKEN}" in sent  # the predict call (and its progress polls) carried it

        page.fill("#token", "has a space in it 0123456789")  # a header cannot carry it: said on the page
        page.click("#submit")
        page.wait_for_function("() => document.querySelector('#result .error')?.textContent.includes('visible ASCII')")

        stored = _stored(page)
        assert TOKEN not in str(stored), stored
    assert page.js_errors == [] or all("401" in e for e in page.js_errors), page.js_errors


def test_without_a_token_the_field_stays_hidden(page, browser_agent):
    settings = ServiceSettings()
    with LiveServer(create_app(browser_agent, settings=settings), settings) as server:
        page.goto(server.url + "/")
        page.wait_for_selector("#labels input[type=checkbox]")
        page.wait_for_function("() => !document.getElementById('status').textContent.includes('connecting')")
        assert page.locator("#token-row").is_hidden()
        assert "API token" not in page.inner_text("#status")
    assert page.js_errors == []


def test_arena_vote_needs_the_token(page, browser_agent, arena_run, tmp_path):
    settings = ServiceSettings(api_token=TOKEN, arena_run=arena_run, arena_votes=tmp_path / "votes.sqlite")
    with LiveServer(create_app(browser_agent, settings=settings), settings) as server:
        page.goto(server.url + "/arena")
        page.wait_for_selector("#answer-A")
        page.wait_for_selector("#token-box:not([hidden])")
        assert page.get_attribute("#token", "type") == "password"
        page.click("#vote-A")
        page.wait_for_selector("#after .error")
        assert "needs an API token" in page.inner_text("#after .error")
        page.fill("#token", TOKEN)
        page.click("#vote-A")
        page.wait_for_selector("#voted")
        assert TOKEN not in str(_stored(page))
    assert page.js_errors == [] or all("401" in e for e in page.js_errors), page.js_errors
