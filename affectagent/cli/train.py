"""``affectagent train sft ...``: the SFT warm start of the neural agents (and the default-model preset)."""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the agents (sft, mappo)")
    tsub = p.add_subparsers(dest="recipe", metavar="RECIPE")
    s = tsub.add_parser("sft", help="SFT warm start: planner, filter, generator, RAAF and MB-MoE",
                        description="Encode the corpora, build the evidence KB from them, and train the shared actor.")
    s.add_argument("--preset", choices=["default"], help="the embedded default model's corpora and settings")
    s.add_argument("--dataset", action="append", default=[],
                   help="training corpus NAME[:SPLIT[:LIMIT]] (repeatable), e.g. meld, emodb:all, fer2013:train:8000")
    s.add_argument("--dev", default="meld:dev", help="NAME:SPLIT scored after every epoch ('none' to skip)")
    s.add_argument("--out", required=True, help="output folder (agents.pt + kb/)")
    s.add_argument("--data-root", help="data root")
    s.add_argument("--text-encoder", default="minilm-emotion", help="text encoder (minilm-emotion, e5, minilm, path)")
    s.add_argument("--epochs", type=int, default=5)
    s.add_argument("--planner-epochs", type=int, default=3)
    s.add_argument("--oof-folds", type=int, default=2)
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--lr", type=float, default=1e-3)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=run_sft)
    m = tsub.add_parser("mappo", help="multi-agent PPO of planner, filter and generator after SFT",
                        description="Fine-tune an SFT checkpoint with MAPPO (shared F1 reward + counterfactual planner/"
                                    "filter rewards, KL to the SFT reference). Re-running the same command resumes.")
    m.add_argument("--dataset", action="append", default=[],
                   help="rollout corpus NAME[:SPLIT[:LIMIT]] (repeatable; default meld:train)")
    m.add_argument("--init", help="SFT checkpoint to start from (default: the shipped one)")
    m.add_argument("--kb", help="its evidence KB (default: the checkpoint's)")
    m.add_argument("--out", required=True, help="output folder (agents.pt, kb/, log.jsonl, tb/, mappo_state.pt)")
    m.add_argument("--data-root", help="data root")
    m.add_argument("--dev", default="meld:dev", help="NAME:SPLIT scored every --eval-every steps ('none' to skip)")
    m.add_argument("--dev-limit", type=int, help="score only the first N dev samples")
    m.add_argument("--steps", type=int, default=200, help="PPO iterations")
    m.add_argument("--minutes", type=float, help="wall-clock budget; stops cleanly with a checkpoint")
    m.add_argument("--rollout-size", type=int, default=256, help="episodes per iteration")
    m.add_argument("--ppo-epochs", type=int, default=4)
    m.add_argument("--minibatch", type=int, default=64)
    m.add_argument("--lr", type=float, default=5e-5, help="actor learning rate")
    m.add_argument("--critic-lr", type=float, default=1e-3)
    m.add_argument("--clip", type=float, default=0.2, help="PPO clip epsilon")
    m.add_argument("--kl-coef", type=float, default=0.05, help="KL penalty to the SFT reference")
    m.add_argument("--dist-kl-coef", type=float, default=5.0,
                   help="exact KL of the planner/generator label distributions to the SFT reference (loss term)")
    m.add_argument("--entropy-coef", type=float, default=0.005)
    m.add_argument("--gamma", type=float, default=0.99)
    m.add_argument("--lam", type=float, default=0.95)
    m.add_argument("--reward", choices=["sample", "batch"], default="batch",
                   help="per-sample F1 (paper) or each sample's marginal contribution to the batch weighted-F1")
    m.add_argument("--eval-every", type=int, default=20, help="dev evaluation period in steps (0: only at the end)")
    m.add_argument("--save-every", type=int, default=10, help="checkpoint period in steps")
    m.add_argument("--variant", default="full", help="pipeline variant trained (full, no_filter, ...)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--fresh", action="store_true", help="ignore an existing mappo_state.pt and start over")
    m.add_argument("--no-tensorboard", action="store_true", help="JSON-lines log only")
    m.set_defaults(func=run_mappo)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def run_sft(args: argparse.Namespace) -> int:
    from ..encoders import ExtractConfig
    from ..encoders.inputs import EncodingConfig
    from ..errors import InputError
    from ..train.recipe import DEFAULT_CORPORA, CorpusSpec, RecipeConfig, train_recipe
    from ..train.sft import SFTConfig

    if args.preset and args.dataset:
        raise InputError("--preset default fixes the corpora; drop --dataset or --preset")
    corpora = DEFAULT_CORPORA if args.preset == "default" else tuple(CorpusSpec.parse(d) for d in args.dataset)
    if not corpora:
        raise InputError("give --dataset NAME (repeatable) or --preset default")
    dev = None
    if args.dev and args.dev != "none":
        name, _, split = args.dev.partition(":")
        dev = (name, split or "dev")
    try:
        sft = SFTConfig(epochs=args.epochs, planner_epochs=args.planner_epochs, oof_folds=args.oof_folds,
                        batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    cfg = RecipeConfig(corpora=corpora, dev=dev, sft=sft, seed=args.seed,
                       encoding=EncodingConfig(extract=ExtractConfig(text_encoder=args.text_encoder),
                                               exclude_related=True))
    train_recipe(cfg, out=args.out, data_root=args.data_root, command="affectagent " + " ".join(sys.argv[1:]))
    return 0


def run_mappo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..api import DEFAULT_CHECKPOINT
    from ..errors import InputError
    from ..pipeline import PipelineConfig
    from ..train.mappo import MAPPOConfig
    from ..train.mappo_recipe import MAPPORecipeConfig, run_mappo_recipe
    from ..train.recipe import CorpusSpec

    corpora = tuple(CorpusSpec.parse(d) for d in args.dataset) or (CorpusSpec("meld", "train"),)
    dev = None
    if args.dev and args.dev != "none":
        name, _, split = args.dev.partition(":")
        dev = (name, split or "dev")
    if args.minutes is not None and args.minutes <= 0:
        raise InputError("--minutes must be > 0")
    try:
        cfg = MAPPOConfig(steps=args.steps, rollout_size=args.rollout_size, ppo_epochs=args.ppo_epochs,
                          minibatch=args.minibatch, lr=args.lr, critic_lr=args.critic_lr, clip_eps=args.clip,
                          kl_coef=args.kl_coef, dist_kl_coef=args.dist_kl_coef, entropy_coef=args.entropy_coef, gamma=args.gamma, lam=args.lam,
                          reward=args.reward, eval_every=args.eval_every, save_every=args.save_every,
                          max_minutes=args.minutes, seed=args.seed, pipeline=PipelineConfig.variant(args.variant))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    init = Path(args.init) if args.init else DEFAULT_CHECKPOINT
    recipe = MAPPORecipeConfig(init=init, corpora=corpora, dev=dev, dev_limit=args.dev_limit,
                               kb=Path(args.kb) if args.kb else None, mappo=cfg, tensorboard=not args.no_tensorboard)
    run_mappo_recipe(recipe, out=args.out, data_root=args.data_root, resume=not args.fresh,
                     command="affectagent " + " ".join(sys.argv[1:]))
    return 0
