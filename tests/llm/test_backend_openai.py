"""The OpenAI-compatible client against real local HTTP server processes that misbehave on purpose."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from affectagent.errors import InputError
from affectagent.llm.backend import ChatMessage, load_backend
from affectagent.llm.errors import LLMAuthError, LLMResponseError, LLMServerError, LLMUnreachableError
from affectagent.llm.openai_backend import OpenAIConfig, normalise_base_url, parse_chat_response

from .processes import free_port

SCRIPT = str(Path(__file__).with_name("scripted_http_server.py"))
MSGS = [ChatMessage("user", "How does 'yay!' feel?")]
FAST = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 5.0}


def test_retries_503_then_succeeds(scripted):
    url, stats = scripted("flaky")
    backend = load_backend("openai", base_url=url, model="scripted-model", max_retries=3, **FAST)
    out = backend.chat(MSGS, max_tokens=4)
    assert out.text == "joy" and stats()["requests"] == 3
    assert out.prompt_tokens == 11 and out.completion_tokens == 2
    assert out.token_logprobs == [-0.25, -0.5] and out.finish_reason == "stop"


def test_gives_up_after_max_retries(scripted):
    url, stats = scripted("flaky")
    backend = load_backend("openai", base_url=url, model="m", max_retries=1, **FAST)
    with pytest.raises(LLMServerError, match=r"2 attempt\(s\).*503.*overloaded"):
        backend.chat(MSGS)
    assert stats()["requests"] == 2


def test_401_is_an_auth_error_without_retrying(scripted):
    url, stats = scripted("unauthorized")
    backend = load_backend("openai", base_url=url, model="m", api_key="wrong", **FAST)
    with pytest.raises(LLMAuthError, match="Incorrect API key"):
        backend.chat(MSGS)
    assert stats()["requests"] == 1


def test_malformed_json_is_a_response_error(scripted):
    url, _ = scripted("malformed")
    with pytest.raises(LLMResponseError, match="malformed JSON"):
        load_backend("openai", base_url=url, model="m", **FAST).chat(MSGS)


def test_unreachable_server_after_backoff():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    backend = load_backend("openai", base_url=url, model="m", max_retries=2, **FAST)
    t0 = time.perf_counter()
    with pytest.raises(LLMUnreachableError, match=r"3 attempt\(s\)"):
        backend.chat(MSGS)
    assert time.perf_counter() - t0 >= 0.01 + 0.02  # slept backoff * 2**attempt between the attempts


def test_timeout_is_reported(scripted):
    url, _ = scripted("hang")
    backend = load_backend("openai", base_url=url, model="m", max_retries=0, timeout=0.5, backoff=0.0)
    with pytest.raises(LLMUnreachableError, match="ReadTimeout"):
        backend.chat(MSGS)


def test_server_without_logprobs_is_asked_again_without_them(scripted):
    url, stats = scripted("nologprobs")
    backend = load_backend("openai", base_url=url, model="m", **FAST)
    first = backend.chat(MSGS)
    assert first.text == "joy" and first.token_logprobs is None and stats()["requests"] == 2
    backend.chat(MSGS)
    assert stats()["requests"] == 3  # the second chat no longer asks for logprobs


def test_request_carries_settings_from_the_environment(scripted, monkeypatch):
    url, _ = scripted("echo")
    monkeypatch.setenv("AFFECTAGENT_OPENAI_BASE_URL", url)
    monkeypatch.setenv("AFFECTAGENT_OPENAI_MODEL", "env-model")
    monkeypatch.delenv("AFFECTAGENT_OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    backend = load_backend("openai")
    seen = json.loads(backend.chat(MSGS, max_tokens=7, temperature=0.5, seed=3, stop=["\n"]).text)
    assert seen["authorization"] == "Bearer sk-env" and seen["path"] == "/v1/chat/completions"
    p = seen["payload"]
    assert (p["model"], p["max_tokens"], p["temperature"], p["seed"], p["stop"], p["logprobs"]) == (
        "env-model", 7, 0.5, 3, ["\n"], True)
    assert p["messages"] == [{"role": "user", "content": "How does 'yay!' feel?"}]
    assert backend.name == f"openai:{url}#env-model"


def test_model_defaults_to_the_first_listed_by_the_server(scripted, monkeypatch):
    url, _ = scripted("echo")
    monkeypatch.delenv("AFFECTAGENT_OPENAI_MODEL", raising=False)
    backend = load_backend("openai", base_url=url.removesuffix("/v1"), **FAST)  # bare host gets /v1
    assert json.loads(backend.chat(MSGS).text)["payload"]["model"] == "scripted-model"


def test_chat_many_keeps_order_and_the_concurrency_limit(scripted):
    url, stats = scripted("slow")
    backend = load_backend("openai", base_url=url, model="m", max_concurrency=2, **FAST)
    convs = [[ChatMessage("user", f"u{i}")] for i in range(5)]
    outs = backend.chat_many(convs, max_tokens=3)
    assert [o.text for o in outs] == ["joy"] * 5
    s = stats()
    assert s["requests"] == 5 and s["max_in_flight"] == 2


def test_configuration_errors(monkeypatch):
    for var in ("AFFECTAGENT_OPENAI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(InputError, match="base URL"):
        load_backend("openai", model="m")
    with pytest.raises(InputError, match="http://host:port/v1"):
        load_backend("openai", base_url="localhost:8000")
    with pytest.raises(InputError, match="max_concurrency"):
        load_backend("openai", base_url="http://h/v1", max_concurrency=0)
    with pytest.raises(InputError, match="unknown option"):
        load_backend("openai", base_url="http://h/v1", retries=3)


def test_pure_helpers():
    assert normalise_base_url("http://h:8000/") == "http://h:8000/v1"
    assert normalise_base_url("https://api.x.com/v1/") == "https://api.x.com/v1"
    cfg = OpenAIConfig(base_url="http://h/v1", backoff=0.5, max_backoff=3.0)
    assert [cfg.delay(a) for a in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert cfg.delay(0, "2") == 2.0 and cfg.delay(0, "60") == 3.0 and cfg.delay(1, "soon") == 1.0
    body = {"choices": [{"message": {"content": "hi"}, "finish_reason": "length"}]}
    assert parse_chat_response(body) == ("hi", 0, 0, None, "length")
    with pytest.raises(LLMResponseError):
        parse_chat_response({"choices": []})
