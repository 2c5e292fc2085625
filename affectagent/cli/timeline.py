"""``affectagent predict PATH --timeline [--window 2s --hop 1s --segments fixed|vad] [--out FILE]``.

A library of two calls for ``cli.predict`` to wire in (this module registers no subcommand):

    add_timeline_arguments(parser)                      # --timeline, --window, --hop, --segments, --max-segments
    if args.timeline:
        return run_timeline_cli(args, LazyPredict(lambda: make_predictor(args)), log)
    check_timeline_arguments(args)                      # otherwise: the timeline-only flags are refused

Outputs: with ``--out FILE`` (.jsonl / .csv) the rows go to FILE and the plot to FILE with the suffix .png
(``runs/t.jsonl`` -> ``runs/t.png``), and the summary to stdout. Without ``--out`` each row prints as it finishes
(a table, or one JSON object per line with ``--json``) and the plot goes to ``<input stem>.timeline.png`` in the
current folder; the summary goes to stderr. Exit code 0 when every segment has a prediction, 1 when some failed,
2 for a usage or input error (one line).

``run_timeline_cli`` reads these attributes of ``args``: ``paths``, ``timeline``, ``window``, ``hop``, ``segments``,
``max_segments``, and when present ``out``, ``json``, ``progress``, ``text``, ``context``, ``speaker``, ``fresh``
(the last four are refused with --timeline).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from ..errors import InputError

TIMELINE_ONLY: tuple[str, ...] = ("window", "hop", "segments", "max_segments")
NOT_WITH_TIMELINE: dict[str, str] = {
    "text": "--text would be the same text for every segment; each segment is transcribed from its own audio",
    "context": "--context is for one utterance; a timeline predicts each segment of the clip on its own",
    "speaker": "--speaker is for one utterance; a timeline predicts each segment of the clip on its own",
    "fresh": "--fresh is for a batch; --timeline always replaces --out",
}
PLOT_SUFFIX = ".timeline.png"


def add_timeline_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the timeline option group to ``parser`` (``predict``'s). Defaults are None so that a flag given without
    --timeline can be refused (``check_timeline_arguments``); the values default to ``TimelineConfig``'s."""
    from ..timeline.segments import SEGMENT_MODES, TimelineConfig

    d = TimelineConfig()
    g = parser.add_argument_group("timeline", "per-segment predictions of a video or long audio (docs/timeline.md)")
    g.add_argument("--timeline", action="store_true",
                   help="predict each segment of one video/audio PATH: rows (index, start, end, label, probs, "
                        "sentiment, ov_set, face_present, transcript, seconds, error) to --out and a PNG of the "
                        f"emotion probabilities over time beside it (without --out: <stem>{PLOT_SUFFIX} here)")
    g.add_argument("--window", metavar="SECONDS",
                   help=f"segment length, e.g. 2, 2s, 1.5s or 500ms (default {d.window:g}s)")
    g.add_argument("--hop", metavar="SECONDS",
                   help=f"time between segment starts, at most --window (default {d.hop:g}s)")
    g.add_argument("--segments", choices=SEGMENT_MODES,
                   help="fixed: windows over the whole clip (default); vad: windows over the speech the voice "
                        "activity detector finds")
    g.add_argument("--max-segments", type=int, metavar="N",
                   help=f"refuse a clip that would give more segments than N (default {d.max_segments})")


def _given(args: argparse.Namespace, names) -> list[str]:
    return [f"--{n.replace('_', '-')}" for n in names if getattr(args, n, None) not in (None, False, "")]


def check_timeline_arguments(args: argparse.Namespace) -> None:
    """Without --timeline: --window / --hop / --segments / --max-segments are an InputError (never ignored)."""
    if getattr(args, "timeline", False):
        return
    given = _given(args, TIMELINE_ONLY)
    if given:
        raise InputError(f"{' / '.join(given)} {'needs' if len(given) == 1 else 'need'} --timeline")


def timeline_config(args: argparse.Namespace):
    """The ``TimelineConfig`` of the flags (durations parsed by ``parse_seconds``; every error is one line)."""
    from ..timeline.segments import TimelineConfig, parse_seconds

    kw: dict = {}
    for name in ("window", "hop"):
        value = getattr(args, name, None)
        if value is not None:
            kw[name] = parse_seconds(value, what=f"--{name}")
    if getattr(args, "segments", None):
        kw["mode"] = args.segments
    if getattr(args, "max_segments", None) is not None:
        kw["max_segments"] = args.max_segments
    return TimelineConfig(**kw)


