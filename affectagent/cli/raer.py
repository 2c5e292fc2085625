"""``affectagent raer run ...``: RAER growth epochs over a corpus (neural agents or an LLM backbone)."""
from __future__ import annotations

import argparse
import sys

from ..raer.config import GrowthConfig
from .config_args import ConfigArgs

GROWTH_ARGS = ConfigArgs(GrowthConfig, exclude={"dataset"}, nested={"raer"})


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("raer", help="retrieval-augmented emotion reasoning with a knowledge base that grows")
    rsub = p.add_subparsers(dest="raer_command", metavar="ACTION")
    r = rsub.add_parser("run", help="RAER epochs over a corpus split, growing a copy of the KB",
                        description="Reason over the pool with RAER, add the gated predictions to a copy of the "
                                    "knowledge base, score the scored split; once per epoch. Re-running the same "
                                    "command resumes (--fresh starts over).")
    r.add_argument("--dataset", required=True, help="scored corpus (meld, emodb, ravdess, emorynlp, ...)")
    GROWTH_ARGS.add_to(r)
    r.add_argument("--backend", choices=["neural", "llm", "openai"], default="neural",
                   help="backbone: the neural agents, a local LLM (--model), or an OpenAI-compatible server")
    r.add_argument("--model", help="LLM: packaged alias (smollm2-135m, qwen-0.5b, qwen-1.5b), local folder or id")
    r.add_argument("--base-url", help="OpenAI-compatible endpoint (--backend openai)")
    r.add_argument("--llm-timeout", type=float, metavar="SECONDS",
                   help="--backend openai: total deadline of each LLM call in seconds, retries included "
                        "(default $AFFECTAGENT_LLM_TIMEOUT, else 120)")
    r.add_argument("--threads", type=int, metavar="N",
                   help="reason N chunks (--batch-size samples each) at once in threads, for a backbone that waits "
                        "on a server (--backend openai); default: one after the other")
    r.add_argument("--checkpoint", help="neural agents checkpoint (default: the shipped one)")
    r.add_argument("--kb", help="knowledge base to grow a copy of (default: the checkpoint's)")
    r.add_argument("--data-root", help="data root")
    r.add_argument("--out", required=True, help="output folder (kb/, state.json, growth.json, growth.png)")
    r.add_argument("--fresh", action="store_true", help="discard an existing run in --out and start over")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.set_defaults(func=run)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def run(args: argparse.Namespace) -> int:
    from ..api import AffectAgent
    from ..errors import InputError
    from ..raer.runner import run_raer

    growth = GROWTH_ARGS.build(args, dataset=args.dataset)
    if args.backend == "neural" and (args.model or args.base_url):
        raise InputError("--model / --base-url are for --backend llm / openai")
    if args.backend == "llm" and not args.model:
        raise InputError("--backend llm needs --model (e.g. smollm2-135m, qwen-0.5b)")
    if args.backend != "neural" and growth.raer.uncertainty in ("max_prob", "entropy"):
        raise InputError("an LLM backbone measures uncertainty by --uncertainty logprob or agreement (or auto)")
    if args.backend == "neural" and growth.raer.uncertainty in ("logprob", "agreement"):
        raise InputError("the neural agents measure uncertainty by --uncertainty max_prob or entropy (or auto)")
    engine = None
    if args.threads is not None:
        from ..batch.engine import make_engine

        engine = make_engine("threads", workers=args.threads)
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    agent = AffectAgent.load(args.checkpoint, kb=args.kb, data_root=args.data_root, log=log)
    if args.llm_timeout is not None and args.backend != "openai":
        raise InputError("--llm-timeout is for --backend openai")
    llm = {k: v for k, v in (("model", args.model), ("base_url", args.base_url), ("timeout", args.llm_timeout)) if v}
    res = run_raer(agent, growth, out=args.out, backbone=args.backend, llm=llm, data_root=args.data_root,
                   resume=not args.fresh, log=log, engine=engine)
    if args.json:
        print((res.out / "growth.json").read_text())
        return 0
    base = res.baseline
    print(f"{'epoch':>5} {'WAR':>7} {'UAR':>7} {'WF1':>7} {'HIT':>7} {'added':>6} {'KB':>7} {'s/sample':>9}")
    if base:
        print(f"{'w/o':>5} {base['war']:7.4f} {base['uar']:7.4f} {base['weighted_f1']:7.4f} "
              f"{(base['hit'] or 0):7.4f} {'-':>6} {base['kb_size']:>7} {'-':>9}")
    for row in res.rows:
        print(f"{row['epoch']:>5} {row['war']:7.4f} {row['uar']:7.4f} {row['weighted_f1']:7.4f} {(row['hit'] or 0):7.4f}"
              f" {row['added']:>6} {row['kb_size_after']:>7} {row['seconds_per_scored_sample']:>9}")
    print(f"table: {res.out / 'growth.json'}  plot: {res.out / 'growth.png'}")
    return 0
