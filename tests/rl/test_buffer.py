"""Rollout records: reward shaping (KL per step, local terms, task reward at the end), GAE over the three agent steps,
masking of agents that did not act, and minibatch selection."""
import numpy as np
import pytest
import torch

from affectagent.rl.buffer import ROLES, Rollout
from affectagent.schema import Role


def _rollout(**kw):
    b = 2
    base = dict(index=np.array([5, 9]), actions={Role.GENERATOR: torch.tensor([1, 2]),
                                                 Role.PLANNER: (torch.tensor([0, 1]), torch.tensor([2, 3])),
                                                 Role.FILTER: torch.tensor([[True, False], [False, False]])},
                env={"plans": ["p5", "p9"], "row": [0, 1]},
                logp_old=torch.zeros(b, 3), logp_ref=torch.zeros(b, 3), values=torch.zeros(b, 3),
                active=torch.ones(b, 3, dtype=torch.bool), task_reward=torch.tensor([1.0, 0.0]),
                local_reward=torch.zeros(b, 3))
    base.update(kw)
    return Rollout(**base)


def test_roles_order_is_the_episode_order():
    assert ROLES == ("planner", "filter", "generator")


def test_returns_with_gamma_lambda_one_give_each_agent_shared_plus_local_reward():
    # planner improved on the plain query by +1, the filter lost 1 against the bypass; shared R = (1, 0)
    ro = _rollout(local_reward=torch.tensor([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])).finish(
        gamma=1.0, lam=1.0, kl_coef=0.0, normalize=False)
    # with V = 0 and γ = λ = 1 the return of step t is the sum of rewards from t on
    assert torch.allclose(ro.returns, torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]))
    assert torch.allclose(ro.rewards, torch.tensor([[1.0, -1.0, 1.0], [0.0, 0.0, 0.0]]))
    assert torch.all(ro.dones[:, -1] == 1) and torch.all(ro.dones[:, :-1] == 0)


def test_kl_term_per_step_and_hand_computed_gae():
    # policy more likely than the reference at the planner step: −η·(logπ − logπ_ref) = −0.1·0.5
    ro = _rollout(logp_old=torch.tensor([[-0.5, -1.0, -2.0], [0.0, 0.0, 0.0]]),
                  logp_ref=torch.tensor([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0]]),
                  values=torch.tensor([[0.5, 0.4, 0.2], [0.0, 0.0, 0.0]])).finish(
        gamma=0.9, lam=0.5, kl_coef=0.1, normalize=False)
    r = torch.tensor([-0.05, 0.0, 0.1 + 1.0])
    assert torch.allclose(ro.rewards[0], r)
    v = [0.5, 0.4, 0.2]
    d2 = r[2] - v[2]
    d1 = r[1] + 0.9 * v[2] - v[1]
    d0 = r[0] + 0.9 * v[1] - v[0]
    a2 = d2
    a1 = d1 + 0.9 * 0.5 * a2
    a0 = d0 + 0.9 * 0.5 * a1
    assert torch.allclose(ro.advantages[0], torch.tensor([a0, a1, a2]))
    assert torch.allclose(ro.returns[0], torch.tensor([a0, a1, a2]) + torch.tensor(v))


def test_inactive_steps_get_no_kl_or_local_reward_and_zero_normalised_advantage():
    active = torch.tensor([[True, False, True], [True, True, True]])
    ro = _rollout(active=active, logp_old=torch.full((2, 3), -0.2), logp_ref=torch.full((2, 3), -1.0),
                  local_reward=torch.tensor([[0.0, 5.0, 0.0], [0.0, 1.0, 0.0]])).finish(gamma=1.0, lam=1.0, kl_coef=0.1)
    assert ro.rewards[0, 1] == 0  # the filter did not act: neither its KL nor its local reward counts
    assert ro.rewards[1, 1] == pytest.approx(-0.08 + 1.0)
    assert ro.advantages[0, 1] == 0
    act = ro.advantages[active]
    assert act.mean().abs() < 1e-5 and act.std() == pytest.approx(1.0, abs=1e-5)


def test_select_and_minibatches_keep_rows_aligned():
    ro = _rollout().finish(gamma=1.0, lam=1.0, kl_coef=0.0, normalize=False)
    mb = ro.select(np.array([1]))
    assert mb.index.tolist() == [9] and mb.env["plans"] == ["p9"] and mb.env["row"] == [1]
    assert mb.actions[Role.PLANNER][1].tolist() == [3] and mb.actions[Role.FILTER].tolist() == [[False, False]]
    assert torch.equal(mb.returns, ro.returns[1:2])
    seen = sorted(i for m in ro.minibatches(1, np.random.default_rng(0)) for i in m.index.tolist())
    assert seen == [5, 9]


def test_shape_errors_are_reported():
    with pytest.raises(ValueError, match="logp_old"):
        _rollout(logp_old=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="task_reward"):
        _rollout(task_reward=torch.zeros(3))
