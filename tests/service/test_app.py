"""The web app on the tiny real checkpoint: page, /health, /v1/labels, text and media predictions, every 4xx,
temp-file cleanup, the model lock and a responsive event loop while a prediction runs."""
import asyncio
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from affectagent.api import AffectAgent
from affectagent.schema import CANONICAL_EMOTIONS, Prediction
from affectagent.service import AgentSpec, create_app

PREDICTION_KEYS = set(Prediction("x", "happy", {"happy": 1.0}, "positive").to_dict())


@pytest.fixture(scope="module")
def agent(tiny_checkpoint) -> AffectAgent:
    return AffectAgent.load(tiny_checkpoint, log=lambda m: None)


@pytest.fixture(scope="module")
def client(agent) -> TestClient:
    return TestClient(create_app(agent))


class Watched:
    """The real agent with a hook around ``predict``: counts overlapping calls, records the media paths it was
    given (and whether they existed), can hold a call until released, or fail on purpose."""

    def __init__(self, agent: AffectAgent, *, fail: Exception | None = None) -> None:
        self.agent, self.fail = agent, fail
        self.active = self.max_active = 0
        self.seen: list[tuple[Path, bool]] = []
        self.entered = threading.Event()
        self.gate: threading.Event | None = None

    def __getattr__(self, name):
        return getattr(self.agent, name)

    def predict(self, samples, **kw):
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.entered.set()
        try:
            for s in samples:
                media = s.video or s.audio
                if media is not None:
                    self.seen.append((media, media.is_file()))
            if self.gate is not None and not self.gate.wait(timeout=60):
                raise RuntimeError("the test never released the held prediction")
            if self.fail is not None:
                raise self.fail
            return self.agent.predict(samples, **kw)
        finally:
            self.active -= 1


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"] and "Traceback" not in body["error"]
    return body["error"]


