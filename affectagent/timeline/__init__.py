"""Emotion timelines: per-segment predictions of a video or long audio, with a face-present track and a PNG.

    from affectagent.timeline import TimelineConfig, run_timeline
    tl = run_timeline("talk.mp4", predict_segment=lambda s: agent.predict([s], explain=True)[0],
                      config=TimelineConfig(window=2.0, hop=1.0, mode="fixed"))
    paths = tl.write("talk.jsonl")     # rows -> talk.jsonl, plot -> talk.png

segments.py (pure): ``TimelineConfig``, ``Segment``, ``plan_segments``, ``parse_seconds``. runner.py: cutting
(``media.cut``), face track, ``predict_segment`` per segment, error rows. faces.py: the face-present track.
rows.py: ``TimelineRow`` and the .jsonl / .csv files. timeline.py: ``Timeline``. plot.py: the PNG.
``affectagent predict PATH --timeline`` is the command line (``cli.timeline``); docs/timeline.md.
"""
from .errors import TimelineError
from .faces import DEFAULT_FACE_FPS, FaceDetector, FacePresence, MediaPipeFaceDetector
from .rows import TIMELINE_FIELDS, TimelineRow, write_timeline_rows
from .runner import run_timeline, segment_sample
from .segments import SEGMENT_MODES, Segment, TimelineConfig, parse_seconds, plan_segments
from .timeline import Timeline, TimelinePaths, plot_path_for

__all__ = [
    "TimelineError", "DEFAULT_FACE_FPS", "FaceDetector", "FacePresence", "MediaPipeFaceDetector", "TIMELINE_FIELDS",
    "TimelineRow", "write_timeline_rows", "run_timeline", "segment_sample", "SEGMENT_MODES", "Segment",
    "TimelineConfig", "parse_seconds", "plan_segments", "Timeline", "TimelinePaths", "plot_path_for",
]
