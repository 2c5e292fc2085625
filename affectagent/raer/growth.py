"""RAER over epochs with a knowledge base that grows (raer-sab.txt Fig. 4, Table 1), in two labelled protocols:

  paper  (transductive, as the paper does it): the pool IS the scored split; after each epoch the predictions that are
         both gated (uncertainty ≤ ε) and correct enter the KB — this reads the gold labels of the scored split, so
         its gains are not a zero-shot result. A sample never retrieves its own entry (its id is always excluded), but
         it does see the entries of its dialogue / speaker neighbours (unless the split is part of the checkpoint's
         training data, where, as in ``evaluate``, its dialogue / speaker is excluded).
  honest (the default): the pool is disjoint from the scored split and read WITHOUT labels — either the scored split
         partitioned by dialogue / speaker (``pool="half"``: one part is the unlabelled pool, the other is scored), or
         another split of the corpus, or a manifest of the user's own files. Gated predictions enter with the model's
         own label; no id of the scored split can ever enter (``LeakageGuard``).

Epoch 0 scores the scored split with the untouched KB (RAER without growth). Honest: epoch e ≥ 1 reasons over the
pool with the KB of epoch e − 1, adds the gated samples (one transaction), then scores the scored split with the grown
KB; a pool sample enters once (ids are unique), so with a fixed pool the KB stops growing once every gated sample is
in. Paper: every epoch scores the split with the current KB and then adds its gated, correct predictions (as the
paper describes: inference over the whole dataset, then expansion), so epoch e sees what epochs < e added. The KB is a copy (``OUT/kb``), the
state (``OUT/state.json``) is written after every epoch, so re-running the same command resumes; additions are
idempotent by id. ``OUT/growth.json`` and ``OUT/growth.png`` hold the table and the plot.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import numpy as np
from tqdm.auto import tqdm

from .. import datasets
from ..encoders.inputs import leak_key
from ..errors import InputError
from ..kb import KnowledgeBase
from ..kb.entry import KBEntry
from ..kb.from_inputs import entries_from_inputs
from ..kb.retrieval import Retriever
from ..schema import EncodedInput, FeatureNorm, Sample
from .config import GrowthConfig

if TYPE_CHECKING:
    from ..batch.engine import BatchEngine
from .steps import RAEROutcome

class Reasoner(Protocol):
    name: str

    def reason(self, inputs: Sequence[EncodedInput], samples: Sequence[Sample] | None = None) -> list[RAEROutcome]: ...

    def with_retriever(self, retriever: Retriever) -> "Reasoner": ...


class LeakageGuard:
    """Refuses any KB entry whose id (or origin id) belongs to the scored split (the honest protocol's promise)."""

    def __init__(self, scored_ids: Sequence[str]) -> None:
        self.scored = frozenset(scored_ids)

    def check(self, entries: Sequence[KBEntry]) -> None:
        bad = [e.id for e in entries if e.id in self.scored or e.meta.get("origin") in self.scored]
        if bad:
            raise AssertionError(f"leakage guard: {len(bad)} scored-split ids about to enter the KB, e.g. {bad[:3]}")


def unlabelled(s: Sample) -> Sample:
    """The sample with every label field removed (the honest pool is read without labels)."""
    return replace(s, label=None, raw_label=None, labels=(), sentiment=None, valence=None, arousal=None,
                   dominance=None, ov_labels=())


def partition_by_group(samples: Sequence[Sample], *, fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """(pool, scored): whole dialogues / speakers (``leak_key``) go to one side; ``fraction`` of the groups to the
    pool. Seeded; deterministic for the same samples."""
    keys = sorted({leak_key(s) for s in samples})
    if len(keys) < 2:
        raise InputError("the scored split has a single dialogue / speaker: it cannot be partitioned into a pool; "
                         "pass --pool SPLIT or a manifest")
    rng = np.random.default_rng(seed)
    n_pool = min(len(keys) - 1, max(1, round(fraction * len(keys))))
    pool_keys = set(rng.permutation(keys)[:n_pool].tolist())
    pool = [s for s in samples if leak_key(s) in pool_keys]
    scored = [s for s in samples if leak_key(s) not in pool_keys]
    return pool, scored


def growth_entries(inputs: Sequence[EncodedInput], samples: Sequence[Sample], outcomes: Sequence[RAEROutcome], *,
                   norm: FeatureNorm, epoch: int, model: str, protocol: str, origin_split: str) -> list[KBEntry]:
    """KB entries for the outcomes (callers pass only gated ones): the input's vectors, the predicted label, the OV
    set, the refined steps as the rationale, ``source="raer"`` and provenance (epoch, model, uncertainty)."""
    preds = [o.prediction for o in outcomes]
    entries = entries_from_inputs(
        inputs, labels=[p.label for p in preds], sentiments=[None] * len(preds), sources=["raer"] * len(preds),
        splits=[origin_split] * len(preds), texts=[x.text or s.text for x, s in zip(inputs, samples)], norm=norm,
        meta=[{"epoch": epoch, "model": model, "uncertainty": round(float(o.uncertainty), 4),
               "uncertainty_method": o.uncertainty_method, "protocol": protocol, "origin": x.sample_id}
              for x, o in zip(inputs, outcomes)])
    by_id = {x.sample_id: (o, p) for x, o, p in zip(inputs, outcomes, preds)}
    for e in entries:
        o, p = by_id[e.id]
        e.ov_labels = tuple(p.ov_set)
        e.rationale = json.dumps([s.to_dict() for s in o.steps], ensure_ascii=False)
    return entries


@dataclass
class GrowthResult:
    rows: list[dict[str, Any]]
    baseline: dict[str, Any] | None
    kb_dir: Path
    out: Path


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False))
    os.replace(tmp, path)


