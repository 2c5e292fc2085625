"""The P2E curriculum of Nano-EmoX (§3.2, appendix D) and the Jo-T ablation, on CPU, resumable.

    affectagent train nanoemox --phase 1 --out runs/nx      # adapters: face/visual on FER2013, speech on EmoDB+RAVDESS
    affectagent train nanoemox --phase 2 --out runs/nx      # + fusion encoder: MIntRec intents + paired MER episodes
    affectagent train nanoemox --phase 3 --out runs/nx      # + LoRA: multitask MER:OV-MER:MIR:ERI:ERG = 18:28:5:31:18
    affectagent train nanoemox --joint --out runs/nx        # Jo-T: everything, all tasks, the same total step budget

Each run writes ``<out>/<phase1|phase2|phase3|joint>/``: ``checkpoint/`` (trainable weights + optimiser + step,
rewritten every ``save_every`` steps; re-running the same command resumes from it), ``model/`` (the finished model,
``load_nanoemox``), ``log.jsonl`` (one record per step, ``train.metrics_logger``) and ``tb/`` with --tensorboard.
Phase 2 starts from ``<out>/phase1/model``, phase 3 from ``<out>/phase2/model`` (``--init DIR`` names another);
Jo-T starts from scratch. Only trainable parts are saved (the base LM comes from its package).

What each phase trains (``model.PHASE_GROUPS``) and reads (``MixtureConfig``):
    1  face, visual, speech branches + their adapters      mer/face : mer/speech = 25 : 15 (the paper's 25k / 15k steps)
    2  phase 1 + fusion experts and gate + fusion adapter  mir/mintrec : mer/paired = 0 : 1 (see below)
    3  phase 2 + LoRA                                      tasks MER:OV-MER:MIR:ERI:ERG = 18:28:5:31:18, MER split
                                                           evenly over meld / speech / face / paired
    joint  all of the above from scratch, phase 3's mixture, steps = the three phases' defaults summed
Differences from the paper, by necessity: MIntRec here is text only, and in phase 2 the LM and its LoRA are frozen, so
an intent example reaches no trainable parameter (its loss has no gradient at all). Phase 2 therefore trains on the
paired MER episodes (the only multimodal input in this data) and gives MIntRec weight 0 by default; a weight > 0 is
allowed, but such examples are skipped in phases without LoRA (counted as ``skipped`` in the log). The official code subsamples each
dataset by a fraction where the paper states sampling ratios: ratios are used here (each step draws a task by
ratio, then a source, then an example). Learning rates are larger than the paper's (3e-4 / 1e-5 / 8e-6 over
25k / 5k / 300k GPU steps) because the CPU budget is ~100x fewer steps; zero-initialised gates get their own
``gate_lr`` so they open within that budget.

Each step draws its batch from ``np.random.default_rng([seed, step])`` (and seeds torch the same way), so a resumed
run draws exactly the batches the uninterrupted run would have.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
import typing
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import numpy as np

from ..errors import DataNotFoundError, InputError
from .config import NanoEmoXConfig, build_config
from .data import CorpusLoader, DataConfig, FeatureBank, build_source
from .features import FeatureConfig, StreamExtractor
from .tasks import TaskExample

PHASE_DIRS: Mapping[str, str] = {"1": "phase1", "2": "phase2", "3": "phase3", "joint": "joint"}
PHASE_STEPS: Mapping[str, int] = {"1": 600, "2": 200, "3": 1200}
PHASE_LR: Mapping[str, float] = {"1": 3e-4, "2": 1e-4, "3": 1e-4, "joint": 1e-4}
TASK_ORDER: tuple[str, ...] = ("mer", "ov", "mir", "eri", "erg")
MER_SOURCES: tuple[str, ...] = ("mer/meld", "mer/speech", "mer/face", "mer/paired")
TASK_SOURCE: Mapping[str, str] = {"ov": "ov/goemotions", "mir": "mir/mintrec", "eri": "eri/reccon",
                                  "erg": "erg/reccon"}
STATE_FILE = "trainer_state.pt"
STATUS_FILE = "trainer.json"


@dataclass(frozen=True)
class MixtureConfig:
    """What each phase samples (weights are relative; an example is drawn source by weight, then uniformly).

    task_ratio: MER:OV-MER:MIR:ERI:ERG sampling ratio of phase 3 and Jo-T (paper: 18 28 5 31 18).
    mer_sources: weights of MER's sources meld, speech, face, paired in phase 3 / Jo-T.
    phase1_sources: weights of face (FER2013 -> visual + face branches) and speech (EmoDB + RAVDESS) in phase 1.
    phase2_sources: weights of intent (MIntRec) and paired MER episodes in phase 2 (MIntRec is text only here and
        the LM is frozen in phase 2, so its examples could train nothing: weight 0 by default).
    msa_weight: weight of MSA (CMU-MOSI) added to phase 3 / Jo-T (0 = as the paper, which trains no MSA).
    """

    task_ratio: tuple[float, ...] = (18.0, 28.0, 5.0, 31.0, 18.0)
    mer_sources: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    phase1_sources: tuple[float, ...] = (25.0, 15.0)
    phase2_sources: tuple[float, ...] = (0.0, 1.0)
    msa_weight: float = 0.0

    def __post_init__(self) -> None:
        for name, n in (("task_ratio", 5), ("mer_sources", 4), ("phase1_sources", 2), ("phase2_sources", 2)):
            v = tuple(float(x) for x in getattr(self, name))
            if len(v) != n or min(v) < 0 or sum(v) <= 0:
                raise ValueError(f"MixtureConfig.{name} needs {n} non-negative weights with a positive sum, got {v}")
            object.__setattr__(self, name, v)
        if self.msa_weight < 0:
            raise ValueError("MixtureConfig.msa_weight must be >= 0")

    def weights(self, phase: str) -> dict[str, float]:
        """``{source: weight}`` of ``phase`` (sources with weight 0 left out)."""
        if phase == "1":
            w = dict(zip(("mer/face", "mer/speech"), self.phase1_sources))
        elif phase == "2":
            w = dict(zip(("mir/mintrec", "mer/paired"), self.phase2_sources))
        else:
            ratio = dict(zip(TASK_ORDER, self.task_ratio))
            mer_total = sum(self.mer_sources)
            w = {s: ratio["mer"] * m / mer_total for s, m in zip(MER_SOURCES, self.mer_sources)}
            w.update({TASK_SOURCE[t]: ratio[t] for t in TASK_ORDER if t != "mer"})
            if self.msa_weight > 0:
                w["msa/cmumosi"] = self.msa_weight
        return {k: float(v) for k, v in w.items() if v > 0}


@dataclass(frozen=True)
class TrainConfig:
    """One P2E phase (or the Jo-T ablation).

    phase: the P2E phase this run trains (1, 2 or 3); leave unset with --joint.
    joint: train the Jo-T ablation instead: every part and every task jointly from scratch.
    steps: optimiser steps of the run (unset = the phase's default: 600 / 200 / 1200; Jo-T: their sum, 2000).
    batch_size: examples per forward pass.
    grad_accum: forward passes per optimiser step.
    lr: AdamW learning rate (unset = the phase's default: 3e-4 / 1e-4 / 1e-4; Jo-T 1e-4).
    gate_lr: AdamW learning rate of the zero-initialised tanh gates.
    warmup_steps: linear learning-rate warm-up (then constant).
    weight_decay: AdamW weight decay (gates and norms excluded).
    max_grad_norm: gradient clipping.
    save_every: steps between checkpoints (and always at the end).
    seed: batch sampling, subsets of the corpora and dropout.
    num_threads: torch threads (unset = torch's default).
    tensorboard: also write TensorBoard scalars to <phase dir>/tb.
    progress: show progress bars.
    max_prompt_tokens: text tokens kept per prompt (longer prompts lose their middle).
    max_target_tokens: answer tokens kept per target.
    model: the architecture (NanoEmoXConfig).
    data: corpora and limits (DataConfig).
    mixture: sampling weights (MixtureConfig).
    features: offline encoder settings (FeatureConfig).
    """

    phase: Literal[1, 2, 3] | None = None
    joint: bool = False
    steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    lr: float | None = None
    gate_lr: float = 1e-2
    warmup_steps: int = 10
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    save_every: int = 25
    seed: int = 0
    num_threads: int | None = None
    tensorboard: bool = False
    progress: bool = True
    max_prompt_tokens: int = 384
    max_target_tokens: int = 160
    model: NanoEmoXConfig = field(default_factory=NanoEmoXConfig)
    data: DataConfig = field(default_factory=DataConfig)
    mixture: MixtureConfig = field(default_factory=MixtureConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def __post_init__(self) -> None:
        if (self.phase is None) == (not self.joint):
            raise ValueError("give exactly one of --phase 1|2|3 and --joint")
        if self.phase is not None and self.phase not in (1, 2, 3):
            raise ValueError(f"phase must be 1, 2 or 3, got {self.phase!r}")
        for name in ("batch_size", "grad_accum", "save_every", "max_prompt_tokens", "max_target_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1")
        if self.steps is not None and self.steps < 1:
            raise ValueError("TrainConfig.steps must be >= 1")
        if (self.lr is not None and self.lr <= 0) or self.gate_lr <= 0 or self.max_grad_norm <= 0:
            raise ValueError("lr, gate_lr and max_grad_norm must be > 0")
        if self.warmup_steps < 0 or self.weight_decay < 0:
            raise ValueError("warmup_steps and weight_decay must be >= 0")
        if self.num_threads is not None and self.num_threads < 1:
            raise ValueError("num_threads must be >= 1")

    @property
    def phase_key(self) -> str:
        return "joint" if self.joint else str(self.phase)

    @property
    def total_steps(self) -> int:
        if self.steps is not None:
            return self.steps
        return sum(PHASE_STEPS.values()) if self.joint else PHASE_STEPS[self.phase_key]

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else PHASE_LR[self.phase_key]


# ---- pure pieces --------------------------------------------------------------------------------------------------
def lr_factor(step: int, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps (step 0 -> 1/warmup), then 1."""
    return 1.0 if warmup <= 0 else min(1.0, (step + 1) / warmup)


def draw_batch(pools: Mapping[str, Sequence[TaskExample]], weights: Mapping[str, float], *, n: int, seed: int,
               step: int) -> list[TaskExample]:
    """``n`` examples for ``step``: a source by weight, then an example uniformly (with replacement); deterministic
    in (seed, step)."""
    rng = np.random.default_rng([seed, step])
    names = sorted(weights)
    p = np.array([weights[k] for k in names], np.float64)
    p /= p.sum()
    picks = rng.choice(len(names), size=n, p=p)
    return [pools[names[i]][int(rng.integers(len(pools[names[i]])))] for i in picks]


# ---- config <-> CLI --------------------------------------------------------------------------------------------------
_NESTED_DROP = {"model", "data", "mixture", "qformer"}


def _leaf_paths(cls: type, prefix: str = "") -> tuple[list[str], list[str]]:
    hints = typing.get_type_hints(cls)
    leaves, nested = [], []
    for f in dataclasses.fields(cls):
        path = prefix + f.name
        if dataclasses.is_dataclass(hints[f.name]):
            nested.append(path)
            sub_leaves, sub_nested = _leaf_paths(hints[f.name], path + ".")
            leaves += sub_leaves
            nested += sub_nested
        else:
            leaves.append(path)
    return leaves, nested


def _flag(path: str) -> str:
    parts = path.split(".")
    if parts[0] == "features":
        parts[0] = "feature"
    kept = [p for i, p in enumerate(parts) if not (p in _NESTED_DROP and i < len(parts) - 1)]
    return "--" + "-".join(kept).replace("_", "-")


def cli_spec():
    """``ConfigArgs`` of ``TrainConfig`` with every nested field as an option (``--face-dim``, ``--lm-lora-alpha``,
    ``--visual-queries``, ``--fer-limit``, ``--task-ratio``, ``--feature-pad-to-window``, ...)."""
    from ..cli.config_args import ConfigArgs

    leaves, nested = _leaf_paths(TrainConfig)
    flags = {p: (_flag(p),) for p in leaves}
    seen: dict[str, str] = {}
    for p, (f,) in flags.items():
        if f in seen:
            raise TypeError(f"option {f} would name both {seen[f]} and {p}")
        seen[f] = p
    return ConfigArgs(TrainConfig, nested=tuple(nested), flags=flags)


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(config)))


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    return build_config(TrainConfig, data)


# ---- the run --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseResult:
    """phase_dir: the run's folder; model_dir: the finished model (``load_nanoemox``); start_step / steps: where this
    invocation started and the budget reached; seconds_per_step: mean wall time of the steps run now (None if none
    ran); last_loss: loss of the final step run now."""

    phase: str
    phase_dir: Path
    model_dir: Path
    start_step: int
    steps: int
    seconds_per_step: float | None
    last_loss: float | None


def build_pools(config: TrainConfig, *, bank: FeatureBank, progress: bool) -> tuple[dict[str, list[TaskExample]],
                                                                                     dict[str, float]]:
    """The training examples of every source the phase samples, with their media encoded (cached)."""
    weights = config.mixture.weights("3" if config.joint else config.phase_key)
    loader = CorpusLoader(config.data, split="train", seed=config.seed)
    pools = {name: build_source(name, loader) for name in sorted(weights)}
    for name, examples in pools.items():
        bank.prepare(examples, desc=f"encode {name}", progress=progress)
    return pools, weights


def _optimizer(model, config: TrainConfig):
    import torch

    gates = model.gate_names()
    decay, no_decay, gate = [], [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if n in gates:
            gate.append(p)
        elif p.ndim < 2:
            no_decay.append(p)
        else:
            decay.append(p)
    lr = config.learning_rate
    groups = [{"params": decay, "lr": lr, "weight_decay": config.weight_decay, "base_lr": lr},
              {"params": no_decay, "lr": lr, "weight_decay": 0.0, "base_lr": lr},
              {"params": gate, "lr": config.gate_lr, "weight_decay": 0.0, "base_lr": config.gate_lr}]
    return torch.optim.AdamW([g for g in groups if g["params"]])


def _write_status(path: Path, status: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(status, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _save_checkpoint(model, optimizer, *, ckpt: Path, step: int, config: TrainConfig) -> None:
    """Weights + optimiser + step, swapped in as a whole: the new folder is complete before the old one goes (a crash
    in between leaves ``.checkpoint.old``, which ``_checkpoint_dir`` picks up)."""
    import torch

    new, old = ckpt.with_name(".checkpoint.new"), ckpt.with_name(".checkpoint.old")
    model.save(new, meta={"step": step, "phase": config.phase_key})
    torch.save({"step": step, "optimizer": optimizer.state_dict()}, new / STATE_FILE)
    if old.exists():
        shutil.rmtree(old)
    if ckpt.exists():
        os.replace(ckpt, old)
    os.replace(new, ckpt)
    shutil.rmtree(old, ignore_errors=True)


def _checkpoint_dir(phase_dir: Path) -> Path | None:
    """The complete checkpoint of a phase folder (the previous one when a save was interrupted), else None."""
    for name in ("checkpoint", ".checkpoint.old"):
        d = phase_dir / name
        if (d / STATE_FILE).is_file():
            return d
    return None


def _init_dir(config: TrainConfig, out: Path, init: str | os.PathLike[str] | None) -> Path | None:
    if init is not None:
        return Path(init)
    if config.joint or config.phase == 1:
        return None
    prev = out / PHASE_DIRS[str(config.phase - 1)] / "model"
    if not prev.is_dir():
        raise DataNotFoundError(f"phase {config.phase} starts from phase {config.phase - 1}'s model, {prev} does not "
                                f"exist: run `affectagent train nanoemox --phase {config.phase - 1} --out {out}` first "
                                "(or give --init DIR)")
    return prev


def _check_resumable(status: Mapping[str, Any], config: TrainConfig, phase_dir: Path) -> None:
    saved = status.get("config", {})
    mine = config_to_dict(config)
    for key in ("model", "phase", "joint", "batch_size", "grad_accum", "seed"):
        if saved.get(key) != mine.get(key):
            raise InputError(f"{phase_dir} holds a run with a different {key} ({saved.get(key)!r} vs "
                             f"{mine.get(key)!r}); use another --out, or --fresh to start this phase over")


def run_phase(config: TrainConfig, *, out: str | os.PathLike[str], init: str | os.PathLike[str] | None = None,
              resume: bool = True, command: str = "", bank: FeatureBank | None = None,
              pools: tuple[dict[str, list[TaskExample]], dict[str, float]] | None = None,
              lm=None, log=print) -> PhaseResult:
    """Train one phase to ``config.total_steps`` optimiser steps (see module docstring). ``pools`` (examples per
    source, weights) replaces the corpora (tests); ``lm`` reuses a loaded ``LanguageModel``."""
    import torch
    from tqdm.auto import tqdm

    from ..train.metrics_logger import make_logger
    from .model import PHASE_GROUPS, NanoEmoX, load_weights, read_model_config

    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    out = Path(out)
    phase = config.phase_key
    phase_dir = out / PHASE_DIRS[phase]
    ckpt, model_dir, status_path = phase_dir / "checkpoint", phase_dir / "model", phase_dir / STATUS_FILE
    phase_dir.mkdir(parents=True, exist_ok=True)
    status: dict[str, Any] = json.loads(status_path.read_text()) if status_path.is_file() else {}
    found = _checkpoint_dir(phase_dir) if resume else None
    resuming = found is not None
    if resuming:
        _check_resumable(status, config, phase_dir)
        ckpt = found
    else:  # a fresh start: nothing of an earlier attempt may mix into this run's log or folders
        for child in ("checkpoint", ".checkpoint.old", ".checkpoint.new", "model", "log.jsonl", "tb", STATUS_FILE):
            p = phase_dir / child
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        status = {}

    model = NanoEmoX(config=config.model, lm=lm)
    model.max_prompt_tokens, model.max_target_tokens = config.max_prompt_tokens, config.max_target_tokens
    model.style = config.data.style
    start = 0
    if resuming:
        load_weights(model, ckpt)
    else:
        src = _init_dir(config, out, init)
        if src is not None:
            saved_cfg, _ = read_model_config(src)
            runtime = {"dtype": config.model.lm.dtype, "max_new_tokens": config.model.lm.max_new_tokens}
            if replace(saved_cfg, lm=replace(saved_cfg.lm, **runtime)) != config.model:
                raise InputError(f"{src} was trained with another architecture; give the same model options as "
                                 "the previous phase")
            load_weights(model, src)
    groups = PHASE_GROUPS[phase]
    trainable = model.set_trainable(groups)
    optimizer = _optimizer(model, config)
    if resuming:
        state = torch.load(ckpt / STATE_FILE, map_location="cpu", weights_only=True)
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])
    total = config.total_steps
    status.update({"phase": phase, "config": config_to_dict(config), "command": command or status.get("command"),
                   "trainable_groups": list(groups), "trainable_tensors": len(trainable),
                   "trainable_parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad))})
    _write_status(status_path, status)
    if start >= total:
        log(f"nanoemox {PHASE_DIRS[phase]}: already at step {start} of {total}; nothing to do")
        if not model_dir.is_dir():
            model.save(model_dir, meta={"step": start, "phase": phase})
        return PhaseResult(phase, phase_dir, model_dir, start, start, None, None)

    bank = bank or FeatureBank(StreamExtractor(config=config.features))
    if pools is None:
        log(f"nanoemox {PHASE_DIRS[phase]}: building the training pools (encoder features are cached)")
        pools_, weights = build_pools(config, bank=bank, progress=config.progress)
    else:
        pools_, weights = pools
    missing = [k for k in weights if not pools_.get(k)]
    if missing:
        raise InputError(f"no examples for source(s) {', '.join(missing)}")
    log(f"nanoemox {PHASE_DIRS[phase]}: steps {start}->{total}, trains {', '.join(groups)} "
        f"({status['trainable_parameters']:,} parameters); sources "
        + ", ".join(f"{k} {len(pools_[k])} (w {w:g})" for k, w in sorted(weights.items())))

    use_lora = "lora" in groups
    if not use_lora:
        textonly = [k for k in weights if not any(ex.media for ex in pools_[k])]
        if textonly:
            log(f"nanoemox {PHASE_DIRS[phase]}: {', '.join(textonly)} carry no audio / video and the LM is frozen in "
                "this phase: their examples reach no trainable parameter and are skipped")
    logger = make_logger(jsonl=phase_dir / "log.jsonl",
                         tensorboard=phase_dir / "tb" if config.tensorboard else None)
    params = [p for p in model.parameters() if p.requires_grad]
    times: list[float] = []
    last_loss = None
    model.train()
    bar = tqdm(range(start, total), initial=start, total=total, desc=f"nanoemox {PHASE_DIRS[phase]}",
               disable=not config.progress)
    try:
        for step in bar:
            t0 = time.perf_counter()
            factor = lr_factor(step, config.warmup_steps)
            for g in optimizer.param_groups:
                g["lr"] = g["base_lr"] * factor
            optimizer.zero_grad(set_to_none=True)
            losses, tokens, tasks, weights_seen, skipped = [], 0, Counter(), [], 0
            for micro in range(config.grad_accum):
                torch.manual_seed(config.seed * 1_000_003 + step * 97 + micro)
                batch = draw_batch(pools_, weights, n=config.batch_size, seed=config.seed,
                                   step=step * config.grad_accum + micro)
                tasks.update(ex.source for ex in batch)
                if not use_lora:  # without LoRA a stream-less example has no trainable parameter on its path
                    kept = [ex for ex in batch if ex.media]
                    skipped += len(batch) - len(kept)
                    batch = kept
                if not batch:
                    continue
                encoded = [model.encode_example(prompt=ex.prompt, streams=bank.streams(ex), target=ex.target)
                           for ex in batch]
                res = model.loss(encoded, use_lora=use_lora)
                (res.loss / config.grad_accum).backward()
                losses.append(float(res.loss.detach()))
                tokens += res.tokens
                if res.fusion_weights is not None:
                    weights_seen.append(res.fusion_weights.detach().mean(0))
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)) if losses else 0.0
            if losses:
                optimizer.step()
            dt = time.perf_counter() - t0
            times.append(dt)
            last_loss = float(np.mean(losses)) if losses else last_loss
            record: dict[str, Any] = {"step": step + 1, "kind": "train", "phase": phase,
                                      "loss": float(np.mean(losses)) if losses else None,
                                      "lr": config.learning_rate * factor, "grad_norm": grad_norm,
                                      "answer_tokens": tokens, "seconds": round(dt, 3), "sources": dict(tasks),
                                      "skipped": skipped}
            if weights_seen:
                record["fusion_gate"] = [round(float(x), 4) for x in torch.stack(weights_seen).mean(0)]
            logger.log(record)
            bar.set_postfix(loss=f"{last_loss:.3f}" if last_loss is not None else "-", s_per_step=f"{dt:.1f}")
            if (step + 1) % config.save_every == 0 or step + 1 == total:
                _save_checkpoint(model, optimizer, ckpt=phase_dir / "checkpoint", step=step + 1, config=config)
                status.update({"step": step + 1, "done": step + 1 >= total})
                _write_status(status_path, status)
    finally:
        bar.close()
        logger.close()
    model.save(model_dir, meta={"step": total, "phase": phase, "command": command})
    sps = float(np.mean(times)) if times else None
    status.update({"step": total, "done": True, "seconds_per_step_last_run": sps})
    _write_status(status_path, status)
    log(f"nanoemox {PHASE_DIRS[phase]}: done at step {total}"
        + (f", {sps:.2f} s/step" if sps else "") + (f", last loss {last_loss:.3f}" if last_loss is not None else "")
        + f" -> {model_dir}")
    return PhaseResult(phase, phase_dir, model_dir, start, total, sps, last_loss)


__all__ = ["MixtureConfig", "PHASE_DIRS", "PHASE_LR", "PHASE_STEPS", "PhaseResult", "TrainConfig", "build_pools",
           "cli_spec", "config_from_dict", "draw_batch", "lr_factor", "run_phase"]
