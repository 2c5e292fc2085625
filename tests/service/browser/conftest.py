"""Browser tests: the real app served by uvicorn on 127.0.0.1 (a free port, in a thread), driven by Playwright in
Debian's chromium (``executable_path``; Playwright never downloads a browser here). Without chromium or Playwright the
tests fail, never skip: ``scripts/system-deps.sh`` installs chromium, requirements.txt pins Playwright.

Screenshots go to ``$AFFECTAGENT_SCREENSHOTS`` when it is set (``AFFECTAGENT_SCREENSHOTS=docs`` refreshes the ones
in docs/), else to the test's temporary folder, so a test run leaves the work tree alone.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from affectagent.api import AffectAgent
from affectagent.encoders import FeatureCache
from affectagent.service import ServiceSettings, create_app

from ...arena.fabricate import make_arena_run

CHROMIUM = Path("/usr/bin/chromium")
# --disable-background-networking & co.: without them chromium keeps trying to reach its services, which is slow on
# a closed network
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
INSTALL = "apt-get install chromium (scripts/system-deps.sh does it as root during make install)"


class LiveServer:
    """``app`` served by uvicorn, with the service's own protocol options, on a socket bound here to a free port."""

    def __init__(self, app, settings: ServiceSettings) -> None:
        import uvicorn

        from affectagent.service.server import uvicorn_options

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.app = app
        options = uvicorn_options(settings, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(uvicorn.Config(app, lifespan="off", **options))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture(scope="module")
def chromium_browser():
    """Debian's chromium under Playwright (headless). Module scope, not session: while Playwright's sync API is
    running, its event loop counts as the running loop of the main thread, and later tests' ``asyncio.run`` fail."""
    if not CHROMIUM.is_file():
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: {INSTALL}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"the browser tests need Playwright (requirements.txt; make install): {exc}", pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def browser_agent(tiny_checkpoint) -> AffectAgent:
    # no feature cache, as `affectagent serve` by default: every request runs (and reports) every encoder stage
    return AffectAgent.load(tiny_checkpoint, cache=FeatureCache(enabled=False), log=lambda m: None)


@pytest.fixture(scope="session")
def arena_run(tmp_path_factory) -> Path:
    return make_arena_run(tmp_path_factory.mktemp("browser_arena") / "run", rounds=3)


@pytest.fixture(scope="session")
def live_server(browser_agent, arena_run, tmp_path_factory):
    """The app on the tiny checkpoint with the small arena run; votes in a temporary SQLite file."""
    votes = tmp_path_factory.mktemp("browser_votes") / "votes.sqlite"
    settings = ServiceSettings(arena_run=arena_run, arena_votes=votes)
    with LiveServer(create_app(browser_agent, settings=settings), settings) as server:
        server.votes = votes
        yield server


@pytest.fixture()
def page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(f"{msg.text} ({msg.location.get('url')})") if msg.type == "error"
          else None)
    pg.js_errors = errors
    yield pg
    context.close()


@pytest.fixture()
def screenshots(tmp_path) -> Path:
    """Where the screenshots go (see the module docstring)."""
    where = os.environ.get("AFFECTAGENT_SCREENSHOTS")
    out = Path(where) if where else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


def overflow(page) -> dict:
    """Horizontal overflow of the document: scrollWidth vs innerWidth, and the widest offending elements."""
    return page.evaluate("""() => {
        const w = window.innerWidth, doc = document.documentElement;
        const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)
            .slice(0, 5).map((e) => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' +
                                   Math.round(e.getBoundingClientRect().right));
        return {scrollWidth: doc.scrollWidth, bodyScrollWidth: document.body.scrollWidth, innerWidth: w, wide};
    }""")


def assert_no_horizontal_overflow(page) -> None:
    o = overflow(page)
    assert o["scrollWidth"] <= o["innerWidth"] and o["bodyScrollWidth"] <= o["innerWidth"] and not o["wide"], o
