"""The timeline PNG from hand-built timelines (no media): line breaks, face bars, edge cases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from affectagent.timeline import FacePresence, Timeline, TimelineConfig, TimelineRow
from affectagent.timeline.plot import _face_bars, _runs, plot_timeline


def row(i, start, end, label="happy", error=None):
    if error:
        return TimelineRow(index=i, start=start, end=end, error=error, seconds=0.1)
    return TimelineRow(index=i, start=start, end=end, label=label, probs={label: 0.8, "neutral": 0.2},
                       sentiment="positive", seconds=0.1)


def test_lines_break_at_failed_segments_and_gaps():
    rows = [row(0, 0, 2), row(1, 1, 3), row(2, 2, 4, error="boom"), row(3, 3, 5), row(4, 7, 9), row(5, 8, 10)]
    assert [[r.index for r in run] for run in _runs(rows)] == [[0, 1], [3], [4, 5]]


def test_face_bars_share_the_time_between_samples():
    face, none = _face_bars([0.25, 0.75, 1.25, 3.25], [True, False, True, True], 4.0)
    # spacing 0.5 -> each sample reaches at most 0.25 s; the lone sample at 3.25 does not stretch over the gap
    assert face == [(0.0, 0.5), (1.0, 0.5), (3.0, 0.5)] and none == [(0.5, 0.5)]


def test_plots_of_edge_cases_are_valid_pngs(tmp_path):
    config = TimelineConfig()
    cases = {
        "all_failed": Timeline(source=Path("a.mp4"), kind="video", duration=3.0, config=config,
                               rows=[row(0, 0, 2, error="x"), row(1, 1, 3, error="y")]),
        "audio": Timeline(source=Path("a.wav"), kind="audio", duration=0.8, config=config, rows=[row(0, 0, 0.8)]),
        "many": Timeline(source=Path("long.mp4"), kind="video", duration=300.0, config=config,
                         rows=[row(i, i, min(i + 2, 300), label="sad" if i % 50 < 25 else "angry")
                               for i in range(299)],
                         faces=FacePresence(times=np.arange(0.25, 300, 0.5), found=np.arange(600) % 7 > 0)),
        "vad": Timeline(source=Path("v.mp4"), kind="video", duration=10.0, config=TimelineConfig(mode="vad"),
                        rows=[row(0, 1, 3), row(1, 6, 7.5, label="calm")], speech=((1.0, 3.0), (6.0, 7.5)),
                        faces=FacePresence(times=np.array([1.5, 2.5, 6.5, 7.25]), found=np.array([1, 0, 1, 1], bool))),
    }
    for name, tl in cases.items():
        png = plot_timeline(tl, tmp_path / f"{name}.png")
        with Image.open(png) as im:
            assert im.format == "PNG" and im.size[0] >= 700, name
