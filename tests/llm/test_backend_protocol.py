"""The backend protocol, registry and shared helpers (no model needed)."""
from __future__ import annotations

import pytest

from affectagent.errors import InputError
from affectagent.llm.backend import (
    LLM_BACKENDS,
    ChatMessage,
    Completion,
    LLMBackend,
    as_messages,
    backend_kinds,
    load_backend,
    truncate_at_stop,
    validate_sampling,
)


class EchoBackend:
    """A real (tiny) implementation of the protocol: echoes the last user message."""

    name = "echo"

    def chat(self, messages, *, max_tokens=256, temperature=0.0, seed=None, stop=None):
        text, _ = truncate_at_stop(messages[-1].content[:max_tokens], stop)
        return Completion(text=text, prompt_tokens=len(messages), completion_tokens=len(text), seconds=0.0)


def test_protocol_is_structural():
    assert isinstance(EchoBackend(), LLMBackend)
    assert not isinstance(object(), LLMBackend)


def test_registered_kind_is_loadable_with_options():
    if "echo-test" not in LLM_BACKENDS:
        LLM_BACKENDS.register("echo-test")(lambda **kw: EchoBackend())
    backend = load_backend("echo-test", model="x")
    out = backend.chat([ChatMessage("user", "hello\nworld")], stop=["\n"])
    assert out.text == "hello"
    assert out.finish_reason == "stop" and out.token_logprobs is None


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(InputError, match="hf, llamacpp, openai"):
        load_backend("gpt-in-a-box")
    assert {"hf", "openai", "llamacpp"} <= set(backend_kinds())


def test_chat_message_validation():
    with pytest.raises(InputError, match="role"):
        ChatMessage("robot", "hi")
    msgs = as_messages([{"role": "system", "content": "s"}, ChatMessage("user", "u")])
    assert [m.role for m in msgs] == ["system", "user"]
    assert msgs[0].to_dict() == {"role": "system", "content": "s"}
    with pytest.raises(InputError):
        as_messages([])
    with pytest.raises(InputError):
        as_messages([{"content": "no role"}])


def test_truncate_at_stop_takes_the_earliest_stop():
    assert truncate_at_stop("a. b\n c", ["\n", "."]) == ("a", True)
    assert truncate_at_stop("abc", ["x", ""]) == ("abc", False)
    assert truncate_at_stop("abc", None) == ("abc", False)


def test_validate_sampling():
    validate_sampling(max_tokens=1, temperature=0.0)
    with pytest.raises(InputError):
        validate_sampling(max_tokens=0, temperature=0.0)
    with pytest.raises(InputError):
        validate_sampling(max_tokens=4, temperature=-0.1)
