"""Fine-tune the ``minilm-emotion`` text encoder (LoRA on all-MiniLM-L6-v2 + canonical head) on MELD + EmoryNLP.

Reproduce the shipped checkpoint (2 CPU cores; see BENCHMARKS.md "Text branch" for the time and the dev scores):

    affectagent train text-emotion --out affectagent/assets/text/minilm_emotion.pt --seed 0 \
        --log runs/text_emotion/train.jsonl

Recipe: input = ``format_with_context(utterance, context, speaker, turns=2)`` (current turn first, previous turns most
recent first); one head over CANONICAL_EMOTIONS, each sample's loss restricted to its corpus's candidate labels
(MELD's 7, EmoryNLP's 7; a per-sample mask); label-smoothed cross-entropy over the candidates; optional class weights
(inverse frequency ** power, 0 = none); AdamW (LoRA lr, head lr), linear warm-up then linear decay; length-bucketed
shuffled batches with dynamic padding; bfloat16 autocast when the CPU supports it. Dev (MELD dev, EmoryNLP dev)
accuracy / weighted-F1 / macro-F1 are printed after every epoch; the checkpoint is rewritten after every epoch and the final
epoch is the result (dev is not used to pick it).
Data come from ``affectagent.datasets.load`` (MELD train/dev, EmoryNLP train/dev with dialogue context).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..encoders.text_emotion import format_with_context
from ..encoders.text_emotion_model import (
    TextEmotionConfig,
    TextEmotionModel,
    batch_logits,
    candidate_mask,
    masked_logits,
    save_checkpoint,
)
from ..errors import InputError
from ..schema import CANONICAL_EMOTIONS, Sample
from .metrics_logger import make_logger

CORPORA: tuple[str, ...] = ("meld", "emorynlp")


# ------------------------------------------------------------------------------------------------------------ config
@dataclass
class TrainConfig:
    """One training run (``affectagent train text-emotion`` options are these fields and those of ``model``).

    out: checkpoint path (LoRA + head, a few MB), rewritten after every epoch.
    seed: all randomness (LoRA initialisation, batch order).
    corpora: datasets trained on jointly (their ``train`` splits) and evaluated on (their ``dev`` splits).
    model: architecture of the tuned encoder (``TextEmotionConfig``).
    epochs: passes over the joint train set.
    batch_size: samples per step.
    lr: AdamW learning rate of the LoRA weights.
    head_lr: AdamW learning rate of the head.
    weight_decay: AdamW weight decay.
    warmup: warm-up fraction of all steps (linear warm-up, then linear decay).
    label_smoothing: mass spread uniformly over the sample's candidate labels.
    class_weight_power: class weight = (n_max / n_class) ** power per corpus (0 = unweighted).
    limit_train / limit_dev: keep only the first N samples per corpus (quick iterations); None = all.
    threads: torch intra-op threads. 1 by default: on the shared 2-core machine under load, 2 OpenMP threads ran a
      step 5-10x slower than 1 (barrier spinning while other jobs hold the cores).
    bf16: bfloat16 autocast on CPU (when the CPU supports it).
    data_root: data root (default: affectagent.paths.data_root()).
    log: JSONL metrics file, one record per epoch (appended to).
    tb_dir: TensorBoard event folder for the same records.
    progress: tqdm bars.
    """

    out: Path = Path("affectagent/assets/text/minilm_emotion.pt")
    seed: int = 0
    corpora: tuple[str, ...] = CORPORA
    model: TextEmotionConfig = field(default_factory=TextEmotionConfig)
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-3
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    label_smoothing: float = 0.1
    class_weight_power: float = 0.0
    limit_train: int | None = None
    limit_dev: int | None = None
    threads: int = 1
    bf16: bool = True
    data_root: str | None = None
    log: Path | None = None
    tb_dir: Path | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise InputError("epochs and batch_size must be >= 1")
        if not self.corpora or any(c not in CORPORA for c in self.corpora):
            raise InputError(f"corpora must be a non-empty subset of {', '.join(CORPORA)}")
        if not 0.0 <= self.label_smoothing < 1.0 or not 0.0 <= self.warmup < 1.0:
            raise InputError("label_smoothing and warmup must be in [0, 1)")
        if self.lr <= 0 or self.head_lr <= 0:
            raise InputError("learning rates must be > 0")


# -------------------------------------------------------------------------------------------------------------- data
@dataclass
class Encoded:
    """A corpus split ready for training: N formatted texts, (N,) canonical label indices, (C,) candidate mask."""

    corpus: str
    texts: list[str]
    targets: np.ndarray
    mask: torch.Tensor


def corpus_split(corpus: str, split: str, *, turns: int, limit: int | None = None,
                 data_root: str | None = None) -> Encoded:
    """Load ``corpus``/``split`` with the project loaders and format every utterance with its context."""
    from .. import datasets  # noqa: PLC0415

    samples: list[Sample] = datasets.load(corpus, split, data_root=data_root, limit=limit)
    space = datasets.label_space(corpus)
    texts = [format_with_context(s.text or "", s.context, s.speaker, turns=turns) for s in samples]
    targets = np.array([CANONICAL_EMOTIONS.index(s.label) for s in samples], dtype=np.int64)
    return Encoded(corpus=corpus, texts=texts, targets=targets, mask=candidate_mask(space.canonical))


def length_bucketed_batches(lengths: Sequence[int], *, batch_size: int, rng: np.random.Generator,
                            pool: int = 50) -> list[np.ndarray]:
    """Shuffled indices cut into pools of ``pool`` batches, each pool sorted by length and cut into batches; the batch
    order is shuffled. Every index appears exactly once; padding inside a batch stays small."""
    n = len(lengths)
    perm = rng.permutation(n)
    lengths = np.asarray(lengths)
    batches: list[np.ndarray] = []
    span = batch_size * pool
    for s in range(0, n, span):
        chunk = perm[s:s + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


# -------------------------------------------------------------------------------------------------------------- math
def class_weights(targets: np.ndarray, mask: torch.Tensor, *, power: float) -> torch.Tensor:
    """(C,) weights (n_max / n_c) ** power for the candidate classes seen in ``targets``; 1 elsewhere, all 1 if power=0."""
    w = torch.ones(mask.numel())
    if power == 0:
        return w
    counts = np.bincount(targets, minlength=mask.numel()).astype(np.float64)
    seen = counts > 0
    w_np = np.ones_like(counts)
    w_np[seen] = (counts[seen].max() / counts[seen]) ** power
    return torch.as_tensor(w_np, dtype=torch.float32)


def masked_smoothed_ce(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, *,
                       smoothing: float = 0.0, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Label-smoothed cross-entropy over each sample's candidate classes only.

    logits (B, C), targets (B,) int64, mask (B, C) bool (True = candidate; the target must be a candidate),
    weights (B,) per-sample weights or None. Per sample, with K candidates and p = softmax over candidates:
    loss = (1 - ε)·(−log p_y) + ε·mean_{k∈cand}(−log p_k). Returns the weighted mean (scalar).
    """
    logp = torch.log_softmax(masked_logits(logits.float(), mask), dim=-1)
    nll = -logp.gather(1, targets[:, None]).squeeze(1)
    if smoothing:
        cand = mask.to(logp.dtype)
        smooth = -(logp.masked_fill(~mask, 0.0) * cand).sum(1) / cand.sum(1)
        nll = (1.0 - smoothing) * nll + smoothing * smooth
    if weights is None:
        return nll.mean()
    return (nll * weights).sum() / weights.sum()


