"""``affectagent serve``: the HTTP API and web page (see affectagent.service and docs/service.md)."""
from __future__ import annotations

import argparse

from ..errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    from ..service.settings import ServiceSettings

    d = ServiceSettings()
    p = sub.add_parser("serve", help="serve the predictor over HTTP with a web page (upload a clip or type a text)",
                       description="Load the agents once, then answer POST /v1/predict (multipart upload or JSON), "
                                   "GET /health, GET /v1/labels, GET /metrics (Prometheus), and serve a web page at / "
                                   "(and the arena's human voting page at /arena with --arena-run). See "
                                   "docs/service.md, docs/arena.md.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--checkpoint", help="agents checkpoint (default: the shipped one)")
    p.add_argument("--kb", help="evidence knowledge base directory (default: the checkpoint's)")
    p.add_argument("--data-root", help="data root used to build the default KB on first use")
    p.add_argument("--variant", default="full", help="pipeline variant: full, no_rag, naive_rag, no_planner, ...")
    p.add_argument("--max-upload-mb", type=float, default=d.max_upload_mb,
                   help=f"largest upload in MiB (default {d.max_upload_mb:g}); bigger requests get HTTP 413")
    p.add_argument("--max-media-seconds", type=float, default=d.max_media_seconds,
                   help=f"longest media accepted, in seconds (default {d.max_media_seconds:g})")
    p.add_argument("--max-pending", type=int, default=d.max_pending,
                   help=f"predictions that may wait for the model before HTTP 503 (default {d.max_pending})")
    p.add_argument("--max-timeline-segments", type=int, default=d.max_timeline_segments, metavar="N",
                   help="most segments a timeline request may cut its clip into; more get HTTP 400 "
                        f"(default {d.max_timeline_segments})")
    p.add_argument("--upload-dir", help="parent folder of the per-request temp folders (default: system temp)")
    p.add_argument("--header-timeout", type=float, default=d.header_timeout_seconds, metavar="SECONDS",
                   help="time a client has to send a request's headers; past it 408 and the connection is closed "
                        f"(default {d.header_timeout_seconds:g})")
    p.add_argument("--body-timeout", type=float, default=d.body_timeout_seconds, metavar="SECONDS",
                   help=f"longest pause while a body streams in before 408 (default {d.body_timeout_seconds:g})")
    p.add_argument("--request-timeout", type=float, default=d.request_timeout_seconds, metavar="SECONDS",
                   help="deadline for a prediction request to be read and reach the model (408 for the body, 503 "
                        f"in the queue; default {d.request_timeout_seconds:g})")
    p.add_argument("--allowed-host", action="append", default=[], metavar="HOST",
                   help="answer only requests for this Host (repeatable; *.example.com for subdomains); browser "
                        "requests must then come from an Origin on this list too (default: any host)")
    p.add_argument("--arena-run", metavar="RUN_DIR",
                   help="an arena run folder (affectagent arena run --out RUN_DIR): the /arena page puts its matches "
                        "to human judges and ranks the contestants by their votes (default: none, /arena says so)")
    p.add_argument("--arena-votes", metavar="FILE",
                   help="SQLite file for the human votes (default: RUN_DIR/votes.sqlite)")
    p.add_argument("--allow-foreign-kb", action="store_true",
                   help="serve --kb even though its recorded encoder differs from the checkpoint's")
    p.add_argument("--nanoemox", metavar="DIR",
                   help="Nano-EmoX model folder answering requests with model=nanoemox (loaded on the first one; "
                        "default $AFFECTAGENT_NANOEMOX, else the shipped one when it exists, else those get 503)")
    p.add_argument("--feature-cache", action="store_true",
                   help="keep request features (transcripts, embeddings) in the on-disk feature cache "
                        "(default: off, requests leave nothing on disk)")
    p.add_argument("--api-token-file", metavar="FILE",
                   help="require Authorization: Bearer <token> on predict, progress and arena votes, the token "
                        "being the first line of FILE (or set $AFFECTAGENT_API_TOKEN; never on the command line, "
                        "where ps shows it); /, /health, /v1/labels, /metrics stay open (default: no token)")
    p.add_argument("--workers", type=int, default=1,
                   help="uvicorn worker processes, each with its own copy of the model (default 1)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                   help="server log level (default info: one access line per request)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from ..service.auth import token_from_sources
    from ..service.server import serve
    from ..service.settings import ServiceSettings
    from ..service.spec import AgentSpec

    if args.workers < 1:
        raise InputError(f"--workers must be >= 1; got {args.workers}")
    settings = ServiceSettings(max_upload_mb=args.max_upload_mb, max_media_seconds=args.max_media_seconds,
                               max_pending=args.max_pending, upload_dir=args.upload_dir,
                               max_timeline_segments=args.max_timeline_segments,
                               header_timeout_seconds=args.header_timeout, body_timeout_seconds=args.body_timeout,
                               request_timeout_seconds=args.request_timeout, allowed_hosts=tuple(args.allowed_host),
                               arena_run=args.arena_run, arena_votes=args.arena_votes,
                               nanoemox_checkpoint=args.nanoemox,
                               api_token=token_from_sources(token_file=args.api_token_file, environ=os.environ))
    spec = AgentSpec(checkpoint=args.checkpoint, kb=args.kb, variant=args.variant, data_root=args.data_root,
                     feature_cache=args.feature_cache, allow_foreign_kb=args.allow_foreign_kb)
    serve(spec, settings, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level)
    return 0
