"""``run_timeline`` on a real talking-head clip (face1.mp4, 6.13 s, h264 + aac) with a scripted ``predict_segment``
(no agents, no knowledge base): the slices each segment gets, rows, error rows, the face track, the outputs."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from affectagent.batch import LazyPredict
from affectagent.errors import InputError
from affectagent.media import CorruptMediaError, EmptyMediaError, MediaError, load_audio, load_frames, probe
from affectagent.media.cut import write_wav
from affectagent.schema import CANONICAL_EMOTIONS, Prediction, Sample
from affectagent.timeline import (
    TIMELINE_FIELDS,
    TimelineConfig,
    TimelineError,
    plan_segments,
    run_timeline,
)
from affectagent.timeline.plot import EMOTION_COLOURS

from ..resources import shared

CLIP_REL = "clips/video_retalking/face1.mp4"


@pytest.fixture(scope="module")
def clip() -> Path:
    return shared(CLIP_REL) / CLIP_REL


def scripted_probs(start: float) -> dict[str, float]:
    """happy rises and falls with the segment's start time; neutral takes the rest."""
    happy = round(0.5 + 0.4 * math.sin(start), 6)
    return {"neutral": round(1.0 - happy, 6), "happy": happy}


class ScriptedPredictor:
    """Records what each segment's Sample looks like (while its slices exist) and answers from the segment's start;
    raises for the segment indices in ``fail``."""

    def __init__(self, fail: frozenset[int] = frozenset()) -> None:
        self.fail = fail
        self.seen: list[dict] = []

    def __call__(self, sample: Sample) -> Prediction:
        tl = sample.meta["timeline"]
        rec = {"sample": sample, "meta": dict(tl)}
        if sample.video is not None:
            info = probe(sample.video)
            frames, times = load_frames(sample.video, fps=2.0)
            rec.update(video_info=info, n_frames=len(frames), frame_shape=frames[0].shape, frame_times=times)
        if sample.audio is not None:
            wave = load_audio(sample.audio, allow_silent=True)
            rec.update(audio_info=probe(sample.audio), audio=wave, audio_seconds=len(wave) / 16000)
        self.seen.append(rec)
        if tl["index"] in self.fail:
            raise RuntimeError(f"scripted failure in segment {tl['index']}")
        probs = scripted_probs(tl["start"])
        label = max(probs, key=probs.get)
        return Prediction(sample_id=sample.id, label=label, probs=probs, sentiment="neutral", ov_set=(label,),
                          trace={"transcript": f"words {tl['index']}"})


@pytest.fixture(scope="module")
def default_run(clip):
    """The default timeline (2 s every 1 s) of face1.mp4 with the real face detector and segment 2 failing."""
    predictor = ScriptedPredictor(fail=frozenset({2}))
    rows_seen = []
    tl = run_timeline(clip, predict_segment=predictor, on_row=rows_seen.append)
    return tl, predictor, rows_seen


# ---------------------------------------------------------------- segments and rows
def test_segment_count_follows_the_duration(default_run, clip):
    tl, _, rows_seen = default_run
    duration = probe(clip).duration
    assert tl.duration == pytest.approx(duration, abs=1e-3) and tl.kind == "video"
    expected = plan_segments(duration, TimelineConfig())
    assert len(tl.rows) == len(expected) == 6  # 1 + ceil(6.13 - 2)
    assert [(r.index, r.start, r.end) for r in tl.rows] == [(s.index, s.start, s.end) for s in expected]
    assert rows_seen == tl.rows  # on_row saw every row, in order


def test_rows_hold_the_segment_predictions(default_run):
    tl, _, _ = default_run
    for r in tl.rows:
        if r.index == 2:
            continue
        assert r.ok and r.probs == scripted_probs(r.start)
        assert r.label == max(r.probs, key=r.probs.get) and r.ov_set == (r.label,) and r.sentiment == "neutral"
        assert r.transcript == f"words {r.index}"
        assert r.seconds is not None and r.seconds > 0
    assert [r.label for r in tl.rows] == ["neutral", "happy", None, "happy", "neutral", "neutral"]


def test_a_failing_segment_is_an_error_row_not_the_end(default_run):
    tl, predictor, _ = default_run
    bad = tl.rows[2]
    assert not bad.ok and bad.error == "RuntimeError: scripted failure in segment 2"
    assert bad.label is None and bad.probs == {} and bad.ov_set == ()
    assert bad.face_present is True  # the face track does not depend on the prediction
    assert tl.n_failed == 1 and tl.n_ok == 5 and len(predictor.seen) == 6


