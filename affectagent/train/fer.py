"""Train our FER2013 expression CNN (``affectagent.encoders.fer_model.FerNet``) on CPU.

Reproduce the shipped checkpoint (two one-cycle stages, the second a warm restart from the first; ≈ 1.3 h on 2
shared CPU cores; the final epoch of each stage is kept, the validation split is only reported, never used to pick a
model):

    affectagent train fer --data-root ../shared/data --out runs/fer/fer_cnn_stage1.pt --epochs 32 --seed 0 \
        --eval-every 4 --log runs/fer/train.jsonl && \
    affectagent train fer --data-root ../shared/data --init-from runs/fer/fer_cnn_stage1.pt \
        --out affectagent/assets/fer/fer_cnn.pt --epochs 16 --lr 0.02 --seed 1 --eval-every 4 --log runs/fer/train_stage2.jsonl

Recipe: random 44×44 crops with small rotation/scale/shift, horizontal flips, brightness/contrast jitter and random
erasing, computed batch-wise in torch (``augment_batch``); shuffled class-mixed batches of 128; SGD (Nesterov,
momentum 0.9, weight decay 5e-4 on conv/linear weights) with a one-cycle schedule (``one_cycle_factor``: cosine
warm-up over 20 % of the steps, cosine decay); label smoothing 0.1; bfloat16 autocast + channels-last on CPU
(float32 with ``--no-bf16``). Evaluation in the logs: centre crop + mirror average.
Data: ``<data-root>/fer2013/{train,validation}.npz`` (images uint8 [N,48,48], labels int64 [N]; validation = PublicTest).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# Passive OpenMP waits (read once when torch loads libgomp): spinning threads collapse when the 2 cores are shared
# (measured here: 0.46 s vs 2.9 s per training step under load). Only effective if torch is not imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from ..encoders.fer_model import CROP_SIDE, FER_CLASSES, FER_SIDE, FerNet, FerNetConfig, predict, save_checkpoint
from ..errors import DataNotFoundError, InputError
from ..paths import data_root as resolve_data_root
from .metrics_logger import MetricsLogger, make_logger

FER_SPLITS = ("train", "validation")


# ----------------------------------------------------------------------------------------------------------- data
@dataclass
class FerSplit:
    """images: (N, 48, 48) uint8; labels: (N,) int64 in FER2013 order (``FER_CLASSES``)."""

    images: np.ndarray
    labels: np.ndarray


def load_fer2013(split: str, *, data_root: str | Path | None = None, limit: int | None = None,
                 seed: int = 0) -> FerSplit:
    """Load ``fer2013/<split>.npz`` (no pickles). ``limit`` keeps a seeded, class-mixed random subset of that size."""
    if split not in FER_SPLITS:
        raise InputError(f"unknown FER2013 split {split!r}; choose from {', '.join(FER_SPLITS)}")
    path = resolve_data_root(data_root) / "fer2013" / f"{split}.npz"
    if not path.is_file():
        raise DataNotFoundError(f"FER2013 file not found: {path}")
    with np.load(path, allow_pickle=False) as z:
        images, labels = z["images"], z["labels"].astype(np.int64)
    if images.ndim != 3 or images.shape[1:] != (FER_SIDE, FER_SIDE) or len(images) != len(labels):
        raise DataNotFoundError(f"{path}: expected images [N,48,48] and labels [N], got {images.shape} {labels.shape}")
    if limit is not None and limit < len(labels):
        idx = np.sort(np.random.default_rng(seed).permutation(len(labels))[:limit])
        images, labels = images[idx], labels[idx]
    return FerSplit(images=images, labels=labels)


# ----------------------------------------------------------------------------------------------------------- metrics
def accuracy_and_uar(y_true: np.ndarray, y_pred: np.ndarray, *, num_classes: int = len(FER_CLASSES)
                     ) -> tuple[float, float, np.ndarray]:
    """Accuracy (WAR), unweighted average recall (mean per-class recall over classes present) and the confusion
    matrix (rows = true, cols = predicted)."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError("y_true and y_pred must be non-empty and the same shape")
    cm = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    support = cm.sum(1)
    present = support > 0
    uar = float(np.mean(np.diag(cm)[present] / support[present]))
    return float(np.trace(cm) / cm.sum()), uar, cm


