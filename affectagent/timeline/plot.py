"""The timeline PNG (matplotlib, headless Agg backend, no display, deterministic bytes for the same timeline).

Top panel: each emotion's probability over time, one point per segment at its midpoint joined by lines (overlapping
windows make neighbouring points share audio/video; a failed segment or a gap between segments breaks the lines),
each segment's top label written above the panel, failed segments shaded pink with a black "x", vad-mode speech
regions shaded grey. Bottom strip: the face-present track (green: a face at that sample, grey: none; "no video" for
audio). Colours are fixed per canonical emotion.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from .timeline import Timeline

FACE_COLOUR, NO_FACE_COLOUR, SPEECH_COLOUR = "#2ca02c", "#d9d9d9", "#f0f0f0"
ERROR_COLOUR, ERROR_SHADE = "#000000", "#f4cccc"  # not red: red is angry
MAX_LABELS_EACH = 40  # more segments than this: a top label is written only where it changes
MAX_MARKERS = 80  # more segments than this: lines without a dot per segment


# A fixed, readable colour per canonical emotion (the same emotion looks the same in every plot).
EMOTION_COLOURS: dict[str, str] = {
    "neutral": "#7f7f7f", "happy": "#ff9f1c", "sad": "#1f77b4", "angry": "#d62728", "fear": "#9467bd",
    "disgust": "#2f8f3a", "surprise": "#e377c2", "calm": "#17becf", "boredom": "#8c564b", "contempt": "#9a9a2e",
    "powerful": "#b8520f", "shame": "#a6266e", "guilt": "#2b3a8c", "other": "#b0b0b0",
}


def emotion_colour(label: str) -> str:
    """The colour of a canonical emotion (``EMOTION_COLOURS``), black for anything else."""
    return EMOTION_COLOURS.get(label, "#000000")


def _import_pyplot():
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - matplotlib is pinned
        raise MissingDependencyError("the timeline plot needs matplotlib: pip install matplotlib") from exc
    return plt


def _runs(rows) -> list[list]:
    """The ok rows in runs of contiguous segments: a failed segment or a gap between segments (vad mode) breaks
    the curves, so no line is drawn across time nothing was predicted for."""
    runs: list[list] = [[]]
    last_end = None
    for r in rows:
        if not r.ok or (last_end is not None and r.start > last_end + 1e-6):
            runs.append([])
        if r.ok:
            runs[-1].append(r)
        last_end = r.end
    return [run for run in runs if run]


def _face_bars(times, found, duration: float) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(face, no-face) bars (start, width) for the strip: each sample owns the half-way points to its neighbours,
    at most half the usual sample spacing away (so the gaps between vad segments stay blank)."""
    t = [float(x) for x in times]
    half = 0.5 * float(np.median(np.diff(t))) if len(t) > 1 else 0.5 * duration
    face, none = [], []
    for i, x in enumerate(t):
        left = 0.0 if i == 0 else 0.5 * (t[i - 1] + x)
        right = duration if i == len(t) - 1 else 0.5 * (x + t[i + 1])
        left, right = max(left, x - half), min(right, x + half)
        (face if bool(found[i]) else none).append((left, right - left))
    return face, none


def plot_timeline(timeline: "Timeline", path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write the PNG of ``timeline`` to ``path`` (must end in .png) and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(f"the timeline plot must be a .png file, got {path.name}")
    plt = _import_pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    duration = max(timeline.duration, 1e-3)
    width = min(20.0, max(8.0, 6.0 + 0.12 * duration))
    fig, (ax, strip) = plt.subplots(2, 1, sharex=True, figsize=(width, 5.2),
                                    gridspec_kw={"height_ratios": [6, 1], "hspace": 0.08})
    try:
        for s, e in timeline.speech:
            ax.axvspan(s, e, color=SPEECH_COLOUR, zorder=0, lw=0)
        runs = _runs(timeline.rows)
        for label in timeline.labels:
            xs, ys = [], []
            for run in runs:
                xs += [r.mid for r in run] + [float("nan")]
                ys += [r.probs.get(label, 0.0) for r in run] + [float("nan")]
            ax.plot(xs, ys, marker="o" if len(timeline.rows) <= MAX_MARKERS else None, ms=3.5, lw=1.4,
                    color=emotion_colour(label), label=label, zorder=2)
        for r in timeline.rows:
            if not r.ok:
                ax.axvspan(r.start, r.end, color=ERROR_SHADE, alpha=0.6, lw=0, zorder=1)
                ax.plot([r.mid], [0.02], marker="x", ms=7, color=ERROR_COLOUR, zorder=3, clip_on=False)
        shown = None
        for r in timeline.rows:
            text = r.label if r.ok else "error"
            if len(timeline.rows) > MAX_LABELS_EACH and text == shown:
                continue
            shown = text
            ax.text(r.mid, 1.02, text, transform=ax.get_xaxis_transform(), rotation=90, ha="center", va="bottom",
                    fontsize=7, color=emotion_colour(text) if r.ok else ERROR_COLOUR, clip_on=False)
        ax.set_ylim(0.0, 1.0)
        ax.set_xlim(0.0, duration)
        ax.set_ylabel("probability")
        ax.grid(True, axis="y", color="#e5e5e5", lw=0.6)
        if timeline.labels:
            ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
        ax.set_title(title or f"{timeline.source.name}: emotion over time ({len(timeline.rows)} segments, "
                              f"{timeline.config.describe()})", pad=48, fontsize=10)
        strip.set_yticks([])
        strip.set_ylabel("face", rotation=0, ha="right", va="center")
        strip.set_xlabel("time (s)")
        faces = timeline.faces
        if faces is not None and len(faces.times):
            face, none = _face_bars(faces.times, faces.found, duration)
            strip.broken_barh(none, (0.1, 0.8), color=NO_FACE_COLOUR)
            strip.broken_barh(face, (0.1, 0.8), color=FACE_COLOUR)
        else:
            why = "no video (audio only)" if timeline.kind == "audio" else "no face track"
            strip.text(0.5, 0.5, why, transform=strip.transAxes, ha="center", va="center", fontsize=8, color="#555")
        strip.set_ylim(0.0, 1.0)
        fig.subplots_adjust(left=0.07, right=0.86, top=0.80, bottom=0.1)
        fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path
