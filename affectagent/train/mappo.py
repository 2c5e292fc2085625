"""Multi-agent PPO of the planner, evidence filter and generator after the SFT warm start (AffectAgent §3.2, Eq. 1–12).

One iteration ("step"):
  1. rollout: a batch of training samples goes through the real pipeline with sampled actions (planner → KB → filter →
     RAAF → MB-MoE → generator); the log-prob of every agent's action under the rollout policy and under the frozen SFT
     reference, and the centralised critic's values, are stored in a ``Rollout``.
  2. rewards: R = F1 of the sampled answer; counterfactual greedy runs (planner replaced by a plain query; filter bypassed)
     give the planner's and filter's incremental terms. Counterfactual runs are separate no-grad passes and never enter
     the rollout records.
  3. ``Rollout.finish``: KL-shaped per-step rewards + GAE(γ, λ).
  4. PPO epochs over minibatches: the stored actions are re-scored on the stored observations; loss = Σ_agents clipped
     surrogate + β·clipped value loss − c·entropy + MB-MoE balance loss. RAAF and MB-MoE receive gradients through the
     generator's log-prob (backprop in the same loop).
Every random draw derives from (seed, step), so a run killed and resumed from its last checkpoint repeats the same
iterations as an uninterrupted one.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..agents.actor import SharedActor
from ..agents.critic import Critic, episode_stats
from ..kb.memo import MemoEvidenceSource
from ..pipeline import AffectAgentPipeline, BatchRun, PipelineConfig
from ..rl.buffer import ROLES, Rollout
from ..rl.ppo_loss import categorical_kl, mappo_loss
from ..rl.rewards import agent_rewards, marginal_weighted_f1, set_f1
from ..schema import CANONICAL_EMOTIONS, EncodedInput, Role
from .sft import EncodedCorpus


@dataclass(frozen=True)
class MAPPOConfig:
    """MAPPO settings (``affectagent train mappo`` options are these fields; ``pipeline`` is chosen by ``--variant``).

    steps: PPO iterations.
    rollout_size: episodes per iteration.
    ppo_epochs: passes over each rollout.
    minibatch: episodes per PPO minibatch.
    lr: AdamW learning rate of the actor.
    critic_lr: AdamW learning rate of the critic.
    weight_decay: AdamW weight decay of the actor.
    clip_eps: PPO ratio clip epsilon.
    value_clip_eps: PPO value clip.
    value_coef: weight β of the value loss.
    entropy_coef: weight of the entropy bonus.
    kl_coef: η of the KL penalty to the frozen SFT reference (sampled per step, in the reward).
    gamma: GAE discount over the three agent steps.
    lam: GAE λ.
    moe_aux: weight of the MB-MoE balance loss.
    dist_kl_coef: weight of the exact KL(π_ref ‖ π) of the planner's and generator's whole label distributions added
      to the loss (keeps calibration).
    reward: "batch" (each episode's marginal contribution to the batch's weighted F1,
      ``rl.rewards.marginal_weighted_f1``) or "sample" (per-sample F1, the paper's reward).
    eval_every: dev evaluation period in steps (0 = only at the end).
    save_every: checkpoint period in steps.
    max_minutes: wall-clock budget in minutes (stops cleanly, checkpoint written); None = no budget.
    seed: every random draw (derived from (seed, step)).
    pipeline: the pipeline variant trained.

    Defaults (batch reward, dist_kl_coef 5) are the best of the MELD runs in BENCHMARKS.md; the paper's setting is
    reward="sample", dist_kl_coef=0.
    """

    steps: int = 200
    rollout_size: int = 256
    ppo_epochs: int = 4
    minibatch: int = 64
    lr: float = 5e-5
    critic_lr: float = 1e-3
    weight_decay: float = 0.0
    clip_eps: float = 0.2
    value_clip_eps: float = 0.2
    value_coef: float = 0.5
    entropy_coef: float = 0.005
    kl_coef: float = 0.05
    gamma: float = 0.99
    lam: float = 0.95
    moe_aux: float = 0.01
    dist_kl_coef: float = 5.0
    reward: Literal["sample", "batch"] = "batch"
    eval_every: int = 20
    save_every: int = 10
    max_minutes: float | None = None
    seed: int = 0
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

    def __post_init__(self) -> None:
        if self.steps < 0 or self.rollout_size < 1 or self.ppo_epochs < 1 or self.minibatch < 1:
            raise ValueError("steps >= 0, rollout_size >= 1, ppo_epochs >= 1 and minibatch >= 1 required")
        if self.lr <= 0 or self.critic_lr <= 0 or not 0 < self.clip_eps < 1 or self.kl_coef < 0:
            raise ValueError("lr, critic_lr > 0; 0 < clip_eps < 1; kl_coef >= 0 required")
        if not (0 < self.gamma <= 1 and 0 <= self.lam <= 1):
            raise ValueError("0 < gamma <= 1 and 0 <= lam <= 1 required")
        if self.reward not in ("sample", "batch"):
            raise ValueError("reward must be 'sample' or 'batch'")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError("max_minutes must be > 0")


# ---- one rollout --------------------------------------------------------------------------------------------------

def _labels(t: torch.Tensor) -> list[str]:
    return [CANONICAL_EMOTIONS[i] for i in t.tolist()]


def step_log_probs(run: BatchRun) -> torch.Tensor:
    """(B, 3) log-prob of each agent's action (0 for an agent that did not run)."""
    z = torch.zeros_like(run.gen.log_prob)
    return torch.stack([run.plan.log_prob if run.plan is not None else z,
                        run.filt.log_prob if run.filt is not None else z, run.gen.log_prob], dim=1)


def step_entropies(run: BatchRun) -> torch.Tensor:
    z = torch.zeros_like(run.gen.entropy)
    return torch.stack([run.plan.entropy if run.plan is not None else z,
                        run.filt.entropy if run.filt is not None else z, run.gen.entropy], dim=1)


def active_steps(run: BatchRun) -> torch.Tensor:
    """(B, 3) which agents acted: the planner when enabled, the filter when it had candidates, the generator always."""
    b = run.gen.label.shape[0]
    plan_on = torch.full((b,), run.plan is not None)
    filt_on = run.ev.mask.any(dim=1) if run.filt is not None else torch.zeros(b, dtype=torch.bool)
    return torch.stack([plan_on, filt_on, torch.ones(b, dtype=torch.bool)], dim=1)


def critic_values(critic: Critic, run: BatchRun) -> torch.Tensor:
    keep = run.filt.keep if run.filt is not None else run.ev.mask
    stats = episode_stats(n_candidates=run.ev.mask.sum(1).float(), n_kept=(keep & run.ev.mask).sum(1).float(),
                          plan_conf=(run.plan.probs.max(1).values if run.plan is not None
                                     else torch.zeros(run.gen.label.shape[0])),
                          gen_conf=run.gen.probs.max(1).values)
    return critic(run.state, stats.to(run.state.dtype))


def _actions(run: BatchRun) -> dict[str, Any]:
    acts: dict[str, Any] = {Role.GENERATOR: run.gen.label.clone()}
    if run.plan is not None:
        acts[Role.PLANNER] = (run.plan.support.clone(), run.plan.confusion.clone())
    if run.filt is not None:
        acts[Role.FILTER] = run.filt.keep.clone()
    return acts


def _fit_actions(actions: dict[str, Any], evidence: Sequence[Sequence]) -> dict[str, Any]:
    """Stored keep masks are padded to the rollout's widest candidate list; a minibatch may be narrower."""
    if Role.FILTER not in actions:
        return actions
    n = max([len(e) for e in evidence] + [1])
    keep = actions[Role.FILTER]
    if keep.shape[1] > n:
        keep = keep[:, :n]
    elif keep.shape[1] < n:
        keep = torch.nn.functional.pad(keep, (0, n - keep.shape[1]))
    return {**actions, Role.FILTER: keep}


@dataclass
class RolloutStats:
    task_reward: float
    greedy_acc: float
    delta_planner: float
    delta_filter: float
    kl_ref: float
    kept_frac: float


@torch.no_grad()
def collect_rollout(
    *, pipe: AffectAgentPipeline, ref: SharedActor, critic: Critic, inputs: Sequence[EncodedInput], gold: np.ndarray,
    index: np.ndarray, generator: torch.Generator, reward: str,
) -> tuple[Rollout, RolloutStats]:
    """Sample one batch of episodes and their rewards. ``gold``: (B,) canonical label indices; ``reward``: the task
    reward, ``MAPPOConfig.reward``."""
    pipe.actor.eval()
    cfg = pipe.config
    run = pipe.run(inputs, sample=True, generator=generator)
    env = {"plans": run.plans, "evidence": run.evidence, "perceptual": run.perceptual, "row": list(range(len(inputs)))}
    over = dict(plans_override=run.plans, evidence_override=run.evidence, perceptual_override=run.perceptual)
    acts = _actions(run)
    ref_run = replace(pipe, actor=ref).run(inputs, actions=acts, **over)
    logp_ref = step_log_probs(ref_run)
    env["ref_gen"] = list(ref_run.gen.probs)
    if ref_run.plan is not None:
        env["ref_plan"] = list(ref_run.plan.probs)
    logp_old = step_log_probs(run)
    active = active_steps(run)
    values = critic_values(critic, run)

    gold_l = _labels(torch.as_tensor(gold))
    sampled = _labels(run.gen.label)
    # Counterfactual greedy answers (not part of the rollout records).
    greedy_acts = {k: v for k, v in acts.items() if k != Role.GENERATOR}
    full = _labels(pipe.run(inputs, actions=greedy_acts, **over).gen.label)
    no_plan = (_labels(pipe.with_config(replace(cfg, use_planner=False)).run(inputs).gen.label)
               if cfg.use_planner and cfg.use_retrieval else full)
    no_filt = (_labels(pipe.with_config(replace(cfg, use_filter=False)).run(inputs, **over).gen.label)
               if cfg.use_filter and cfg.use_retrieval else full)
    ar = agent_rewards(full=full, no_planner=no_plan, no_filter=no_filt, gold=gold_l)
    task = (marginal_weighted_f1(sampled, gold_l) if reward == "batch"
            else np.array([set_f1(p, g) for p, g in zip(sampled, gold_l)], np.float64))
    local = np.stack([ar.planner - ar.shared, ar.filter - ar.shared, np.zeros(len(full))], axis=1)
    ro = Rollout(index=np.asarray(index), actions=acts, env=env, logp_old=logp_old, logp_ref=logp_ref,
                 values=values, active=active, task_reward=torch.as_tensor(task, dtype=torch.float32),
                 local_reward=torch.as_tensor(local, dtype=torch.float32))
    act = active.float()
    keep = run.filt.keep if run.filt is not None else run.ev.mask
    stats = RolloutStats(
        task_reward=float(task.mean()), greedy_acc=float(ar.shared.mean()),
        delta_planner=float(local[:, 0].mean()), delta_filter=float(local[:, 1].mean()),
        kl_ref=float(((logp_old - logp_ref) * act).sum() / act.sum().clamp_min(1)),
        kept_frac=float((keep & run.ev.mask).sum() / run.ev.mask.sum().clamp_min(1)))
    return ro, stats


# ---- one update ---------------------------------------------------------------------------------------------------

def ppo_update(*, pipe: AffectAgentPipeline, critic: Critic, rollout: Rollout, inputs: Sequence[EncodedInput],
               actor_opt: torch.optim.Optimizer, critic_opt: torch.optim.Optimizer, config: MAPPOConfig,
               rng: np.random.Generator) -> dict[str, float]:
    """PPO epochs × minibatches over one rollout. ``inputs[i]`` is the input of rollout row i."""
    pipe.actor.eval()  # dropout off: ratios compare the same deterministic network the rollout used
    sums: dict[str, float] = {}
    n = 0
    for _ in range(config.ppo_epochs):
        for mb in rollout.minibatches(config.minibatch, rng):
            sub = [inputs[r] for r in mb.env["row"]]
            run = pipe.run(sub, plans_override=mb.env["plans"], evidence_override=mb.env["evidence"],
                           perceptual_override=mb.env["perceptual"], actions=_fit_actions(mb.actions, mb.env["evidence"]))
            values = critic_values(critic, run)
            loss = mappo_loss(logp_new=step_log_probs(run), logp_old=mb.logp_old, advantages=mb.advantages,
                              entropy=step_entropies(run), values=values, old_values=mb.values, returns=mb.returns,
                              active=mb.active, clip_eps=config.clip_eps, value_clip_eps=config.value_clip_eps,
                              value_coef=config.value_coef, entropy_coef=config.entropy_coef)
            total = loss.total + config.moe_aux * run.fused.aux_loss
            if config.dist_kl_coef > 0:
                dkl = categorical_kl(p_ref=torch.stack(mb.env["ref_gen"]), logp=run.gen.probs.clamp_min(1e-30).log()).mean()
                if run.plan is not None and "ref_plan" in mb.env:
                    dkl = dkl + categorical_kl(p_ref=torch.stack(mb.env["ref_plan"]),
                                               logp=run.plan.probs.clamp_min(1e-30).log()).mean()
                total = total + config.dist_kl_coef * dkl
                sums["dist_kl"] = sums.get("dist_kl", 0.0) + float(dkl.detach())
            actor_opt.zero_grad()
            critic_opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(pipe.actor.parameters(), 1.0)
            torch.nn.utils.clip_grad_norm_(critic.parameters(), 1.0)
            actor_opt.step()
            critic_opt.step()
            for k in ("actor", "critic", "entropy", "clip_fraction", "approx_kl"):
                sums[k] = sums.get(k, 0.0) + float(getattr(loss, k).detach())
            n += 1
    return {("value_loss" if k == "critic" else k): v / max(n, 1) for k, v in sums.items()}


# ---- the training loop --------------------------------------------------------------------------------------------

@dataclass
class MAPPOState:
    """Everything a resumed run needs besides the data: weights, optimiser states and the step counter."""

    step: int
    actor: dict
    critic: dict
    actor_opt: dict
    critic_opt: dict
    history: list

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(asdict(self), tmp)
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> "MAPPOState":
        return MAPPOState(**torch.load(path, map_location="cpu", weights_only=True))


@dataclass
class MAPPOResult:
    actor: SharedActor
    critic: Critic
    steps_done: int
    history: list[dict[str, Any]]
    stopped: str


def batch_indices(n: int, size: int, *, seed: int, step: int) -> np.ndarray:
    """Rows of iteration ``step``: consecutive slices of a per-pass permutation seeded by (seed, pass)."""
    per_pass = max(1, n // size) if n >= size else 1
    pas, k = divmod(step, per_pass)
    order = np.random.default_rng([seed, pas]).permutation(n)
    return order[k * size:(k + 1) * size] if n >= size else order


def train_mappo(
    corpus: EncodedCorpus, *, init: SharedActor, pipe: AffectAgentPipeline, config: MAPPOConfig, state_path: Path,
    evaluate: Callable[[AffectAgentPipeline, int], dict[str, float]] | None = None,
    log: Callable[[dict[str, Any]], None] | None = None, on_save: Callable[[SharedActor, Critic, list], None] | None = None,
    progress: bool = True, resume: bool = True,
) -> MAPPOResult:
    """Fine-tune ``pipe.actor`` (a copy of ``init``, the frozen reference) with MAPPO on ``corpus``.

    ``evaluate(pipe, step)`` returns dev metrics (logged every ``eval_every`` steps and at the end); ``log(row)`` receives
    every step's and every evaluation's record; ``on_save(actor, critic, history)`` writes the user-facing checkpoint.
    ``state_path`` holds the resumable state; an existing one is resumed when ``resume``."""
    torch.manual_seed(config.seed)
    ref = copy.deepcopy(init).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    pipe = replace(pipe, config=config.pipeline,
                   source=pipe.source if isinstance(pipe.source, MemoEvidenceSource) or pipe.source is None
                   else MemoEvidenceSource(pipe.source))
    critic = Critic(dim=pipe.actor.config.dim)
    actor_opt = torch.optim.AdamW(pipe.actor.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    critic_opt = torch.optim.AdamW(critic.parameters(), lr=config.critic_lr)
    start, history = 0, []
    if resume and state_path.is_file():
        st = MAPPOState.load(state_path)
        pipe.actor.load_state_dict(st.actor)
        critic.load_state_dict(st.critic)
        actor_opt.load_state_dict(st.actor_opt)
        critic_opt.load_state_dict(st.critic_opt)
        start, history = st.step, list(st.history)
    emit = log or (lambda row: None)
    t0 = time.time()

    def save(step: int) -> None:
        MAPPOState(step=step, actor=pipe.actor.state_dict(), critic=critic.state_dict(), actor_opt=actor_opt.state_dict(),
                   critic_opt=critic_opt.state_dict(), history=history).save(state_path)
        if on_save is not None:
            on_save(pipe.actor, critic, history)

    def run_eval(step: int) -> None:
        if evaluate is None:
            return
        row = {"step": step, "kind": "dev", **evaluate(pipe, step)}
        history.append(row)
        emit(row)

    if start == 0 and evaluate is not None and config.eval_every:
        run_eval(0)
    stopped = "steps"
    done = start
    bar = tqdm(total=config.steps, initial=start, desc="MAPPO", disable=not progress)
    while done < config.steps:
        step, ts = done, time.time()
        idx = batch_indices(len(corpus), config.rollout_size, seed=config.seed, step=step)
        sub = [corpus.inputs[i] for i in idx]
        g = torch.Generator().manual_seed(int(np.random.default_rng([config.seed, step, 1]).integers(2**62)))
        torch.manual_seed(int(np.random.default_rng([config.seed, step, 2]).integers(2**62)))
        ro, rs = collect_rollout(pipe=pipe, ref=ref, critic=critic, inputs=sub, gold=corpus.gold[idx], index=idx,
                                 generator=g, reward=config.reward)
        ro.finish(gamma=config.gamma, lam=config.lam, kl_coef=config.kl_coef)
        upd = ppo_update(pipe=pipe, critic=critic, rollout=ro, inputs=sub, actor_opt=actor_opt, critic_opt=critic_opt,
                         config=config, rng=np.random.default_rng([config.seed, step, 3]))
        done = step + 1
        row = {"step": done, "kind": "train", **asdict(rs), **upd,
               "return_mean": float(ro.returns[:, 0].mean()), "seconds": round(time.time() - ts, 3)}
        history.append(row)
        emit(row)
        bar.update(1)
        bar.set_postfix(R=f"{rs.task_reward:.3f}", kl=f"{rs.kl_ref:.3f}", clip=f"{upd['clip_fraction']:.2f}")
        if config.eval_every and done % config.eval_every == 0 and done < config.steps:
            run_eval(done)
        if config.save_every and done % config.save_every == 0 and done < config.steps:
            save(done)
        if config.max_minutes is not None and (time.time() - t0) / 60 >= config.max_minutes and done < config.steps:
            stopped = "time"
            break
    bar.close()
    last_dev = next((r for r in reversed(history) if r.get("kind") == "dev"), None)
    if evaluate is not None and (last_dev is None or last_dev["step"] != done):
        run_eval(done)
    save(done)
    pipe.actor.eval()
    return MAPPOResult(actor=pipe.actor, critic=critic, steps_done=done, history=history, stopped=stopped)


__all__ = ["MAPPOConfig", "MAPPOResult", "MAPPOState", "collect_rollout", "ppo_update", "train_mappo",
           "batch_indices", "ROLES"]