# ----------------------------------------------------------------------------------------------------------- augmentation
@dataclass(frozen=True)
class AugmentConfig:
    """Batch augmentation. Angles in degrees, shift in pixels of the 48×48 source, erase_p = random-erasing probability."""

    max_rotate: float = 10.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    max_shift: float = 3.0
    flip_p: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    erase_p: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.2)


def augment_batch(x: torch.Tensor, *, cfg: AugmentConfig, generator: torch.Generator,
                  out_side: int = CROP_SIDE) -> torch.Tensor:
    """(B,1,48,48) float in [0,1] → (B,1,S,S) augmented crops (S = out_side).

    One affine warp per image (rotation, isotropic scale, shift, mirror) sampled with ``grid_sample``; with no
    rotation/scale/shift it is exactly the centre crop. Then brightness/contrast jitter and random erasing.
    """
    b, _, h, w = x.shape
    g = generator

    def u(lo: float, hi: float, n: int = b) -> torch.Tensor:
        return torch.rand(n, generator=g) * (hi - lo) + lo

    ang = torch.deg2rad(u(-cfg.max_rotate, cfg.max_rotate))
    scale = u(*cfg.scale_range)
    ratio = out_side / w  # output grid covers out_side of the source's w pixels
    a = ratio / scale
    flip = torch.where(torch.rand(b, generator=g) < cfg.flip_p, -1.0, 1.0)
    tx, ty = u(-cfg.max_shift, cfg.max_shift) * 2 / w, u(-cfg.max_shift, cfg.max_shift) * 2 / h
    theta = torch.stack([
        torch.stack([a * torch.cos(ang) * flip, -a * torch.sin(ang), tx], 1),
        torch.stack([a * torch.sin(ang) * flip, a * torch.cos(ang), ty], 1),
    ], 1)
    grid = F.affine_grid(theta, [b, 1, out_side, out_side], align_corners=False)
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # brightness / contrast around each image's mean
    mean = y.mean(dim=(1, 2, 3), keepdim=True)
    c = u(1 - cfg.contrast, 1 + cfg.contrast).view(b, 1, 1, 1)
    br = u(-cfg.brightness, cfg.brightness).view(b, 1, 1, 1) * 0.5
    y = ((y - mean) * c + mean + br).clamp_(0.0, 1.0)
    # random erasing: one rectangle per selected image, filled with uniform noise
    if cfg.erase_p > 0:
        area = u(*cfg.erase_area) * out_side * out_side
        aspect = torch.exp(u(math.log(0.3), math.log(3.3)))
        eh = torch.sqrt(area * aspect).clamp(1, out_side).floor()
        ew = torch.sqrt(area / aspect).clamp(1, out_side).floor()
        top = (torch.rand(b, generator=g) * (out_side - eh + 1)).floor()
        left = (torch.rand(b, generator=g) * (out_side - ew + 1)).floor()
        rows = torch.arange(out_side).view(1, -1, 1)
        cols = torch.arange(out_side).view(1, 1, -1)
        inside = ((rows >= top.view(-1, 1, 1)) & (rows < (top + eh).view(-1, 1, 1))
                  & (cols >= left.view(-1, 1, 1)) & (cols < (left + ew).view(-1, 1, 1)))
        inside &= (torch.rand(b, generator=g) < cfg.erase_p).view(-1, 1, 1)
        noise = torch.rand(y.shape, generator=g)
        y = torch.where(inside.unsqueeze(1), noise, y)
    return y


