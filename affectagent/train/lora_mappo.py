"""Token-level MAPPO for LLM agents: LoRA on a causal LM, the shared rl/ core applied per generated token.

One PPO iteration (AffectAgent Eq. 8-12 at token level; each generated token is one action):

1. Roll out (``llm.lora_policy.rollout``): for B prompts (a role's input, here the generator labelling MELD
   utterances) sample a response from the policy (base model + LoRA adapter) at ``temperature``; per-token log-probs
   under the policy (logp_old) and under the frozen reference (adapter disabled, logp_ref), values V(s_t) from the
   value head, and the task reward R = set_F1(parsed label, gold) (the generator's reward; planner/filter get their
   local incremental rewards).
2. Advantages (``rl.token_advantage.token_advantages``): r_t = -eta*(logp_old - logp_ref) per token, R added at the
   last token, GAE over the response tokens, advantages normalised over all valid tokens.
3. ``ppo_epochs`` passes: clipped surrogate over tokens (``actor_loss`` with the response mask) + value_coef *
   clipped value loss (``critic_loss``); AdamW on the LoRA and value-head parameters only.

The prompts list MELD's own label words (``datasets.label_space("meld")``); answers are parsed into canonical labels
with ``llm.parsing.first_label_in`` (synonyms such as joy -> happy accepted) and scored against the canonical gold.
On CPU this runs a few steps of the 0.5B model to show the path works; real training runs on a GPU:

    affectagent train lora-mappo --steps 2 --batch-size 2 --max-tokens 4 --num-threads 1 --out runs/lora-cpu
    affectagent train lora-mappo --model qwen-1.5b --device cuda --steps 200 --batch-size 16 --out runs/lora

A run is not resumable: it starts from a fresh adapter and writes the adapter once, at the end.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

from ..errors import DataNotFoundError, InputError
from ..llm.backend import ChatMessage
from ..llm.lora_policy import LabelledPrompt, LoRAPolicy, LoRAPolicyConfig, TokenRollout, rollout
from ..rl.ppo_loss import actor_loss, critic_loss
from ..rl.token_advantage import TokenAdvantages, token_advantages
from .metrics_logger import make_logger


# ---- config and records -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoRAMAPPOConfig:
    """Token-level MAPPO settings.

    policy: the LoRA policy (base model, adapter, sampling; ``LoRAPolicyConfig``).
    lr: AdamW learning rate of the adapter.
    critic_lr: AdamW learning rate of the value head.
    kl_coef: eta of the per-token KL penalty to the reference (adapter off).
    gamma: GAE discount over response tokens.
    lam: GAE lambda over response tokens.
    clip_eps: PPO ratio clip.
    value_clip_eps: PPO value clip.
    value_coef: beta in actor + beta*critic.
    ppo_epochs: passes over each rollout batch.
    batch_size: prompts per rollout.
    max_grad_norm: gradient clipping.
    seed: value-head initialisation, rollout sampling and prompt draws.
    """

    policy: LoRAPolicyConfig = field(default_factory=LoRAPolicyConfig)
    lr: float = 1e-4
    critic_lr: float = 1e-3
    kl_coef: float = 0.05
    gamma: float = 1.0
    lam: float = 0.95
    clip_eps: float = 0.2
    value_clip_eps: float = 0.2
    value_coef: float = 0.5
    ppo_epochs: int = 2
    batch_size: int = 4
    max_grad_norm: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        positive = {"lr": self.lr, "critic_lr": self.critic_lr, "ppo_epochs": self.ppo_epochs,
                    "batch_size": self.batch_size, "clip_eps": self.clip_eps, "max_grad_norm": self.max_grad_norm}
        bad = [k for k, v in positive.items() if not v > 0]
        if bad:
            raise InputError(f"these LoRA MAPPO settings must be > 0: {', '.join(bad)}")
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1):
            raise InputError("gamma and lam must be in [0, 1]")
        if self.kl_coef < 0 or self.value_coef < 0 or self.value_clip_eps <= 0:
            raise InputError("kl_coef, value_coef >= 0 and value_clip_eps > 0 required")


@dataclass(frozen=True)
class StepStats:
    """Numbers of one PPO iteration (means over valid response tokens unless said otherwise)."""

    step: int
    reward: float  # mean task reward over prompts
    kl: float  # mean per-token logp_old - logp_ref
    actor_loss: float  # last epoch
    critic_loss: float  # last epoch
    clip_fraction: float
    approx_kl: float  # policy change over the PPO epochs
    response_tokens: float  # mean generated tokens per prompt
    seconds: float


# ---- the generator prompt on MELD ---------------------------------------------------------------------------------
def generator_prompt(text: str, *, labels: Sequence[str], speaker: str | None = None,
                     context: Sequence[str] = ()) -> tuple[ChatMessage, ...]:
    """A short generator-role prompt: label the utterance with one word from ``labels``."""
    ctx = "".join(f"{c}\n" for c in context)
    who = f" ({speaker})" if speaker else ""
    return (
        ChatMessage("system", "You recognise emotions in dialogue."),
        ChatMessage("user", f"{'Context:' + chr(10) + ctx if ctx else ''}Utterance{who}: \"{text}\"\n"
                            f"Answer with exactly one word from: {', '.join(labels)}."),
    )


def meld_prompts(split: str = "train", *, limit: int | None = None, data_root: str | None = None,
                 context_turns: int = 0) -> list[LabelledPrompt]:
    """MELD utterances as generator prompts: the prompt names MELD's own label words, the gold and the parser's
    allowed labels are their canonical emotions. Missing data -> DataNotFoundError."""
    from .. import datasets

    space = datasets.label_space("meld")
    samples = datasets.load("meld", split, data_root=data_root, limit=limit)
    out = []
    for s in samples:
        if not s.text or s.label is None:
            continue
        ctx = [f"{t.speaker or 'someone'}: {t.text}" for t in s.context[-context_turns:]] if context_turns else []
        out.append(LabelledPrompt(messages=generator_prompt(s.text, labels=space.labels, speaker=s.speaker,
                                                            context=ctx),
                                  gold=(s.label,), labels=space.canonical))
    if not out:
        raise DataNotFoundError(f"no labelled MELD {split} utterances found")
    return out


# ---- the trainer --------------------------------------------------------------------------------------------------
class LoRAMAPPOTrainer:
    """Orchestrates rollouts and PPO updates; the math lives in rl/."""

    def __init__(self, policy: LoRAPolicy, *, config: LoRAMAPPOConfig) -> None:
        import torch

        self.policy = policy
        self.config = config
        self.optimizer = torch.optim.AdamW([
            {"params": policy.adapter_parameters(), "lr": config.lr},
            {"params": list(policy.value_head.parameters()), "lr": config.critic_lr},
        ])
        self.steps_done = 0

    def advantages(self, batch: TokenRollout) -> TokenAdvantages:
        cfg = self.config
        return token_advantages(logp_old=batch.logp_old, logp_ref=batch.logp_ref, values=batch.values_old,
                                response_mask=batch.response_mask, task_reward=batch.task_reward,
                                kl_coef=cfg.kl_coef, gamma=cfg.gamma, lam=cfg.lam)

    def update(self, batch: TokenRollout, adv: TokenAdvantages) -> tuple[float, float, float, float]:
        """``ppo_epochs`` passes over the batch; returns (actor, critic, clip_fraction, approx_kl) of the last pass."""
        import torch

        cfg = self.config
        self.policy.model.train()
        params = self.policy.adapter_parameters() + list(self.policy.value_head.parameters())
        for _ in range(cfg.ppo_epochs):
            logp, values = self.policy.forward(batch.batch)
            a = actor_loss(logp_new=logp, logp_old=batch.logp_old, advantages=adv.advantages,
                           clip_eps=cfg.clip_eps, mask=batch.response_mask)
            c = critic_loss(values=values, old_values=batch.values_old, returns=adv.returns,
                            clip_eps=cfg.value_clip_eps, mask=batch.response_mask)
            total = a.loss + cfg.value_coef * c
            if not torch.isfinite(total):
                raise FloatingPointError(f"LoRA MAPPO loss is not finite ({float(total)})")
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            self.optimizer.step()
        self.policy.model.eval()
        return float(a.loss.detach()), float(c.detach()), float(a.clip_fraction), float(a.approx_kl)

    def step(self, prompts: Sequence[LabelledPrompt]) -> StepStats:
        t0 = time.perf_counter()
        cfg = self.config
        batch = rollout(self.policy, prompts, seed=cfg.seed + 1000 * self.steps_done)
        actor, critic, clip, akl = self.update(batch, self.advantages(batch))
        m = batch.response_mask
        n = float(m.sum().clamp_min(1))
        self.steps_done += 1
        return StepStats(step=self.steps_done, reward=float(batch.task_reward.mean()),
                         kl=float(((batch.logp_old - batch.logp_ref) * m).sum() / n), actor_loss=actor,
                         critic_loss=critic, clip_fraction=clip, approx_kl=akl,
                         response_tokens=float(m.sum(dim=1).mean()), seconds=time.perf_counter() - t0)


def train_lora_mappo(prompts: Sequence[LabelledPrompt], *, config: LoRAMAPPOConfig, steps: int,
                     policy: LoRAPolicy | None = None, log: Callable[[StepStats], None] | None = None,
                     progress: bool = True) -> tuple[LoRAPolicy, list[StepStats]]:
    """Run ``steps`` PPO iterations, each on ``batch_size`` prompts drawn (seeded) from ``prompts``."""
    import numpy as np
    from tqdm.auto import tqdm

    if steps < 1:
        raise InputError(f"steps must be >= 1; got {steps}")
    if len(prompts) < config.batch_size:
        raise InputError(f"need at least batch_size={config.batch_size} prompts; got {len(prompts)}")
    policy = policy or LoRAPolicy(config.policy, seed=config.seed)
    trainer = LoRAMAPPOTrainer(policy, config=config)
    rng = np.random.default_rng(config.seed)
    stats: list[StepStats] = []
    bar = tqdm(range(steps), desc="LoRA MAPPO", unit="step", disable=not progress, file=sys.stderr)
    for _ in bar:
        idx = rng.choice(len(prompts), size=config.batch_size, replace=False)
        s = trainer.step([prompts[i] for i in idx])
        stats.append(s)
        bar.set_postfix(reward=f"{s.reward:.2f}", kl=f"{s.kl:.3f}", actor=f"{s.actor_loss:.3f}")
        if log:
            log(s)
    return policy, stats


# ---- one run (the ``affectagent train lora-mappo`` command) ----------------------------------------------------
@dataclass(frozen=True)
class LoRAMAPPORunConfig:
    """One run on MELD train: data, length and outputs around the MAPPO settings.

    mappo: the token-level MAPPO settings (``LoRAMAPPOConfig``).
    steps: PPO iterations.
    limit: MELD train utterances to draw prompts from.
    context_turns: previous dialogue turns shown in each prompt.
    num_threads: torch CPU threads (default: torch's).
    data_root: data root (default: $AFFECTAGENT_DATA or ../shared/data).
    out: save the adapter + value head in this folder.
    log_jsonl: append one JSON line of StepStats per step (they are also printed).
    tb_dir: TensorBoard event folder for the same records.
    progress: tqdm bar.
    """

    mappo: LoRAMAPPOConfig = field(default_factory=LoRAMAPPOConfig)
    steps: int = 3
    limit: int = 2000
    context_turns: int = 0
    num_threads: int | None = None
    data_root: str | None = None
    out: str | None = None
    log_jsonl: str | None = None
    tb_dir: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.steps < 1 or self.limit < 1 or self.context_turns < 0:
            raise InputError("steps >= 1, limit >= 1 and context_turns >= 0 required")
        if self.num_threads is not None and self.num_threads < 1:
            raise InputError("num_threads must be >= 1")


def run_lora_mappo(run: LoRAMAPPORunConfig) -> tuple[LoRAPolicy, list[StepStats]]:
    """Load the prompts, train, log every step (stdout + ``log_jsonl`` + ``tb_dir``) and save to ``out``."""
    if run.num_threads:
        import torch

        torch.set_num_threads(run.num_threads)
    prompts = meld_prompts("train", limit=run.limit, data_root=run.data_root, context_turns=run.context_turns)
    with make_logger(jsonl=run.log_jsonl, tensorboard=run.tb_dir, stdout=True) as metrics:
        policy, stats = train_lora_mappo(prompts, config=run.mappo, steps=run.steps, progress=run.progress,
                                         log=lambda s: metrics.log(asdict(s)))
    if run.out:
        print(f"adapter saved to {policy.save(run.out)}", file=sys.stderr)
    return policy, stats


__all__ = ["LoRAMAPPOConfig", "LoRAMAPPORunConfig", "LoRAMAPPOTrainer", "StepStats", "generator_prompt",
           "meld_prompts", "run_lora_mappo", "train_lora_mappo"]
