"""The MAPPO recipe end to end: load an SFT checkpoint and its KB → encode the training corpora (cached) and the dev set →
``train_mappo`` with JSON-lines + TensorBoard logs → a checkpoint in the same format as SFT's (+ the KB beside it).

    affectagent train mappo --dataset meld --init affectagent/assets/default/agents.pt --out runs/mappo --minutes 15

Killing the run and starting the same command again resumes from ``OUT/mappo_state.pt`` (``--fresh`` starts over).
``OUT/agents.pt`` is the last step's policy; ``OUT/best.pt`` the one with the best dev weighted-F1 among the periodic
evaluations (selected on dev, so its dev score is optimistic).
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..agents.checkpoint import AgentCheckpoint
from ..encoders import FeatureCache
from ..errors import InputError
from .mappo import MAPPOConfig, MAPPOState, train_mappo
from .metrics_logger import make_logger
from .recipe import CorpusSpec, encode_corpus, load_corpus
from .sft import EncodedCorpus, run_inference


@dataclass(frozen=True)
class MAPPORecipeConfig:
    """The MAPPO recipe.

    init: the SFT checkpoint (frozen KL reference and starting point).
    corpora: rollout data.
    dev: (dataset, split) scored during training.
    dev_limit: score only the first N dev samples (speed).
    kb: the checkpoint's evidence KB folder (default: the one beside the checkpoint).
    mappo: the MAPPO settings.
    tensorboard: also write the metrics to OUT/tb (TensorBoard); OUT/log.jsonl is always written.
    """

    init: Path
    corpora: tuple[CorpusSpec, ...] = (CorpusSpec("meld", "train"),)
    dev: tuple[str, str] | None = ("meld", "dev")
    dev_limit: int | None = None
    kb: Path | None = None
    mappo: MAPPOConfig = field(default_factory=MAPPOConfig)
    tensorboard: bool = True


def _link_tree(src: Path, dst: Path) -> None:
    """Copy a KB folder, hard-linking files where the file system allows (the KB is read-only here)."""
    if dst.exists():
        return
    tmp = dst.with_name(dst.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)

    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, tmp, copy_function=link)
    tmp.rename(dst)


def _trim_log(path: Path, upto: int) -> None:
    """On resume, drop log rows written after the checkpoint the run resumes from."""
    if not path.is_file():
        return
    rows = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    keep = [ln for ln in rows if json.loads(ln).get("step", 0) <= upto]
    path.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")


def run_mappo_recipe(config: MAPPORecipeConfig, *, out: str | Path, data_root: str | Path | None = None,
                     cache: FeatureCache | None = None, log: Callable[[str], None] = print, resume: bool = True,
                     progress: bool = True, command: str = "") -> Path:
    from ..api import AffectAgent
    from ..datasets import load as load_dataset
    from ..metrics.evaluate import score_predictions

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state_path, log_path, tb_dir = out / "mappo_state.pt", out / "log.jsonl", out / "tb"
    if not resume:
        for p in (state_path, log_path):
            p.unlink(missing_ok=True)
        shutil.rmtree(tb_dir, ignore_errors=True)
    elif state_path.is_file():
        st = MAPPOState.load(state_path)
        log(f"resuming from {state_path} at step {st.step}")
        _trim_log(log_path, st.step)

    agent = AffectAgent.load(config.init, kb=config.kb, data_root=data_root, cache=cache, log=log)
    if agent.pipeline.source is None:
        raise InputError("MAPPO needs the checkpoint's evidence knowledge base")
    init_ckpt = agent.checkpoint
    encoding = replace(agent.encoding, exclude_related=True)
    parts = []
    for spec in config.corpora:
        samples = load_corpus(spec, data_root=data_root, seed=config.mappo.seed)
        log(f"encoding {spec.name}:{spec.split} ({len(samples)} samples)")
        parts.append(encode_corpus(samples, dataset=spec.name, encoding=encoding, cache=cache, progress=progress))
    corpus = EncodedCorpus.concat(parts)

    evaluate = None
    if config.dev is not None:
        name, split = config.dev
        dev_samples = [s for s in load_dataset(name, split, data_root=data_root, limit=config.dev_limit)
                       if s.label is not None]
        trained = {(c["name"], c["split"]) for c in init_ckpt.provenance.get("corpora", [])}
        dev = encode_corpus(dev_samples, dataset=name, cache=cache, progress=progress,
                            encoding=replace(agent.encoding, exclude_related=(name, split) in trained))

        def evaluate(pipe, step: int) -> dict[str, float]:
            preds = run_inference(pipe, dev.inputs)
            m = score_predictions(dev_samples, preds, dataset=name)
            log(f"dev {name}:{split} at step {step}: weighted-F1 {m['weighted_f1']:.4f}, "
                f"HIT {m['hit'] if m['hit'] is None else round(m['hit'], 4)}")
            if m["weighted_f1"] > best["wf1"]:
                best.update(wf1=m["weighted_f1"], step=step)
                save_checkpoint(pipe.actor, None, [], out / "best.pt",
                                extra={"selected_by": f"{name}:{split} weighted-F1", "selected_step": step,
                                       "selected_value": m["weighted_f1"]})
            return {"dev_weighted_f1": m["weighted_f1"], "dev_macro_f1": m["macro_f1"],
                    "dev_hit": m["hit"] if m["hit"] is not None else float("nan")}

    best = {"wf1": -1.0, "step": -1}
    if log_path.is_file():  # a resumed run keeps the best so far
        for ln in log_path.read_text(encoding="utf-8").splitlines():
            row = json.loads(ln)
            if row.get("kind") == "dev" and row.get("dev_weighted_f1", -1) > best["wf1"]:
                best.update(wf1=row["dev_weighted_f1"], step=row["step"])
    kb_src = agent.kb_path
    if kb_src is not None and kb_src.resolve() != (out / "kb").resolve():
        _link_tree(kb_src, out / "kb")
    ckpt_path = out / "agents.pt"
    t0 = time.time()

    def save_checkpoint(actor, critic, history: list[dict[str, Any]], path: Path, extra: dict | None = None) -> None:
        prov = {k: v for k, v in init_ckpt.provenance.items() if k not in ("history", "command", "saved_at")}
        prov.update(recipe="mappo", init=str(config.init), init_recipe=init_ckpt.provenance.get("recipe"),
                    rollout_corpora=[asdict(c) for c in config.corpora],
                    mappo=json.loads(json.dumps(asdict(config.mappo), default=str)), history=history,
                    train_seconds=round(time.time() - t0, 1), command=command, **(extra or {}))
        critic_state = None if critic is None else {k: v.detach().clone() for k, v in critic.state_dict().items()}
        AgentCheckpoint(actor=actor, norm=init_ckpt.norm, encoders=init_ckpt.encoders, provenance=prov,
                        critic_state=critic_state, source_dir=init_ckpt.source_dir).save(path)  # + its side files

    def on_save(actor, critic, history: list[dict[str, Any]]) -> None:
        save_checkpoint(actor, critic, history, ckpt_path)

    pipe = replace(agent.pipeline, actor=copy.deepcopy(init_ckpt.actor))
    with make_logger(jsonl=log_path, tensorboard=tb_dir if config.tensorboard else None) as metrics:
        result = train_mappo(corpus, init=init_ckpt.actor, pipe=pipe, config=config.mappo, state_path=state_path,
                             evaluate=evaluate, log=metrics.log, on_save=on_save, progress=progress, resume=resume)
    log(f"MAPPO stopped after {result.steps_done} steps ({result.stopped}); saved {ckpt_path} (log: {log_path})")
    if best["step"] >= 0:
        log(f"best dev weighted-F1 {best['wf1']:.4f} at step {best['step']}: {out / 'best.pt'} "
            "(selected on dev: report it as tuned on dev)")
    return ckpt_path
