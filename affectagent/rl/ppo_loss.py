"""Clipped PPO losses (AffectAgent Eq. 8, 11, 12).

Actor:  L_actor = −mean_t min(ρ_t A_t, clip(ρ_t, 1−ε, 1+ε) A_t),  ρ_t = exp(logπ_new − logπ_old); ``mappo_loss`` sums
        the per-agent means over the three agents.
Critic: L_critic = mean max((V − R̂)², (V_old + clip(V − V_old, −ε_v, ε_v) − R̂)²)
Total:  L = Σ_agents L_actor + β·L_critic − c_ent·Σ_agents H       (``mappo_loss``)
"""
from __future__ import annotations

from typing import NamedTuple

import torch


class ActorLoss(NamedTuple):
    loss: torch.Tensor
    clip_fraction: torch.Tensor
    approx_kl: torch.Tensor


def actor_loss(*, logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, clip_eps: float,
               mask: torch.Tensor | None = None) -> ActorLoss:
    ratio = torch.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps) * advantages
    per = -torch.minimum(unclipped, clipped)
    m = torch.ones_like(per) if mask is None else mask.to(per.dtype)
    denom = m.sum().clamp_min(1.0)
    with torch.no_grad():
        clip_frac = (((ratio - 1.0).abs() > clip_eps).to(per.dtype) * m).sum() / denom
        approx_kl = (((ratio - 1.0) - (logp_new - logp_old)) * m).sum() / denom  # k3 estimator, ≥ 0
    return ActorLoss(loss=(per * m).sum() / denom, clip_fraction=clip_frac, approx_kl=approx_kl)


def critic_loss(*, values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip_eps: float,
                mask: torch.Tensor | None = None) -> torch.Tensor:
    v_clipped = old_values + (values - old_values).clamp(-clip_eps, clip_eps)
    per = torch.maximum((values - returns) ** 2, (v_clipped - returns) ** 2)
    m = torch.ones_like(per) if mask is None else mask.to(per.dtype)
    return (per * m).sum() / m.sum().clamp_min(1.0)


def kl_shaped_rewards(*, logp_policy: torch.Tensor, logp_ref: torch.Tensor, task_reward: torch.Tensor,
                      kl_coef: float) -> torch.Tensor:
    """Per-step reward r_t = −η·(logπ − logπ_ref) (a sample estimate of KL(π‖π_ref)), task reward added at the last step.
    logp_*: (B, T); task_reward: (B,) -> (B, T)."""
    r = -kl_coef * (logp_policy - logp_ref)
    r = r.clone()
    r[:, -1] = r[:, -1] + task_reward
    return r


class MAPPOLoss(NamedTuple):
    total: torch.Tensor
    actor: torch.Tensor  # Σ over agents of each agent's clipped surrogate
    critic: torch.Tensor
    entropy: torch.Tensor  # Σ over agents of each agent's mean entropy
    clip_fraction: torch.Tensor  # over all active steps
    approx_kl: torch.Tensor  # policy change since the rollout, over all active steps


def mappo_loss(*, logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, entropy: torch.Tensor,
               values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, active: torch.Tensor,
               clip_eps: float, value_clip_eps: float, value_coef: float, entropy_coef: float) -> MAPPOLoss:
    """AffectAgent Eq. 12: L = Σ_agents L_actor^a + β·L_critic − c_ent·Σ_agents H^a.

    Every argument is (B, A) — B episodes, A agents (one step each); ``active`` masks agents that did not act.
    Each agent's surrogate is averaged over its own active episodes, then the agents are summed."""
    act = active.bool()
    a_losses, ents = [], []
    for a in range(logp_new.shape[1]):
        m = act[:, a]
        a_losses.append(actor_loss(logp_new=logp_new[:, a], logp_old=logp_old[:, a], advantages=advantages[:, a],
                                   clip_eps=clip_eps, mask=m).loss)
        ents.append((entropy[:, a] * m).sum() / m.sum().clamp_min(1))
    pooled = actor_loss(logp_new=logp_new, logp_old=logp_old, advantages=advantages, clip_eps=clip_eps, mask=act)
    l_actor = torch.stack(a_losses).sum()
    l_ent = torch.stack(ents).sum()
    l_critic = critic_loss(values=values, old_values=old_values, returns=returns, clip_eps=value_clip_eps)
    total = l_actor + value_coef * l_critic - entropy_coef * l_ent
    return MAPPOLoss(total=total, actor=l_actor, critic=l_critic, entropy=l_ent,
                     clip_fraction=pooled.clip_fraction, approx_kl=pooled.approx_kl)


def categorical_kl(*, p_ref: torch.Tensor, logp: torch.Tensor) -> torch.Tensor:
    """Exact KL(π_ref ‖ π) per row of two categorical distributions over the same support: (B, C) → (B,).

    For the agents with small discrete action spaces (planner, generator) this is a low-variance alternative to the
    sampled per-step estimate: it keeps the whole distribution (and so the open-vocabulary set read from it) near
    the SFT reference, not just the probability of the sampled action. Entries with p_ref = 0 contribute nothing."""
    pos = p_ref > 0
    terms = torch.where(pos, p_ref * (torch.log(p_ref.clamp_min(1e-30)) - logp), torch.zeros_like(p_ref))
    return terms.sum(-1)
