"""DPO of a causal LM with a LoRA adapter on preference pairs (SAB paper §5.4, Table 7), on CPU, resumable.

    affectagent arena export runs/arena/X --out runs/arena/X/pairs.jsonl
    affectagent train dpo --pairs runs/arena/X/pairs.jsonl --model smollm2-135m --out runs/dpo/X
    affectagent arena run --contestants llm:dpo:runs/dpo/X,llm:smollm2-135m,... --judge qwen-0.5b ...

One optimiser step (the math is ``rl.dpo``):

1. the step's ``batch_size × grad_accum`` pairs (epoch e's order is ``np.random.default_rng([seed, e])``'s
   permutation, so a resumed run reads exactly the pairs an uninterrupted one would);
2. per micro-batch of ``batch_size`` pairs, one batch of rows [chosen; rejected] (prompt = the pair's chat rendered
   with the model's chat template and the assistant turn opened; completion = the answer + the end-of-turn token;
   right-padded); summed completion log-probs under the policy (adapter on) and the reference (the same model with
   the adapter disabled, ``peft.disable_adapter()``, no gradient) -> ``dpo_loss`` / grad_accum, backward;
3. clip the adapter's gradient norm to ``max_grad_norm``; AdamW on the LoRA parameters only (the base weights are
   frozen and stay bit-identical); learning rate warmed up linearly over ``warmup_steps`` (step s gets
   (s + 1) / warmup_steps of it), then ``linear`` decay to 0 at the last step (HF's default) or ``constant``.

Defaults are Table 7's (LoRA r 16, α 64, dropout 0.05 on q/k/v/o/up/down/gate; sigmoid loss, β 0.1; lr 5e-6,
weight decay 0.01, 100 warm-up steps, batch 4 × 4 accumulation, 3 epochs, max length 1024, grad norm 1.0, seed 111)
except the dtype: float32 (bfloat16 is far slower on CPUs without AMX; DESIGN.md). A pair longer than ``max_length``
keeps the end of its prompt (at most ``max_prompt_length`` tokens: the task and the opened assistant turn) and the
start of its answers.

Run folder ``--out``: ``checkpoint/`` (adapter + optimiser + step, rewritten every ``save_every`` steps and at the
end; re-running the same command resumes from it, ``--fresh`` starts over), ``adapter/`` (the finished adapter,
peft format + ``affectagent-adapter.json`` naming the base model: what ``llm.adapter`` loads), ``log.jsonl`` (one
record per step: loss, rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies, logps, lr, grad_norm),
``tb/`` with --tensorboard, ``dpo_status.json`` (config, pairs file digest, progress).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal, NamedTuple, Sequence

import numpy as np

from ..errors import InputError, MissingDependencyError
from ..llm.adapter import ADAPTER_META, RUN_SUBFOLDER, quiet_peft
from ..rl.dpo import LOSS_TYPES, DPOStats, completion_logprobs, dpo_loss
from .dpo_pairs import DPOPair, read_pairs

CHECKPOINT = "checkpoint"
STATE_FILE = "trainer_state.pt"
STATUS_FILE = "dpo_status.json"
LOG_FILE = "log.jsonl"
TABLE7_TARGETS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj", "gate_proj")
# what a resumed run must share with the stored one
_IDENTITY: tuple[str, ...] = ("model", "lora_r", "lora_alpha", "lora_dropout", "target_modules", "batch_size",
                              "grad_accum", "seed", "max_length", "max_prompt_length", "dtype")


@dataclass(frozen=True)
class DPOConfig:
    """DPO settings (Table 7 defaults, except dtype).

    model: base model: packaged alias (smollm2-135m, qwen-0.5b, qwen-1.5b), transformers folder or HF id.
    beta: DPO β, the strength of the pull towards the reference.
    loss_type: sigmoid (DPO), hinge (SLiC) or ipo.
    lr: AdamW peak learning rate.
    weight_decay: AdamW weight decay (LoRA parameters only).
    warmup_steps: linear warm-up steps.
    schedule: learning rate after warm-up: linear (decay to 0 at the last step) or constant.
    batch_size: pairs per forward pass.
    grad_accum: forward passes per optimiser step (a step sees batch_size × grad_accum pairs).
    epochs: passes over the pairs (ignored when max_steps is set).
    max_steps: optimiser steps to train for (default: epochs over the pairs).
    max_length: tokens of prompt + answer kept per row.
    max_prompt_length: prompt tokens kept (its end); must be < max_length.
    max_grad_norm: gradient clipping norm.
    lora_r: LoRA rank.
    lora_alpha: LoRA α (the update is scaled by α / r).
    lora_dropout: dropout on the LoRA input.
    target_modules: modules that get an adapter.
    dtype: weights dtype (float32, or bfloat16 where measured faster).
    seed: pair order, LoRA initialisation and dropout.
    num_threads: torch CPU threads (default: torch's).
    save_every: write the checkpoint every N steps (and at the end).
    tensorboard: also write TensorBoard events to OUT/tb.
    progress: show a progress bar.
    """

    model: str = "smollm2-135m"
    beta: float = 0.1
    loss_type: Literal["sigmoid", "hinge", "ipo"] = "sigmoid"
    lr: float = 5e-6
    weight_decay: float = 0.01
    warmup_steps: int = 100
    schedule: Literal["linear", "constant"] = "linear"
    batch_size: int = 4
    grad_accum: int = 4
    epochs: int = 3
    max_steps: int | None = None
    max_length: int = 1024
    max_prompt_length: int = 512
    max_grad_norm: float = 1.0
    lora_r: int = 16
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = TABLE7_TARGETS
    dtype: Literal["float32", "bfloat16"] = "float32"
    seed: int = 111
    num_threads: int | None = None
    save_every: int = 10
    tensorboard: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
        positive = {"beta": self.beta, "lr": self.lr, "batch_size": self.batch_size, "grad_accum": self.grad_accum,
                    "epochs": self.epochs, "max_length": self.max_length, "max_prompt_length": self.max_prompt_length,
                    "max_grad_norm": self.max_grad_norm, "lora_r": self.lora_r, "lora_alpha": self.lora_alpha,
                    "save_every": self.save_every}
        bad = [k for k, v in positive.items() if not v > 0]
        if bad:
            raise InputError(f"these DPO settings must be > 0: {', '.join(bad)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise InputError(f"max_steps must be >= 1; got {self.max_steps}")
        if self.max_prompt_length >= self.max_length:
            raise InputError(f"max_prompt_length ({self.max_prompt_length}) must be < max_length ({self.max_length})")
        if self.warmup_steps < 0 or self.weight_decay < 0 or not 0 <= self.lora_dropout < 1:
            raise InputError("warmup_steps >= 0, weight_decay >= 0 and lora_dropout in [0, 1) required")
        if self.loss_type not in LOSS_TYPES:
            raise InputError(f"loss_type must be one of {', '.join(LOSS_TYPES)}; got {self.loss_type!r}")
        if not self.target_modules:
            raise InputError("target_modules must name at least one module")
        if self.num_threads is not None and self.num_threads < 1:
            raise InputError("num_threads must be >= 1")


# ---- schedule (pure) ---------------------------------------------------------------------------------------------

def steps_per_epoch(n_pairs: int, config: DPOConfig) -> int:
    return math.ceil(n_pairs / (config.batch_size * config.grad_accum))


def total_steps(n_pairs: int, config: DPOConfig) -> int:
    """Optimiser steps of the run: ``max_steps``, else ``epochs`` over the pairs."""
    return config.max_steps or steps_per_epoch(n_pairs, config) * config.epochs


def step_pairs(step: int, n_pairs: int, config: DPOConfig) -> list[int]:
    """Indices of the pairs optimiser step ``step`` (0-based) reads: a slice of its epoch's seeded permutation."""
    per = steps_per_epoch(n_pairs, config)
    epoch, k = divmod(step, per)
    perm = np.random.default_rng([config.seed, epoch]).permutation(n_pairs)
    eff = config.batch_size * config.grad_accum
    return [int(i) for i in perm[k * eff:(k + 1) * eff]]


def lr_factor(step: int, total: int, config: DPOConfig) -> float:
    """Multiplier of ``lr`` at step ``step`` (0-based): warm-up (s + 1) / warmup, then linear decay or constant."""
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    return max(0.0, (total - step) / max(1, total - config.warmup_steps))


# ---- tokens ------------------------------------------------------------------------------------------------------

class EncodedPair(NamedTuple):
    """Token ids of one pair: the rendered prompt and each answer (end-of-turn token included), truncated."""

    prompt: list[int]
    chosen: list[int]
    rejected: list[int]
    truncated: bool


class DPOBatch(NamedTuple):
    """B pairs as 2B rows, chosen rows first: input_ids, attention_mask, completion_mask, each (2B, L)."""

    input_ids: Any
    attention_mask: Any
    completion_mask: Any

    @property
    def pairs(self) -> int:
        return self.input_ids.shape[0] // 2

    @property
    def tokens(self) -> int:
        return int(self.attention_mask.sum())


def encode_pair(pair: DPOPair, *, encode_chat: Callable[[Sequence[Any]], list[int]],
                encode_text: Callable[[str], list[int]], end_id: int, max_length: int,
                max_prompt_length: int) -> EncodedPair:
    """Tokens of a pair: the prompt's last ``max_prompt_length`` tokens, each answer + ``end_id`` cut so the row
    fits ``max_length``."""
    prompt = list(encode_chat(list(pair.prompt)))
    answers = [list(encode_text(t)) + [end_id] for t in (pair.chosen, pair.rejected)]
    cut = len(prompt) > max_prompt_length
    prompt = prompt[-max_prompt_length:]
    room = max_length - len(prompt)
    cut = cut or any(len(a) > room for a in answers)
    return EncodedPair(prompt=prompt, chosen=answers[0][:room], rejected=answers[1][:room], truncated=cut)


def collate(pairs: Sequence[EncodedPair], *, pad_id: int, device: str = "cpu") -> DPOBatch:
    """Rows [prompt + chosen for each pair; prompt + rejected for each pair], right-padded with ``pad_id``."""
    import torch

    rows = [(p.prompt, p.chosen) for p in pairs] + [(p.prompt, p.rejected) for p in pairs]
    width = max(len(a) + len(b) for a, b in rows)
    ids, att, comp = [], [], []
    for prompt, answer in rows:
        pad = width - len(prompt) - len(answer)
        ids.append(prompt + answer + [pad_id] * pad)
        att.append([1] * (len(prompt) + len(answer)) + [0] * pad)
        comp.append([0] * len(prompt) + [1] * len(answer) + [0] * pad)
    as_t = lambda x: torch.tensor(x, dtype=torch.long, device=device)
    return DPOBatch(input_ids=as_t(ids), attention_mask=as_t(att), completion_mask=as_t(comp))


# ---- the model ---------------------------------------------------------------------------------------------------

class DPOPolicy:
    """The base causal LM (frozen) with a LoRA adapter (trained); the reference is the same model with the adapter
    disabled. ``adapter_from``: a saved adapter folder to continue from (a resumed run's checkpoint)."""

    def __init__(self, config: DPOConfig, *, adapter_from: str | os.PathLike[str] | None = None) -> None:
        import torch

        from ..llm.hf import HFBackend

        try:
            import peft
        except ImportError:
            raise MissingDependencyError("DPO with a LoRA adapter needs peft: pip install peft==0.21.2") from None

        self.config = config
        self.backend = HFBackend(model=config.model, dtype=config.dtype, shared=False)  # peft wraps its modules
        base = self.backend.model
        for p in base.parameters():
            p.requires_grad_(False)
        with quiet_peft():
            if adapter_from is not None:
                self.model = peft.PeftModel.from_pretrained(base, str(adapter_from), is_trainable=True)
            else:
                torch.manual_seed(config.seed)
                lora = peft.LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                       lora_dropout=config.lora_dropout, target_modules=list(config.target_modules),
                                       bias="none", task_type="CAUSAL_LM")
                try:
                    self.model = peft.get_peft_model(base, lora)
                except ValueError as exc:
                    raise InputError(f"cannot put LoRA on {config.model}: {str(exc).splitlines()[0]}") from None
        self.tokenizer = self.backend.tokenizer
        self.end_id = self.backend.eos_ids[0]
        self.pad_id = self.backend.pad_id

    def adapter_parameters(self) -> list:
        return [p for n, p in self.model.named_parameters() if p.requires_grad and "lora_" in n]

    def encode(self, pair: DPOPair) -> EncodedPair:
        c = self.config
        return encode_pair(pair, encode_chat=self.backend.encode_chat,
                           encode_text=lambda t: self.tokenizer(t, add_special_tokens=False)["input_ids"],
                           end_id=self.end_id, max_length=c.max_length, max_prompt_length=c.max_prompt_length)

    def logprobs(self, batch: DPOBatch, *, use_adapter: bool = True) -> Any:
        """(2B,) summed completion log-probs; the reference (``use_adapter=False``) without gradients."""
        import contextlib

        import torch

        ctx = contextlib.nullcontext() if use_adapter else self.model.disable_adapter()
        grad = contextlib.nullcontext() if use_adapter else torch.no_grad()
        with ctx, grad:
            out = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            return completion_logprobs(out.logits, batch.input_ids, batch.completion_mask)

    def save_adapter(self, folder: str | os.PathLike[str], *, meta: dict[str, Any]) -> Path:
        """The adapter (peft format) + ``affectagent-adapter.json`` written atomically to ``folder``."""
        from ..paths import atomic_directory

        out = Path(folder)
        with atomic_directory(out) as tmp:
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the adapter is meant to be shared
            self.model.save_pretrained(str(tmp))
            (tmp / ADAPTER_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return out


def dpo_batch_loss(policy: DPOPolicy, batch: DPOBatch, *, config: DPOConfig) -> tuple[DPOStats, Any, Any]:
    """(stats, policy logps of chosen, of rejected) of one batch."""
    logp = policy.logprobs(batch)
    ref = policy.logprobs(batch, use_adapter=False)
    b = batch.pairs
    stats = dpo_loss(logp[:b], logp[b:], ref[:b], ref[b:], beta=config.beta, loss_type=config.loss_type)
    return stats, logp[:b].detach(), logp[b:].detach()


# ---- the run -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepRecord:
    """One optimiser step's log record (means over the step's pairs)."""

    step: int
    epoch: float
    loss: float
    rewards_chosen: float
    rewards_rejected: float
    rewards_margins: float
    rewards_accuracies: float
    logps_chosen: float
    logps_rejected: float
    lr: float
    grad_norm: float
    pairs: int
    tokens: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("rewards_chosen", "rewards_rejected", "rewards_margins", "rewards_accuracies", "logps_chosen",
                  "logps_rejected"):
            d[k.replace("_", "/", 1)] = d.pop(k)
        return d


@dataclass
class DPOResult:
    """What ``train_dpo`` did: the run folder, the adapter folder, steps now done, steps run by this call, the
    records of this call, and how many pairs were truncated."""

    out: Path
    adapter: Path
    steps: int
    ran: int
    records: list[StepRecord]
    truncated: int


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _identity(config: DPOConfig) -> dict[str, Any]:
    d = asdict(config)
    d["target_modules"] = list(config.target_modules)
    return {k: d[k] for k in _IDENTITY}


def _trim_log(path: Path, upto: int) -> None:
    if path.is_file():
        rows = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        keep = [ln for ln in rows if json.loads(ln).get("step", 0) <= upto]
        path.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _save_checkpoint(policy: DPOPolicy, optimizer: Any, *, out: Path, step: int) -> None:
    import torch

    from ..paths import atomic_directory

    with atomic_directory(out / CHECKPOINT) as tmp:
        policy.model.save_pretrained(str(tmp))
        torch.save({"step": step, "optimizer": optimizer.state_dict()}, tmp / STATE_FILE)


def base_model_ref(model: str) -> str:
    """How the adapter names its base: a packaged alias or HF id as given, a local folder as an absolute path."""
    from ..llm.packaged import is_packaged_alias

    if not is_packaged_alias(model) and Path(model).expanduser().exists():
        return str(Path(model).expanduser().resolve())
    return model


def train_dpo(config: DPOConfig, *, pairs_path: str | os.PathLike[str], out: str | os.PathLike[str],
              resume: bool = True, command: str = "", policy: DPOPolicy | None = None,
              log: Callable[[str], None] = print) -> DPOResult:
    """Train (or continue) a DPO run into ``out`` (see the module docstring). ``policy`` reuses a built policy
    (tests); it must be fresh (its adapter untrained)."""
    import torch
    from tqdm.auto import tqdm

    from .metrics_logger import make_logger

    pairs_path = Path(pairs_path)
    pairs = read_pairs(pairs_path)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    status_path, log_path = out / STATUS_FILE, out / LOG_FILE
    ckpt = out / CHECKPOINT
    digest = _digest(pairs_path)
    status: dict[str, Any] = json.loads(status_path.read_text()) if status_path.is_file() else {}
    resuming = resume and (ckpt / STATE_FILE).is_file()
    if resuming:
        saved = status.get("identity", {})
        changed = [k for k, v in _identity(config).items() if saved.get(k) != v]
        if status.get("pairs_digest") != digest:
            changed.append("pairs file")
        if changed:
            raise InputError(f"{out} holds a DPO run with another {', '.join(changed)}; resume it with the same "
                             "settings, or use --fresh / another --out")
    else:
        for child in (CHECKPOINT, RUN_SUBFOLDER, "tb", LOG_FILE, STATUS_FILE):
            p = out / child
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        status = {}
    total = total_steps(len(pairs), config)
    start = 0
    if resuming:
        state = torch.load(ckpt / STATE_FILE, map_location="cpu", weights_only=True)
        start = int(state["step"])
    if policy is None:
        log(f"dpo: loading {config.model} (+ LoRA r {config.lora_r}, alpha {config.lora_alpha})")
        policy = DPOPolicy(config, adapter_from=ckpt if resuming else None)
    elif resuming:
        raise InputError("a given policy cannot resume a checkpoint")
    params = policy.adapter_parameters()
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if resuming:
        optimizer.load_state_dict(state["optimizer"])
    encoded = [policy.encode(p) for p in pairs]
    truncated = sum(e.truncated for e in encoded)
    status.update({"identity": _identity(config), "config": asdict(config), "pairs": str(pairs_path.resolve()),
                   "pairs_digest": digest, "n_pairs": len(pairs), "truncated_pairs": truncated,
                   "total_steps": total, "command": command or status.get("command"),
                   "trainable_parameters": int(sum(p.numel() for p in params))})
    _write_json(status_path, status)
    meta = {"kind": "dpo", "base_model": base_model_ref(config.model), "dtype": config.dtype,
            "pairs": str(pairs_path.resolve()), "pairs_digest": digest, "n_pairs": len(pairs),
            "beta": config.beta, "loss_type": config.loss_type, "lora_r": config.lora_r,
            "lora_alpha": config.lora_alpha, "target_modules": list(config.target_modules)}
    if start >= total:
        log(f"dpo: {out} is already at step {start} of {total}; nothing to do")
        adapter = out / RUN_SUBFOLDER
        if not adapter.is_dir():
            policy.save_adapter(adapter, meta={**meta, "steps": start})
        return DPOResult(out=out, adapter=adapter, steps=start, ran=0, records=[], truncated=truncated)
    _trim_log(log_path, start)
    if truncated:
        log(f"dpo: {truncated} of {len(pairs)} pairs exceed max_length {config.max_length} / max_prompt_length "
            f"{config.max_prompt_length} and are truncated")
    if config.warmup_steps >= total:
        log(f"dpo: warmup_steps {config.warmup_steps} >= the run's {total} steps: the learning rate never reaches "
            f"lr {config.lr:g} (lower --warmup-steps for short runs)")
    log(f"dpo: {len(pairs)} pairs, steps {start}->{total} ({steps_per_epoch(len(pairs), config)} per epoch), "
        f"{status['trainable_parameters']:,} trainable parameters")
    records: list[StepRecord] = []
    logger = make_logger(jsonl=log_path, tensorboard=out / "tb" if config.tensorboard else None)
    bar = tqdm(range(start, total), initial=start, total=total, desc="dpo", unit="step", disable=not config.progress,
               file=sys.stderr)
    policy.model.train()
    try:
        for step in bar:
            rec = _one_step(policy, optimizer, encoded, step=step, total=total, config=config, params=params)
            records.append(rec)
            logger.log(rec.to_dict())
            bar.set_postfix(loss=f"{rec.loss:.4f}", acc=f"{rec.rewards_accuracies:.2f}",
                            margin=f"{rec.rewards_margins:.3f}")
            if (step + 1) % config.save_every == 0 or step + 1 == total:
                _save_checkpoint(policy, optimizer, out=out, step=step + 1)
    finally:
        bar.close()
        logger.close()
        policy.model.eval()
    adapter = policy.save_adapter(out / RUN_SUBFOLDER, meta={**meta, "steps": total})
    status.update({"steps": total, "finished": time.time()})
    _write_json(status_path, status)
    return DPOResult(out=out, adapter=adapter, steps=total, ran=len(records), records=records, truncated=truncated)


def _one_step(policy: DPOPolicy, optimizer: Any, encoded: Sequence[EncodedPair], *, step: int, total: int,
              config: DPOConfig, params: list) -> StepRecord:
    import torch

    t0 = time.perf_counter()
    torch.manual_seed(config.seed * 1_000_003 + step)  # LoRA dropout: the same on a resumed run
    lr = config.lr * lr_factor(step, total, config)
    for g in optimizer.param_groups:
        g["lr"] = lr
    idx = step_pairs(step, len(encoded), config)
    optimizer.zero_grad(set_to_none=True)
    sums = {"loss": 0.0, "rc": 0.0, "rr": 0.0, "m": 0.0, "acc": 0.0, "lc": 0.0, "lr": 0.0}
    tokens = 0
    chunks = [idx[i:i + config.batch_size] for i in range(0, len(idx), config.batch_size)]
    for chunk in chunks:
        batch = collate([encoded[i] for i in chunk], pad_id=policy.pad_id)
        stats, lc, lrj = dpo_batch_loss(policy, batch, config=config)
        weight = len(chunk) / len(idx)
        if not torch.isfinite(stats.loss):
            raise FloatingPointError(f"DPO loss is not finite at step {step + 1} ({float(stats.loss)})")
        (stats.loss * weight).backward()
        for k, v in (("loss", float(stats.loss.detach())), ("rc", stats.rewards_chosen),
                     ("rr", stats.rewards_rejected), ("m", stats.margins), ("acc", stats.accuracies),
                     ("lc", float(lc.mean())), ("lr", float(lrj.mean()))):
            sums[k] += v * weight
        tokens += batch.tokens
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm))
    optimizer.step()
    per = steps_per_epoch(len(encoded), config)
    return StepRecord(step=step + 1, epoch=round((step + 1) / per, 4), loss=sums["loss"],
                      rewards_chosen=sums["rc"], rewards_rejected=sums["rr"], rewards_margins=sums["m"],
                      rewards_accuracies=sums["acc"], logps_chosen=sums["lc"], logps_rejected=sums["lr"], lr=lr,
                      grad_norm=grad_norm, pairs=len(idx), tokens=tokens, seconds=round(time.perf_counter() - t0, 3))


__all__ = ["DPOBatch", "DPOConfig", "DPOPolicy", "DPOResult", "EncodedPair", "StepRecord", "TABLE7_TARGETS",
           "base_model_ref", "collate", "dpo_batch_loss", "encode_pair", "lr_factor", "step_pairs", "steps_per_epoch",
           "total_steps", "train_dpo"]
