"""Token-level LoRA MAPPO: the MELD prompts and label parsing, config validation, padding, and a few real CPU steps
on qwen-0.5b over MELD train (the adapter moves; save/load reproduces log-probs and values)."""
from __future__ import annotations

import math

import pytest
import torch

from affectagent import datasets
from affectagent.errors import InputError
from affectagent.llm.lora_policy import LoRAPolicy, LoRAPolicyConfig, pad_batch, rollout
from affectagent.llm.packaged import packaged_parts_installed
from affectagent.llm.parsing import first_label_in, normalise_label
from affectagent.paths import data_root
from affectagent.train.lora_mappo import LoRAMAPPOConfig, generator_prompt, meld_prompts, train_lora_mappo

MELD = datasets.label_space("meld")


def test_meld_label_words_parse_to_their_canonical_labels():
    for raw in MELD.labels:  # every word the prompt offers maps onto the gold's canonical label
        assert normalise_label(raw, MELD.canonical) == MELD.canonicalize(raw)
    assert first_label_in("Joy.", MELD.canonical) == "happy"
    assert first_label_in("It is surprise, maybe joy", MELD.canonical) == "surprise"
    assert first_label_in("enjoyment", MELD.canonical) is None  # whole words only
    assert first_label_in("", MELD.canonical) is None
    msgs = generator_prompt("Hi!", labels=("joy", "anger"), speaker="Ross")
    assert msgs[-1].content.endswith("from: joy, anger.") and "(Ross)" in msgs[-1].content


def test_meld_prompts_offer_meld_words_and_score_canonical_gold():
    root = data_root(must_exist=False)
    if not (root / "meld" / "train_sent_emo.csv").is_file():
        pytest.skip("MELD train not found under the data root")
    prompts = meld_prompts("train", limit=5, data_root=str(root), context_turns=1)
    assert prompts and all(p.labels == MELD.canonical and p.gold[0] in MELD.canonical for p in prompts)
    assert prompts[0].messages[-1].content.endswith("from: " + ", ".join(MELD.labels) + ".")
    assert "Context:" not in prompts[0].messages[-1].content  # the first utterance of a dialogue has no context
    assert any("Context:" in p.messages[-1].content for p in prompts[1:])


def test_config_validation():
    with pytest.raises(InputError, match="batch_size"):
        LoRAMAPPOConfig(batch_size=0)
    with pytest.raises(InputError, match="gamma"):
        LoRAMAPPOConfig(lam=1.5)
    with pytest.raises(InputError, match="lora_r"):
        LoRAPolicyConfig(lora_r=0)


def test_pad_batch_left_pads_prompts_and_right_pads_responses():
    b = pad_batch([[5, 6], [7]], [[8], [9, 10]], pad_id=0, device="cpu")
    assert b.input_ids.tolist() == [[5, 6, 8, 0], [0, 7, 9, 10]]
    assert b.attention_mask.tolist() == [[1, 1, 1, 0], [0, 1, 1, 1]]
    assert b.position_ids.tolist() == [[0, 1, 2, 2], [0, 0, 1, 2]]
    assert b.response_mask.tolist() == [[1.0, 0.0], [1.0, 1.0]]


@pytest.fixture(scope="module")
def prompts():
    if not packaged_parts_installed("qwen-0.5b"):
        pytest.skip("qwen-0.5b parts not installed")
    root = data_root(must_exist=False)
    if not (root / "meld" / "train_sent_emo.csv").is_file():
        pytest.skip("MELD train not found under the data root")
    return meld_prompts("train", limit=40, data_root=str(root))


@pytest.mark.slow
def test_a_few_cpu_steps_change_the_adapter_and_save_load(prompts, tmp_path):
    cfg = LoRAMAPPOConfig(policy=LoRAPolicyConfig(max_tokens=4), batch_size=2, ppo_epochs=2, lr=5e-4, seed=1)
    policy = LoRAPolicy(cfg.policy, seed=cfg.seed)
    before = policy.adapter_state()
    assert before and all(float(v.abs().sum()) == 0 for k, v in before.items() if "lora_B" in k)  # LoRA B starts at 0
    policy, stats = train_lora_mappo(prompts, config=cfg, steps=2, policy=policy, progress=False)
    after = policy.adapter_state()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed and any("lora_B" in k for k in changed)
    assert len(stats) == 2 and [s.step for s in stats] == [1, 2]
    for s in stats:
        assert all(math.isfinite(v) for v in (s.reward, s.kl, s.actor_loss, s.critic_loss, s.approx_kl))
        assert 0.0 <= s.reward <= 1.0 and 1 <= s.response_tokens <= cfg.policy.max_tokens
    assert stats[0].kl == pytest.approx(0.0, abs=1e-4)  # before any update the policy equals the reference

    batch = rollout(policy, prompts[:2], seed=7)
    assert batch.logp_old.shape == batch.response_mask.shape == batch.values_old.shape
    assert all(p is None or p in MELD.canonical for p in batch.preds)
    out = policy.save(tmp_path / "adapter")
    assert (out / "adapter_model.safetensors").is_file() and (out / "value_head.pt").is_file()
    del policy  # free one model copy before loading the saved one
    loaded = LoRAPolicy.load(out)
    assert loaded.config == cfg.policy
    assert all(torch.equal(after[k], v) for k, v in loaded.adapter_state().items())
    with torch.no_grad():
        logp, values = loaded.forward(batch.batch)
    m = batch.response_mask.bool()
    assert torch.allclose(logp[m], batch.logp_old[m], atol=1e-4)
    assert torch.allclose(values[m], batch.values_old[m], atol=1e-4)
