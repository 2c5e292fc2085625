"""The optional API token: ``ServiceSettings.api_token`` validation (never echoed, not in the repr), reading it from a
file or ``$AFFECTAGENT_API_TOKEN``, the app on the tiny real checkpoint answering 401 (JSON error, ``WWW-Authenticate:
Bearer``) without or with a wrong token and 200 with the right one on predict and progress, the arena vote guarded
too, the open endpoints open, /health's ``auth`` flag, the bearer scheme in /openapi.json, and the token's way to
worker processes (outside the settings JSON, removed from the worker's environment once read)."""
import json

import pytest
from fastapi.testclient import TestClient

from affectagent.api import AffectAgent
from affectagent.errors import InputError
from affectagent.service import AgentSpec, ServiceSettings, create_app
from affectagent.service.auth import ENV_API_TOKEN, token_from_file, token_from_sources
from affectagent.service.server import ENV_SETTINGS, ENV_TOKEN, settings_from_environment, worker_environment

from ..arena.fabricate import make_arena_run

TOKEN = "s3cret-Token_0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


# ---- settings and sources ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, needle", [
    ("short-token", "at least 16 characters; got 11"),
    ("with a space in the middle", "visible ASCII"),
    ("tab\tseparated-token-value", "character 4 is not"),
    ("line-one-of-token\nline-two", "visible ASCII"),
    ("ünïcödé-token-value-long", "character 1 is not"),
    ("x" * 5000, "at most 4096"),
    (12345678901234567890, "must be a string"),
])
def test_a_bad_token_is_a_clear_input_error_that_does_not_quote_it(bad, needle):
    with pytest.raises(InputError, match=needle) as info:
        ServiceSettings(api_token=bad)
    assert str(bad) not in str(info.value)


def test_a_good_token_is_kept_but_never_shown():
    s = ServiceSettings(api_token=TOKEN)
    assert s.api_token == TOKEN and TOKEN not in repr(s) and TOKEN not in str(s)
    assert ServiceSettings().api_token is None


def test_token_from_file(tmp_path):
    f = tmp_path / "token"
    f.write_text(f"  {TOKEN}  \nsecond line ignored\n")
    assert token_from_file(f) == TOKEN
    with pytest.raises(InputError, match="API token file not found"):
        token_from_file(tmp_path / "missing")
    (tmp_path / "empty").write_text("\n\n")
    with pytest.raises(InputError, match="is empty"):
        token_from_file(tmp_path / "empty")
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(InputError, match="at least 16"):
        token_from_file(tmp_path / "short")
    with pytest.raises(InputError, match="is a folder"):
        token_from_file(tmp_path)


def test_token_from_sources(tmp_path):
    f = tmp_path / "token"
    f.write_text(TOKEN + "\n")
    assert token_from_sources(token_file=None, environ={}) is None
    assert token_from_sources(token_file=f, environ={}) == TOKEN
    assert token_from_sources(token_file=None, environ={ENV_API_TOKEN: TOKEN + "\n"}) == TOKEN
    with pytest.raises(InputError, match="given twice"):
        token_from_sources(token_file=f, environ={ENV_API_TOKEN: TOKEN})
    with pytest.raises(InputError, match="set but empty"):
        token_from_sources(token_file=None, environ={ENV_API_TOKEN: " "})
    with pytest.raises(InputError, match="at least 16"):
        token_from_sources(token_file=None, environ={ENV_API_TOKEN: "short"})


def test_the_token_reaches_workers_outside_the_settings_json():
    settings = ServiceSettings(api_token=TOKEN, max_pending=3)
    env = worker_environment(AgentSpec(checkpoint="x.pt"), settings)
    assert env[ENV_TOKEN] == TOKEN and TOKEN not in env[ENV_SETTINGS]
    assert "api_token" not in json.loads(env[ENV_SETTINGS])
    worker_env = dict(env)
    back = settings_from_environment(worker_env)
    assert back == settings and back.api_token == TOKEN
    assert ENV_TOKEN not in worker_env  # gone from the worker's environment once read
    plain = worker_environment(AgentSpec(checkpoint="x.pt"), ServiceSettings())
    assert plain[ENV_TOKEN] is None  # serve() removes the variable: no stale token from an earlier call
    assert settings_from_environment({k: v for k, v in plain.items() if v is not None}).api_token is None


# ---- the app -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def agent(tiny_checkpoint) -> AffectAgent:
    return AffectAgent.load(tiny_checkpoint, log=lambda m: None)


@pytest.fixture(scope="module")
def guarded(agent) -> TestClient:
    return TestClient(create_app(agent, api_token=TOKEN))