def linear_warmup_decay(step: int, *, total: int, warmup: int) -> float:
    """LR multiplier: linear 0→1 over ``warmup`` steps, then linear 1→0 at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


# ----------------------------------------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class DevScores:
    corpus: str
    n: int
    accuracy: float
    weighted_f1: float
    macro_f1: float


def scores(corpus: str, y_true: np.ndarray, y_pred: np.ndarray) -> DevScores:
    from sklearn.metrics import accuracy_score, f1_score  # noqa: PLC0415

    return DevScores(corpus=corpus, n=len(y_true), accuracy=float(accuracy_score(y_true, y_pred)),
                     weighted_f1=float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
                     macro_f1=float(f1_score(y_true, y_pred, average="macro", zero_division=0)))


def evaluate(model: TextEmotionModel, dev: Encoded, *, batch_size: int = 64) -> DevScores:
    """Arg-max of the head restricted to the corpus's candidate labels, scored against the dev labels."""
    _, logits = batch_logits(model, dev.texts, batch_size=batch_size)
    pred = masked_logits(logits, dev.mask).argmax(1).numpy()
    return scores(dev.corpus, dev.targets, pred)


# ---------------------------------------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    model: TextEmotionModel
    history: list[dict]
    seconds: float


def _bf16_ok() -> bool:
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.ones(2, 2) @ torch.ones(2, 2)
        return True
    except RuntimeError:
        return False