def copy_kb(src: Path, dst: Path) -> None:
    """Copy a KB folder atomically (into a temporary sibling, then rename)."""
    if dst.exists():
        return
    tmp = dst.with_name(dst.name + ".copying")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("*.lock"))
    os.replace(tmp, dst)


def _write_predictions(path: Path, samples: Sequence[Sample], preds: Sequence) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for s, p in zip(samples, preds):
            fh.write(json.dumps({"id": s.id, "gold": s.label, "label": p.label}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def metric_row(metrics: dict[str, Any]) -> dict[str, Any]:
    keep = ("n", "war", "uar", "weighted_f1", "macro_f1", "hit")
    row = {k: metrics.get(k) for k in keep}
    row["per_class_recall"] = {lab: round(v["recall"], 4) for lab, v in metrics.get("per_class", {}).items()}
    return row


def run_growth(config: GrowthConfig, *, reasoner: Reasoner, kb_src: Path, norm: FeatureNorm,
               encode: Callable[[Sequence[Sample]], list[EncodedInput]],
               score: Callable[[Sequence[Sample], Sequence], dict[str, Any]], out: Path,
               data_root: str | Path | None = None, baseline: Callable[[Sequence[EncodedInput], Sequence[Sample]], list] | None = None,
               split: tuple[Sequence[Sample], Sequence[Sample]] | None = None,
               resume: bool = True, progress: bool = True, log: Callable[[str], None] = print,
               engine: "BatchEngine | None" = None) -> GrowthResult:
    """The epoch loop (see module docstring). ``encode(samples)`` → encoded inputs (with their KB exclusions);
    ``score(samples, predictions)`` → metrics dict;
    ``baseline(inputs, samples)`` → predictions without RAER (for the w/o-RAER row);
    ``split``: an explicit (pool, scored) pair instead of loading ``config.dataset:config.split`` (e.g. held-out
    speakers of a cross-validation fold; honest: the pool is still read without labels and checked disjoint).
    Every scored pass writes ``OUT/predictions_<baseline|epochN>.jsonl`` (id, gold, label), so folds can be pooled.
    ``engine``: where an epoch's ``batch_size`` chunks are reasoned: in order (default), or in an in-process pool
    (``ThreadEngine``: chunks in flight at once, for a backbone that waits on a server); the KB grows here, between
    epochs, so an engine whose workers live in other processes (Ray) is refused."""
    from ..batch.engine import LocalEngine  # noqa: PLC0415

    engine = engine or LocalEngine()
    if not engine.in_process:
        raise InputError(f"RAER epochs run in this process (the knowledge base grows between them): --engine "
                         f"{engine.name} is not supported here; use local or threads")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state_path, kb_dir = out / "state.json", out / "kb"
    cfg_dict = {**asdict(config), "backend": reasoner.name}
    state: dict[str, Any] = {"config": cfg_dict, "rows": [], "baseline": None, "pending": None}
    if state_path.exists() and resume:
        old = json.loads(state_path.read_text())
        if old.get("config") != cfg_dict:
            raise InputError(f"{out} holds a RAER run with other settings; use another --out or --fresh")
        state = old
        log(f"resuming {out}: {len(state['rows'])} epoch row(s) done")
    elif state_path.exists() or kb_dir.exists():
        shutil.rmtree(kb_dir, ignore_errors=True)
        state_path.unlink(missing_ok=True)
    copy_kb(Path(kb_src), kb_dir)

    if split is not None:
        pool, scored = list(split[0]), [s for s in split[1] if s.label is not None]
        samples = scored
    else:
        samples = datasets.load(config.dataset, config.split, data_root=data_root)
        samples = [s for s in samples if s.label is not None]
    if not samples:
        raise InputError(f"{config.dataset}:{config.split} has no labelled samples to score"
                         + (" (the paper protocol needs gold labels)" if config.protocol == "paper" else ""))
    if split is not None:
        if config.protocol == "paper":
            pool = list(scored)
    elif config.protocol == "paper":
        pool, scored = list(samples), list(samples)
    elif config.pool == "half":
        pool, scored = partition_by_group(samples, fraction=config.pool_fraction, seed=config.seed)
    elif Path(config.pool).suffix.lower() in (".jsonl", ".json", ".csv", ".tsv"):
        pool = datasets.load("manifest", "all", data_file=config.pool)
        scored = samples
    else:
        pool = datasets.load(config.dataset, config.pool, data_root=data_root)
        scored = samples
    rng = np.random.default_rng(config.seed)
    if config.limit is not None and config.limit < len(scored):
        scored = [scored[i] for i in np.sort(rng.choice(len(scored), config.limit, replace=False))]
        if config.protocol == "paper":
            pool = scored
    if config.pool_limit is not None and config.pool_limit < len(pool) and config.protocol == "honest":
        pool = [pool[i] for i in np.sort(rng.choice(len(pool), config.pool_limit, replace=False))]
    guard = LeakageGuard([s.id for s in scored]) if config.protocol == "honest" else None
    if config.protocol == "honest":
        pool = [unlabelled(s) for s in pool]
        overlap = {s.id for s in pool} & guard.scored
        if overlap:
            raise InputError(f"the pool shares {len(overlap)} ids with the scored split (e.g. {sorted(overlap)[:3]}); "
                             "pick a disjoint --pool")
    scored_in = encode(scored)
    pool_in = scored_in if config.protocol == "paper" else encode(pool)

    kb = KnowledgeBase.open(kb_dir)
    try:
        r = reasoner.with_retriever(Retriever(kb, norm=norm))

        def reason_all(inputs: Sequence[EncodedInput], smp: Sequence[Sample], desc: str) -> list[RAEROutcome]:
            got: list[RAEROutcome] = []
            bs = config.batch_size
            chunks = [(inputs[i:i + bs], smp[i:i + bs]) for i in range(0, len(inputs), bs)]
            done = engine.map(lambda: (lambda chunk: r.reason(*chunk)), chunks)
            for outs in tqdm(done, total=len(chunks), desc=desc, disable=not progress, unit="batch"):
                got.extend(outs)
            return got

        if baseline is not None and state.get("baseline") is None:
            t0 = time.time()
            base_preds = baseline(scored_in, scored)
            _write_predictions(out / "predictions_baseline.jsonl", scored, base_preds)
            state["baseline"] = {**metric_row(score(scored, base_preds)),
                                 "seconds": round(time.time() - t0, 2), "kb_size": len(kb)}
            _write_json(state_path, state)
        pending = state.get("pending")
        landed: dict[str, Any] | None = None
        if pending is not None:  # killed around an add: did that epoch's transaction land?
            if all(i in kb for i in pending["ids"]):
                if pending.get("row") is not None:  # paper: the row was scored before the add
                    state["rows"].append(pending["row"])
                else:  # honest: the add landed, the scoring did not
                    landed = pending
            state["pending"] = None
            _write_json(state_path, state)
        done = {row["epoch"] for row in state["rows"]}
        origin = f"{config.dataset}:{config.split if config.protocol == 'paper' else config.pool}"

        def select(outs: list[RAEROutcome], inputs: Sequence[EncodedInput], smp: Sequence[Sample],
                   epoch: int) -> tuple[list[KBEntry], int]:
            """Gated (and, in paper mode, correct) outcomes not yet in the KB, as entries; also the gated count."""
            pick = [j for j, o in enumerate(outs) if o.gated]
            gated = len(pick)
            if config.protocol == "paper":
                pick = [j for j in pick if outs[j].prediction.label == smp[j].label]
            pick = [j for j in pick if inputs[j].sample_id not in kb]
            entries = growth_entries([inputs[j] for j in pick], [smp[j] for j in pick], [outs[j] for j in pick],
                                     norm=norm, epoch=epoch, model=reasoner.name, protocol=config.protocol,
                                     origin_split=origin)
            if guard is not None:
                guard.check(entries)
            return entries, gated

        def add(entries: list[KBEntry], row: dict[str, Any] | None, epoch: int) -> None:
            state["pending"] = {"epoch": epoch, "ids": [e.id for e in entries], "row": row}
            _write_json(state_path, state)
            kb.add(entries)  # one transaction: all or nothing
            kb.flush()

        for epoch in range(0, config.epochs + 1):
            if epoch in done:
                continue
            t0 = time.time()
            kb_before = len(kb)
            calls, gated_n, added = 0, 0, 0
            entries: list[KBEntry] = []
            if config.protocol == "honest" and epoch > 0:
                if landed is not None and landed["epoch"] == epoch:
                    added, kb_before = len(landed["ids"]), kb_before - len(landed["ids"])
                else:  # reason over the unlabelled pool with the KB of the previous epoch, then grow it
                    outs = reason_all(pool_in, pool, f"RAER epoch {epoch}: pool")
                    calls += sum(o.llm_calls for o in outs)
                    entries, gated_n = select(outs, pool_in, pool, epoch)
                    if entries:
                        add(entries, None, epoch)
                    added = len(entries)
            reason_t0 = time.time()
            scored_out = reason_all(scored_in, scored, f"RAER epoch {epoch}: score")
            calls += sum(o.llm_calls for o in scored_out)
            metrics = score(scored, [o.prediction for o in scored_out])
            _write_predictions(out / f"predictions_epoch{epoch}.jsonl", scored, [o.prediction for o in scored_out])
            seconds_per = round((time.time() - reason_t0) / max(len(scored_in), 1), 4)
            if config.protocol == "paper":  # the scored pass is the pool pass: grow after scoring
                entries, gated_n = select(scored_out, scored_in, scored, epoch)
                added = len(entries)
            row = {"epoch": epoch, **metric_row(metrics), "kb_size_before": kb_before, "gated": gated_n,
                   "added": added, "regenerated": sum(o.regenerated for o in scored_out),
                   "scored_gated": sum(o.gated for o in scored_out), "llm_calls": calls,
                   "seconds": round(time.time() - t0, 2), "seconds_per_scored_sample": seconds_per}
            if config.protocol == "paper":
                row["kb_size_after"] = kb_before + added
                if entries:
                    add(entries, row, epoch)
            else:
                row["kb_size_after"] = len(kb)
            state["rows"].append(row)
            state["pending"] = None
            _write_json(state_path, state)
            log(f"epoch {epoch}: WAR {row['war']:.4f} UAR {row['uar']:.4f} WF1 {row['weighted_f1']:.4f} "
                f"added {row['added']} (KB {row['kb_size_after']})")
    finally:
        kb.close()
    rows = sorted(state["rows"], key=lambda r: r["epoch"])
    summary = {"config": cfg_dict, "protocol_note": PROTOCOL_NOTES[config.protocol], "n_scored": len(scored),
               "n_pool": len(pool), "baseline_without_raer": state.get("baseline"), "epochs": rows}
    _write_json(out / "growth.json", summary)
    plot_growth(rows, out / "growth.png", title=f"RAER {config.dataset}:{config.split} ({config.protocol}, "
                                                f"{reasoner.name})")
    return GrowthResult(rows=rows, baseline=state.get("baseline"), kb_dir=kb_dir, out=out)


PROTOCOL_NOTES = {
    "paper": "transductive: the pool is the scored split and only correct gated predictions enter (reads its gold labels)",
    "honest": "the pool is disjoint from the scored split and read without labels; gated predictions enter with their "
              "predicted label",
}


def plot_growth(rows: Sequence[dict[str, Any]], path: Path, *, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [r["epoch"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for key, name in (("war", "WAR"), ("uar", "UAR"), ("weighted_f1", "WF1")):
        ax.plot(ep, [r[key] for r in rows], marker="o", label=name)
    ax.set_xlabel("RAER epoch")
    ax.set_ylabel("score")
    ax.set_title(title, fontsize=9)
    ax2 = ax.twinx()
    ax2.bar(ep, [r["added"] for r in rows], alpha=0.2, color="gray", label="added")
    ax2.set_ylabel("samples added")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
