import math

import pytest

import torch

from affectagent.rl.ppo_loss import actor_loss, critic_loss, kl_shaped_rewards


def test_actor_loss_unclipped_inside_trust_region():
    lp_old = torch.tensor([0.0, 0.0])
    lp_new = torch.tensor([math.log(1.1), math.log(0.95)])
    adv = torch.tensor([1.0, -2.0])
    out = actor_loss(logp_new=lp_new, logp_old=lp_old, advantages=adv, clip_eps=0.2)
    # min(1.1*1, 1.1*1) = 1.1 ; min(0.95*-2, 0.95*-2) = -1.9 -> loss = -(1.1 - 1.9)/2 = 0.4
    assert torch.isclose(out.loss, torch.tensor(0.4))
    assert out.clip_fraction == 0


def test_actor_loss_clips_at_boundary():
    lp_old = torch.tensor([0.0, 0.0])
    lp_new = torch.tensor([math.log(1.5), math.log(0.5)])
    adv = torch.tensor([1.0, -1.0])
    out = actor_loss(logp_new=lp_new, logp_old=lp_old, advantages=adv, clip_eps=0.2)
    # positive adv: min(1.5, 1.2) = 1.2 ; negative adv: min(-0.5, -0.8) = -0.8 -> loss = -(1.2 - 0.8)/2 = -0.2
    assert torch.isclose(out.loss, torch.tensor(-0.2))
    assert out.clip_fraction == 1
    # gradient is zero where the clipped branch is active
    lp = lp_new.clone().requires_grad_(True)
    actor_loss(logp_new=lp, logp_old=lp_old, advantages=adv, clip_eps=0.2).loss.backward()
    assert torch.all(lp.grad == 0)


def test_critic_loss_takes_max_of_clipped_and_unclipped():
    v_old = torch.tensor([0.0])
    ret = torch.tensor([1.0])
    # new value moved to 0.5; clipped to 0.2 -> errors 0.25 vs 0.64 -> max = 0.64
    assert torch.isclose(critic_loss(values=torch.tensor([0.5]), old_values=v_old, returns=ret, clip_eps=0.2), torch.tensor(0.64))
    # overshoot: new 1.5 (err .25), clipped 0.2 (err .64) -> .64
    assert torch.isclose(critic_loss(values=torch.tensor([1.5]), old_values=v_old, returns=ret, clip_eps=0.2), torch.tensor(0.64))


def test_kl_penalty_sign_and_terminal_reward():
    lp = torch.tensor([[-1.0, -0.5, -2.0]])
    ref = torch.tensor([[-1.5, -0.5, -1.0]])
    r = kl_shaped_rewards(logp_policy=lp, logp_ref=ref, task_reward=torch.tensor([1.0]), kl_coef=0.1)
    # policy more likely than ref at step 0 -> negative reward; equal -> 0; less likely -> positive; +1 at the end
    assert torch.allclose(r, torch.tensor([[-0.05, 0.0, 0.1 + 1.0]]))


def test_mappo_loss_sums_per_agent_surrogates_and_masks_inactive_agents():
    from affectagent.rl.ppo_loss import mappo_loss

    # two episodes, three agents; ratios 1 everywhere so each surrogate is −mean(A) over the agent's active steps
    adv = torch.tensor([[1.0, 2.0, -1.0], [3.0, 100.0, 1.0]])
    active = torch.tensor([[True, True, True], [True, False, True]])
    z = torch.zeros(2, 3)
    ent = torch.tensor([[0.5, 1.0, 2.0], [1.5, 9.0, 0.0]])
    out = mappo_loss(logp_new=z, logp_old=z, advantages=adv, entropy=ent, values=z, old_values=z,
                     returns=torch.ones(2, 3), active=active, clip_eps=0.2, value_clip_eps=0.2, value_coef=0.5,
                     entropy_coef=0.1)
    actor = -(1 + 3) / 2 - 2.0 - (-1 + 1) / 2  # planner mean 2, filter only episode 0, generator mean 0
    entropy = (0.5 + 1.5) / 2 + 1.0 + (2.0 + 0.0) / 2
    assert out.actor.item() == pytest.approx(actor)
    assert out.entropy.item() == pytest.approx(entropy)
    assert out.critic.item() == pytest.approx(1.0)
    assert out.total.item() == pytest.approx(actor + 0.5 * 1.0 - 0.1 * entropy)
    assert out.clip_fraction.item() == 0


def test_categorical_kl_hand_value_and_zero_support():
    from affectagent.rl.ppo_loss import categorical_kl

    p_ref = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    p = torch.tensor([[0.25, 0.75, 0.0], [1.0, 0.0, 0.0]])
    kl = categorical_kl(p_ref=p_ref, logp=torch.log(p.clamp_min(1e-30)))
    assert kl[0].item() == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(0.5 / 0.75))
    assert kl[1].item() == pytest.approx(0.0)
    assert torch.all(categorical_kl(p_ref=p, logp=torch.log(p.clamp_min(1e-30))).abs() < 1e-6)