# ---- page, health, labels ---------------------------------------------------------------------------------------
def test_page_is_self_contained(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for marker in ('id="file"', 'id="text"', 'id="context"', 'id="speaker"', 'id="labels"', 'id="explain"',
                   'id="timeline"', 'id="window"', 'id="hop"', '"v1/predict?job="', "`v1/progress/", '"v1/labels"',
                   '"health"'):
        assert marker in page
    assert "http://" not in page and "https://" not in page and "<link" not in page and " src=" not in page
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp


def test_health_describes_the_loaded_model(tiny_checkpoint):
    c = TestClient(create_app(AgentSpec(checkpoint=str(tiny_checkpoint)), max_upload_mb=50))
    h = c.get("/health").json()
    assert h["status"] == "ok" and h["checkpoint"] == tiny_checkpoint.name  # names only, never server paths
    assert h["kb"] == "kb" and h["encoders"]["text"] == "e5" and str(tiny_checkpoint.parent) not in str(h)
    assert h["variant"] == "full" and h["max_upload_mb"] == 50 and h["pending"] == 0 and h["served"] == 0
    assert c.post("/v1/predict", json={"text": "Hi!"}).status_code == 200
    assert c.get("/health").json()["served"] == 1


def test_labels(client, agent):
    d = client.get("/v1/labels").json()
    assert d["canonical"] == list(CANONICAL_EMOTIONS) and d["default"] == list(agent.default_labels)
    assert d["sentiments"] == ["negative", "neutral", "positive"]


# ---- predictions ------------------------------------------------------------------------------------------------
def test_json_text_with_context_matches_the_library(client, agent):
    body = {"text": "You did WHAT?", "speaker": "Ross",
            "context": [{"speaker": "Rachel", "text": "I sold the car."}, {"speaker": "Ross", "text": "Which car?"}]}
    r = client.post("/v1/predict", json=body)
    assert r.status_code == 200, r.text
    d = r.json()
    assert set(d) == PREDICTION_KEYS | {"timing", "media"} and d["media"] is None and "trace" not in d
    assert set(d["probs"]) == set(agent.default_labels) and abs(sum(d["probs"].values()) - 1) < 1e-4
    assert d["id"] == "text" and d["label"] == max(d["probs"], key=d["probs"].get)
    assert d["timing"]["seconds"] >= d["timing"]["model_seconds"] >= 0
    [ref] = agent.predict_texts([body["text"]], contexts=[[("Rachel", "I sold the car."), ("Ross", "Which car?")]],
                                speakers=["Ross"])
    assert d["label"] == ref.label
    assert d["probs"] == pytest.approx(ref.probs, abs=1e-5)
    # the same request as form fields (context typed as lines) gives the same answer
    form = client.post("/v1/predict", data={"text": "You did WHAT?", "speaker": "Ross",
                                            "context": "Rachel: I sold the car.\nRoss: Which car?\n"})
    assert form.status_code == 200 and form.json()["probs"] == pytest.approx(d["probs"], abs=1e-5)


def test_explain_returns_the_agents_trace(client):
    d = client.post("/v1/predict", json={"text": "Oh my God, this is the best day of my life!",
                                         "context": "Ross: We won!", "explain": True}).json()
    tr = d["trace"]
    assert tr["planner"]["probs"] and tr["queries"]["support"] in CANONICAL_EMOTIONS
    assert tr["candidates"] and {"support", "confusion"} <= {c["kind"] for c in tr["candidates"]}
    assert all(isinstance(c["keep"], bool) and 0 <= c["keep_prob"] <= 1 for c in tr["candidates"])
    kept = {c["id"] for c in tr["candidates"] if c["keep"]}
    assert {e["id"] for e in d["evidence"]} == kept
    assert len(tr["routing_weights"]) > 1 and tr["modalities"] == ["text"]


def test_raer_request_returns_steps_and_gate(client):
    d = client.post("/v1/predict", json={"text": "I can't believe you did that!", "raer": True}).json()
    r = d["raer"]
    assert [s["kind"] for s in r["steps"]] == ["hypothesis", "evidence", "conclusion"]
    assert 0 <= r["uncertainty"] <= 1 and isinstance(r["kb_would_grow"], bool)
    assert d["rationale"].startswith("Reasoning: 1. hypothesis:") and "trace" not in d
    form = client.post("/v1/predict", data={"text": "Oh no.", "raer": "true", "explain": "true"}).json()
    assert form["trace"]["raer"]["steps"] and form["raer"] == form["trace"]["raer"]
    plain = client.post("/v1/predict", json={"text": "Oh no."}).json()
    assert "raer" not in plain
    assert client.post("/v1/predict", json={"text": "Oh no.", "raer": "maybe"}).status_code == 422


def test_restricted_labels(client):
    d = client.post("/v1/predict", data={"text": "I hate this.", "labels": "happy, angry"}).json()
    assert set(d["probs"]) == {"happy", "angry"}
    d = client.post("/v1/predict", json={"text": "I hate this.", "labels": ["sad", "fear", "neutral"]}).json()
    assert set(d["probs"]) == {"sad", "fear", "neutral"}


def test_video_upload(client, talking_clip):
    with open(talking_clip, "rb") as f:
        r = client.post("/v1/predict", files={"file": ("face1.mp4", f, "video/mp4")}, data={"explain": "on"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["id"] == "face1.mp4" and d["media"]["kind"] == "video" and d["media"]["filename"] == "face1.mp4"
    assert 5.5 < d["media"]["duration"] < 6.5 and d["media"]["size"] == talking_clip.stat().st_size
    assert set(d["trace"]["modalities"]) == {"text", "audio", "visual"}  # transcript, voice, face


def test_still_image_upload(client, still_image):
    r = client.post("/v1/predict", files={"file": (still_image.name, still_image.read_bytes(), "image/jpeg")},
                    data={"explain": "true"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["media"]["kind"] == "image" and d["media"]["duration"] is None and d["id"] == "justin.jpg"
    assert d["trace"]["modalities"] == ["visual"] and "face in 1 frame" in d["rationale"]


def test_video_without_sound(client, silent_video):
    r = client.post("/v1/predict", files={"file": ("silent.mp4", silent_video.read_bytes(), "video/mp4")},
                    data={"explain": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["media"]["kind"] == "video" and r.json()["trace"]["modalities"] == ["visual"]


def test_audio_upload_matches_the_library(client, agent, ravdess_flac):
    r = client.post("/v1/predict", files={"file": (ravdess_flac.name, ravdess_flac.read_bytes(), "audio/flac")},
                    data={"labels": "neutral,happy,sad,angry"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["media"]["kind"] == "audio" and d["id"] == ravdess_flac.name
    [ref] = agent.predict_paths([ravdess_flac], label_set=["neutral", "happy", "sad", "angry"])
    assert d["probs"] == pytest.approx(ref.probs, abs=1e-5) and d["rationale"] == ref.rationale


# ---- bad input: 4xx with {"error"} ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, status, needle", [
    ({"json": {}}, 400, "empty request"),
    ({}, 400, "empty request"),
    ({"data": {"text": "  ", "speaker": ""}}, 400, "empty request"),
    ({"json": {"text": "   "}}, 400, "text is empty"),
    ({"json": {"text": "hi", "labels": ["happy", "joyish"]}}, 400, "joyish"),
    ({"data": {"text": "hi", "labels": "happy,joyish"}}, 400, "joyish"),
    ({"data": {"text": "hi", "explain": "maybe"}}, 400, "explain must be true or false"),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "malformed JSON"),
    ({"json": ["hi"]}, 422, "must be an object"),
    ({"json": {"text": 3}}, 422, "'text'"),
    ({"json": {"txt": "hi"}}, 422, "unknown field 'txt'"),
    ({"data": {"text": "hi", "label": "happy"}}, 422, "unknown form field"),
    ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "text/plain"),
    ({"content": b"\x00\x01", "headers": {"content-type": "application/octet-stream"}}, 415, "octet-stream"),
])
def test_bad_requests(client, kwargs, status, needle):
    assert needle in _error(client.post("/v1/predict", **kwargs), status)


def test_bad_media(client, still_image, tmp_path):
    err = _error(client.post("/v1/predict", files={"file": ("broken.mp4", b"\x00garbage" * 200, "video/mp4")}), 422)
    assert "broken.mp4" in err and "corrupt" in err
    assert "corrupt" in _error(client.post(  # a still image is an input (one face frame); a broken one is not
        "/v1/predict", files={"file": ("cut.jpg", still_image.read_bytes()[:300], "image/jpeg")}), 422)
    assert "empty" in _error(client.post("/v1/predict", files={"file": ("e.wav", b"", "audio/wav")}), 422)
    notes = tmp_path / "notes.txt"
    notes.write_text("not media at all\n" * 50)
    _error(client.post("/v1/predict", files={"file": ("notes.txt", notes.read_bytes(), "text/plain")}), 422)
    two = [("file", ("a.wav", b"1", "audio/wav")), ("file", ("b.wav", b"2", "audio/wav"))]
    assert "Too many files" in _error(client.post("/v1/predict", files=two), 400)


def test_too_large_is_413_with_or_without_content_length(agent, talking_clip, tmp_path):
    data = talking_clip.read_bytes()  # 0.63 MiB
    # small text limits: the whole-body budget is then 0.25 MiB + 65 KiB, under the clip
    tight = TestClient(create_app(agent, max_upload_mb=0.25, max_text_chars=100, max_context_turns=1,
                                  max_json_kb=1, upload_dir=tmp_path))
    err = _error(tight.post("/v1/predict", files={"file": ("face1.mp4", data, "video/mp4")}), 413)
    assert err.startswith("the upload is 0.6 MiB, over the 0.25 MiB limit")  # refused from Content-Length
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="face1.mp4"\r\n'
            f"Content-Type: video/mp4\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()

    def chunked():  # no Content-Length: the byte budget is counted while the body streams in
        for i in range(0, len(body), 64 * 1024):
            yield body[i:i + 64 * 1024]

    r = tight.post("/v1/predict", content=chunked(),
                   headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in r.request.headers
    assert _error(r, 413) == "the upload is over the 0.25 MiB limit"
    assert "1 KiB limit" in _error(tight.post("/v1/predict", json={"text": "x" * 2000}), 413)
    # default text limits leave room for the fields in the body: the file part itself is counted exactly
    roomy = TestClient(create_app(agent, max_upload_mb=0.25, upload_dir=tmp_path))
    err = _error(roomy.post("/v1/predict", files={"file": ("face1.mp4", data, "video/mp4")}), 413)
    assert err == "the uploaded file is over the 0.25 MiB limit"
    assert list(tmp_path.iterdir()) == []


def test_too_long_media_is_413(agent, talking_clip):
    c = TestClient(create_app(agent, max_media_seconds=3))
    err = _error(c.post("/v1/predict", files={"file": ("face1.mp4", talking_clip.read_bytes(), "video/mp4")}), 413)
    assert "face1.mp4" in err and "/tmp" not in err


def test_unknown_route_and_method(client):
    assert _error(client.get("/nope"), 404) == "Not Found"
    _error(client.get("/v1/predict"), 405)


def test_unexpected_error_is_a_generic_500_and_logged(agent, caplog):
    c = TestClient(create_app(Watched(agent, fail=RuntimeError("secret internal detail"))))
    with caplog.at_level("ERROR", logger="affectagent.service"):
        err = _error(c.post("/v1/predict", json={"text": "hi"}), 500)
    assert "error id" in err and "secret" not in err
    ref = err.split("error id ")[1].split(";")[0]
    record = next(r for r in caplog.records if ref in r.getMessage())
    assert record.exc_info and "secret internal detail" in str(record.exc_info[1])


# ---- temp files, lock, responsiveness ---------------------------------------------------------------------------
def test_uploads_are_deleted_after_every_request(agent, tmp_path, ravdess_flac):
    watched = Watched(agent)
    c = TestClient(create_app(watched, upload_dir=tmp_path))
    ok = c.post("/v1/predict", files={"file": ("speech.flac", ravdess_flac.read_bytes(), "audio/flac")})
    assert ok.status_code == 200
    [(path, existed)] = watched.seen
    assert existed and path.name == "speech.flac" and path.parent.parent == tmp_path  # in its own request folder
    assert not path.exists() and list(tmp_path.iterdir()) == []
    _error(c.post("/v1/predict", files={"file": ("bad.mp4", b"\x00" * 5000, "video/mp4")}), 422)
    _error(c.post("/v1/predict", files={"file": ("x.flac", ravdess_flac.read_bytes(), "audio/flac")},
                  data={"labels": "nope,sad"}), 400)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("keep", [False, True])
def test_request_features_stay_off_disk_unless_asked(tiny_checkpoint, tmp_path, monkeypatch, keep):
    monkeypatch.setenv("AFFECTAGENT_FEATURE_CACHE", str(tmp_path / "features"))
    c = TestClient(create_app(AgentSpec(checkpoint=str(tiny_checkpoint), feature_cache=keep)))
    assert c.post("/v1/predict", json={"text": "A sentence nobody has sent before: 7d1f."}).status_code == 200
    written = [p for p in (tmp_path / "features").rglob("*") if p.is_file()]
    assert bool(written) == keep


def test_concurrent_requests_are_serialised(agent):
    watched = Watched(agent)
    app = create_app(watched)
    texts = ["I love it!", "This is awful.", "Whatever.", "Wait, what?"]

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            return await asyncio.gather(*(c.post("/v1/predict", json={"text": t}) for t in texts))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 4
    assert watched.max_active == 1
    for t, r in zip(texts, responses):
        [ref] = agent.predict_texts([t])
        assert r.json()["label"] == ref.label


def test_event_loop_answers_while_the_model_works_and_queue_is_bounded(agent):
    watched = Watched(agent)
    watched.gate = threading.Event()
    app = create_app(watched, max_pending=1)

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            held = asyncio.create_task(c.post("/v1/predict", json={"text": "Hold on."}))
            while not watched.entered.is_set():
                await asyncio.sleep(0.01)
            health = await c.get("/health")  # answered while the prediction is in its worker thread
            page = await c.get("/")
            busy = await c.post("/v1/predict", json={"text": "me too"})
            watched.gate.set()
            return health, page, busy, await held

    health, page, busy, held = asyncio.run(run())
    assert health.status_code == 200 and health.json()["pending"] == 1 and page.status_code == 200
    assert "busy" in _error(busy, 503) and busy.headers["retry-after"]
    assert held.status_code == 200