def _unauthorized(r, needle: str) -> None:
    assert r.status_code == 401, r.text
    assert set(r.json()) == {"error"} and needle in r.json()["error"] and TOKEN not in r.text
    assert r.headers["www-authenticate"] == "Bearer"


def test_predict_needs_the_token(guarded):
    body = {"text": "I love it!"}
    _unauthorized(guarded.post("/v1/predict", json=body), "needs an API token")
    _unauthorized(guarded.post("/v1/predict", json=body, headers={"Authorization": "Bearer wrong-token-0123456789"}),
                  "wrong API token")
    _unauthorized(guarded.post("/v1/predict", json=body, headers={"Authorization": TOKEN}), "must be 'Bearer")
    _unauthorized(guarded.post("/v1/predict", json=body, headers={"Authorization": f"Basic {TOKEN}"}),
                  "must be 'Bearer")
    _unauthorized(guarded.post("/v1/predict", json=body, headers={"Authorization": f"Bearer {TOKEN}x"}),
                  "wrong API token")
    ok = guarded.post("/v1/predict", json=body, headers=BEARER)
    assert ok.status_code == 200 and ok.json()["label"]
    lower = guarded.post("/v1/predict", json=body, headers={"Authorization": f"bearer {TOKEN}"})
    assert lower.status_code == 200  # the scheme name is case-insensitive (RFC 7235)


def test_an_upload_without_the_token_is_refused(guarded):
    r = guarded.post("/v1/predict", files={"file": ("clip.mp4", b"\x00" * 4096, "video/mp4")})
    _unauthorized(r, "needs an API token")


def test_progress_needs_the_token(guarded):
    _unauthorized(guarded.get("/v1/progress/job-1"), "needs an API token")
    _unauthorized(guarded.get("/v1/progress/job-1", headers={"Authorization": "Bearer nope-nope-nope-nope"}),
                  "wrong API token")
    r = guarded.get("/v1/progress/job-1", headers=BEARER)
    assert r.status_code == 404 and "unknown job" in r.json()["error"]  # past the check: the job is just unknown
    watched = guarded.post("/v1/predict?job=job-2", json={"text": "Hello"}, headers=BEARER)
    assert watched.status_code == 200
    assert guarded.get("/v1/progress/job-2", headers=BEARER).json()["state"] == "done"


def test_open_endpoints_stay_open_and_health_says_auth_is_on(guarded):
    for path in ("/", "/health", "/v1/labels", "/openapi.json", "/metrics", "/arena", "/v1/arena"):
        assert guarded.get(path).status_code == 200, path
    assert guarded.get("/health").json()["auth"] is True
    metrics = guarded.get("/metrics").text
    assert 'affectagent_requests_total{method="POST",route="/v1/predict",status="401"}' in metrics


def test_without_a_token_nothing_is_guarded(agent):
    c = TestClient(create_app(agent))
    assert c.get("/health").json()["auth"] is False
    assert c.post("/v1/predict", json={"text": "Fine."}).status_code == 200
    anything = c.post("/v1/predict", json={"text": "Fine."}, headers={"Authorization": "Bearer anything"})
    assert anything.status_code == 200
    assert "securitySchemes" not in c.get("/openapi.json").json().get("components", {})


def test_openapi_shows_the_bearer_scheme_on_the_guarded_routes(guarded):
    doc = guarded.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["apiToken"] == {
        "type": "http", "scheme": "bearer",
        "description": "the server's API token (affectagent serve --api-token-file)"}
    paths = doc["paths"]
    assert paths["/v1/predict"]["post"]["security"] == [{"apiToken": []}]
    assert paths["/v1/progress/{job}"]["get"]["security"] == [{"apiToken": []}]
    assert "401" in paths["/v1/predict"]["post"]["responses"]
    assert "security" not in paths["/v1/labels"]["get"] and "security" not in paths["/health"]["get"]


def test_the_arena_vote_needs_the_token(agent, tmp_path):
    run = make_arena_run(tmp_path / "run", rounds=1, audio=False)
    c = TestClient(create_app(agent, api_token=TOKEN, arena_run=run, arena_votes=tmp_path / "votes.sqlite"))
    c.cookies.set("affectagent_voter", "v0123456789abcdef")
    nxt = c.get("/v1/arena/next")  # reading the matches stays open
    assert nxt.status_code == 200 and not nxt.json()["done"]
    vote = {"match": nxt.json()["match"], "verdict": "A"}
    _unauthorized(c.post("/v1/arena/votes", json=vote), "needs an API token")
    _unauthorized(c.post("/v1/arena/votes", json=vote, headers={"Authorization": "Bearer wrong-wrong-wrong-wrong"}),
                  "wrong API token")
    r = c.post("/v1/arena/votes", json=vote, headers=BEARER)
    assert r.status_code == 201 and r.json()["vote"]["verdict"] == "A"
