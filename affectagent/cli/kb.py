"""``affectagent kb``: build, inspect and query evidence knowledge bases.

    affectagent kb build --dataset meld --split train --out kbs/meld
    affectagent kb build --dataset goemotions:train --manifest mine.jsonl --out kbs/merged
    affectagent kb build --dataset meld --out kbs/meld --engine ray --batch-size 64   # encode in Ray actors
    affectagent kb info kbs/meld
    affectagent kb search kbs/meld "I can't believe you did that" --hypothesis angry
    affectagent kb search ~/.cache/affectagent/kbs/agents-<hash> "You did WHAT?"   # the shipped checkpoint's KB

``kb search`` embeds the query with the text encoder the KB records. A KB made before encoders were recorded (e.g. a
shipped-checkpoint KB cached by an older version) records none: then the encoder comes from ``--checkpoint`` (the
checkpoint the KB belongs to), from ``--text-encoder``, or, for the shipped checkpoint's own cached KB, from the
shipped checkpoint. The encoder is never guessed from the vector size (e5 and MiniLM are both 384-d).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("kb", help="build / inspect / query an evidence knowledge base",
                              description="Evidence knowledge base: SQLite + FAISS, dual-pathway retrieval.")
    sub = p.add_subparsers(dest="kb_command", metavar="KB_COMMAND")

    b = sub.add_parser("build", help="build or grow a KB from datasets / manifests",
                       description="Load samples, encode them (batched, through the feature cache) and add them to "
                                   "the KB at --out (created if absent; ids already present are skipped, so several "
                                   "datasets can be merged and an interrupted build is finished by re-running it).")
    b.add_argument("--dataset", action="append", default=[], metavar="NAME[:SPLIT]",
                   help="dataset loader name, optionally with its split (repeatable)")
    b.add_argument("--split", default="train", help="split for --dataset entries without ':SPLIT' (default: train)")
    b.add_argument("--manifest", action="append", default=[], metavar="FILE",
                   help="JSONL/CSV manifest of your own samples (repeatable; see affectagent.datasets.manifest)")
    b.add_argument("--out", required=True, metavar="DIR", help="knowledge-base directory")
    b.add_argument("--data-root", metavar="DIR", help="data folder (default: $AFFECTAGENT_DATA or ../shared/data)")
    b.add_argument("--limit", type=int, metavar="N", help="at most N samples per source")
    b.add_argument("--text-encoder", default="e5", help="text encoder name (default: e5)")
    b.add_argument("--audio-encoder", default="egemaps", help="audio encoder name (default: egemaps)")
    b.add_argument("--batch-size", type=int, default=512, help="samples per encode/add batch (default: 512)")
    b.add_argument("--index", choices=("auto", "flat", "ivf", "hnsw"), default="auto",
                   help="vector index of a new KB (default: auto = exact below 50k vectors, IVF above)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    from .engine_args import add_engine_arguments

    add_engine_arguments(b, work="the --batch-size chunks of samples are encoded")
    b.set_defaults(func=run_build)

    i = sub.add_parser("info", help="counts per label / sentiment / source / modality",
                       description="Print a KB's size, embedding dims, index, and counts per label, sentiment and "
                                   "source/split.")
    i.add_argument("path", metavar="DIR")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=run_info)

    s = sub.add_parser("search", help="retrieve evidence for a text",
                       description="Embed TEXT with the KB's text encoder and print the evidence groups. A KB "
                                   "that records no encoder (made by an older version) needs --checkpoint or "
                                   "--text-encoder, except the shipped checkpoint's own cached KB.")
    s.add_argument("path", metavar="DIR")
    s.add_argument("text")
    s.add_argument("--hypothesis", help="label hypothesis: prints support / confusion / counter groups")
    s.add_argument("-k", "--top-k", type=int, default=5)
    s.add_argument("--exclude", action="append", default=[], metavar="ID", help="ids to leave out (repeatable)")
    s.add_argument("--checkpoint", metavar="FILE",
                   help="the agents checkpoint the KB belongs to: its text encoder embeds the query")
    s.add_argument("--text-encoder", metavar="NAME", help="embed the query with this text encoder (e5, minilm, "
                                                          "minilm-emotion, or a path)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=run_search)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _sources(args: argparse.Namespace):
    from ..kb.build import BuildSource

    out = []
    for spec in args.dataset:
        name, _, split = spec.partition(":")
        out.append(BuildSource(dataset=name, split=split or args.split, data_root=args.data_root, limit=args.limit))
    for m in args.manifest:
        out.append(BuildSource(dataset="manifest", split="all", data_file=m, data_root=args.data_root,
                               limit=args.limit))
    return out


def run_build(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..kb import KBConfig
    from ..kb.build import BuildConfig, build_kb
    from ..textsafe import scrub

    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be >= 1")
    if args.batch_size < 1:
        raise InputError("--batch-size must be >= 1")
    sources = _sources(args)
    if not sources:
        raise InputError("give at least one --dataset or --manifest")
    cfg = BuildConfig(text_encoder=args.text_encoder, audio_encoder=args.audio_encoder, batch_size=args.batch_size,
                      kb=KBConfig(index=args.index))
    from .engine_args import engine_from_args

    engine = engine_from_args(args, log=lambda m: print(m, file=sys.stderr))
    summary = build_kb(Path(args.out), sources, config=cfg, progress=not args.quiet, engine=engine)
    print(scrub(summary.format())[0])  # a manifest's undecodable file name is shown as U+FFFD
    return 0


def run_info(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..kb import KnowledgeBase

    info = KnowledgeBase.peek(args.path)  # SQLite counts + index headers: instant even on big KBs
    print(json.dumps(asdict(info), indent=2) if args.json else info.format())
    return 0


def query_encoder(kb_path: Path, recorded: str | None, *, checkpoint: str | None, text_encoder: str | None) -> str:
    """The text encoder that embeds a search query in the KB's space (see the module docstring for the order)."""
    from ..errors import InputError

    chosen = {}
    if text_encoder:
        chosen["--text-encoder"] = text_encoder
    if checkpoint:
        from ..agents.checkpoint import AgentCheckpoint

        chosen["--checkpoint"] = AgentCheckpoint.load(Path(checkpoint)).encoders["text"]
    if len(set(chosen.values())) > 1:
        raise InputError(f"--text-encoder {text_encoder!r} differs from the checkpoint's text encoder "
                         f"{chosen['--checkpoint']!r}; give one of them")
    given = next(iter(chosen.values()), None)
    if recorded:
        if given and given != recorded:
            raise InputError(f"{kb_path} was built with the text encoder {recorded!r}, not {given!r}: queries "
                             f"embedded with {given!r} would be compared with vectors of another encoder")
        return recorded
    if given:
        return given
    from ..api import DEFAULT_CHECKPOINT, default_kb_dir

    if DEFAULT_CHECKPOINT.is_file() and _same_dir(kb_path, default_kb_dir(DEFAULT_CHECKPOINT)):
        from ..agents.checkpoint import AgentCheckpoint

        return AgentCheckpoint.load(DEFAULT_CHECKPOINT).encoders["text"]
    raise InputError(f"{kb_path} records no text encoder (made by an older version): say which checkpoint it "
                     "belongs to with --checkpoint FILE, or name the encoder with --text-encoder NAME")


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def run_search(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..kb import KnowledgeBase, RetrievalQuery, Retriever

    from ..textsafe import clean_input, edge_note

    if args.top_k < 1:
        raise InputError("--top-k must be >= 1")
    args.text = clean_input(args.text, what="the query text", note=edge_note)
    if not args.text.strip():
        raise InputError("the query text is empty: give the words to search for, e.g. kb search DIR \"I can't "
                         "believe it\"")
    with KnowledgeBase.open(args.path, read_only=True) as kb:
        if "text" not in kb.dims:
            raise InputError(f"{args.path} has no text index (only {', '.join(sorted(kb.dims)) or 'nothing'})")
        name = query_encoder(Path(args.path), kb.encoders.get("text"), checkpoint=args.checkpoint,
                             text_encoder=args.text_encoder)
        retriever = Retriever(kb, text_encoder=name)
        kinds = ("support", "confusion", "counter") if args.hypothesis else ("plain",)
        res = retriever.retrieve(RetrievalQuery(query_texts={k: [args.text] for k in kinds},
                                                hypothesis=args.hypothesis, kinds=kinds, top_k=args.top_k,
                                                exclude_ids=tuple(args.exclude)))
    if args.json:
        print(json.dumps({k: [{"id": e.id, "label": e.label, "sentiment": e.sentiment, "score": round(e.score, 4),
                               "text": e.text, "source": e.source} for e in v] for k, v in res.cognitive.items()},
                         indent=2))
        return 0
    for kind, items in res.cognitive.items():
        print(f"[{kind}]")
        for e in items:
            print(f"  {e.score:6.3f}  {e.label or '-':<9} {e.id:<28} {e.text[:90]}")
    return 0
