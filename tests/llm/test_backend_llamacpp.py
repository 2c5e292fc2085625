"""The optional llama.cpp backend: the missing-dependency message always; a real chat only where it is built."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from affectagent.errors import DataNotFoundError, InputError, MissingDependencyError
from affectagent.llm.backend import ChatMessage, load_backend
from affectagent.llm.llamacpp import LLAMA_CPP_BUILD_COMMAND, resolve_gguf
from affectagent.llm.packaged import packaged_parts_installed

HAVE_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None


def test_missing_llama_cpp_names_the_build_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp -> ImportError, installed or not
    with pytest.raises(MissingDependencyError) as err:
        load_backend("llamacpp", model="qwen-0.5b")
    msg = str(err.value)
    assert LLAMA_CPP_BUILD_COMMAND in msg
    assert "-DGGML_NATIVE=OFF" in msg and "-DGGML_AMX_INT8=OFF" in msg and "llama-cpp-python==0.3.36" in msg


def test_model_must_be_an_alias_or_a_gguf_file(tmp_path):
    with pytest.raises(InputError, match=".gguf"):
        resolve_gguf(str(tmp_path))
    with pytest.raises(DataNotFoundError, match="does not exist"):
        resolve_gguf(str(tmp_path / "m.gguf"))
    with pytest.raises(InputError, match="base_url"):
        load_backend("llamacpp", base_url="http://x/v1")


@pytest.mark.skipif(not HAVE_LLAMA_CPP, reason="llama-cpp-python not built (optional extra; see docs/llm-backends.md)")
def test_real_chat_with_the_packaged_gguf():
    if not packaged_parts_installed("qwen-0.5b"):
        pytest.skip("qwen-0.5b parts not installed")
    backend = load_backend("llamacpp", model="qwen-0.5b", num_threads=1, logprobs=True, n_ctx=512)
    msgs = [ChatMessage("user", "Answer with one word: is 'I love it!' positive or negative?")]
    a = backend.chat(msgs, max_tokens=4)
    b = backend.chat(msgs, max_tokens=4)
    assert a.text == b.text and a.text.strip()
    assert a.completion_tokens >= 1 and a.prompt_tokens > 5
    assert a.token_logprobs is not None and all(lp <= 0 for lp in a.token_logprobs)
