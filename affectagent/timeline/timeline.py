"""``Timeline``: the per-segment predictions of one clip, with its face-present track, and how they are written."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..schema import CANONICAL_EMOTIONS
from .faces import FacePresence
from .rows import TimelineRow, write_timeline_rows
from .segments import TimelineConfig


@dataclass(frozen=True)
class TimelinePaths:
    """Where ``Timeline.write`` put the rows (.jsonl / .csv) and the plot (.png)."""

    rows: Path
    plot: Path


def plot_path_for(out: str | os.PathLike[str]) -> Path:
    """The PNG beside a rows file: ``runs/t.jsonl`` -> ``runs/t.png``."""
    return Path(out).with_suffix(".png")


@dataclass
class Timeline:
    """One clip's timeline.

    source:   the media file; kind: "video" (with or without sound) or "audio"; duration: seconds.
    config:   how it was segmented; rows: one ``TimelineRow`` per segment, in time order (failed ones included).
    faces:    the face-present track (None for audio, or when face detection was off or unavailable).
    speech:   vad mode: the speech regions the segments were cut from ((start, end) seconds); () in fixed mode.
    notes:    things the user should know (e.g. the face detector could not load); seconds: wall time of the run.
    """

    source: Path
    kind: str
    duration: float
    config: TimelineConfig
    rows: list[TimelineRow]
    faces: FacePresence | None = None
    speech: tuple[tuple[float, float], ...] = ()
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_ok(self) -> int:
        return sum(r.ok for r in self.rows)

    @property
    def n_failed(self) -> int:
        return len(self.rows) - self.n_ok

    @property
    def labels(self) -> tuple[str, ...]:
        """Every emotion with a probability in some row, in canonical order (then any others, sorted)."""
        seen = {k for r in self.rows for k in r.probs}
        return tuple(e for e in CANONICAL_EMOTIONS if e in seen) + tuple(sorted(seen - set(CANONICAL_EMOTIONS)))

    def label_counts(self) -> Counter:
        """Top label -> number of segments it tops (failed segments left out)."""
        return Counter(r.label for r in self.rows if r.ok and r.label is not None)

    def to_rows(self) -> list[dict[str, Any]]:
        """The rows as JSON-ready dicts (``rows.TIMELINE_FIELDS``)."""
        return [r.to_record() for r in self.rows]

    def write_rows(self, out: str | os.PathLike[str]) -> Path:
        return write_timeline_rows(out, self.rows)

    def write_plot(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        from .plot import plot_timeline  # noqa: PLC0415 - matplotlib loads on first use

        return plot_timeline(self, path, title=title)

    def write(self, out: str | os.PathLike[str], *, plot: str | os.PathLike[str] | None = None) -> TimelinePaths:
        """Rows to ``out`` (.jsonl / .csv from the extension) and the plot to ``plot`` (default: ``out`` with the
        suffix .png). Returns both paths."""
        rows = self.write_rows(out)
        png = self.write_plot(plot if plot is not None else plot_path_for(out))
        return TimelinePaths(rows=rows, plot=png)

    def summary(self) -> str:
        """One line: segments, ok / failed, the most frequent top labels, faces."""
        n = len(self.rows)
        parts = [f"{self.source.name}: {n} segment{'' if n == 1 else 's'} ({self.config.describe()}) over "
                 f"{self.duration:.2f} s in {self.seconds:.1f} s: {self.n_ok} ok, {self.n_failed} failed"]
        counts = self.label_counts()
        if counts:
            parts.append("top labels " + ", ".join(f"{lab} {c}" for lab, c in counts.most_common(3)))
        if self.faces is not None and len(self.faces.found):
            with_face = sum(1 for r in self.rows if r.face_present)
            parts.append(f"face in {with_face} of {n} segments")
        return "; ".join(parts)
