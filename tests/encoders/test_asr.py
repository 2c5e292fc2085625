"""Whisper tiny.en on real speech."""
import re

import numpy as np

from affectagent.encoders import get_asr
from affectagent.media import load_audio


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def test_asr_transcribes_real_clip_in_english(talking_clip):
    tr = get_asr("whisper-tiny").transcribe(load_audio(talking_clip))
    assert tr.language == "en"
    words = _words(tr.text)
    # the speaker says "My biggest weakness is asking for help when I need it. I'd like to do better at that."
    assert len(words & {"my", "biggest", "asking", "for", "help", "when", "need", "better", "like"}) >= 5, tr.text
    assert tr.segments and all(0.0 <= s <= e <= 6.2 for s, e, _ in tr.segments)


def test_asr_on_ravdess_sentence(ravdess_flac):
    tr = get_asr("whisper-tiny").transcribe(load_audio(ravdess_flac))
    assert {"dogs", "sitting", "door"} <= _words(tr.text), tr.text  # RAVDESS statement 02


def test_asr_without_speech_is_empty_and_deterministic(ravdess_flac):
    asr = get_asr("whisper-tiny")
    assert asr.transcribe(np.zeros(32000, np.float32)).text == ""  # VAD: no speech, Whisper not run
    wave = load_audio(ravdess_flac)
    assert asr.transcribe(wave).text == asr.transcribe(wave).text


def test_decode_spans_joins_near_regions_within_one_window():
    from affectagent.encoders.asr import decode_spans

    assert decode_spans([]) == []
    assert decode_spans([(0.2, 1.0), (1.5, 2.4), (2.9, 4.8)]) == [(0.2, 4.8)]  # a 5-s clip: one encoder pass
    assert decode_spans([(0.0, 1.0), (3.5, 4.0)]) == [(0.0, 1.0), (3.5, 4.0)]  # a long pause splits
    long = [(float(i), i + 0.9) for i in range(40)]  # 40 s of speech with short pauses
    spans = decode_spans(long)
    assert len(spans) == 2 and all(b - a <= 28.0 for a, b in spans)
    assert spans[0][0] == 0.0 and spans[-1][1] == 39.9 and spans[0][1] < spans[1][0]


def test_three_region_clip_decodes_as_one_span(tmp_path):
    """face2.mp4 (5 s) has three VAD regions; one joined span transcribes the same sentence."""
    from affectagent.encoders.asr import decode_spans
    from affectagent.encoders.vad import speech_segments
    from tests.media_files import _shared

    clip = _shared("clips/video_retalking/face2.mp4")
    x = load_audio(clip)
    regions = speech_segments(x, sr=16000)
    assert len(regions) >= 2 and len(decode_spans(regions)) == 1
    words = _words(get_asr("whisper-tiny").transcribe(x).text)
    assert {"california", "congressional", "district", "dreams"} <= words
