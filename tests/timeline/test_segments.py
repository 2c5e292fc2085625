"""Segment planning, durations and the face-presence arithmetic: hand-computed cases (pure, no media)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from affectagent.errors import InputError
from affectagent.timeline.errors import TimelineError
from affectagent.timeline.faces import face_grid, presence
from affectagent.timeline.segments import (
    Segment,
    TimelineConfig,
    count_fixed,
    parse_seconds,
    plan_segments,
    speech_regions,
)


def spans(segments: list[Segment]) -> list[tuple[float, float]]:
    return [(s.start, s.end) for s in segments]


# ---------------------------------------------------------------- fixed windows
def test_overlapping_windows_end_with_a_partial_window():
    # 6.133 s (face1.mp4), 2 s every 1 s: n = 1 + ceil(4.133) = 6, the last one 1.133 s long (>= min_segment 0.5)
    segs = plan_segments(6.133, TimelineConfig())
    assert spans(segs) == [(0.0, 2.0), (1.0, 3.0), (2.0, 4.0), (3.0, 5.0), (4.0, 6.0), (5.0, 6.133)]
    assert [s.index for s in segs] == list(range(6))
    assert segs[-1].duration == pytest.approx(1.133) and segs[0].mid == 1.0


def test_a_clip_that_ends_on_a_window_has_no_partial_window():
    assert spans(plan_segments(6.0, TimelineConfig())) == [(0.0, 2.0), (1.0, 3.0), (2.0, 4.0), (3.0, 5.0), (4.0, 6.0)]


@pytest.mark.parametrize("duration", [0.3, 1.2, 2.0, 2.0000001])
def test_a_clip_no_longer_than_a_window_is_one_segment(duration):
    assert spans(plan_segments(duration, TimelineConfig())) == [(0.0, round(duration, 4))]


def test_a_short_tail_joins_the_previous_segment():
    # tiles of 2 s: [6, 6.3] is 0.3 s < 0.5 -> absorbed, the last segment is [4, 6.3]
    assert spans(plan_segments(6.3, TimelineConfig(hop=2.0))) == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.3)]
    # [6, 6.6] is 0.6 s >= 0.5: kept
    assert spans(plan_segments(6.6, TimelineConfig(hop=2.0))) == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 6.6)]
    # min_segment 0 keeps every tail
    assert spans(plan_segments(6.3, TimelineConfig(hop=2.0, min_segment=0.0)))[-1] == (6.0, 6.3)


def test_min_segment_longer_than_the_window_acts_as_the_window():
    cfg = TimelineConfig(window=0.4, hop=0.4, min_segment=0.5)
    assert cfg.min_length == 0.4
    assert spans(plan_segments(1.0, cfg)) == [(0.0, 0.4), (0.4, 1.0)]  # the 0.2 s tail joins [0.4, 0.8]


def test_bounds_do_not_drift():
    segs = plan_segments(1.0, TimelineConfig(window=0.3, hop=0.1, min_segment=0.0))
    assert spans(segs)[:3] == [(0.0, 0.3), (0.1, 0.4), (0.2, 0.5)]
    assert spans(segs)[-1] == (0.7, 1.0) and len(segs) == 8


@pytest.mark.parametrize("duration,window,hop", [(6.133, 2, 1), (10, 3, 3), (7.5, 2.5, 0.5), (59.9, 4, 1.5), (1, 1, 1)])
def test_windows_cover_the_clip_and_count_matches(duration, window, hop):
    cfg = TimelineConfig(window=window, hop=hop)
    segs = plan_segments(duration, cfg)
    assert segs[0].start == 0.0 and segs[-1].end == pytest.approx(duration)
    assert all(b.start <= a.end + 1e-9 for a, b in zip(segs, segs[1:]))  # no gap between neighbours
    assert all(s.end > s.start for s in segs)
    assert len(segs) in (count_fixed(duration, cfg), count_fixed(duration, cfg) - 1)  # -1: a tail absorbed


def test_max_segments_is_a_clear_error_never_a_truncation():
    assert len(plan_segments(6.133, TimelineConfig(max_segments=6))) == 6
    with pytest.raises(TimelineError, match=r"gives 6 segments .* cap of 5 \(--max-segments\).*--hop"):
        plan_segments(6.133, TimelineConfig(max_segments=5))


@pytest.mark.parametrize("duration", [0, -1, float("nan"), float("inf"), None])
def test_a_clip_needs_a_duration(duration):
    with pytest.raises(TimelineError, match="duration > 0"):
        plan_segments(duration, TimelineConfig())


# ---------------------------------------------------------------- vad
def test_vad_merges_close_speech_and_keeps_pauses():
    cfg = TimelineConfig(mode="vad", window=5.0, hop=5.0)
    # pause 0.3 s (< merge_gap 0.5) -> one span; pause 1.0 s -> two spans
    assert spans(plan_segments(10.0, cfg, [(0.5, 1.5), (1.8, 3.0), (4.0, 5.0)])) == [(0.5, 3.0), (4.0, 5.0)]
    assert spans(plan_segments(10.0, TimelineConfig(mode="vad", merge_gap=0.0), [(0.5, 1.5), (1.5, 3.0)])) == \
        [(0.5, 2.5), (1.5, 3.0)]  # touching spans merge even with merge_gap 0, then split into 2 s windows


def test_vad_splits_long_speech_into_windows_from_its_own_start():
    segs = plan_segments(8.0, TimelineConfig(mode="vad"), [(0.5, 5.5), (6.5, 7.5)])
    assert spans(segs) == [(0.5, 2.5), (1.5, 3.5), (2.5, 4.5), (3.5, 5.5), (6.5, 7.5)]
    assert [s.index for s in segs] == [0, 1, 2, 3, 4]


def test_vad_widens_short_speech_to_min_segment():
    cfg = TimelineConfig(mode="vad")
    assert spans(plan_segments(5.0, cfg, [(1.0, 1.2)])) == [(0.85, 1.35)]  # centred on 1.1
    assert spans(plan_segments(5.0, cfg, [(0.0, 0.1)])) == [(0.0, 0.5)]  # clipped at the start, still 0.5 s
    assert spans(plan_segments(5.0, cfg, [(4.95, 5.0)])) == [(4.5, 5.0)]  # and at the end
    assert spans(plan_segments(0.3, cfg, [(0.1, 0.2)])) == [(0.0, 0.3)]  # the clip itself is shorter


def test_vad_clips_sorts_and_drops_spans_outside_the_clip():
    regions = speech_regions(4.0, [(3.0, 9.0), (-1.0, 1.0), (5.0, 6.0)], TimelineConfig(mode="vad"))
    assert regions == [(0.0, 1.0), (3.0, 4.0)]


def test_vad_without_speech_or_spans_is_an_error():
    with pytest.raises(TimelineError, match="no speech.*--segments fixed"):
        plan_segments(5.0, TimelineConfig(mode="vad"), [])
    with pytest.raises(TimelineError, match="speech spans"):
        plan_segments(5.0, TimelineConfig(mode="vad"))


def test_fixed_mode_ignores_speech_spans():
    assert spans(plan_segments(3.0, TimelineConfig(), [(1.0, 1.5)])) == [(0.0, 2.0), (1.0, 3.0)]


def test_vad_max_segments():
    with pytest.raises(TimelineError, match="--max-segments"):
        plan_segments(100.0, TimelineConfig(mode="vad", max_segments=3), [(0.0, 10.0)])


# ---------------------------------------------------------------- config
@pytest.mark.parametrize("kw,match", [
    ({"window": 0}, "--window"), ({"window": -2}, "--window"), ({"hop": float("nan")}, "--hop"),
    ({"hop": 0}, "--hop"), ({"window": 1.0, "hop": 2.0}, r"hop \(2 s, --hop\) must be <= window \(1 s"),
    ({"mode": "speech"}, "--segments"), ({"max_segments": 0}, "--max-segments"),
    ({"max_segments": True}, "--max-segments"), ({"max_segments": 2.5}, "--max-segments"),
    ({"min_segment": -0.1}, "min_segment"), ({"merge_gap": -1}, "merge_gap"), ({"window": "2s"}, "--window"),
])
def test_config_validation(kw, match):
    with pytest.raises(TimelineError, match=match) as info:
        TimelineConfig(**kw)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)


def test_config_describe():
    assert TimelineConfig().describe() == "2 s windows every 1 s"
    assert TimelineConfig(window=1.5, hop=0.5, mode="vad").describe() == "1.5 s windows every 0.5 s over speech (VAD)"


# ---------------------------------------------------------------- durations
@pytest.mark.parametrize("text,seconds", [
    ("2s", 2.0), ("2", 2.0), ("1.5s", 1.5), (" 1.5 sec ", 1.5), ("500ms", 0.5), (".25s", 0.25), ("3 seconds", 3.0),
    (3, 3.0), (0.5, 0.5),
])
def test_parse_seconds(text, seconds):
    assert parse_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["2m", "", "abc", "-1", "1,5s", "inf", "nan", "2 s s", True])
def test_parse_seconds_refuses(text):
    with pytest.raises(TimelineError, match="--window"):
        parse_seconds(text, what="--window")


def test_parse_seconds_zero_parses_but_the_config_refuses_it():
    assert parse_seconds("0s") == 0.0
    with pytest.raises(TimelineError):
        TimelineConfig(window=parse_seconds("0s"))


# ---------------------------------------------------------------- face presence arithmetic
def test_presence_over_a_segment():
    times = np.array([0.25, 0.75, 1.25, 1.75])
    found = np.array([True, False, False, True])
    assert presence(times, found, 0.0, 1.0) == (True, 0.5)
    assert presence(times, found, 1.0, 1.5) == (False, 0.0)
    assert presence(times, found, 0.0, 2.0) == (True, 0.5)
    assert presence(times, found, 1.8, 3.0) == (None, None)  # no sample in [1.8, 3)
    assert presence(times, found, 0.75, 1.25) == (False, 0.0)  # [start, end): 1.25 is out


def test_face_grid_is_centred_slots():
    grid = face_grid(3.0, fps=2.0)
    assert grid.tolist() == [0.25, 0.75, 1.25, 1.75, 2.25, 2.75]
    assert len(face_grid(6.133, fps=2.0)) == 12 and math.isclose(face_grid(6.133)[0], 6.133 / 24)
    with pytest.raises(ValueError):
        face_grid(3.0, fps=0)
