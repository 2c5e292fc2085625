"""Token-level advantages for LLM policies: every generated token is one action (AffectAgent Eq. 8-9 per token).

Each row b is one trajectory over its own n_b response tokens (right-padded to T):
    r_t = -η·(log π(a_t) − log π_ref(a_t)),   r_{n_b−1} += R_b        (``rl.ppo_loss.kl_shaped_rewards``)
    A, R̂ = GAE(γ, λ) over t < n_b, the episode ending at n_b − 1      (``rl.gae.gae``)
then, optionally, A normalised to zero mean / unit std over all valid tokens. Padding stays 0 in every output.
Shapes: logp_old, logp_ref, values, response_mask (B, T); task_reward (B,).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .gae import gae
from .ppo_loss import kl_shaped_rewards


class TokenAdvantages(NamedTuple):
    rewards: torch.Tensor  # (B, T) KL-shaped per-token rewards
    advantages: torch.Tensor  # (B, T)
    returns: torch.Tensor  # (B, T) value targets


def token_advantages(*, logp_old: torch.Tensor, logp_ref: torch.Tensor, values: torch.Tensor,
                     response_mask: torch.Tensor, task_reward: torch.Tensor, kl_coef: float, gamma: float, lam: float,
                     normalize: bool = True) -> TokenAdvantages:
    """Per-token KL-shaped rewards, GAE advantages and returns for right-padded responses (see the module doc)."""
    rewards = torch.zeros_like(logp_old)
    adv = torch.zeros_like(logp_old)
    ret = torch.zeros_like(logp_old)
    lengths = response_mask.sum(dim=1).long().tolist()
    for b, n in enumerate(lengths):
        if n == 0:
            continue
        r = kl_shaped_rewards(logp_policy=logp_old[b:b + 1, :n], logp_ref=logp_ref[b:b + 1, :n],
                              task_reward=task_reward[b:b + 1], kl_coef=kl_coef)
        dones = torch.zeros_like(r)
        dones[:, -1] = 1.0
        g = gae(rewards=r, values=values[b:b + 1, :n], dones=dones, gamma=gamma, lam=lam)
        rewards[b, :n], adv[b, :n], ret[b, :n] = r[0], g.advantages[0], g.returns[0]
    if normalize:
        m = response_mask.bool()
        if int(m.sum()) > 1:
            mean, std = adv[m].mean(), adv[m].std()
            adv = torch.where(m, (adv - mean) / (std + 1e-8), torch.zeros_like(adv))
    return TokenAdvantages(rewards=rewards, advantages=adv, returns=ret)


__all__ = ["TokenAdvantages", "token_advantages"]
