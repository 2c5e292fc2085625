"""Pure segment planning (no I/O): which [start, end) spans of a clip get one prediction each.

    plan_segments(6.13, TimelineConfig())        # 2 s windows every 1 s: [0,2] [1,3] [2,4] [3,5] [4,6] [5,6.13]
    plan_segments(6.13, TimelineConfig(mode="vad"), speech_spans=[(0.4, 2.1), (2.3, 5.9)])

Fixed windows: segment k covers [k·hop, min(k·hop + window, duration)], for k = 0 .. n−1 with
n = 1 + ceil((duration − window) / hop): the last window is the first that reaches the end of the clip, so it may
be partial. A partial last window shorter than ``min_length`` (= min(min_segment, window)) is absorbed by the
previous segment (which then ends at the clip's end). A clip no longer than one window is one segment, the whole
clip.

VAD: the speech spans are clipped to the clip, sorted, and merged when they overlap or the pause between them is
shorter than ``merge_gap``; a span shorter than ``min_length`` is widened around its centre to ``min_length``
(clipped to the clip, merged again if that makes spans touch); then each span is cut into windows by the fixed rule,
measured from the span's own start (a span no longer than a window is one segment).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, Sequence

from .errors import TimelineError

SegmentMode = Literal["fixed", "vad"]
SEGMENT_MODES: tuple[str, ...] = ("fixed", "vad")
EPS = 1e-6  # seconds: float slack when comparing times
DECIMALS = 4  # segment bounds are rounded to 0.1 ms (stable output, no 0.30000000000000004)


@dataclass(frozen=True)
class Segment:
    """One span of the clip that gets its own prediction: ``index`` (0-based, in time order), ``start`` and ``end``
    in seconds from the start of the clip (start < end)."""

    index: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def mid(self) -> float:
        return 0.5 * (self.start + self.end)


@dataclass(frozen=True)
class TimelineConfig:
    """How a clip is cut into segments.

    window:       seconds per segment (``--window``).
    hop:          seconds between segment starts (``--hop``); hop < window overlaps segments, hop = window tiles the
                  clip, hop > window is refused (parts of the clip would get no prediction).
    mode:         "fixed": windows over the whole clip; "vad": windows over the speech found by the VAD only
                  (``--segments``).
    min_segment:  seconds; a partial last window shorter than this joins the previous segment, a speech span shorter
                  than this is widened to it (applied as min(min_segment, window): ``min_length``).
    merge_gap:    vad mode: speech spans separated by a pause shorter than this (seconds) are one span.
    max_segments: a clip that would give more segments than this is refused with a TimelineError that says how to
                  get fewer (a longer hop or window) — never silently truncated (``--max-segments``).
    """

    window: float = 2.0
    hop: float = 1.0
    mode: SegmentMode = "fixed"
    min_segment: float = 0.5
    merge_gap: float = 0.5
    max_segments: int = 300

    def __post_init__(self) -> None:
        for name in ("window", "hop"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise TimelineError(f"timeline {name} (--{name}) must be a number of seconds > 0, got {value!r}")
        if self.hop > self.window + EPS:
            raise TimelineError(f"timeline hop ({self.hop:g} s, --hop) must be <= window ({self.window:g} s, "
                                "--window), or the clip between windows would get no prediction")
        if self.mode not in SEGMENT_MODES:
            raise TimelineError(f"timeline segments (--segments) must be one of {', '.join(SEGMENT_MODES)}, "
                                f"got {self.mode!r}")
        if not math.isfinite(self.min_segment) or self.min_segment < 0:
            raise TimelineError(f"timeline min_segment must be >= 0 s, got {self.min_segment!r}")
        if not math.isfinite(self.merge_gap) or self.merge_gap < 0:
            raise TimelineError(f"timeline merge_gap must be >= 0 s, got {self.merge_gap!r}")
        if isinstance(self.max_segments, bool) or not isinstance(self.max_segments, int) or self.max_segments < 1:
            raise TimelineError(f"timeline max_segments (--max-segments) must be an integer >= 1, "
                                f"got {self.max_segments!r}")

    @property
    def min_length(self) -> float:
        """The shortest segment the rules make on purpose: min(min_segment, window)."""
        return min(self.min_segment, self.window)

    def describe(self) -> str:
        """``2 s windows every 1 s`` (+ ``over speech (VAD)`` in vad mode)."""
        text = f"{self.window:g} s windows every {self.hop:g} s"
        return text + (" over speech (VAD)" if self.mode == "vad" else "")


_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|sec|secs|seconds?|ms)?\s*$")


def parse_seconds(value: str | float | int, *, what: str = "duration") -> float:
    """``"2s"``, ``"2"``, ``"1.5s"``, ``"1.5 sec"``, ``"500ms"`` or a number -> seconds (float).
    Anything else (``"2m"``, ``"-1"``, ``"abc"``, ``"inf"``) is a TimelineError naming ``what``."""
    if isinstance(value, bool):
        raise TimelineError(f"{what}: expected seconds such as 2, 2s or 1.5s, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if m is None:
            raise TimelineError(f"{what}: expected seconds such as 2, 2s, 1.5s or 500ms, got {str(value)[:40]!r}")
        seconds = float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
    if not math.isfinite(seconds):
        raise TimelineError(f"{what}: expected a finite number of seconds, got {value!r}")
    return seconds


def _windows(start: float, end: float, config: TimelineConfig) -> list[tuple[float, float]]:
    """The fixed-window rule (module docstring) over [start, end]."""
    length = end - start
    if length <= config.window + EPS:
        return [(start, end)]
    n = 1 + math.ceil((length - config.window) / config.hop - EPS)
    spans = [(start + k * config.hop, min(start + k * config.hop + config.window, end)) for k in range(n)]
    last_start, last_end = spans[-1]
    if len(spans) > 1 and last_end - last_start < config.min_length - EPS:
        spans.pop()
        spans[-1] = (spans[-1][0], end)
    return spans


def count_fixed(duration: float, config: TimelineConfig) -> int:
    """How many segments the fixed rule gives a clip of ``duration`` seconds (without building them)."""
    if duration <= config.window + EPS:
        return 1
    return 1 + math.ceil((duration - config.window) / config.hop - EPS)


def speech_regions(duration: float, spans: Sequence[tuple[float, float]],
                   config: TimelineConfig) -> list[tuple[float, float]]:
    """The vad-mode speech regions (module docstring): clipped, sorted, merged across pauses < merge_gap, each at
    least ``min_length`` long (when the clip is)."""
    clipped = sorted((max(0.0, float(s)), min(duration, float(e))) for s, e in spans)
    merged: list[list[float]] = []
    for s, e in clipped:
        if e - s <= EPS:
            continue
        if merged and (s <= merged[-1][1] + EPS or s - merged[-1][1] < config.merge_gap - EPS):
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    widened: list[list[float]] = []
    for s, e in merged:
        if e - s < config.min_length - EPS:
            size = min(config.min_length, duration)
            s = max(0.0, 0.5 * (s + e) - 0.5 * size)
            e = min(duration, s + size)
            s = max(0.0, e - size)
        if widened and s <= widened[-1][1] + EPS:
            widened[-1][1] = max(widened[-1][1], e)
        else:
            widened.append([s, e])
    return [(s, e) for s, e in widened]


def plan_segments(duration: float, config: TimelineConfig = TimelineConfig(),
                  speech_spans: Sequence[tuple[float, float]] | None = None) -> list[Segment]:
    """The segments of a clip of ``duration`` seconds (module docstring for the rules), in time order.

    ``speech_spans`` ((start, end) seconds, e.g. ``encoders.vad.speech_segments``) is required in vad mode and
    ignored in fixed mode. Raises TimelineError for a duration that is not > 0, vad mode without spans or with no
    speech at all, and more segments than ``config.max_segments``.
    """
    if duration is None or not math.isfinite(duration) or duration <= 0:
        raise TimelineError(f"a timeline needs a clip with a duration > 0 s, got {duration!r}")
    if config.mode == "fixed":
        n = count_fixed(duration, config)
        if n > config.max_segments:
            raise _too_many(n, duration, config)
        spans = _windows(0.0, duration, config)
    else:
        if speech_spans is None:
            raise TimelineError("vad segments need the speech spans of the clip (speech_spans)")
        regions = speech_regions(duration, speech_spans, config)
        if not regions:
            raise TimelineError(f"the VAD found no speech in the {duration:.2f} s clip, so vad segments are empty; "
                                "use --segments fixed")
        n = sum(count_fixed(e - s, config) for s, e in regions)
        if n > config.max_segments:
            raise _too_many(n, duration, config)
        spans = [w for s, e in regions for w in _windows(s, e, config)]
    return [Segment(index=i, start=round(s, DECIMALS), end=round(e, DECIMALS)) for i, (s, e) in enumerate(spans)]


def _too_many(n: int, duration: float, config: TimelineConfig) -> TimelineError:
    need_hop = duration / max(1, config.max_segments - 1)
    return TimelineError(f"the {duration:.1f} s clip gives {n} segments with {config.describe()}, over the cap of "
                         f"{config.max_segments} (--max-segments); use a longer --hop (about {need_hop:.2g} s or more, "
                         "with --window at least as long) or raise --max-segments")