def test_each_segment_gets_its_own_audio_and_video_slice(default_run, clip):
    tl, predictor, _ = default_run
    audio_end = len(load_audio(clip)) / 16000
    for rec, row in zip(predictor.seen, tl.rows):
        s: Sample = rec["sample"]
        assert s.id == f"face1.mp4@{row.start:.3f}-{row.end:.3f}" and s.text is None and s.source == "timeline"
        assert rec["meta"] == {"source": str(clip), "index": row.index, "start": row.start, "end": row.end}
        span = row.end - row.start
        v = rec["video_info"]
        assert s.video.suffix == ".mkv" and v.has_video and not v.has_audio
        assert v.duration == pytest.approx(span, abs=0.1)
        assert rec["frame_shape"] == (700, 700, 3) and rec["n_frames"] == round(span * 2)  # sampled at 2 fps
        assert rec["frame_times"][0] < 0.5  # the slice starts at the segment's start, not at a key frame
        a = rec["audio_info"]
        assert s.audio.suffix == ".wav" and a.audio_sr == 16000 and a.audio_channels == 1
        # the audio track (6.107 s) ends before the video (6.133 s): the last slice holds what there is
        assert rec["audio_seconds"] == pytest.approx(min(row.end, audio_end) - row.start, abs=1e-3)
        assert not s.video.exists() and not s.audio.exists()  # deleted once the segment is done
    assert not predictor.seen[0]["sample"].video.parent.exists()  # and so is the temporary folder


def test_the_audio_slice_is_the_clip_audio(default_run, clip):
    _, predictor, _ = default_run
    whole = load_audio(clip)
    got = predictor.seen[1]["audio"]  # [1, 3] s, written as 16-bit PCM
    assert got.size == 32000
    np.testing.assert_allclose(got, whole[16000:48000], atol=1e-4)


def test_the_real_face_detector_sees_the_talking_head(default_run):
    tl, _, _ = default_run
    assert tl.faces is not None and tl.faces.detector == "mediapipe-face-mesh"
    assert len(tl.faces.times) == 12 and tl.faces.found.all()  # 2 per second over 6.13 s
    assert all(r.face_present is True and r.face_ratio == 1.0 for r in tl.rows)
    assert not tl.notes


def test_face_presence_per_segment_from_a_scripted_detector(clip):
    class EveryOther:
        name = "every-other"

        def __call__(self, frames):
            return [i % 2 == 0 for i in range(len(frames))]

    det = EveryOther()
    tl = run_timeline(clip, predict_segment=ScriptedPredictor(), config=TimelineConfig(window=3.0, hop=3.0),
                      face_detector=det)
    assert [(r.start, r.end) for r in tl.rows] == [(0.0, 3.0), (3.0, 6.133)]
    # each grid time is detected once: 12 samples, 6 per segment, every other one "a face"
    assert tl.faces.found.tolist() == [True, False] * 6 and tl.faces.detector == "every-other"
    assert [(r.face_present, r.face_ratio) for r in tl.rows] == [(True, 0.5), (True, 0.5)]


def test_a_detector_that_fails_only_stops_the_face_track(clip):
    def broken(frames):
        raise RuntimeError("detector exploded")

    tl = run_timeline(clip, predict_segment=ScriptedPredictor(), config=TimelineConfig(window=3.0, hop=3.0),
                      face_detector=broken)
    assert tl.n_failed == 0 and all(r.face_present is None for r in tl.rows)
    assert tl.notes == ["face detection failed (RuntimeError: detector exploded); the face track stops here"]


def test_no_face_track_when_asked(clip):
    tl = run_timeline(clip, predict_segment=ScriptedPredictor(), config=TimelineConfig(window=4.0, hop=4.0),
                      detect_faces=False)
    assert tl.faces is None and all(r.face_present is None and r.face_ratio is None for r in tl.rows)


# ---------------------------------------------------------------- outputs
def test_jsonl_and_csv_rows(default_run, tmp_path):
    tl, _, _ = default_run
    paths = tl.write(tmp_path / "t.jsonl")
    assert paths.rows == tmp_path / "t.jsonl" and paths.plot == tmp_path / "t.png"
    lines = [json.loads(x) for x in paths.rows.read_text().splitlines()]
    assert [list(x) for x in lines] == [list(TIMELINE_FIELDS)] * 6
    assert lines == tl.to_rows()
    assert lines[2]["error"].startswith("RuntimeError") and lines[2]["label"] is None
    assert lines[0]["probs"] == scripted_probs(0.0) and lines[0]["face_present"] is True

    out = tl.write_rows(tmp_path / "t.csv")
    reader = csv.DictReader(io.StringIO(out.read_text()))
    assert tuple(reader.fieldnames) == TIMELINE_FIELDS
    recs = list(reader)
    assert len(recs) == 6 and json.loads(recs[1]["probs"]) == scripted_probs(1.0)
    assert json.loads(recs[1]["ov_set"]) == ["happy"] and recs[1]["face_present"] == "True"
    assert recs[2]["label"] == "" and recs[2]["error"] == "RuntimeError: scripted failure in segment 2"
    assert [float(r["end"]) for r in recs] == [r.end for r in tl.rows]


