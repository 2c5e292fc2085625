"""Token-level MAPPO for LLM agents: LoRA on a causal LM, the shared rl/ core applied per generated token.

One PPO iteration (AffectAgent Eq. 8-12 at token level; each generated token is one action):

1. Roll out: for B prompts (a role's input, here the generator labelling MELD utterances) sample a response from the
   policy (base model + LoRA adapter) at ``temperature``.
2. Score: per-token log-probs under the policy (logp_old) and under the frozen reference (adapter disabled, logp_ref),
   values V(s_t) from a small value head on the last hidden state before token t, and the task reward
   R = set_F1(parsed label, gold) (the generator's reward; planner/filter get their local incremental rewards).
3. Rewards r_t = -eta*(logp_old - logp_ref) per token, R added at the last token (``kl_shaped_rewards``), GAE over the
   response tokens (``gae``), advantages normalised over all valid tokens.
4. ``ppo_epochs`` passes: clipped surrogate over tokens (``actor_loss`` with the response mask) + value_coef *
   clipped value loss (``critic_loss``); AdamW on the LoRA and value-head parameters only.

Shape legend: B prompts per batch, P longest prompt (prompts are left-padded), T longest response (right-padded),
L = P + T, H hidden size, V vocabulary.

On CPU this runs a few steps of the 0.5B model to show the path works; real training runs on a GPU:
``python -m affectagent.llm.lora_mappo --model qwen-1.5b --device cuda --steps 200 --batch-size 16 --out runs/lora``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import AffectAgentError, DataNotFoundError, InputError, MissingDependencyError
from ..rl.gae import gae
from ..rl.ppo_loss import actor_loss, critic_loss, kl_shaped_rewards
from ..rl.rewards import set_f1
from .backend import ChatMessage

MELD_LABELS: tuple[str, ...] = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")


# ---- config and records -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoRAMAPPOConfig:
    """Token-level MAPPO settings.

    model: hf backend model (alias, folder or HF id). device: "cpu" or "cuda[:i]".
    lora_r / lora_alpha / lora_dropout / target_modules: the LoRA adapter (peft).
    lr: AdamW learning rate of the adapter; critic_lr: of the value head.
    kl_coef: eta of the per-token KL penalty to the reference (adapter off).
    gamma / lam: GAE discount and lambda over response tokens.
    clip_eps / value_clip_eps: PPO ratio clip and value clip. value_coef: beta in actor + beta*critic.
    ppo_epochs: passes over each rollout batch. batch_size: prompts per rollout. max_tokens: response budget.
    temperature: sampling temperature of the rollout policy (log-probs are taken at the same temperature).
    max_grad_norm: gradient clipping. seed: rollout sampling and prompt sampling seed.
    """

    model: str = "qwen-0.5b"
    device: str = "cpu"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
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
    max_tokens: int = 8
    temperature: float = 1.0
    max_grad_norm: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        positive = {"lora_r": self.lora_r, "lora_alpha": self.lora_alpha, "lr": self.lr, "critic_lr": self.critic_lr,
                    "ppo_epochs": self.ppo_epochs, "batch_size": self.batch_size, "max_tokens": self.max_tokens,
                    "temperature": self.temperature, "clip_eps": self.clip_eps, "max_grad_norm": self.max_grad_norm}
        bad = [k for k, v in positive.items() if not v > 0]
        if bad:
            raise InputError(f"these LoRA MAPPO settings must be > 0: {', '.join(bad)}")
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1):
            raise InputError("gamma and lam must be in [0, 1]")
        if self.kl_coef < 0 or self.value_coef < 0 or self.value_clip_eps <= 0 or not 0 <= self.lora_dropout < 1:
            raise InputError("kl_coef, value_coef >= 0; value_clip_eps > 0; lora_dropout in [0, 1)")
        if not self.target_modules:
            raise InputError("target_modules must name at least one module")


@dataclass(frozen=True)
class LabelledPrompt:
    """One role input with its gold answer: the chat messages and the gold label set."""

    messages: tuple[ChatMessage, ...]
    gold: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass
class TokenRollout:
    """One rollout batch (tensors on the policy device).

    input_ids, attention_mask, position_ids: (B, L) prompt (left-padded) + response (right-padded).
    response_mask: (B, T) 1 on generated tokens. logp_old, logp_ref, values_old: (B, T).
    rewards, advantages, returns: (B, T) (zero on padding). task_reward: (B,). texts/preds: per prompt.
    """

    input_ids: Any
    attention_mask: Any
    position_ids: Any
    response_mask: Any
    logp_old: Any
    logp_ref: Any
    values_old: Any
    rewards: Any
    advantages: Any
    returns: Any
    task_reward: Any
    texts: list[str]
    preds: list[str | None]


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


# ---- built-in generator prompt and parser -----------------------------------------------------------------------
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


def parse_label(text: str, labels: Sequence[str]) -> str | None:
    """The label from ``labels`` mentioned first in ``text`` (whole word, case-insensitive); None if none is."""
    best: tuple[int, str] | None = None
    low = text.lower()
    for lab in labels:
        m = re.search(rf"\b{re.escape(lab.lower())}\b", low)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), lab)
    return best[1] if best else None


def meld_prompts(split: str = "train", *, limit: int | None = None, data_root: str | None = None,
                 context_turns: int = 0) -> list[LabelledPrompt]:
    """MELD utterances as generator prompts (gold = MELD's own label word). Missing data -> DataNotFoundError."""
    from ..datasets import load

    samples = load("meld", split, data_root=data_root, limit=limit)
    out = []
    for s in samples:
        if not s.text or not s.raw_label:
            continue
        ctx = [f"{t.speaker or 'someone'}: {t.text}" for t in s.context[-context_turns:]] if context_turns else []
        out.append(LabelledPrompt(messages=generator_prompt(s.text, labels=MELD_LABELS, speaker=s.speaker,
                                                            context=ctx),
                                  gold=(s.raw_label,), labels=MELD_LABELS))
    if not out:
        raise DataNotFoundError(f"no labelled MELD {split} utterances found")
    return out


# ---- pure token-level math --------------------------------------------------------------------------------------
def token_advantages(*, logp_old, logp_ref, values, response_mask, task_reward, kl_coef: float, gamma: float,
                     lam: float, normalize: bool = True):
    """Per-token KL-shaped rewards, GAE advantages and returns for right-padded responses.

    Each row is one trajectory of its own length n_b (the response): kl_shaped_rewards and gae run on its first
    n_b steps (the task reward lands on token n_b - 1, the episode ends there); padding gets zeros.
    All inputs (B, T) except task_reward (B,). Returns (rewards, advantages, returns), each (B, T).
    """
    import torch

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
    return rewards, adv, ret


# ---- the policy -------------------------------------------------------------------------------------------------
def _require_peft():
    try:
        import peft
    except ImportError:
        raise MissingDependencyError("LoRA MAPPO needs peft: pip install peft==0.21.2") from None
    return peft


class LoRAPolicy:
    """Base causal LM + LoRA adapter (the actor; adapter off = the frozen reference) + a value head (the critic).

    The value head reads the detached last hidden state, so the critic trains only its head and the adapter is
    moved by the actor loss alone.
    """

    def __init__(self, config: LoRAMAPPOConfig, *, adapter_dir: str | os.PathLike[str] | None = None) -> None:
        import torch

        from .hf import HFBackend

        peft = _require_peft()
        self.config = config
        self.backend = HFBackend(model=config.model, shared=False)  # its own copy: peft wraps its modules
        base = self.backend.model.to(config.device)
        for p in base.parameters():
            p.requires_grad_(False)
        if adapter_dir is not None:
            self.model = peft.PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=True)
        else:
            lora = peft.LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                                   target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM")
            self.model = peft.get_peft_model(base, lora)
        hidden = base.config.hidden_size
        torch.manual_seed(config.seed)
        self.value_head = torch.nn.Linear(hidden, 1).to(config.device)
        if adapter_dir is not None:
            state = torch.load(Path(adapter_dir) / "value_head.pt", map_location=config.device, weights_only=True)
            self.value_head.load_state_dict(state)
        self.tokenizer = self.backend.tokenizer

    def adapter_parameters(self) -> list:
        return [p for n, p in self.model.named_parameters() if p.requires_grad and "lora_" in n]

    def adapter_state(self) -> dict[str, Any]:
        """A detached copy of every LoRA tensor (to compare before/after training)."""
        return {n: p.detach().clone() for n, p in self.model.named_parameters() if "lora_" in n}

    def forward(self, batch: TokenRollout, *, use_adapter: bool = True, with_values: bool = True):
        """(logp, values) over the response positions, each (B, T); logp at the rollout temperature."""
        import contextlib

        import torch

        t = batch.response_mask.shape[1]
        ctx = contextlib.nullcontext() if use_adapter else self.model.disable_adapter()
        with ctx:
            out = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                             position_ids=batch.position_ids, output_hidden_states=with_values,
                             logits_to_keep=t + 1)
        # logits[:, j] predicts token j+1: the last T+1 positions minus the final one predict the T response tokens
        logits = out.logits[:, -(t + 1):-1].float() / self.config.temperature  # (B, T, V)
        resp = batch.input_ids[:, -t:]
        logp = torch.log_softmax(logits, dim=-1).gather(-1, resp.unsqueeze(-1)).squeeze(-1)  # (B, T)
        values = None
        if with_values:
            h = out.hidden_states[-1][:, -(t + 1):-1].detach().float()  # (B, T, H): state before each token
            values = self.value_head(h).squeeze(-1)  # (B, T)
        return logp, values

    def save(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write the adapter (peft format), the value head and the config atomically to ``out_dir``."""
        import torch

        out = Path(out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            self.model.save_pretrained(str(tmp))
            torch.save(self.value_head.state_dict(), tmp / "value_head.pt")
            (tmp / "lora_mappo_config.json").write_text(json.dumps(asdict(self.config), indent=2) + "\n")
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return out

    @classmethod
    def load(cls, adapter_dir: str | os.PathLike[str], *, device: str | None = None) -> "LoRAPolicy":
        """Rebuild a saved policy (base model named in its config + adapter + value head)."""
        d = Path(adapter_dir)
        cfg_file = d / "lora_mappo_config.json"
        if not cfg_file.is_file():
            raise DataNotFoundError(f"{d} is not a LoRA MAPPO output folder (no lora_mappo_config.json)")
        raw = json.loads(cfg_file.read_text())
        raw["target_modules"] = tuple(raw["target_modules"])
        if device:
            raw["device"] = device
        return cls(LoRAMAPPOConfig(**raw), adapter_dir=d)


# ---- rollout and update -----------------------------------------------------------------------------------------
def _pad_batch(prompts: list[list[int]], responses: list[list[int]], *, pad_id: int, device: str):
    """Left-pad prompts to P, right-pad responses to T; returns input_ids, attention_mask, position_ids, response_mask."""
    import torch

    p = max(len(x) for x in prompts)
    t = max(1, max(len(r) for r in responses))
    rows, masks, rmask = [], [], []
    for pr, rs in zip(prompts, responses):
        rows.append([pad_id] * (p - len(pr)) + pr + rs + [pad_id] * (t - len(rs)))
        masks.append([0] * (p - len(pr)) + [1] * (len(pr) + len(rs)) + [0] * (t - len(rs)))
        rmask.append([1] * len(rs) + [0] * (t - len(rs)))
    ids = torch.tensor(rows, dtype=torch.long, device=device)
    att = torch.tensor(masks, dtype=torch.long, device=device)
    pos = (att.cumsum(dim=1) - 1).clamp_min(0)
    return ids, att, pos, torch.tensor(rmask, dtype=torch.float32, device=device)


def rollout(policy: LoRAPolicy, prompts: Sequence[LabelledPrompt], *, seed: int,
            parse: Callable[[str, Sequence[str]], str | None] = parse_label) -> TokenRollout:
    """Sample one response per prompt from the policy and score it (log-probs, reference, values, rewards)."""
    import torch

    cfg = policy.config
    backend = policy.backend
    prompt_ids, responses, texts, preds, rewards = [], [], [], [], []
    policy.model.eval()
    for i, ex in enumerate(prompts):
        ids = backend.encode_chat(list(ex.messages))
        gen = backend.generate_ids(ids, max_tokens=cfg.max_tokens, temperature=cfg.temperature, seed=seed + i,
                                   model=policy.model)
        body = gen.ids[:-1] if gen.hit_eos else gen.ids
        text = backend.tokenizer.decode(body, skip_special_tokens=True)
        pred = parse(text, ex.labels)
        prompt_ids.append(ids)
        responses.append(gen.ids if gen.ids else [backend.eos_ids[0]])
        texts.append(text)
        preds.append(pred)
        rewards.append(set_f1([pred] if pred else [], list(ex.gold)))
    input_ids, att, pos, rmask = _pad_batch(prompt_ids, responses, pad_id=backend.pad_id, device=cfg.device)
    task_reward = torch.tensor(rewards, dtype=torch.float32, device=cfg.device)
    batch = TokenRollout(input_ids=input_ids, attention_mask=att, position_ids=pos, response_mask=rmask,
                         logp_old=None, logp_ref=None, values_old=None, rewards=None, advantages=None, returns=None,
                         task_reward=task_reward, texts=texts, preds=preds)
    with torch.no_grad():
        logp_old, values_old = policy.forward(batch)
        logp_ref, _ = policy.forward(batch, use_adapter=False, with_values=False)
    batch.logp_old, batch.values_old, batch.logp_ref = logp_old * rmask, values_old * rmask, logp_ref * rmask
    batch.rewards, batch.advantages, batch.returns = token_advantages(
        logp_old=batch.logp_old, logp_ref=batch.logp_ref, values=batch.values_old, response_mask=rmask,
        task_reward=task_reward, kl_coef=cfg.kl_coef, gamma=cfg.gamma, lam=cfg.lam)
    return batch


class LoRAMAPPOTrainer:
    """Orchestrates rollouts and PPO updates; the math lives in rl/ and ``token_advantages``."""

    def __init__(self, policy: LoRAPolicy) -> None:
        import torch

        self.policy = policy
        cfg = policy.config
        self.optimizer = torch.optim.AdamW([
            {"params": policy.adapter_parameters(), "lr": cfg.lr},
            {"params": list(policy.value_head.parameters()), "lr": cfg.critic_lr},
        ])
        self.steps_done = 0

    def update(self, batch: TokenRollout) -> tuple[float, float, float, float]:
        """``ppo_epochs`` passes over the batch; returns (actor, critic, clip_fraction, approx_kl) of the last pass."""
        import torch

        cfg = self.policy.config
        self.policy.model.train()
        params = self.policy.adapter_parameters() + list(self.policy.value_head.parameters())
        for _ in range(cfg.ppo_epochs):
            logp, values = self.policy.forward(batch)
            a = actor_loss(logp_new=logp, logp_old=batch.logp_old, advantages=batch.advantages,
                           clip_eps=cfg.clip_eps, mask=batch.response_mask)
            c = critic_loss(values=values, old_values=batch.values_old, returns=batch.returns,
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
        cfg = self.policy.config
        batch = rollout(self.policy, prompts, seed=cfg.seed + 1000 * self.steps_done)
        actor, critic, clip, akl = self.update(batch)
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
    policy = policy or LoRAPolicy(config)
    trainer = LoRAMAPPOTrainer(policy)
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


# ---- command line -----------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m affectagent.llm.lora_mappo``: a few (CPU) or many (GPU) LoRA MAPPO steps on MELD train."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m affectagent.llm.lora_mappo", description=main.__doc__)
    p.add_argument("--model", default="qwen-0.5b", help="hf model: qwen-0.5b | qwen-1.5b | folder | HF id")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:1 ...")
    p.add_argument("--steps", type=int, default=3, help="PPO iterations")
    p.add_argument("--batch-size", type=int, default=4, help="prompts per rollout")
    p.add_argument("--max-tokens", type=int, default=8, help="response budget in tokens")
    p.add_argument("--ppo-epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--kl-coef", type=float, default=0.05)
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--limit", type=int, default=2000, help="MELD train utterances to draw prompts from")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--data-root", help="data root (default: $AFFECTAGENT_DATA or ../shared/data)")
    p.add_argument("--out", help="save the adapter + value head here")
    p.add_argument("--log-jsonl", help="append one JSON line of StepStats per step")
    args = p.parse_args(argv)
    try:
        if args.num_threads:
            import torch

            torch.set_num_threads(args.num_threads)
        cfg = LoRAMAPPOConfig(model=args.model, device=args.device, batch_size=args.batch_size,
                              max_tokens=args.max_tokens, ppo_epochs=args.ppo_epochs, lr=args.lr,
                              kl_coef=args.kl_coef, lora_r=args.lora_r, lora_alpha=2 * args.lora_r, seed=args.seed)
        prompts = meld_prompts("train", limit=args.limit, data_root=args.data_root)
        log_fh = open(args.log_jsonl, "a") if args.log_jsonl else None

        def log(s: StepStats) -> None:
            print(json.dumps(asdict(s)), flush=True)
            if log_fh:
                log_fh.write(json.dumps(asdict(s)) + "\n")
                log_fh.flush()

        policy, _ = train_lora_mappo(prompts, config=cfg, steps=args.steps, log=log)
        if log_fh:
            log_fh.close()
        if args.out:
            print(f"adapter saved to {policy.save(args.out)}", file=sys.stderr)
    except AffectAgentError as exc:
        print(f"affectagent: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
