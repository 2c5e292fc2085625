"""The transformers backend on the real packaged Qwen2.5-Coder-0.5B (short generations)."""
from __future__ import annotations

import pytest
import torch

from affectagent.errors import DataNotFoundError, InputError
from affectagent.llm.backend import ChatMessage, load_backend

from .qwen_model import qwen_backend

LABEL_PROMPT = [
    ChatMessage("system", "You label the emotion of an utterance."),
    ChatMessage(
        "user",
        "Utterance: \"Oh my god, I can't believe you did this to me!\"\n"
        "Answer with one word from: anger, joy, sadness, surprise, fear, disgust, neutral.",
    ),
]
LIST_PROMPT = [ChatMessage("user", "List five fruits, one per line, no numbering.")]


@pytest.fixture(scope="module")
def backend():
    return qwen_backend()


def teacher_forced_logprobs(backend, prompt_ids, gen_ids, temperature=1.0):
    """log p(gen_ids[t] | prompt, gen_ids[:t]) from one forward pass, logits divided by the temperature."""
    ids = torch.tensor([list(prompt_ids) + list(gen_ids)])
    with torch.inference_mode():
        logits = backend.model(ids).logits[0, len(prompt_ids) - 1 : -1].float() / temperature
    lp = torch.log_softmax(logits, dim=-1)
    return lp[torch.arange(len(gen_ids)), torch.tensor(gen_ids)].tolist()


def test_greedy_is_deterministic_and_reports_tokens(backend):
    a = backend.chat(LABEL_PROMPT, max_tokens=8)
    b = backend.chat(LABEL_PROMPT, max_tokens=8)
    assert a.text == b.text and a.text.strip()
    assert a.prompt_tokens == len(backend.encode_chat(LABEL_PROMPT)) > 20
    assert a.completion_tokens == len(a.token_logprobs) >= 1
    assert all(lp <= 0.0 for lp in a.token_logprobs)
    assert a.seconds > 0 and a.finish_reason in ("stop", "length")
    assert backend.name == "hf:qwen-0.5b"


def test_logprobs_match_a_teacher_forced_forward_pass(backend):
    prompt = backend.encode_chat(LABEL_PROMPT)
    gen = backend.generate_ids(prompt, max_tokens=4)
    expected = teacher_forced_logprobs(backend, prompt, gen.ids)
    assert gen.logprobs == pytest.approx(expected, abs=1e-3)
    # greedy: every chosen token is the arg-max of the next-token distribution
    ids = torch.tensor([prompt + gen.ids])
    with torch.inference_mode():
        argmax = backend.model(ids).logits[0, len(prompt) - 1 : -1].argmax(-1).tolist()
    assert argmax == gen.ids


def test_sampling_is_seeded_and_logprobs_are_those_of_the_tempered_policy(backend):
    prompt = backend.encode_chat(LABEL_PROMPT)
    a = backend.generate_ids(prompt, max_tokens=4, temperature=0.7, seed=3)
    b = backend.generate_ids(prompt, max_tokens=4, temperature=0.7, seed=3)
    assert a.ids == b.ids and a.logprobs == b.logprobs
    expected = teacher_forced_logprobs(backend, prompt, a.ids, temperature=0.7)
    assert a.logprobs == pytest.approx(expected, abs=1e-3)
    state = torch.random.get_rng_state()
    backend.chat(LABEL_PROMPT, max_tokens=2, temperature=0.7, seed=5)
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's RNG stream is untouched


def test_stop_strings_and_max_tokens(backend):
    full = backend.chat(LIST_PROMPT, max_tokens=12)
    assert "\n" in full.text  # the list spans lines
    cut = backend.chat(LIST_PROMPT, max_tokens=12, stop=["\n"])
    assert "\n" not in cut.text and cut.text and full.text.startswith(cut.text)
    assert cut.finish_reason == "stop"
    assert cut.completion_tokens == len(cut.token_logprobs) < full.completion_tokens
    short = backend.chat(LIST_PROMPT, max_tokens=3)
    assert short.finish_reason == "length" and short.completion_tokens == 3
    assert full.text.startswith(short.text)


def test_num_threads_is_applied_per_call_only(backend):
    before = torch.get_num_threads()
    limited = load_backend("hf", model="qwen-0.5b", num_threads=1)
    assert limited.model is backend.model  # weights shared within the process
    limited.chat(LABEL_PROMPT, max_tokens=1)
    assert torch.get_num_threads() == before


def test_bad_arguments_are_clear_errors(backend, tmp_path):
    with pytest.raises(InputError, match="max_tokens"):
        backend.chat(LABEL_PROMPT, max_tokens=0)
    with pytest.raises(InputError, match="dtype"):
        load_backend("hf", model="qwen-0.5b", dtype="int3")
    with pytest.raises(InputError, match="base_url"):
        load_backend("hf", model="qwen-0.5b", base_url="http://x")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_backend("hf", model=str(tmp_path / "nope"))
    with pytest.raises(InputError, match="config.json"):
        load_backend("hf", model=str(tmp_path))
    with pytest.raises(DataNotFoundError, match="offline"):
        load_backend("hf", model="no-such-org/no-such-model-xyz")