def check_input(args: argparse.Namespace) -> Path:
    """The one media file of a timeline (every other combination is an InputError naming what to do)."""
    from ..batch.discover import MANIFEST_EXTENSIONS

    for name, why in NOT_WITH_TIMELINE.items():
        if getattr(args, name, None):
            raise InputError(f"--{name} does not go with --timeline: {why}")
    paths = list(getattr(args, "paths", None) or [])
    if not paths:
        raise InputError("--timeline needs one video or audio PATH")
    if len(paths) > 1:
        raise InputError(f"--timeline takes exactly one video or audio PATH (got {len(paths)}); run it once per file")
    path = Path(paths[0])
    if path.is_dir():
        raise InputError(f"--timeline takes one video or audio file, not a folder: {path}")
    if path.suffix.lower() in MANIFEST_EXTENSIONS:
        raise InputError(f"--timeline takes one video or audio file, not a manifest: {path.name}")
    return path


def output_paths(args: argparse.Namespace, source: Path) -> tuple[Path | None, Path]:
    """(rows file or None, plot PNG): --out and its .png, or no rows file and ``<stem>.timeline.png`` in the cwd."""
    from ..batch.rows import row_format
    from ..timeline.timeline import plot_path_for

    out = getattr(args, "out", None)
    if out:
        out = Path(out)
        row_format(out)
        if out.resolve() == source.resolve():
            raise InputError(f"--out {out} is the input file")
        return out, plot_path_for(out)
    return None, Path.cwd() / f"{source.stem}{PLOT_SUFFIX}"


def format_row(row) -> str:
    """One table line of a row: index, span, top label and its probability, sentiment, face, transcript."""
    span = f"{row.start:7.2f} {row.end:7.2f}"
    if not row.ok:
        return f"{row.index:4d} {span}  error: {row.error}"
    p = row.probs.get(row.label, 0.0)
    face = {True: "yes", False: "no", None: "-"}[row.face_present]
    text = " ".join((row.transcript or "").split())
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{row.index:4d} {span}  {row.label:<10} {p:4.2f}  {row.sentiment or '-':<9} {face:<4}  {text}"


TABLE_HEADER = f"{'#':>4} {'start':>7} {'end':>7}  {'label':<10} {'p':>4}  {'sentiment':<9} {'face':<4}  transcript"


def _table_printer(scrub: Callable) -> Callable:
    """Prints the table header before the first row (so an error while planning prints no half table), then rows."""
    started = []

    def on_row(row) -> None:
        if not started:
            print(TABLE_HEADER, flush=True)
            started.append(True)
        print(scrub(format_row(row))[0], flush=True)

    return on_row


def run_timeline_cli(args: argparse.Namespace, predict_segment: Callable, log: Callable[[str], None] = print) -> int:
    """Validate the flags and the input, run ``timeline.run_timeline``, write the rows and the PNG, print a summary.

    ``predict_segment``: ``Sample -> Prediction``; pass a ``batch.LazyPredict`` so the models load only after the
    flags and the input have been checked. ``log``: where notes go (stderr is a good choice: stdout carries rows).
    Returns the exit code (0 all segments ok, 1 some failed); input and usage errors raise an ``InputError``.
    """
    from ..media import probe
    from ..textsafe import scrub
    from ..timeline import TimelineError, run_timeline

    source = check_input(args)
    config = timeline_config(args)
    out, png = output_paths(args, source)
    info = probe(source)
    if info.is_image:
        raise TimelineError(f"--timeline needs a video or audio file; {source.name} is a still image (predict it "
                            "without --timeline)")
    as_json = bool(getattr(args, "json", False))
    on_row = None
    if out is None:
        if as_json:
            on_row = lambda r: print(scrub(json.dumps(r.to_record(), ensure_ascii=False))[0], flush=True)  # noqa: E731
        else:
            on_row = _table_printer(scrub)
    timeline = run_timeline(source, predict_segment=predict_segment, config=config,
                            progress=bool(getattr(args, "progress", True)), on_row=on_row)
    for note in timeline.notes:
        log(f"note: {note}")
    if out is not None:
        timeline.write_rows(out)
    timeline.write_plot(png)
    stream = sys.stdout if out is not None else sys.stderr
    if as_json and out is not None:
        print(json.dumps({"source": str(source), "segments": len(timeline.rows), "ok": timeline.n_ok,
                          "failed": timeline.n_failed, "duration": timeline.duration, "seconds": timeline.seconds,
                          "rows": str(out), "plot": str(png)}, indent=2), file=stream)
    else:
        print(scrub(timeline.summary())[0], file=stream)
        print(f"{'rows: ' + str(out) + '; ' if out is not None else ''}plot: {png}", file=stream)
    return 1 if timeline.n_failed else 0
