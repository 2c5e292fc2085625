"""Typed rollout records for the three-agent episode and the advantage computation over them (AffectAgent §3.2).

One episode per sample is three agent steps in order: t=0 planner, t=1 evidence filter, t=2 emotion generator.
Per step the buffer keeps the rollout policy's log-prob of the action taken, the frozen SFT reference's log-prob of
the same action, the centralised critic's value, whether the agent acted (``active``; e.g. the filter does not act when
retrieval returned nothing) and ``done`` (only the generator step ends the episode).

Rewards (AffectAgent Eq. 1–4 with the KL term of Eq. 10):
    r_t = −η·(logπ_t − logπ_ref,t) + local_t         local = (R_planner − R, R_filter − R, 0)
    r_2 += R                                          R = shared task reward (F1 of the generator's answer)
so the planner's return is R + ΔF1_planner, the filter's R + ΔF1_filter and the generator's R (γ = λ = 1, η = 0).
Shapes: B episodes, T = 3 steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Iterator

import numpy as np
import torch

from ..schema import Role
from .gae import gae
from .ppo_loss import kl_shaped_rewards

ROLES = tuple(Role)  # episode order: t=0 planner, t=1 filter, t=2 generator


@dataclass
class Rollout:
    """One batch of episodes collected with the rollout policy.

    index: (B,) corpus indices; actions: stored actions for re-evaluation ({Role.PLANNER: (support, confusion),
    Role.FILTER: keep (B, N) bool, Role.GENERATOR: label}); env: what the environment returned (query plans, cognitive evidence, perceptual
    neighbours) so the update re-scores exactly the observations the policy saw.
    logp_old, logp_ref, values, active, dones: (B, 3). task_reward: (B,) shared R. local_reward: (B, 3) incremental
    terms (planner, filter, 0). Filled by ``finish``: rewards, advantages, returns (B, 3).
    """

    index: np.ndarray
    actions: dict[str, Any]
    env: dict[str, list]
    logp_old: torch.Tensor
    logp_ref: torch.Tensor
    values: torch.Tensor
    active: torch.Tensor
    task_reward: torch.Tensor
    local_reward: torch.Tensor
    dones: torch.Tensor = field(default=None)  # type: ignore[assignment]
    rewards: torch.Tensor | None = None
    advantages: torch.Tensor | None = None
    returns: torch.Tensor | None = None

    def __post_init__(self) -> None:
        b = len(self.index)
        if self.dones is None:
            self.dones = torch.zeros(b, len(ROLES))
            self.dones[:, -1] = 1.0
        for name in ("logp_old", "logp_ref", "values", "active", "local_reward", "dones"):
            t = getattr(self, name)
            if tuple(t.shape) != (b, len(ROLES)):
                raise ValueError(f"{name} must be ({b}, {len(ROLES)}), got {tuple(t.shape)}")
        if tuple(self.task_reward.shape) != (b,):
            raise ValueError(f"task_reward must be ({b},), got {tuple(self.task_reward.shape)}")

    def __len__(self) -> int:
        return len(self.index)

    def finish(self, *, gamma: float, lam: float, kl_coef: float, normalize: bool = True) -> "Rollout":
        """Shape the rewards (KL per step, local terms, task reward at the terminal step) and run GAE.

        Inactive steps carry no KL term and no local reward (their value still bootstraps the step before);
        advantages are normalised over active steps."""
        act = self.active.to(torch.float32)
        r = kl_shaped_rewards(logp_policy=self.logp_old * act, logp_ref=self.logp_ref * act,
                              task_reward=self.task_reward, kl_coef=kl_coef)
        r = r + self.local_reward * act
        res = gae(rewards=r, values=self.values, dones=self.dones, gamma=gamma, lam=lam)
        adv = res.advantages
        if normalize:
            m = act.bool()
            if m.sum() > 1:
                mu, sd = adv[m].mean(), adv[m].std().clamp_min(1e-6)
                adv = torch.where(m, (adv - mu) / sd, torch.zeros_like(adv))
        self.rewards, self.advantages, self.returns = r, adv, res.returns
        return self

    def select(self, idx: np.ndarray) -> "Rollout":
        """A minibatch (rows ``idx`` of this batch)."""
        it = torch.as_tensor(idx, dtype=torch.long)
        acts = {k: (tuple(a[it] for a in v) if isinstance(v, tuple) else v[it]) for k, v in self.actions.items()}
        env = {k: [v[i] for i in idx] for k, v in self.env.items()}
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        kw.update(index=self.index[idx], actions=acts, env=env)
        for name in ("logp_old", "logp_ref", "values", "active", "task_reward", "local_reward", "dones", "rewards",
                     "advantages", "returns"):
            t = kw[name]
            kw[name] = None if t is None else t[it]
        return Rollout(**kw)

    def minibatches(self, size: int, rng: np.random.Generator) -> Iterator["Rollout"]:
        order = rng.permutation(len(self))
        for i in range(0, len(order), size):
            yield self.select(order[i:i + size])
