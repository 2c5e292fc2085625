"""Token-level LoRA MAPPO: hand-computed advantages, and a few real CPU steps on qwen-0.5b over MELD train."""
from __future__ import annotations

import math

import pytest
import torch

from affectagent.errors import InputError
from affectagent.llm.lora_mappo import (
    MELD_LABELS,
    LoRAMAPPOConfig,
    LoRAPolicy,
    generator_prompt,
    meld_prompts,
    parse_label,
    rollout,
    token_advantages,
    train_lora_mappo,
)
from affectagent.llm.packaged import packaged_parts_installed
from affectagent.paths import data_root


def test_token_advantages_by_hand():
    # row 0: 3 tokens, row 1: 2 tokens (+1 padding). eta = 0.5, gamma = lam = 1, values 0 -> A_t = sum of r_{>=t}
    logp_old = torch.tensor([[-1.0, -2.0, -0.5], [-1.0, -1.0, 0.0]])
    logp_ref = torch.tensor([[-1.2, -2.0, -0.1], [-0.8, -1.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    r, adv, ret = token_advantages(logp_old=logp_old, logp_ref=logp_ref, values=torch.zeros(2, 3),
                                   response_mask=mask, task_reward=torch.tensor([1.0, 0.0]), kl_coef=0.5,
                                   gamma=1.0, lam=1.0, normalize=False)
    # r = -0.5*(old - ref); task reward on each row's last real token
    assert torch.allclose(r, torch.tensor([[-0.1, 0.0, 0.2 + 1.0], [0.1, 0.0, 0.0]]))
    assert torch.allclose(adv, torch.tensor([[1.1, 1.2, 1.2], [0.1, 0.0, 0.0]]))
    assert torch.allclose(ret, adv)
    # with a critic: gamma=1, lam=0 -> A_t = r_t + V_{t+1} - V_t, V after the last token = 0
    values = torch.tensor([[0.5, 0.25, 1.0], [0.2, 0.4, 9.0]])
    _, adv0, _ = token_advantages(logp_old=logp_old, logp_ref=logp_ref, values=values, response_mask=mask,
                                  task_reward=torch.tensor([1.0, 0.0]), kl_coef=0.5, gamma=1.0, lam=0.0,
                                  normalize=False)
    assert torch.allclose(adv0, torch.tensor([[-0.1 + 0.25 - 0.5, 0.0 + 1.0 - 0.25, 1.2 - 1.0],
                                              [0.1 + 0.4 - 0.2, 0.0 - 0.4, 0.0]]))
    _, norm, _ = token_advantages(logp_old=logp_old, logp_ref=logp_ref, values=values, response_mask=mask,
                                  task_reward=torch.tensor([1.0, 0.0]), kl_coef=0.5, gamma=1.0, lam=0.0)
    valid = norm[mask.bool()]
    assert float(valid.mean()) == pytest.approx(0.0, abs=1e-6) and float(valid.std()) == pytest.approx(1.0, abs=1e-5)
    assert norm[1, 2] == 0.0  # padding stays zero


def test_parse_label_takes_the_first_label_mentioned():
    assert parse_label("Joy.", MELD_LABELS) == "joy"
    assert parse_label("It is surprise, maybe joy", MELD_LABELS) == "surprise"
    assert parse_label("enjoyment", MELD_LABELS) is None  # whole words only
    assert parse_label("", MELD_LABELS) is None
    msgs = generator_prompt("Hi!", labels=("joy", "anger"), speaker="Ross")
    assert msgs[-1].content.endswith("from: joy, anger.") and "(Ross)" in msgs[-1].content


def test_config_validation():
    with pytest.raises(InputError, match="batch_size"):
        LoRAMAPPOConfig(batch_size=0)
    with pytest.raises(InputError, match="gamma"):
        LoRAMAPPOConfig(lam=1.5)


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
    cfg = LoRAMAPPOConfig(batch_size=2, max_tokens=4, ppo_epochs=2, lr=5e-4, seed=1)
    policy = LoRAPolicy(cfg)
    before = policy.adapter_state()
    assert before and all(float(v.abs().sum()) == 0 for k, v in before.items() if "lora_B" in k)  # LoRA B starts at 0
    policy, stats = train_lora_mappo(prompts, config=cfg, steps=2, policy=policy, progress=False)
    after = policy.adapter_state()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed and any("lora_B" in k for k in changed)
    assert len(stats) == 2 and [s.step for s in stats] == [1, 2]
    for s in stats:
        assert all(math.isfinite(v) for v in (s.reward, s.kl, s.actor_loss, s.critic_loss, s.approx_kl))
        assert 0.0 <= s.reward <= 1.0 and 1 <= s.response_tokens <= cfg.max_tokens
    assert stats[0].kl == pytest.approx(0.0, abs=1e-4)  # before any update the policy equals the reference

    batch = rollout(policy, prompts[:2], seed=7)
    assert batch.logp_old.shape == batch.response_mask.shape == batch.advantages.shape
    out = policy.save(tmp_path / "adapter")
    assert (out / "adapter_model.safetensors").is_file() and (out / "value_head.pt").is_file()
    del policy  # free one model copy before loading the saved one
    loaded = LoRAPolicy.load(out)
    assert all(torch.equal(after[k], v) for k, v in loaded.adapter_state().items())
    with torch.no_grad():
        logp, values = loaded.forward(batch)
    m = batch.response_mask.bool()
    assert torch.allclose(logp[m], batch.logp_old[m], atol=1e-4)
    assert torch.allclose(values[m], batch.values_old[m], atol=1e-4)
