"""A LoRA adapter folder as an LLM backend (``llm.adapter``): ``dpo:DIR``, ``llm:dpo:DIR`` / ``llm:DIR`` contestants and
``HFBackend(model=DIR)`` load the base model with the adapter merged, on a 2-layer Llama with SmolLM2's tokenizer."""
from __future__ import annotations

import json

import pytest
import torch

from affectagent.arena.contestants import parse_contestant
from affectagent.arena.judges import parse_backend_spec
from affectagent.errors import DataNotFoundError, InputError
from affectagent.llm.adapter import ADAPTER_META, adapter_base, adapter_dir, quiet_peft
from affectagent.llm.backend import ChatMessage, load_backend
from affectagent.llm.hf import HFBackend


@pytest.fixture(scope="module")
def run_dir(tiny_lm_dir, tmp_path_factory):
    """A DPO-style run folder: ``adapter/`` holds a LoRA with random (non-zero) B, naming the tiny base model."""
    import peft
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_lm_dir))
    torch.manual_seed(0)
    cfg = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                          task_type="CAUSAL_LM")
    with quiet_peft():
        model = peft.get_peft_model(base, cfg)
    out = tmp_path_factory.mktemp("dpo_run")
    model.save_pretrained(str(out / "adapter"))
    (out / "adapter" / ADAPTER_META).write_text(json.dumps({"kind": "dpo", "base_model": str(tiny_lm_dir)}))
    ids = torch.tensor([[1, 520, 9531, 198, 4093]])
    with torch.no_grad():
        adapted = model(ids).logits
        with model.disable_adapter():
            plain = model(ids).logits
    return out, ids, adapted, plain


def test_adapter_folder_and_base_are_found(run_dir, tiny_lm_dir, tmp_path):
    out, *_ = run_dir
    assert adapter_dir(out) == out / "adapter" and adapter_dir(out / "adapter") == out / "adapter"
    assert adapter_dir(tiny_lm_dir) is None
    assert adapter_base(out / "adapter") == str(tiny_lm_dir)
    (tmp_path / "adapter_config.json").write_text("{}")
    (tmp_path / "lora_policy_config.json").write_text(json.dumps({"model": "qwen-0.5b"}))
    assert adapter_base(tmp_path) == "qwen-0.5b"  # a lora-mappo policy folder names its base this way


def test_hf_backend_merges_the_adapter_and_leaves_the_shared_base_alone(run_dir, tiny_lm_dir):
    out, ids, adapted, plain = run_dir
    shared_base = HFBackend(model=str(tiny_lm_dir))
    before = {n: p.clone() for n, p in shared_base.model.named_parameters()}
    backend = HFBackend(model=str(out))
    assert backend.adapter == str((out / "adapter").resolve()) and backend.path == str(tiny_lm_dir)
    with torch.no_grad():
        merged = backend.model(ids).logits
        base = shared_base.model(ids).logits
    assert torch.allclose(merged, adapted, atol=1e-4) and not torch.allclose(merged, plain, atol=1e-4)
    assert torch.allclose(base, plain, atol=1e-5)
    assert all(torch.equal(before[n], p) for n, p in shared_base.model.named_parameters())
    assert backend.chat([ChatMessage("user", "hi")], max_tokens=2).completion_tokens >= 1


def test_dpo_backend_kind_and_specs(run_dir, tmp_path):
    out, *_ = run_dir
    spec = parse_backend_spec(f"dpo:{out}")
    assert (spec.kind, spec.model) == ("dpo", str(out))
    assert parse_backend_spec(str(out)).kind == "hf"  # the folder itself: the hf backend, which sees the adapter
    kind, arg = parse_contestant(f"llm:dpo:{out}")
    assert kind.name == "llm" and arg == f"dpo:{out}"
    assert isinstance(load_backend("dpo", model=str(out)), HFBackend)
    with pytest.raises(InputError, match="adapter folder not found"):
        parse_backend_spec(f"dpo:{tmp_path / 'nope'}")
    with pytest.raises(InputError, match="not an adapter folder"):
        load_backend("dpo", model=str(tmp_path))
    with pytest.raises(DataNotFoundError, match="not found"):
        load_backend("dpo", model=str(tmp_path / "nope"))


def test_arena_contestant_on_the_adapter_loads_it(run_dir):
    from affectagent.arena.contestants import ContestantPool, LLMContestant, build_contestants

    out, *_ = run_dir
    pool = ContestantPool(log=lambda m: None)
    systems = build_contestants([f"llm:dpo:{out}", f"llm:{out}"], pool)
    for c in systems.values():
        assert isinstance(c, LLMContestant)
        backend = pool.backend(c.spec)
        assert isinstance(backend, HFBackend) and backend.adapter == str((out / "adapter").resolve())
