"""``run_timeline``: cut a clip into segments, predict each, and track where a face is.

    from affectagent.api import AffectAgent
    agent = AffectAgent.load()
    tl = run_timeline("talk.mp4", predict_segment=lambda s: agent.predict([s], explain=True)[0])
    tl.write("talk.jsonl")          # rows + talk.png

Steps: probe the clip (a still image or a file without audio/video is a TimelineError / MediaError) -> decode its
audio once (16 kHz mono, silence allowed) -> speech spans from the VAD in vad mode -> ``plan_segments`` -> for each
segment: its audio span as a WAV and its video span as a re-encoded slice (``media.cut``) in a temporary folder, the
face-track samples that fall in it run through the face detector, ``predict_segment(Sample)``, a ``TimelineRow``;
the slices are deleted as soon as the segment is done. A segment that fails (cutting or predicting) is a row with
its ``error``, never the end of the run. What ``predict_segment`` receives is documented on ``segment_sample``.
"""
from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..batch.runner import LazyPredict, describe_error
from ..encoders.vad import VADConfig
from ..errors import AffectAgentError
from ..media import MediaConfig, load_audio, probe
from ..media.cut import cut_video, write_wav
from ..schema import Prediction, Sample
from .errors import TimelineError
from .faces import DEFAULT_FACE_FPS, FaceDetector, FacePresence, MediaPipeFaceDetector, face_grid, presence
from .rows import TimelineRow
from .segments import Segment, TimelineConfig, plan_segments, speech_regions
from .timeline import Timeline

PredictSegment = Callable[[Sample], Prediction]
MIN_AUDIO_SECONDS = 0.05  # an audio span shorter than this is not written (the segment is then video only)


def segment_sample(source: Path, segment: Segment, *, video: Path | None, audio: Path | None) -> Sample:
    """The ``Sample`` of one segment: ``id`` ``<file name>@<start>-<end>`` (seconds, 3 decimals); ``video`` the
    re-encoded video slice (.mkv, no sound) or None; ``audio`` the span's 16 kHz mono WAV or None (the feature
    extractor takes the audio from ``audio`` and the frames from ``video``); no text (ASR transcribes the span);
    ``source`` "timeline"; ``meta["timeline"]`` = {source, index, start, end}."""
    return Sample(id=f"{source.name}@{segment.start:.3f}-{segment.end:.3f}", video=video, audio=audio,
                  source="timeline",
                  meta={"timeline": {"source": str(source), "index": segment.index, "start": segment.start,
                                     "end": segment.end}})


class _FaceTrack:
    """The face-track samples detected so far (grid time -> found); a detector error turns the track off."""

    def __init__(self, detector: FaceDetector | None, grid: np.ndarray, notes: list[str]) -> None:
        self.detector, self.grid, self.notes = detector, grid, notes
        self.found: dict[float, bool] = {}

    def pending(self, segment: Segment) -> list[float]:
        """Grid times in the segment not detected yet (its midpoint when no grid time falls in it)."""
        if self.detector is None:
            return []
        inside = [float(t) for t in self.grid if segment.start <= t < segment.end]
        if not inside:
            inside = [round(segment.mid, 4)]
        return [t for t in inside if t not in self.found]

    def add(self, targets: Sequence[float], frames: Sequence[np.ndarray]) -> None:
        if self.detector is None or not frames:
            return
        try:
            hits = list(self.detector(list(frames)))
        except Exception as exc:  # noqa: BLE001 - the face track is an extra: it never fails a segment
            self.notes.append(f"face detection failed ({describe_error(exc)}); the face track stops here")
            self.detector = None
            return
        for t, hit in zip(targets, hits):
            self.found[t] = bool(hit)

    def presence(self, segment: Segment) -> tuple[bool | None, float | None]:
        times, found = self.arrays()
        return presence(times, found, segment.start, segment.end)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        ts = sorted(self.found)
        return np.asarray(ts, np.float64), np.asarray([self.found[t] for t in ts], bool)


def _default_detector(notes: list[str]) -> FaceDetector | None:
    try:
        return MediaPipeFaceDetector()
    except AffectAgentError as exc:
        notes.append(f"no face track: the face detector is unavailable ({exc})")
        return None


