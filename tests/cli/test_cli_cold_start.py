"""Cold-start behaviour of the CLI: it builds only the parser of the subcommand it runs (help and unknown commands
still see every subcommand), makes OpenMP wait passively unless told otherwise, and freezes the GC before the
process ends (never when called in-process with an argv)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from affectagent.cli import SUBCOMMAND_MODULES, build_parser, command_module, main


def test_command_module_names_the_first_word_only():
    assert command_module(["predict", "--text", "hi"]) == "predict"
    assert command_module(["llm-serve", "--help"]) == "llm_serve"
    assert command_module(["--help"]) is None and command_module([]) is None
    assert command_module(["bogus"]) is None and command_module(["--version", "predict"]) is None


def test_one_subcommand_parser_parses_like_the_full_one():
    only = build_parser("predict").parse_args(["predict", "--text", "hi", "--json"])
    full = build_parser().parse_args(["predict", "--text", "hi", "--json"])
    assert vars(only).keys() == vars(full).keys()
    assert {k: v for k, v in vars(only).items() if k != "func"} == {k: v for k, v in vars(full).items()
                                                                     if k != "func"}


def test_unknown_command_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["bogus"])
    err = capsys.readouterr().err
    assert "invalid choice" in err and "predict" in err and "evaluate" in err


@pytest.mark.parametrize("argv", [["--help"], ["predict", "--help"]])
def test_help_still_works(argv):
    out = subprocess.run([sys.executable, "-m", "affectagent", *argv], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if argv == ["--help"]:
        assert all(name.replace("_", "-") in out.stdout for name in SUBCOMMAND_MODULES if name != "llm_serve")
    else:
        assert "--text" in out.stdout


def test_cli_process_waits_passively_unless_told_otherwise():
    code = ("import os, sys; from affectagent.cli import prefer_passive_openmp; prefer_passive_openmp(); "
            "print(os.environ.get('OMP_WAIT_POLICY'))")
    env_default = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                 env={k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"})
    assert env_default.stdout.strip() == "PASSIVE"
    user = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OMP_WAIT_POLICY": "ACTIVE"})
    assert user.stdout.strip() == "ACTIVE"


def test_gc_frozen_only_when_main_is_the_program():
    import gc

    before = gc.get_freeze_count()
    assert main(["predict"]) == 2  # in-process call with an argv: no inputs -> usage error, nothing frozen
    assert gc.get_freeze_count() == before
    code = ("import gc, sys; from affectagent.cli import main; sys.argv = ['affectagent', 'predict']; "
            "print(main(), gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "2 True", out.stderr
