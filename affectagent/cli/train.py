"""``affectagent train RECIPE ...``: every trainer of the project (sft, mappo, text-emotion, fer, speech, lora-mappo,
nanoemox, dpo).

A recipe's options are generated from its config dataclass(es) (``cli.config_args.ConfigArgs``: type, default and help
from the fields), so every default lives in one place, the config. Options that are not config fields (corpora,
output folders, checkpoints to start from) are added here. A recipe's parser is filled the first time it is used, so
``affectagent --help`` and ``affectagent train --help`` import no training code (nor torch).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, fields
from typing import Any, Callable

from .config_args import ConfigArgs


class _LazyParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose options are added by ``populate(parser)`` just before it is first used."""

    def __init__(self, *args: Any, populate: Callable[[argparse.ArgumentParser], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._populate = populate

    def _ensure(self) -> None:
        if self._populate is not None:
            populate, self._populate = self._populate, None
            populate(self)

    def parse_known_args(self, args=None, namespace=None):
        self._ensure()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._ensure()
        return super().format_help()

    def format_usage(self) -> str:
        self._ensure()
        return super().format_usage()


@dataclass(frozen=True)
class TrainCommand:
    """One ``affectagent train NAME``: help line, description, option builder and runner."""

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _command_line() -> str:
    return "affectagent " + " ".join(sys.argv[1:])


def _default_of(cls: type, name: str) -> Any:
    f = next(f for f in fields(cls) if f.name == name)
    return f.default_factory() if callable(f.default_factory) else f.default


def _dev_option(parser: argparse.ArgumentParser, cls: type, when: str) -> None:
    dev = _default_of(cls, "dev")
    parser.add_argument("--dev", default=":".join(dev) if dev else "none",
                        help=f"NAME[:SPLIT] scored {when} ('none' to skip; default: %(default)s)")


def _parse_dev(text: str | None) -> tuple[str, str] | None:
    if not text or text == "none":
        return None
    name, _, split = text.partition(":")
    return (name, split or "dev")


# ---- sft ----------------------------------------------------------------------------------------------------------
def _sft_spec() -> ConfigArgs:
    from ..train.sft import SFTConfig

    return ConfigArgs(SFTConfig, exclude=("actor", "pipeline", "weights"))


def _sft_arguments(p: argparse.ArgumentParser) -> None:
    from ..train.recipe import RecipeConfig

    p.add_argument("--preset", choices=["default"], help="the embedded default model's corpora and settings")
    p.add_argument("--dataset", action="append", default=[],
                   help="training corpus NAME[:SPLIT[:LIMIT]] (repeatable), e.g. meld, emodb:all, fer2013:train:8000")
    _dev_option(p, RecipeConfig, "after every epoch")
    p.add_argument("--out", required=True, help="output folder (agents.pt + kb/)")
    p.add_argument("--data-root", help="data root")
    p.add_argument("--text-encoder", default=RecipeConfig().encoding.extract.text_encoder,
                   help="text encoder (minilm-emotion, e5, minilm, path; default: %(default)s)")
    p.add_argument("--speech-views", default=",".join(RecipeConfig().speech_views),
                   help="views of the speech-emotion branch fitted on the corpora's speech rows (compare, whisper; "
                        "'whisper' alone is MIT-licensed; 'none' = no branch; default: %(default)s)")
    _sft_spec().add_to(p.add_argument_group("SFT settings (SFTConfig)"))
    p.epilog = "--seed also seeds the sampling of capped corpora (NAME:SPLIT:LIMIT)."


def run_sft(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..errors import InputError
    from ..train.recipe import DEFAULT_CORPORA, CorpusSpec, RecipeConfig, train_recipe

    if args.preset and args.dataset:
        raise InputError("--preset default fixes the corpora; drop --dataset or --preset")
    corpora = DEFAULT_CORPORA if args.preset == "default" else tuple(CorpusSpec.parse(d) for d in args.dataset)
    if not corpora:
        raise InputError("give --dataset NAME (repeatable) or --preset default")
    sft = _sft_spec().build(args)
    encoding = RecipeConfig().encoding
    encoding = replace(encoding, extract=replace(encoding.extract, text_encoder=args.text_encoder))
    views = tuple(v.strip() for v in args.speech_views.split(",") if v.strip() and v.strip().lower() != "none")
    from ..encoders.speech_views import SPEECH_VIEWS

    unknown = [v for v in views if v not in SPEECH_VIEWS]
    if unknown:
        raise InputError(f"--speech-views: unknown view(s) {', '.join(unknown)}; known: {', '.join(SPEECH_VIEWS.names())}"
                         " or none")
    cfg = RecipeConfig(corpora=corpora, dev=_parse_dev(args.dev), sft=sft, seed=sft.seed, encoding=encoding,
                       speech_views=views)
    train_recipe(cfg, out=args.out, data_root=args.data_root, command=_command_line())
    return 0


# ---- mappo --------------------------------------------------------------------------------------------------------
def _mappo_specs() -> tuple[ConfigArgs, ConfigArgs]:
    from ..train.mappo import MAPPOConfig
    from ..train.mappo_recipe import MAPPORecipeConfig

    return (ConfigArgs(MAPPOConfig, exclude=("pipeline",),
                       flags={"clip_eps": ("--clip", "--clip-eps"), "max_minutes": ("--minutes", "--max-minutes")}),
            ConfigArgs(MAPPORecipeConfig, exclude=("init", "corpora", "dev", "kb", "mappo")))


def _mappo_arguments(p: argparse.ArgumentParser) -> None:
    from ..train.mappo_recipe import MAPPORecipeConfig

    mappo, recipe = _mappo_specs()
    p.add_argument("--dataset", action="append", default=[],
                   help="rollout corpus NAME[:SPLIT[:LIMIT]] (repeatable; default "
                        + " ".join(f"{c.name}:{c.split}" for c in _default_of(MAPPORecipeConfig, "corpora")) + ")")
    p.add_argument("--init", help="SFT checkpoint to start from (default: the shipped one)")
    p.add_argument("--kb", help="its evidence KB (default: the checkpoint's)")
    p.add_argument("--out", required=True, help="output folder (agents.pt, kb/, log.jsonl, tb/, mappo_state.pt)")
    p.add_argument("--data-root", help="data root")
    _dev_option(p, MAPPORecipeConfig, "every --eval-every steps")
    p.add_argument("--variant", default="full", help="pipeline variant trained (full, no_filter, ...; default: full)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing mappo_state.pt and start over")
    recipe.add_to(p)
    mappo.add_to(p.add_argument_group("MAPPO settings (MAPPOConfig)"))


def run_mappo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..api import DEFAULT_CHECKPOINT
    from ..errors import InputError
    from ..pipeline import PipelineConfig
    from ..train.mappo_recipe import run_mappo_recipe
    from ..train.recipe import CorpusSpec

    mappo, recipe = _mappo_specs()
    try:
        pipeline = PipelineConfig.variant(args.variant)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    fixed: dict[str, Any] = {"init": Path(args.init) if args.init else DEFAULT_CHECKPOINT,
                             "dev": _parse_dev(args.dev), "kb": Path(args.kb) if args.kb else None,
                             "mappo": mappo.build(args, pipeline=pipeline)}
    if args.dataset:
        fixed["corpora"] = tuple(CorpusSpec.parse(d) for d in args.dataset)
    run_mappo_recipe(recipe.build(args, **fixed), out=args.out, data_root=args.data_root, resume=not args.fresh,
                     command=_command_line())
    return 0


# ---- text-emotion -------------------------------------------------------------------------------------------------
def _text_emotion_spec() -> ConfigArgs:
    from ..train.text_emotion import TrainConfig

    return ConfigArgs(TrainConfig, nested=("model",), exclude=("model.labels",))


def run_text_emotion(args: argparse.Namespace) -> int:
    from ..train.text_emotion import train_and_save

    train_and_save(_text_emotion_spec().build(args))
    return 0


# ---- fer ----------------------------------------------------------------------------------------------------------
def _fer_spec() -> ConfigArgs:
    from ..train.fer import FerTrainConfig  # first torch import of the process: fer.py sets OMP_WAIT_POLICY before it

    return ConfigArgs(FerTrainConfig)


def run_fer(args: argparse.Namespace) -> int:
    from ..train.fer import train_fer

    result = train_fer(_fer_spec().build(args))
    if result.val_accuracy is not None:
        print(f"FER2013 validation: accuracy {result.val_accuracy:.4f}  UAR {result.val_uar:.4f}  "
              f"-> {result.checkpoint}")
    return 0


# ---- speech -------------------------------------------------------------------------------------------------------
def _speech_spec() -> ConfigArgs:
    from ..train.speech_emotion import SpeechTrainConfig

    return ConfigArgs(SpeechTrainConfig)


def run_speech(args: argparse.Namespace) -> int:
    from ..train.speech_emotion import train_speech

    train_speech(_speech_spec().build(args))
    return 0


# ---- lora-mappo ---------------------------------------------------------------------------------------------------
def _lora_mappo_spec() -> ConfigArgs:
    from ..train.lora_mappo import LoRAMAPPORunConfig

    return ConfigArgs(LoRAMAPPORunConfig, nested=("mappo", "mappo.policy"))


def run_lora_mappo(args: argparse.Namespace) -> int:
    from ..train.lora_mappo import run_lora_mappo as run

    run(_lora_mappo_spec().build(args))
    return 0


# ---- nanoemox -----------------------------------------------------------------------------------------------------
def _nanoemox_arguments(p: argparse.ArgumentParser) -> None:
    from ..nanoemox.train import cli_spec

    p.add_argument("--out", required=True, help="run folder (one sub-folder per phase: phase1/ phase2/ phase3/ joint/)")
    p.add_argument("--init", help="model folder to start from (default: the previous phase's <out>/phaseN/model)")
    p.add_argument("--fresh", action="store_true", help="ignore this phase's checkpoint and start it over")
    cli_spec().add_to(p)


def run_nanoemox(args: argparse.Namespace) -> int:
    from ..nanoemox.train import cli_spec, run_phase

    run_phase(cli_spec().build(args), out=args.out, init=args.init, resume=not args.fresh, command=_command_line())
    return 0


# ---- dpo ----------------------------------------------------------------------------------------------------------
def _dpo_spec() -> ConfigArgs:
    from ..train.dpo import DPOConfig

    return ConfigArgs(DPOConfig)


def _dpo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pairs", required=True, metavar="JSONL",
                   help="preference pairs, one JSON object a line with prompt, chosen, rejected (optional system); "
                        "`affectagent arena export` writes them, TRL's conversational form is read too")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="run folder (adapter/, checkpoint/, log.jsonl, dpo_status.json); re-run to resume")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in --out and start over")
    _dpo_spec().add_to(p.add_argument_group("DPO settings (DPOConfig; defaults: SAB Table 7)"))
    p.epilog = ("The finished adapter loads as an LLM backend: llm:dpo:DIR (or llm:DIR) in arena --contestants, "
                "--agents llm --model DIR in predict.")


def run_dpo(args: argparse.Namespace) -> int:
    from ..train.dpo import train_dpo
    from ..train.dpo_pairs import read_pairs

    config = _dpo_spec().build(args)
    read_pairs(args.pairs)  # a malformed file fails here, before any model loads
    res = train_dpo(config, pairs_path=args.pairs, out=args.out, resume=not args.fresh, command=_command_line())
    if res.records:
        last = res.records[-1]
        print(f"dpo: step {res.steps}: loss {last.loss:.4f}, rewards/accuracies {last.rewards_accuracies:.2f}, "
              f"rewards/margins {last.rewards_margins:.4f} (log: {res.out / 'log.jsonl'})")
    print(f"adapter: {res.adapter}  (use it as llm:dpo:{res.out})")
    return 0


TRAINERS: tuple[TrainCommand, ...] = (
    TrainCommand("sft", "SFT warm start: planner, filter, generator, RAAF and MB-MoE",
                 "Encode the corpora, build the evidence KB from them, and train the shared actor.",
                 _sft_arguments, run_sft),
    TrainCommand("mappo", "multi-agent PPO of planner, filter and generator after SFT",
                 "Fine-tune an SFT checkpoint with MAPPO (shared F1 reward + counterfactual planner/filter rewards, "
                 "KL to the SFT reference). Re-running the same command resumes.",
                 _mappo_arguments, run_mappo),
    TrainCommand("text-emotion", "the minilm-emotion text encoder (LoRA on MiniLM) on MELD + EmoryNLP",
                 "Fine-tune the minilm-emotion text encoder; the checkpoint is rewritten after every epoch.",
                 lambda p: _text_emotion_spec().add_to(p), run_text_emotion),
    TrainCommand("fer", "the FER2013 expression CNN of the face encoder",
                 "Train the FER2013 expression CNN (one one-cycle stage; --init-from continues from a checkpoint).",
                 lambda p: _fer_spec().add_to(p), run_fer),
    TrainCommand("speech", "the speech-emotion branch (ComParE + Whisper softmax regressions) on EmoDB + RAVDESS",
                 "Fit the speech-emotion branch: per-view label-space-masked softmax regressions, late fusion, a temperature from "
                 "out-of-speaker-fold scores; writes the model (.npz) and a report (.json) beside it.",
                 lambda p: _speech_spec().add_to(p), run_speech),
    TrainCommand("lora-mappo", "token-level MAPPO of an LLM generator (LoRA) on MELD train",
                 "LoRA MAPPO of a causal LM labelling MELD train utterances (a few steps on CPU, real runs on GPU).",
                 lambda p: _lora_mappo_spec().add_to(p), run_lora_mappo),
    TrainCommand("nanoemox", "Nano-EmoX P2E curriculum (--phase 1|2|3) or the Jo-T ablation (--joint)",
                 "Train one P2E phase of Nano-EmoX (or Jo-T) for a fixed step budget; re-running the same command "
                 "resumes from the phase's checkpoint.", _nanoemox_arguments, run_nanoemox),
    TrainCommand("dpo", "DPO of an LLM (LoRA) on preference pairs, e.g. an arena export (SAB §5.4)",
                 "Direct Preference Optimisation of a causal LM with a LoRA adapter (reference = the base with the "
                 "adapter disabled), defaults from SAB Table 7. Re-running the same command resumes.",
                 _dpo_arguments, run_dpo),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model (" + ", ".join(t.name for t in TRAINERS) + ")",
                       description="Train one of the project's models; `affectagent train RECIPE --help` lists its "
                                   "options (generated from the recipe's config).")
    tsub = p.add_subparsers(dest="recipe", metavar="RECIPE", parser_class=_LazyParser)
    for t in TRAINERS:
        s = tsub.add_parser(t.name, help=t.help, description=t.description, populate=t.add_arguments)
        s.set_defaults(func=t.run)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