def run_timeline(
    path: str | os.PathLike[str],
    *,
    predict_segment: PredictSegment,
    config: TimelineConfig = TimelineConfig(),
    media: MediaConfig = MediaConfig(),
    speech_spans: Sequence[tuple[float, float]] | None = None,
    vad: VADConfig = VADConfig(),
    detect_faces: bool = True,
    face_detector: FaceDetector | None = None,
    face_fps: float = DEFAULT_FACE_FPS,
    progress: bool = False,
    on_row: Callable[[TimelineRow], None] | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> Timeline:
    """The timeline of one video or audio file (module docstring for the steps).

    predict_segment: ``Sample -> Prediction`` for one segment (``segment_sample`` says what it gets); a
        ``batch.LazyPredict`` is loaded once before the first segment, so a loading error stops the run.
    config: segmentation (``TimelineConfig``); media: decoding limits and the audio rate.
    speech_spans: vad mode: the speech (start, end) seconds to segment; None runs the Silero VAD (``vad``) on the
        clip's audio.
    detect_faces: keep a face-present track for video (``face_detector``: any ``frames -> [bool]``; None: the
        MediaPipe detector of the face encoder); ``face_fps``: track samples per second.
    progress: a tqdm bar on stderr; on_row: called with each finished row; workdir: where the temporary slice
        folder goes (default: the system temp dir).
    Raises the media errors for a missing/corrupt/empty/unsupported/over-limit file and TimelineError for a still
    image, no speech in vad mode, or too many segments — all before any prediction.
    """
    t_run = time.perf_counter()
    source = Path(path)
    info = probe(source, max_bytes=media.max_bytes, max_seconds=media.max_seconds)
    if info.is_image:
        raise TimelineError(f"{source.name} is a still image; a timeline needs a video or audio file that lasts")
    notes: list[str] = []
    wave = None
    if info.has_audio:
        wave = load_audio(source, sr=media.sample_rate, max_seconds=media.max_seconds, max_bytes=media.max_bytes,
                          silence_dbfs=media.silence_dbfs, allow_silent=True)
    duration = info.duration or (len(wave) / media.sample_rate if wave is not None else None)
    if not duration or not math.isfinite(duration) or duration <= 0:
        raise TimelineError(f"{source.name}: the container does not say how long it lasts, so it cannot be segmented")
    speech: tuple[tuple[float, float], ...] = ()
    if config.mode == "vad":
        if speech_spans is None:
            if wave is None:
                raise TimelineError(f"--segments vad needs speech, and {source.name} has no audio track; use "
                                    "--segments fixed")
            from ..encoders.vad import speech_segments  # noqa: PLC0415

            speech_spans = speech_segments(wave, sr=media.sample_rate, config=vad)
        speech = tuple(speech_regions(duration, speech_spans, config))
    segments = plan_segments(duration, config, speech_spans=speech_spans)

    own_detector = None
    if info.has_video and detect_faces:
        if face_detector is None:
            face_detector = own_detector = _default_detector(notes)
    else:
        face_detector = None
    track = _FaceTrack(face_detector, face_grid(duration, fps=face_fps) if face_detector else np.zeros(0), notes)
    if isinstance(predict_segment, LazyPredict):
        predict_segment.load()  # before the first segment: a bad checkpoint stops the run instead of failing each row

    from tqdm.auto import tqdm  # noqa: PLC0415

    rows: list[TimelineRow] = []
    bar = tqdm(segments, desc="timeline", unit="segment", disable=not progress, dynamic_ncols=True)
    try:
        with tempfile.TemporaryDirectory(prefix="affectagent-timeline-", dir=workdir) as tmp:
            for seg in bar:
                row = _segment_row(source, seg, predict_segment=predict_segment, wave=wave, has_video=info.has_video,
                                   media=media, track=track, folder=Path(tmp))
                rows.append(row)
                bar.set_postfix(failed=sum(not r.ok for r in rows), refresh=False)
                if on_row is not None:
                    on_row(row)
    finally:
        bar.close()
        if own_detector is not None and hasattr(own_detector, "close"):
            own_detector.close()
    faces = None
    if face_detector is not None:
        times, found = track.arrays()
        name = getattr(face_detector, "name", type(face_detector).__name__)
        faces = FacePresence(times=times, found=found, detector=name)
    return Timeline(source=source, kind=info.kind, duration=round(float(duration), 4), config=config, rows=rows,
                    faces=faces, speech=speech, notes=notes, seconds=round(time.perf_counter() - t_run, 3))


def _segment_row(source: Path, seg: Segment, *, predict_segment: PredictSegment, wave: np.ndarray | None,
                 has_video: bool, media: MediaConfig, track: _FaceTrack, folder: Path) -> TimelineRow:
    """Cut, detect faces, predict: one row (an error row when cutting or predicting raises)."""
    t0 = time.perf_counter()
    made: list[Path] = []
    face: tuple[bool | None, float | None] = (None, None)
    try:
        audio = None
        if wave is not None:
            span = wave[int(round(seg.start * media.sample_rate)):int(round(seg.end * media.sample_rate))]
            if span.size >= MIN_AUDIO_SECONDS * media.sample_rate:
                audio = write_wav(folder / f"{seg.index:05d}.wav", span, sr=media.sample_rate)
                made.append(audio)
        video = None
        if has_video:
            targets = track.pending(seg)
            piece = cut_video(source, folder / f"{seg.index:05d}.mkv", start=seg.start, end=seg.end,
                              keep_times=targets, max_side=media.max_side, max_bytes=media.max_bytes)
            if piece is not None:
                video = piece.path
                made.append(video)
                track.add(targets[:len(piece.frames)], piece.frames)
        face = track.presence(seg)
        if video is None and audio is None:
            raise TimelineError(f"no audio or video decodes in {seg.start:.2f}-{seg.end:.2f} s")
        pred = predict_segment(segment_sample(source, seg, video=video, audio=audio))
    except Exception as exc:  # noqa: BLE001 - one bad segment is one error row, never the end of the timeline
        return TimelineRow.failed(seg, error=describe_error(exc), seconds=time.perf_counter() - t0,
                                  face_present=face[0], face_ratio=face[1])
    finally:
        for p in made:
            p.unlink(missing_ok=True)
    return TimelineRow.from_prediction(seg, pred, seconds=time.perf_counter() - t0, face_present=face[0],
                                       face_ratio=face[1])