# ----------------------------------------------------------------------------------------------------------- training
@dataclass
class FerTrainConfig:
    """Training run (``affectagent train fer`` options are these fields).

    data_root: folder holding fer2013/ (default: affectagent.paths.data_root()).
    out: checkpoint path ('' = do not save).
    epochs: passes over the training split.
    batch_size: images per step.
    lr: peak learning rate of the one-cycle schedule (SGD).
    weight_decay: on conv/linear weights.
    label_smoothing: of the cross-entropy.
    seed: all randomness.
    threads: torch CPU threads.
    bf16: bfloat16 autocast on CPU.
    max_steps: stop after this many steps (smoke tests).
    train_limit: use a seeded subset of this size of the training split.
    eval_every: epochs between validation reports (0 = end only).
    log: JSONL metrics file (one line per epoch; appended to).
    tb_dir: TensorBoard event folder for the same metrics.
    progress: tqdm bars.
    init_from: start from the weights (and pixel statistics) of this checkpoint instead of a fresh network; the
      schedule restarts (a warm restart: a second, lower one-cycle over ``epochs``).
    """

    data_root: str | None = None
    out: str = "affectagent/assets/fer/fer_cnn.pt"
    epochs: int = 32
    batch_size: int = 128
    lr: float = 0.05
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    seed: int = 0
    threads: int = 2
    bf16: bool = True
    max_steps: int | None = None
    train_limit: int | None = None
    eval_every: int = 5
    log: str | None = None
    tb_dir: str | None = None
    progress: bool = True
    init_from: str | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise InputError("epochs and batch_size must be >= 1")
        if self.lr <= 0 or self.weight_decay < 0 or not 0 <= self.label_smoothing < 1:
            raise InputError("lr must be > 0, weight_decay >= 0, label_smoothing in [0, 1)")
        if self.max_steps is not None and self.max_steps < 1:
            raise InputError("max_steps must be >= 1")


@dataclass
class FerTrainResult:
    """What a run produced: the model (eval mode), the checkpoint path, steps taken and validation scores (or None)."""

    model: FerNet
    checkpoint: Path | None
    steps: int
    val_accuracy: float | None
    val_uar: float | None


def one_cycle_factor(step: int, *, total: int, warmup_frac: float = 0.2, start: float = 0.05,
                     end: float = 0.0025) -> float:
    """One-cycle learning-rate multiplier in [end, 1]: cosine rise from ``start`` to 1 over the first ``warmup_frac`` of
    ``total`` steps, then cosine decay to ``end`` at the last step. Pure; valid for any total >= 1."""
    warm = max(1, round(warmup_frac * total))
    if step < warm:
        t = step / warm
        return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * t))
    t = min(1.0, (step - warm) / max(1, total - 1 - warm))
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * t))


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def evaluate(model: FerNet, split: FerSplit, *, tta: str = "flip") -> tuple[float, float]:
    """(accuracy, UAR) of ``model`` on a split (``tta``: see ``fer_model.TTA_MODES``; training logs use "flip")."""
    probs, _ = predict(model, split.images, tta=tta)
    acc, uar, _ = accuracy_and_uar(split.labels, probs.argmax(1))
    return acc, uar


