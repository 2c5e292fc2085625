"""The page's extras on the tiny real checkpoint: ``?job=`` + ``GET /v1/progress/{job}`` (the server's stages, live
and at the end), ``timeline`` (per-segment predictions of a real clip) and ``preview`` (the first sampled frame with
its face box), every refusal a 4xx with a clear message, and answers unchanged for clients that ask for none."""
import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient

from affectagent.api import AffectAgent
from affectagent.encoders import FeatureCache
from affectagent.schema import Prediction
from affectagent.service import create_app

from .held import Held

PREDICTION_KEYS = set(Prediction("x", "happy", {"happy": 1.0}, "positive").to_dict())
MEDIA_KEYS = {"filename", "kind", "duration", "size"}
# the order the feature extractor runs its stages in (a stage served by the feature cache has no place in it)
EXTRACT_ORDER = ("probe", "hash", "decode_audio", "audio", "vad", "speech_emotion", "language_id", "asr", "text",
                 "decode_video", "face", "visual")


@pytest.fixture(scope="module")
def agent(tiny_checkpoint) -> AffectAgent:
    # no feature cache: every stage runs, so the stage lists below do not depend on earlier test runs
    return AffectAgent.load(tiny_checkpoint, cache=FeatureCache(enabled=False), log=lambda m: None)


@pytest.fixture(scope="module")
def client(agent) -> TestClient:
    return TestClient(create_app(agent))


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"] and "Traceback" not in body["error"]
    return body["error"]


def _keys(progress: dict) -> list[str]:
    return [s["key"] for s in progress["stages"]]


