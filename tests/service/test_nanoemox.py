"""POST /v1/predict with ``model: "nanoemox"``: the tiny saved checkpoint loads lazily once, answers the asked tasks
(JSON, form fields, an upload), the agents' requests are unchanged, bad fields are 400 and a server without a
checkpoint answers 503 with how to get one."""
import pytest
from fastapi.testclient import TestClient

import affectagent.service.nanoemox as slot_module
from affectagent.errors import DataNotFoundError
from affectagent.nanoemox.tasks import TASKS
from affectagent.schema import Prediction
from affectagent.service import ServiceSettings, create_app

PREDICTION_KEYS = set(Prediction("x", "happy", {"happy": 1.0}, "positive").to_dict())


class ScriptedAgent:
    """The agents' side of the server: answers every sample "happy"."""

    default_labels = ("happy", "sad", "neutral")

    def describe(self) -> dict:
        return {"checkpoint": "sft", "kb": None, "encoders": {}}

    def predict(self, samples, *, label_set=None, explain=False, **kw):
        return [Prediction(sample_id=s.id, label="happy", probs={"happy": 1.0}, sentiment="positive",
                           rationale="scripted") for s in samples]


@pytest.fixture
def loads(monkeypatch):
    """Counts Nano-EmoX loads (the real loader underneath)."""
    calls = []
    real = slot_module._load

    def counting(path, *, feature_cache):
        calls.append((path, feature_cache))
        return real(path, feature_cache=feature_cache)

    monkeypatch.setattr(slot_module, "_load", counting)
    return calls


@pytest.fixture
def client(tiny_nanoemox_checkpoint, loads):
    return TestClient(create_app(ScriptedAgent(), settings=ServiceSettings(
        nanoemox_checkpoint=tiny_nanoemox_checkpoint)))


def _error(r, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and "Traceback" not in body["error"] and "\n" not in body["error"]
    return body["error"]


def test_loaded_once_on_first_use_and_every_task_answered(client, loads, tiny_nanoemox_checkpoint):
    assert loads == []  # nothing loads with the app
    r = client.post("/v1/predict", json={"text": "We won the cup!", "model": "nanoemox"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert set(d) == PREDICTION_KEYS | {"timing", "media", "tasks"} and list(d["tasks"]) == list(TASKS)
    assert all(a["task"] == t and isinstance(a["fallback"], bool) for t, a in d["tasks"].items())
    assert d["evidence"] == [] and d["media"] is None and d["timing"]["model_seconds"] > 0
    r2 = client.post("/v1/predict", json={"text": "Again?", "model": "NanoEmoX", "task": ["erg", "mer"],
                                          "explain": True})
    d2 = r2.json()
    assert r2.status_code == 200 and list(d2["tasks"]) == ["mer", "erg"]
    assert d2["trace"]["agents"] == "nanoemox" and d2["trace"]["reply"] == d2["tasks"]["erg"]["reply"]
    assert loads == [(tiny_nanoemox_checkpoint, False)]  # once, and without the on-disk feature cache


def test_form_fields_and_the_agents_unchanged(client):
    r = client.post("/v1/predict", data={"text": "Thank you!", "model": "nanoemox", "task": "mir"})
    assert r.status_code == 200, r.text
    assert list(r.json()["tasks"]) == ["mir"] and r.json()["tasks"]["mir"]["task"] == "mir"
    plain = client.post("/v1/predict", json={"text": "Thank you!"}).json()
    assert set(plain) == PREDICTION_KEYS | {"timing", "media"} and plain["rationale"] == "scripted"
    assert client.post("/v1/predict", json={"text": "hi", "model": "agents"}).json()["label"] == "happy"


def test_an_upload_goes_through_the_media_streams(client, silent_video):
    with open(silent_video, "rb") as f:
        r = client.post("/v1/predict", files={"file": ("test.mp4", f, "video/mp4")},
                        data={"model": "nanoemox", "task": "mer", "explain": "true"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["media"]["kind"] == "video" and d["id"] == "test.mp4" and list(d["tasks"]) == ["mer"]
    assert d["trace"]["streams"] == ["visual", "face"]


@pytest.mark.parametrize("body, needle", [
    ({"text": "hi", "task": "mer"}, 'task is for model "nanoemox"'),
    ({"text": "hi", "model": "nanoemox", "raer": True}, "raer is for the agents"),
    ({"text": "hi", "model": "gpt-9"}, "unknown model 'gpt-9'; models: agents (default), nanoemox"),
    ({"text": "hi", "model": "nanoemox", "task": "feelings"}, "tasks: msa, mer, ov, eri, mir, erg or all"),
    ({"text": "hi", "model": "nanoemox", "task": "m" * 500}, "task is longer than 200 characters"),
])
def test_bad_fields_are_400(client, loads, body, needle):
    assert needle in _error(client.post("/v1/predict", json=body), 400)
    assert loads == []  # refused before the model is touched


def test_no_checkpoint_is_503_and_the_agents_keep_answering(monkeypatch):
    monkeypatch.delenv("AFFECTAGENT_NANOEMOX", raising=False)
    c = TestClient(create_app(ScriptedAgent()))
    err = _error(c.post("/v1/predict", json={"text": "hi", "model": "nanoemox"}), 503)
    assert err.startswith("model nanoemox is not available on this server (affectagent serve --nanoemox DIR)")
    assert "affectagent train nanoemox --phase 1|2|3" in err
    assert c.post("/v1/predict", json={"text": "hi"}).status_code == 200


def test_settings_check_the_folder_at_start_up_and_travel_to_workers(tmp_path, tiny_nanoemox_checkpoint):
    from affectagent.service.server import _settings_from_json, _settings_to_json

    with pytest.raises(DataNotFoundError, match="is not a Nano-EmoX model folder"):
        ServiceSettings(nanoemox_checkpoint=tmp_path)
    s = ServiceSettings(nanoemox_checkpoint=str(tiny_nanoemox_checkpoint))
    assert _settings_from_json(_settings_to_json(s)).nanoemox_checkpoint == tiny_nanoemox_checkpoint