def train_fer(cfg: FerTrainConfig, *, train: FerSplit | None = None, val: FerSplit | None = None,
              model: FerNet | None = None) -> FerTrainResult:
    """Run the recipe. ``train``/``val`` default to the FER2013 files under ``cfg.data_root``; pass ``val=None`` and
    ``cfg.eval_every=0`` with ``cfg.out=''`` for a pure smoke run. Metrics go to stdout, ``cfg.log`` and ``cfg.tb_dir``."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if train is None:
        train = load_fer2013("train", data_root=cfg.data_root, limit=cfg.train_limit, seed=cfg.seed)
    if val is None and (cfg.eval_every > 0 or cfg.out):
        val = load_fer2013("validation", data_root=cfg.data_root)
    pix = train.images.astype(np.float32) / 255.0
    init_meta: dict | None = None
    if model is None and cfg.init_from:
        from ..encoders.fer_model import load_checkpoint

        init = load_checkpoint(cfg.init_from)
        model, init_meta = init.model, init.meta
    if model is None:
        model = FerNet(FerNetConfig(mean=float(pix.mean()), std=float(pix.std())))
    model = model.to(memory_format=torch.channels_last)
    with make_logger(jsonl=cfg.log or None, tensorboard=cfg.tb_dir, stdout=True) as metrics:
        return _fit(cfg, train=train, val=val, model=model, init_meta=init_meta, metrics=metrics)


def _fit(cfg: FerTrainConfig, *, train: FerSplit, val: FerSplit | None, model: FerNet, init_meta: dict | None,
         metrics: MetricsLogger) -> FerTrainResult:
    from tqdm.auto import tqdm

    images = torch.from_numpy(train.images)
    labels = torch.from_numpy(train.labels)
    n = len(labels)
    steps_per_epoch = max(1, n // cfg.batch_size)  # drop the ragged last batch (BatchNorm likes full batches)
    total = steps_per_epoch * cfg.epochs
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    opt = torch.optim.SGD(_param_groups(model, cfg.weight_decay), lr=cfg.lr, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle_factor(s, total=total))
    gen = torch.Generator().manual_seed(cfg.seed)
    aug = AugmentConfig()
    step, t0 = 0, time.time()
    val_acc = val_uar = None
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        bar = tqdm(range(steps_per_epoch), desc=f"fer epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress,
                   leave=False, mininterval=5.0)
        loss_sum, correct, seen = 0.0, 0, 0
        for i in bar:
            idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x = images[idx].float().div_(255.0).unsqueeze(1)
            x = augment_batch(x, cfg=aug, generator=gen).contiguous(memory_format=torch.channels_last)
            y = labels[idx]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            if cfg.progress and i % 20 == 0:
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
            if step >= total:
                break
        record = {"epoch": epoch + 1, "step": step, "train_loss": round(loss_sum / max(seen, 1), 4),
                  "train_acc": round(correct / max(seen, 1), 4), "lr": opt.param_groups[0]["lr"],
                  "elapsed_s": round(time.time() - t0, 1)}
        last = step >= total or epoch == cfg.epochs - 1
        if val is not None and cfg.eval_every > 0 and ((epoch + 1) % cfg.eval_every == 0 or last):
            val_acc, val_uar = evaluate(model, val)
            record.update(val_acc=round(val_acc, 4), val_uar=round(val_uar, 4))
        metrics.log(record)
        if last:
            break
    model.eval()
    ckpt = None
    if cfg.out:
        not_recipe = ("data_root", "out", "log", "tb_dir", "progress", "init_from")  # paths and display only
        meta = {"recipe": "affectagent.train.fer",
                "train_config": {k: v for k, v in asdict(cfg).items() if k not in not_recipe},
                "steps": step, "train_images": int(n), "train_seconds": round(time.time() - t0, 1),
                "classes": list(FER_CLASSES), "torch": str(torch.__version__)}
        if init_meta is not None:  # keep the earlier stage's record: the full recipe stays in the file
            meta["init_from"] = {k: init_meta[k] for k in ("train_config", "steps", "train_seconds", "val_accuracy",
                                                           "val_uar", "init_from") if k in init_meta}
        ckpt = save_checkpoint(cfg.out, model=model, meta=meta)
        if val is not None:  # report the scores of the file as saved (fp16 weights), and store them in its meta
            from ..encoders.fer_model import load_checkpoint

            loaded = load_checkpoint(ckpt)
            val_acc, val_uar = evaluate(loaded.model, val)
            meta.update(val_accuracy=round(val_acc, 4), val_uar=round(val_uar, 4), val_split="PublicTest (3,589)")
            save_checkpoint(ckpt, model=loaded.model, meta=meta)
            metrics.log({"final": True, "checkpoint": str(ckpt), "val_acc": round(val_acc, 4),
                         "val_uar": round(val_uar, 4)})
    return FerTrainResult(model=model, checkpoint=ckpt, steps=step, val_accuracy=val_acc, val_uar=val_uar)


if __name__ == "__main__":  # ``python -m affectagent.train.fer ...`` is ``affectagent train fer ...``
    import sys

    from ..cli import main

    raise SystemExit(main(["train", "fer", *sys.argv[1:]]))