# ---- a real clip with every extra -------------------------------------------------------------------------------
def test_clip_with_job_preview_and_timeline(client, agent, talking_clip):
    with open(talking_clip, "rb") as f:
        r = client.post("/v1/predict?job=clip-1", files={"file": ("face1.mp4", f, "video/mp4")},
                        data={"explain": "true", "preview": "true", "timeline": "true", "window": "3s", "hop": "3"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert set(d) == PREDICTION_KEYS | {"timing", "media", "trace", "timeline", "progress"}

    # progress: the service's stages, the extractor's inside predict/features, then the agents, preview, timeline
    p = d["progress"]
    assert p["job"] == "clip-1" and p["state"] == "done" and p["error"] is None and p["active"] is None
    keys = _keys(p)
    top = [k for k in keys if "/" not in k]
    assert top == ["receive", "queue", "check", "predict", "preview", "timeline"]
    inner = [k.split("/")[-1] for k in keys if k.startswith("predict/features/")]
    assert [k for k in EXTRACT_ORDER if k in inner] == inner  # in the order they ran
    assert {"probe", "decode_audio", "audio", "vad", "asr", "text", "decode_video", "face"} <= set(inner)
    assert keys.index("predict/features") < keys.index("predict/features/probe") < keys.index("predict/agents")
    assert {s["state"] for s in p["stages"]} == {"done"} and all(s["seconds"] >= 0 for s in p["stages"])
    stage = {s["key"]: s for s in p["stages"]}
    assert stage["predict/features/asr"]["depth"] == 2 and stage["predict/features/asr"]["title"].startswith("speech")
    assert stage["timeline"]["done"] == stage["timeline"]["total"] == 2
    assert client.get("/v1/progress/clip-1").json() == p  # the board keeps the finished job

    # preview: the first frame the face encoder samples (700x700 clip, t = 0.233 s) with the face box inside it
    m = d["media"]
    assert set(m) == MEDIA_KEYS | {"frame", "face_boxes"}
    fr = m["frame"]
    assert (fr["width"], fr["height"]) == (700, 700) and fr["time"] == pytest.approx(0.233, abs=0.01)
    assert fr["image"].startswith("data:image/jpeg;base64,") and fr["note"] is None
    [box] = m["face_boxes"]
    assert 0 <= box["x0"] < box["x1"] <= 700 and 0 <= box["y0"] < box["y1"] <= 700
    assert 100 < box["x1"] - box["x0"] < 500 and box["via"] in ("mesh", "detector+mesh")

    # timeline: 3 s windows every 3 s over 6.13 s = [0, 3] [3, 6.133] (the 0.13 s tail joins the last one)
    tl = d["timeline"]
    assert (tl["window"], tl["hop"], tl["kind"]) == (3.0, 3.0, "video") and tl["duration"] == pytest.approx(6.13, abs=0.02)
    assert [(row["index"], row["start"]) for row in tl["rows"]] == [(0, 0.0), (1, 3.0)]
    assert tl["rows"][-1]["end"] == pytest.approx(tl["duration"], abs=1e-3)
    labels = set(agent.default_labels)
    for row in tl["rows"]:
        assert row["error"] is None and set(row["probs"]) == labels and row["label"] == max(row["probs"],
                                                                                            key=row["probs"].get)
        assert row["face_present"] is True and isinstance(row["transcript"], str)
    assert tl["labels"] and set(tl["colours"]) == set(tl["labels"])
    assert all(c.startswith("#") and len(c) == 7 for c in tl["colours"].values())
    assert len(tl["faces"]["times"]) == len(tl["faces"]["found"]) >= 10 and any(tl["faces"]["found"])


def test_answers_are_unchanged_without_the_extras(client, ravdess_flac, still_image):
    d = client.post("/v1/predict", json={"text": "You did WHAT?"}).json()
    assert set(d) == PREDICTION_KEYS | {"timing", "media"}
    d = client.post("/v1/predict", files={"file": (still_image.name, still_image.read_bytes(), "image/jpeg")}).json()
    assert set(d) == PREDICTION_KEYS | {"timing", "media"} and set(d["media"]) == MEDIA_KEYS
    # preview of a sound: there is no frame, and the answer says nothing about one
    d = client.post("/v1/predict", files={"file": (ravdess_flac.name, ravdess_flac.read_bytes(), "audio/flac")},
                    data={"preview": "true"}).json()
    assert d["media"]["kind"] == "audio" and set(d["media"]) == MEDIA_KEYS


def test_preview_of_a_still_image(client, still_image):
    r = client.post("/v1/predict", files={"file": (still_image.name, still_image.read_bytes(), "image/jpeg")},
                    data={"preview": "true"})
    assert r.status_code == 200, r.text
    m = r.json()["media"]
    assert m["frame"]["time"] == 0.0 and m["frame"]["image"].startswith("data:image/jpeg;base64,")
    [box] = m["face_boxes"]
    assert 0 <= box["x0"] < box["x1"] <= m["frame"]["width"] and 0 <= box["y0"] < box["y1"] <= m["frame"]["height"]


# ---- /v1/progress ---------------------------------------------------------------------------------------------------
def test_text_job_stages_and_progress_errors(client):
    r = client.post("/v1/predict?job=text-1", json={"text": "I love it!"})
    assert r.status_code == 200, r.text
    keys = _keys(r.json()["progress"])  # texts are embedded in one batched call: no extractor stages inside
    assert keys == ["receive", "queue", "check", "predict", "predict/features", "predict/agents"]
    assert "unknown job 'nope'" in _error(client.get("/v1/progress/nope"), 404)
    assert "unknown job" in _error(client.get("/v1/progress/nope?wait=0.2"), 404)  # waited for it, in vain
    assert "wait" in _error(client.get("/v1/progress/nope?wait=60"), 422)
    assert "job must be 1 to 64" in _error(client.post("/v1/predict?job=bad%20id", json={"text": "hi"}), 400)
    assert "job must be 1 to 64" in _error(client.post("/v1/predict?job=", json={"text": "hi"}), 400)
    # a failed prediction: its job says why
    assert "text is empty" in _error(client.post("/v1/predict?job=text-2", json={"text": "  "}), 400)
    failed = client.get("/v1/progress/text-2").json()
    assert failed["state"] == "failed" and "text is empty" in failed["error"] and _keys(failed) == ["receive"]
    assert "/v1/progress/{job}" in client.get("/openapi.json").json()["paths"]


def test_progress_while_the_prediction_runs_and_job_conflicts(agent):
    held = Held(agent)
    app = create_app(held)

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            first_poll = asyncio.create_task(c.get("/v1/progress/live?wait=5"))  # before the request is sent
            task = asyncio.create_task(c.post("/v1/predict?job=live", json={"text": "Hold on."}))
            while not held.entered.is_set():
                await asyncio.sleep(0.01)
            during = await c.get("/v1/progress/live")
            again = await c.post("/v1/predict?job=live", json={"text": "same id"})
            held.gate.set()
            answer = await task
            return await first_poll, during, again, answer, await c.get("/v1/progress/live")

    first_poll, during, again, answer, after = asyncio.run(run())
    assert first_poll.status_code == 200 and first_poll.json()["job"] == "live"
    d = during.json()
    assert d["state"] == "running" and d["active"] == "predict" and d["error"] is None
    assert [(s["key"], s["state"]) for s in d["stages"]] == [("receive", "done"), ("queue", "done"),
                                                             ("check", "done"), ("predict", "active")]
    assert during.headers["cache-control"] == "no-store"
    assert "already running" in _error(again, 409)
    assert answer.status_code == 200 and answer.json()["progress"]["state"] == "done"
    assert after.json()["state"] == "done" and after.json()["active"] is None


# ---- timeline refusals: 4xx before any prediction runs -------------------------------------------------------------
def _clip(path, name, kind):
    return {"files": {"file": (name, path.read_bytes(), kind)}}


@pytest.mark.parametrize("case, status, needle", [
    ("json_text", 400, "timeline needs an uploaded video or audio file"),
    ("form_text", 400, "timeline needs an uploaded video or audio file"),
    ("json_window", 400, "window is a timeline option"),
    ("file_window", 400, "window and hop are timeline options"),
    ("file_text", 400, "timeline does not take text"),
    ("bad_window", 400, "window: expected seconds"),
    ("zero_window", 400, "window (--window) must be a number of seconds > 0"),
    ("hop_over_window", 400, "hop (3 s, --hop) must be <= window"),
    ("nanoemox", 400, 'timeline is for the agents'),
    ("raer", 400, "raer does not go with timeline"),
    ("bad_flag", 400, "timeline must be true or false"),
    ("still_image", 400, "is a still image; a timeline needs a video or audio file"),
    ("too_many", 400, "over the cap of 120"),
])
def test_timeline_refusals(agent, talking_clip, ravdess_flac, still_image, case, status, needle):
    watched = Held(agent)
    watched.gate.set()
    c = TestClient(create_app(watched))
    flac = _clip(ravdess_flac, "speech.flac", "audio/flac")
    kwargs = {
        "json_text": {"json": {"text": "hi", "timeline": True}},
        "form_text": {"data": {"text": "hi", "timeline": "true"}},
        "json_window": {"json": {"text": "hi", "window": 2}},
        "file_window": {**flac, "data": {"window": "2", "hop": "1"}},
        "file_text": {**flac, "data": {"timeline": "on", "text": "hi"}},
        "bad_window": {**flac, "data": {"timeline": "on", "window": "two"}},
        "zero_window": {**flac, "data": {"timeline": "on", "window": "0"}},
        "hop_over_window": {**flac, "data": {"timeline": "on", "window": "2", "hop": "3"}},
        "nanoemox": {**flac, "data": {"timeline": "on", "model": "nanoemox"}},
        "raer": {**flac, "data": {"timeline": "on", "raer": "true"}},
        "bad_flag": {**flac, "data": {"timeline": "perhaps"}},
        "still_image": {**_clip(still_image, "justin.jpg", "image/jpeg"), "data": {"timeline": "true"}},
        "too_many": {**_clip(talking_clip, "face1.mp4", "video/mp4"),
                     "data": {"timeline": "true", "window": "50ms", "hop": "50ms"}},
    }[case]
    assert needle in _error(c.post("/v1/predict", **kwargs), status)
    assert not watched.entered.is_set()  # refused before the model was asked
