"""The centralised critic of MAPPO (AffectAgent Eq. 11): one value per agent step of the planner → filter → generator episode.

V(s_t, role_t) reads the shared actor's state (detached: the critic never moves the actor), a role embedding and a few
episode statistics the later agents see (candidates retrieved, evidence kept, planner / generator confidence).
Shapes: h (B, D) · stats (B, 3, S) → values (B, 3).
"""
from __future__ import annotations

import torch
from torch import nn

N_ROLES = 3
N_STATS = 4


class Critic(nn.Module):
    def __init__(self, *, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.dim = dim
        self.role = nn.Embedding(N_ROLES, hidden)
        self.inp = nn.Linear(dim + N_STATS, hidden)
        self.out = nn.Sequential(nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, h: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        b = h.shape[0]
        x = torch.cat([h.detach().unsqueeze(1).expand(b, N_ROLES, h.shape[1]), stats], dim=-1)
        z = self.inp(x) + self.role.weight.unsqueeze(0)
        return self.out(z).squeeze(-1)


def episode_stats(*, n_candidates: torch.Tensor, n_kept: torch.Tensor, plan_conf: torch.Tensor,
                  gen_conf: torch.Tensor) -> torch.Tensor:
    """(B, 3, 4) per-step statistics; each step only sees what exists before its agent acts
    (the planner sees none, the filter sees the candidate count, the generator also the kept count and confidences)."""
    b = n_candidates.shape[0]
    s = torch.zeros(b, N_ROLES, N_STATS)
    s[:, 1, 0] = n_candidates / 15.0
    s[:, 1, 2] = plan_conf
    s[:, 2, 0] = n_candidates / 15.0
    s[:, 2, 1] = n_kept / 15.0
    s[:, 2, 2] = plan_conf
    s[:, 2, 3] = gen_conf
    return s