def test_rows_need_a_known_extension(default_run, tmp_path):
    with pytest.raises(InputError, match="use .jsonl or .csv"):
        default_run[0].write(tmp_path / "t.txt")
    with pytest.raises(InputError, match=".png"):
        default_run[0].write_plot(tmp_path / "t.jpg")


def test_the_png_is_a_valid_deterministic_image(default_run, tmp_path):
    tl, _, _ = default_run
    png = tl.write_plot(tmp_path / "a.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as im:
        im.load()
        assert im.format == "PNG" and im.size[0] >= 700 and im.size[1] >= 400
        pixels = np.asarray(im.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # curves, labels and the face strip, not a blank page
    green = np.all(pixels == (0x2C, 0xA0, 0x2C), axis=-1)  # the face-present strip
    assert green.sum() > 1000
    assert tl.write_plot(tmp_path / "b.png").read_bytes() == png.read_bytes()


def test_every_canonical_emotion_has_a_colour():
    assert set(EMOTION_COLOURS) == set(CANONICAL_EMOTIONS)
    assert len(set(EMOTION_COLOURS.values())) == len(EMOTION_COLOURS)


# ---------------------------------------------------------------- inputs
def test_vad_segments_lie_in_the_speech(clip):
    tl = run_timeline(clip, predict_segment=ScriptedPredictor(), config=TimelineConfig(mode="vad", window=3.0,
                                                                                       hop=3.0),
                      detect_faces=False)
    assert tl.speech and tl.n_failed == 0
    for r in tl.rows:
        assert any(s - 1e-6 <= r.start and r.end <= e + 1e-6 for s, e in tl.speech)
    assert tl.speech[0][0] < 1.0 and tl.speech[-1][1] > 4.0  # face1 is speech nearly throughout


def test_a_short_audio_file_is_one_segment(clip, tmp_path):
    wav = write_wav(tmp_path / "short.wav", load_audio(clip)[16000:16000 + 12800], sr=16000)  # 0.8 s of speech
    predictor = ScriptedPredictor()
    tl = run_timeline(wav, predict_segment=predictor)
    assert tl.kind == "audio" and tl.duration == pytest.approx(0.8)
    assert [(r.start, r.end) for r in tl.rows] == [(0.0, 0.8)] and tl.rows[0].ok
    assert tl.faces is None and tl.rows[0].face_present is None
    s = predictor.seen[0]["sample"]
    assert s.video is None and s.audio.suffix == ".wav"
    png = tl.write_plot(tmp_path / "short.png")
    assert Image.open(png).format == "PNG"


def never_called(sample):  # pragma: no cover - the tests below fail before any segment
    raise AssertionError("predict_segment must not run for a bad input")


def test_random_bytes_are_a_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptMediaError, match="broken.mp4: corrupt or truncated"):
        run_timeline(bad, predict_segment=never_called)


def test_a_truncated_clip_is_a_clear_error(clip, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[:200_000])
    with pytest.raises(MediaError, match="cut.mp4"):
        run_timeline(cut, predict_segment=never_called)


def test_an_empty_file_and_a_still_image(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(EmptyMediaError, match="empty"):
        run_timeline(empty, predict_segment=never_called)
    image = shared("clips/fer/justin.jpg") / "clips/fer/justin.jpg"
    with pytest.raises(TimelineError, match="still image"):
        run_timeline(image, predict_segment=never_called)
    with pytest.raises(MediaError, match="not found"):
        run_timeline(tmp_path / "missing.mp4", predict_segment=never_called)


def test_too_many_segments_fail_before_any_prediction(clip):
    with pytest.raises(TimelineError, match="--max-segments"):
        run_timeline(clip, predict_segment=never_called, config=TimelineConfig(max_segments=3))


def test_a_lazy_predictor_that_cannot_load_stops_the_run(clip):
    def load():
        raise InputError("checkpoint not found: nowhere.pt")

    with pytest.raises(InputError, match="checkpoint not found"):
        run_timeline(clip, predict_segment=LazyPredict(load), config=TimelineConfig(window=4.0, hop=4.0))
