"""Token-level advantages against hand-computed values (KL-shaped rewards, GAE per response, normalisation)."""
import pytest
import torch

from affectagent.rl.token_advantage import TokenAdvantages, token_advantages

# row 0: 3 tokens, row 1: 2 tokens (+1 padding)
LOGP_OLD = torch.tensor([[-1.0, -2.0, -0.5], [-1.0, -1.0, 0.0]])
LOGP_REF = torch.tensor([[-1.2, -2.0, -0.1], [-0.8, -1.0, 0.0]])
MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
TASK = torch.tensor([1.0, 0.0])


def _adv(values, **kw):
    return token_advantages(logp_old=LOGP_OLD, logp_ref=LOGP_REF, values=values, response_mask=MASK,
                            task_reward=TASK, kl_coef=0.5, **kw)


def test_no_critic_gamma_lam_one_sums_future_rewards():
    out = _adv(torch.zeros(2, 3), gamma=1.0, lam=1.0, normalize=False)
    assert isinstance(out, TokenAdvantages)
    # r = -0.5*(old - ref); the task reward lands on each row's last real token, padding stays 0
    assert torch.allclose(out.rewards, torch.tensor([[-0.1, 0.0, 0.2 + 1.0], [0.1, 0.0, 0.0]]))
    # values 0, gamma = lam = 1: A_t = sum of r_{>=t} within the row's own response
    assert torch.allclose(out.advantages, torch.tensor([[1.1, 1.2, 1.2], [0.1, 0.0, 0.0]]))
    assert torch.allclose(out.returns, out.advantages)


def test_one_step_td_with_a_critic_and_terminal_last_token():
    # gamma=1, lam=0: A_t = r_t + V_{t+1} - V_t with V after the last real token = 0 (the padding's 9.0 is ignored)
    values = torch.tensor([[0.5, 0.25, 1.0], [0.2, 0.4, 9.0]])
    out = _adv(values, gamma=1.0, lam=0.0, normalize=False)
    assert torch.allclose(out.advantages, torch.tensor([[-0.1 + 0.25 - 0.5, 0.0 + 1.0 - 0.25, 1.2 - 1.0],
                                                        [0.1 + 0.4 - 0.2, 0.0 - 0.4, 0.0]]))
    # returns = A + V on real tokens, 0 on padding
    assert torch.allclose(out.returns, torch.tensor([[-0.1 + 0.25, 1.0, 1.2], [0.1 + 0.4, 0.0, 0.0]]))


def test_discounting():
    # gamma = 0.5, lam = 1, no critic: A_0 = r_0 + 0.5 r_1 + 0.25 r_2 on row 0
    out = _adv(torch.zeros(2, 3), gamma=0.5, lam=1.0, normalize=False)
    assert out.advantages[0, 0].item() == pytest.approx(-0.1 + 0.5 * 0.0 + 0.25 * 1.2)
    assert out.advantages[1, 0].item() == pytest.approx(0.1)


def test_normalisation_over_valid_tokens_keeps_padding_zero():
    values = torch.tensor([[0.5, 0.25, 1.0], [0.2, 0.4, 9.0]])
    out = _adv(values, gamma=1.0, lam=0.0)
    valid = out.advantages[MASK.bool()]
    assert float(valid.mean()) == pytest.approx(0.0, abs=1e-6) and float(valid.std()) == pytest.approx(1.0, abs=1e-5)
    assert out.advantages[1, 2] == 0.0


def test_empty_response_row_stays_zero():
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    out = token_advantages(logp_old=torch.zeros(2, 2), logp_ref=torch.zeros(2, 2), values=torch.zeros(2, 2),
                           response_mask=mask, task_reward=torch.tensor([1.0, 1.0]), kl_coef=0.1, gamma=1.0,
                           lam=1.0)
    assert out.rewards.tolist() == [[1.0, 0.0], [0.0, 0.0]] and out.advantages[1].tolist() == [0.0, 0.0]
