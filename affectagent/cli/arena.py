"""``affectagent arena``: the Stimulus-Armed Bandit arena (SAB; docs/arena.md).

    affectagent arena run --contestants neural-full,neural-no-rag,llm:smollm2-135m --pool mixed --rounds 100 \\
        --judge qwen-0.5b --stimuli generate --out runs/arena/X          # re-run the same command to resume
    affectagent arena leaderboard runs/arena/X                          # table + elo_curves.png + BT intervals
    affectagent arena stimuli --n 50 --generator qwen-0.5b --out runs/arena/stimuli
    affectagent arena validate-judge --judge smollm2-135m --limit 60   # EmoPrefer agreement, swap consistency
    affectagent arena export runs/arena/X --out pairs.jsonl             # chosen / rejected pairs for DPO
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from ..arena.contestants import ContestantConfig
from ..arena.judges import JudgeConfig
from ..arena.runner import ArenaConfig
from ..arena.stimuli import StimulusConfig
from ..errors import InputError
from .config_args import ConfigArgs

ARENA_ARGS = ConfigArgs(ArenaConfig, exclude={"contestants"})
CONTESTANT_ARGS = ConfigArgs(ContestantConfig, dest_prefix="contestant_", flags={
    "max_tokens": ("--answer-tokens",), "temperature": ("--answer-temperature",), "seed": ("--answer-seed",)})
JUDGE_ARGS = ConfigArgs(JudgeConfig, dest_prefix="judge_", flags={
    "verdict": ("--verdict",), "max_tokens": ("--judge-tokens",), "explain": ("--judge-explain",),
    "max_words": ("--judge-max-words",), "stimulus_chars": ("--judge-stimulus-chars",), "seed": ("--judge-seed",),
    "rule": ("--judge-rule",), "tie_margin": ("--judge-tie-margin",)})
STIMULUS_ARGS = ConfigArgs(StimulusConfig, dest_prefix="stimulus_", flags={
    "temperature": ("--stimulus-temperature",), "max_tokens": ("--stimulus-tokens",)})


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("arena", help="SAB arena: rank emotion systems by judged pairwise matches (Elo + BT)",
                       description="The Stimulus-Armed Bandit arena: contestants answer the same stimulus and task, "
                                   "an AI judge compares them (twice, positions swapped), Elo and Bradley-Terry "
                                   "ratings rank them. See docs/arena.md.")
    asub = p.add_subparsers(dest="arena_command", metavar="ACTION")

    r = asub.add_parser("run", help="play (or resume) an arena run",
                        description="Rounds of closest-Elo pairs on a stimulus and a task from the pool, judged, "
                                    "rated and stored in --out (matches.jsonl, answers.jsonl, run.json). Re-running "
                                    "the same command continues from the last stored match.")
    r.add_argument("--contestants", required=True, metavar="A,B,...",
                   help="comma-separated contestants: neural-full, neural-naive-rag, neural-no-rag, neural-raer, "
                        "llm:<model>, llm-agents:<model>, llm-raer:<model>, openai:<model>@<base_url>, nanoemox[:<model "
                        "folder>] (the Nano-EmoX model)")
    ARENA_ARGS.add_to(r)
    r.add_argument("--judge", required=True, metavar="BACKEND",
                   help="judge backend: packaged alias (smollm2-135m, qwen-0.5b, qwen-1.5b), model folder, "
                        "hf:<model>, llamacpp:<model>, openai:<model>@<base_url>")
    r.add_argument("--stimuli", required=True, metavar="DIR|generate",
                   help="a stimulus store (folder with stimuli.jsonl), a folder of your own video / audio / .txt "
                        "files, a manifest file, or 'generate' (LLM-improvised scenarios into OUT/stimuli)")
    r.add_argument("--generator", metavar="BACKEND", help="with --stimuli generate: the LLM that writes the "
                                                          "scenarios (default: the judge's backend)")
    r.add_argument("--n-stimuli", type=int, default=20, metavar="N",
                   help="with --stimuli generate: how many scenarios (default: 20; each also spoken unless "
                        "--no-speech)")
    r.add_argument("--stimulus-seed", type=int, default=0, metavar="S", help="first generation seed (default: 0)")
    r.add_argument("--speech", action=argparse.BooleanOptionalAction, default=True,
                   help="with --stimuli generate: also speak every passage with espeak-ng (default: on)")
    g = r.add_argument_group("contestants")
    CONTESTANT_ARGS.add_to(g)
    j = r.add_argument_group("judge")
    JUDGE_ARGS.add_to(j)
    r.add_argument("--out", required=True, metavar="DIR", help="run folder (created; resumed when it holds a run)")
    r.add_argument("--fresh", action="store_true", help="delete the stored matches and answers in --out first")
    r.add_argument("--bootstrap", type=int, default=100, metavar="N", help="BT bootstrap refits (default: 100)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=run_run)

    lb = asub.add_parser("leaderboard", help="standings of a stored run: table, Elo curves PNG, BT intervals",
                         description="Final Elo, Bradley-Terry ratings with 95%% bootstrap intervals and ranks, "
                                     "wins / losses / ties / declined and the convergence round of a stored run; "
                                     "writes leaderboard.json and elo_curves.png into the run folder.")
    lb.add_argument("path", metavar="RUN_DIR")
    lb.add_argument("--bootstrap", type=int, default=100, metavar="N", help="BT bootstrap refits (default: 100)")
    lb.add_argument("--window", type=int, default=20, metavar="N",
                    help="convergence: rounds the ranking must stay unchanged (default: 20)")
    lb.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    lb.add_argument("--json", action="store_true", help="print leaderboard.json")
    lb.set_defaults(func=run_leaderboard)

    s = asub.add_parser("stimuli", help="generate text (+ espeak-ng speech) stimuli into a store",
                        description="Neutral keywords -> an LLM-improvised scene -> a first-person passage (and its "
                                    "speech). Seeds already in the store are skipped, so re-running resumes.")
    s.add_argument("--n", type=int, required=True, metavar="N", help="number of scenarios")
    s.add_argument("--generator", required=True, metavar="BACKEND", help="the LLM backend (as for --judge)")
    s.add_argument("--out", required=True, metavar="DIR", help="stimulus store folder")
    s.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    STIMULUS_ARGS.add_to(s)
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=run_stimuli)

    v = asub.add_parser("validate-judge", help="the judge's agreement with human preferences on EmoPrefer",
                        description="Judge EmoPrefer pairs (twice, positions swapped) and report agreement with the "
                                    "annotators (WAF, accuracy), swap consistency and the judge's length preference, "
                                    "on all pairs and on the length-balanced subset, beside the pick-the-longer "
                                    "baseline.")
    v.add_argument("--judge", required=True, metavar="BACKEND", help="judge backend (as for arena run --judge)")
    v.add_argument("--limit", type=int, metavar="N", help="a seeded sample of N pairs (default: all 574)")
    v.add_argument("--seed", type=int, default=0, help="sample / balancing seed (default: 0)")
    JUDGE_ARGS.add_to(v)
    v.add_argument("--data-root", metavar="DIR", help="data root holding emoprefer/")
    v.add_argument("--file", metavar="CSV", help="an EmoPrefer CSV instead of the data root's")
    v.add_argument("--out", metavar="JSON", help="write the metrics and every pair's verdicts to this file")
    v.add_argument("--json", action="store_true", help="print the metrics as JSON")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    v.set_defaults(func=run_validate)

    from .arena_export import add_export_parser  # `arena export`: preference pairs for DPO (cli/arena_export.py)

    add_export_parser(asub)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


# ---- run ---------------------------------------------------------------------------------------------------------

def _stimuli(args: argparse.Namespace, out: Path, judge_spec, log):
    """(stimuli, root for relative media paths, description of the source)."""
    from ..arena.judges import load_backend_spec, parse_backend_spec
    from ..arena.stimuli import Stimulus, StimulusStore, generate_stimuli, real_stimuli

    if args.stimuli == "generate":
        gen_spec = parse_backend_spec(args.generator) if args.generator else judge_spec
        store = StimulusStore(out / "stimuli")
        seeds = range(args.stimulus_seed, args.stimulus_seed + args.n_stimuli)
        if any(f"gen-{s}" not in store for s in seeds):
            log(f"generating {args.n_stimuli} stimuli with {gen_spec.label} into {store.folder}")
            config = StimulusConfig(speech=args.speech)
            generate_stimuli(load_backend_spec(gen_spec), store, n=args.n_stimuli, seed=args.stimulus_seed,
                             config=config, progress=not args.quiet)
        wanted = {f"gen-{s}" for s in seeds} | {f"gen-{s}-speech" for s in seeds if args.speech}
        return [s for s in store if s.id in wanted], store.folder, {"source": "generate", "generator": gen_spec.label,
                                                                     "n": args.n_stimuli, "seed": args.stimulus_seed,
                                                                     "speech": args.speech}
    src = Path(args.stimuli).expanduser()
    if (src / StimulusStore.FILE).is_file():
        store = StimulusStore(src)
        stims = [Stimulus.from_dict({**s.to_dict(), "files": {k: str(store.file(s, k).resolve()) for k in s.files}})
                 for s in store]
        if not stims:
            raise InputError(f"stimulus store {src} is empty")
    else:
        stims = real_stimuli(src)
    snapshot = StimulusStore(out / "stimuli")  # the run keeps its own copy of every stimulus record
    for s in stims:
        if s.id not in snapshot:
            snapshot.add(s)
    return stims, None, {"source": str(src.resolve())}


def run_run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..arena.contestants import ContestantPool, build_contestants, check_contestants
    from ..arena.judges import AIJudge, load_backend_spec, parse_backend_spec
    from ..arena.runner import ANSWERS_FILE, MATCHES_FILE, run_arena, write_leaderboard

    names = check_contestants([c for c in args.contestants.split(",")])
    config = ARENA_ARGS.build(args, contestants=tuple(names))
    contestant_config = CONTESTANT_ARGS.build(args)
    judge_config = JUDGE_ARGS.build(args)
    judge_spec = parse_backend_spec(args.judge)
    if args.bootstrap < 0:
        raise InputError("--bootstrap must be >= 0")
    if args.stimuli != "generate" and not Path(args.stimuli).expanduser().exists():
        raise InputError(f"stimulus source not found: {args.stimuli} (a folder, a manifest, or 'generate')")
    if args.stimuli != "generate" and args.generator:
        raise InputError("--generator is for --stimuli generate")
    if args.stimuli == "generate" and args.n_stimuli < 1:
        raise InputError("--n-stimuli must be >= 1")
    out = Path(args.out)
    if args.fresh:
        for name in (MATCHES_FILE, ANSWERS_FILE, "run.json"):
            (out / name).unlink(missing_ok=True)
        if args.stimuli != "generate" and (out / "stimuli").is_dir():
            shutil.rmtree(out / "stimuli")
    out.mkdir(parents=True, exist_ok=True)
    log = print
    stimuli, root, source = _stimuli(args, out, judge_spec, log)
    pool = ContestantPool(contestant_config, log=log)
    contestants = build_contestants(names, pool)
    log(f"loading the judge {judge_spec.label}")
    judge = AIJudge(load_backend_spec(judge_spec), judge_config)
    res = run_arena(config, contestants=contestants, judge=judge, stimuli=stimuli, out=out, pool=pool,
                    stimulus_root=root, progress=not args.quiet, log=log,
                    settings={"contestants": asdict(contestant_config), "stimuli": source,
                              "contestant_systems": [c.describe() for c in contestants.values()]})
    log(f"{res.rounds} rounds stored in {out} ({res.played} matches played now)")
    board = write_leaderboard(out, n_bootstrap=args.bootstrap)
    print("\n".join(board.lines()))
    print(f"curves: {out / 'elo_curves.png'}  table: {out / 'leaderboard.json'}")
    return 0


# ---- leaderboard -------------------------------------------------------------------------------------------------

def run_leaderboard(args: argparse.Namespace) -> int:
    from ..arena.runner import CURVES_FILE, LEADERBOARD_FILE, write_leaderboard

    if args.bootstrap < 0 or args.window < 1:
        raise InputError("--bootstrap must be >= 0 and --window >= 1")
    out = Path(args.path)
    board = write_leaderboard(out, n_bootstrap=args.bootstrap, window=args.window, seed=args.seed)
    if args.json:
        print((out / LEADERBOARD_FILE).read_text(encoding="utf-8"))
        return 0
    print("\n".join(board.lines()))
    print(f"curves: {out / CURVES_FILE}  table: {out / LEADERBOARD_FILE}")
    return 0


# ---- stimuli -----------------------------------------------------------------------------------------------------

def run_stimuli(args: argparse.Namespace) -> int:
    from ..arena.judges import load_backend_spec, parse_backend_spec
    from ..arena.stimuli import StimulusStore, generate_stimuli

    if args.n < 1:
        raise InputError("--n must be >= 1")
    spec = parse_backend_spec(args.generator)
    config = STIMULUS_ARGS.build(args)
    store = StimulusStore(args.out)
    made = generate_stimuli(load_backend_spec(spec), store, n=args.n, seed=args.seed, config=config,
                            progress=not args.quiet)
    print(f"{len(made)} new stimuli ({len(store)} in {store.path})")
    return 0


# ---- validate-judge ----------------------------------------------------------------------------------------------

def run_validate(args: argparse.Namespace) -> int:
    from ..arena.emoprefer import load_emoprefer
    from ..arena.judges import AIJudge, load_backend_spec, parse_backend_spec, validate_on_emoprefer

    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be >= 1")
    spec = parse_backend_spec(args.judge)
    config = JUDGE_ARGS.build(args)
    pairs = load_emoprefer(data_root=args.data_root, path=args.file)
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    log(f"loading the judge {spec.label}")
    judge = AIJudge(load_backend_spec(spec), config)
    res = validate_on_emoprefer(judge, pairs, n=args.limit, seed=args.seed, progress=not args.quiet)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res.to_dict(), indent=2, ensure_ascii=False, default=float),
                                  encoding="utf-8")
    if args.json:
        print(json.dumps(res.to_dict(with_rows=False), indent=2, default=float))
    else:
        print("\n".join(res.lines()))
        if args.out:
            print(f"verdicts: {args.out}")
    return 0
