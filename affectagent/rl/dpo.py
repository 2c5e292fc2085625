"""Direct Preference Optimisation (Rafailov et al. 2023; the SAB paper's §5.4 / Table 7 fine-tuning), pure tensors.

Shape legend: B pairs, L tokens of a row (prompt + completion + padding), V vocabulary.

- ``completion_logprobs``: log π(y | x) = Σ_t log π(y_t | x, y_<t) over the completion tokens only (prompt and
  padding masked), for every row of a batch, the usual shift applied (the logits at position t predict token t + 1).
- ``dpo_loss``: with h = (log π(y_c) − log π_ref(y_c)) − (log π(y_r) − log π_ref(y_r)), per pair
    sigmoid  −log σ(β h)                 (the DPO loss, TRL's ``loss_type="sigmoid"``, the paper's setting)
    hinge    max(0, 1 − β h)             (SLiC)
    ipo      (h − 1 / (2β))²             (IPO)
  averaged over pairs; rewards as TRL logs them: rewards/chosen = β (log π(y_c) − log π_ref(y_c)), rewards/rejected
  likewise, margins = chosen − rejected, accuracies = mean(chosen > rejected).

With a zero-initialised LoRA adapter the policy equals the reference, h = 0, so the sigmoid loss is exactly ln 2 and
every reward is 0.
"""
from __future__ import annotations

from typing import Any, Literal, NamedTuple

LOSS_TYPES: tuple[str, ...] = ("sigmoid", "hinge", "ipo")


class DPOStats(NamedTuple):
    """A batch's DPO loss (scalar tensor, differentiable) and its logged numbers (floats, means over pairs)."""

    loss: Any
    rewards_chosen: float
    rewards_rejected: float
    margins: float
    accuracies: float

    def to_dict(self) -> dict[str, float]:
        """TRL's log keys."""
        return {"loss": float(self.loss.detach()), "rewards/chosen": self.rewards_chosen,
                "rewards/rejected": self.rewards_rejected, "rewards/margins": self.margins,
                "rewards/accuracies": self.accuracies}


def completion_logprobs(logits: Any, input_ids: Any, completion_mask: Any) -> Any:
    """(B,) summed log-probabilities of the completion tokens.

    logits: (B, L, V) of the model on ``input_ids`` (B, L). completion_mask: (B, L), 1 on completion tokens, 0 on
    prompt and padding. Token t is scored by the logits at t − 1, so a completion token at position 0 cannot be
    scored (a row must start with at least one prompt token).
    """
    import torch

    logits = logits[:, :-1].float()
    targets = input_ids[:, 1:]
    mask = completion_mask[:, 1:].to(logits.dtype)
    picked = torch.gather(logits, 2, targets.unsqueeze(-1)).squeeze(-1)  # (B, L-1)
    logp = picked - torch.logsumexp(logits, dim=-1)  # log_softmax at the target, without the (B, L, V) copy
    return (logp * mask).sum(dim=1)


def dpo_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, *, beta: float = 0.1,
             loss_type: Literal["sigmoid", "hinge", "ipo"] = "sigmoid") -> DPOStats:
    """The DPO loss of B pairs from their summed completion log-probs (each (B,)) under the policy and the
    reference (see the module docstring)."""
    import torch
    import torch.nn.functional as F

    if beta <= 0:
        raise ValueError(f"beta must be > 0; got {beta}")
    chosen_ratio = policy_chosen - ref_chosen.detach()
    rejected_ratio = policy_rejected - ref_rejected.detach()
    h = chosen_ratio - rejected_ratio  # (B,)
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * h)
    elif loss_type == "hinge":
        losses = torch.relu(1.0 - beta * h)
    elif loss_type == "ipo":
        losses = (h - 1.0 / (2.0 * beta)) ** 2
    else:
        raise ValueError(f"unknown DPO loss_type {loss_type!r}; known: {', '.join(LOSS_TYPES)}")
    rc = (beta * chosen_ratio).detach()
    rr = (beta * rejected_ratio).detach()
    return DPOStats(loss=losses.mean(), rewards_chosen=float(rc.mean()), rewards_rejected=float(rr.mean()),
                    margins=float((rc - rr).mean()), accuracies=float((rc > rr).float().mean()))


__all__ = ["DPOStats", "LOSS_TYPES", "completion_logprobs", "dpo_loss"]