def train(cfg: TrainConfig, *, train_sets: Sequence[Encoded] | None = None,
          dev_sets: Sequence[Encoded] | None = None, max_steps: int | None = None,
          on_epoch: Callable[[TextEmotionModel, list[dict]], None] | None = None) -> TrainResult:
    """Train per ``cfg``; ``train_sets`` / ``dev_sets`` override loading (tests); ``max_steps`` stops early (smoke);
    ``on_epoch(model, history)`` runs after every epoch's evaluation (the CLI saves the checkpoint there)."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    turns = cfg.model.context_turns
    if train_sets is None:
        train_sets = [corpus_split(c, "train", turns=turns, limit=cfg.limit_train, data_root=cfg.data_root)
                      for c in cfg.corpora]
    if dev_sets is None:
        dev_sets = [corpus_split(c, "dev", turns=turns, limit=cfg.limit_dev, data_root=cfg.data_root)
                    for c in cfg.corpora]

    texts: list[str] = []
    targets: list[np.ndarray] = []
    masks: list[torch.Tensor] = []
    weights: list[torch.Tensor] = []
    for ds in train_sets:
        texts.extend(ds.texts)
        targets.append(ds.targets)
        masks.append(ds.mask[None].expand(len(ds.texts), -1))
        w = class_weights(ds.targets, ds.mask, power=cfg.class_weight_power)
        weights.append(w[torch.as_tensor(ds.targets)])
    y_all = torch.as_tensor(np.concatenate(targets))
    m_all = torch.cat(masks)
    w_all = torch.cat(weights)
    if not texts:
        raise InputError("no training samples")

    model = TextEmotionModel(config=cfg.model, lora_seed=cfg.seed)
    tok_lengths = [len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=cfg.model.max_len)["input_ids"]]
    lora_params = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" in n]
    head_params = list(model.head.parameters())
    opt = torch.optim.AdamW([{"params": lora_params, "lr": cfg.lr}, {"params": head_params, "lr": cfg.head_lr}],
                            weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(texts) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs if max_steps is None else min(max_steps, steps_per_epoch * cfg.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: linear_warmup_decay(s, total=total, warmup=int(cfg.warmup * total)))
    use_bf16 = cfg.bf16 and _bf16_ok()
    n_lora = sum(p.numel() for p in lora_params)
    print(f"train: {len(texts)} samples ({', '.join(f'{d.corpus} {len(d.texts)}' for d in train_sets)}), "
          f"{steps_per_epoch} steps/epoch x {cfg.epochs}, LoRA params {n_lora}, bf16={use_bf16}", flush=True)

    metrics = make_logger(jsonl=cfg.log, tensorboard=cfg.tb_dir)
    try:
        history: list[dict] = []
        step = 0
        t0 = time.time()
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            batches = length_bucketed_batches(tok_lengths, batch_size=cfg.batch_size, rng=rng)
            it = batches
            if cfg.progress:
                from tqdm.auto import tqdm  # noqa: PLC0415

                it = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", mininterval=10)
            running = 0.0
            for i, idx in enumerate(it):
                if max_steps is not None and step >= max_steps:
                    break
                tidx = torch.as_tensor(idx)
                batch = model.tokenize([texts[j] for j in idx])
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
                    _, logits = model(batch)
                loss = masked_smoothed_ce(logits, y_all[tidx], m_all[tidx], smoothing=cfg.label_smoothing,
                                          weights=w_all[tidx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(lora_params + head_params, 1.0)
                opt.step()
                sched.step()
                step += 1
                running += loss.item()
                if cfg.progress and hasattr(it, "set_postfix") and i % 20 == 0:
                    it.set_postfix(loss=f"{running / (i + 1):.4f}")
            record: dict = {"epoch": epoch, "step": step, "train_loss": running / max(1, i + 1),
                            "seconds": round(time.time() - t0, 1)}
            if max_steps is None or step < max_steps:
                for dev in dev_sets:
                    s = evaluate(model, dev)
                    record[dev.corpus] = asdict(s)
                    print(f"epoch {epoch} {dev.corpus} dev: acc {s.accuracy:.4f} WF1 {s.weighted_f1:.4f} "
                          f"MF1 {s.macro_f1:.4f} (n={s.n})", flush=True)
            history.append(record)
            metrics.log(record)
            if on_epoch is not None:
                on_epoch(model, history)
            if max_steps is not None and step >= max_steps:
                break
    finally:
        metrics.close()
    return TrainResult(model=model, history=history, seconds=time.time() - t0)


def train_and_save(cfg: TrainConfig) -> TrainResult:
    """``train`` with the checkpoint written to ``cfg.out`` after every epoch (an interrupted run keeps its last
    finished epoch; the last save is the result). The ``affectagent train text-emotion`` command."""
    train_config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()
                    if k not in ("model", "log", "tb_dir", "out", "data_root", "progress")}
    t0 = time.time()

    def save(model: TextEmotionModel, history: list[dict]) -> None:
        meta = {"train_config": train_config, "history": list(history), "train_seconds": round(time.time() - t0, 1)}
        path = save_checkpoint(model, cfg.out, meta=meta)
        print(f"saved {path} ({path.stat().st_size / 1e6:.2f} MB) after epoch {history[-1]['epoch']}, "
              f"{(time.time() - t0) / 60:.1f} min", flush=True)

    return train(cfg, on_epoch=save)


if __name__ == "__main__":  # ``python -m affectagent.train.text_emotion ...`` is ``affectagent train text-emotion ...``
    import sys

    from ..cli import main

    raise SystemExit(main(["train", "text-emotion", *sys.argv[1:]]))
