import numpy as np
import pytest

from affectagent import datasets
from affectagent.encoders.cache import FeatureCache
from affectagent.nanoemox.features import (FeatureConfig, StreamExtractor, fer_stage_features, image_scene,
                                           pool_frames, scene_rows)

from ..resources import shared


def test_pool_frames_and_scene_rows():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    assert pool_frames(x, 2).tolist() == [[1, 2], [5, 6], [8, 9]]
    rows = scene_rows(np.ones((3, 12), np.float32), np.array([0.1, 0.2], np.float32))
    assert rows.shape == (3, 13) and rows[:, 12].tolist() == pytest.approx([0.0, 0.1, 0.2])


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    return StreamExtractor(config=FeatureConfig(), cache=FeatureCache(tmp_path_factory.mktemp("cache")))


def test_fer_images_give_four_cnn_stages_and_a_scene_row(extractor):
    shared("fer2013")
    faces = datasets.load("fer2013", "dev", limit=3)
    levels = fer_stage_features(extractor.fer(), np.stack([s.image for s in faces]))
    assert [lv.shape for lv in levels] == [(3, 32), (3, 64), (3, 128), (3, 256)]
    assert all(np.isfinite(lv).all() and (lv >= 0).all() for lv in levels)  # pooled ReLU activations
    scene = image_scene(faces[0].image)
    assert scene.shape == (1, 13) and scene[0, 8] == 1.0  # face_count: the image is the face
    s = extractor.sample_streams(faces[0])
    assert s.streams == ("visual", "face") and s.speech is None
    assert np.allclose(s.face_levels[3], levels[3][:1], atol=1e-5)


def test_speech_is_whisper_encoder_states_and_cached(extractor):
    shared("ravdess_speech")
    clip = datasets.load("ravdess", "all", limit=1)[0]
    first = extractor.sample_streams(clip)
    assert first.streams == ("speech",) and first.speech.shape[1] == 384
    from affectagent.media.audio import load_audio

    seconds = len(load_audio(clip.audio)) / 16000
    assert abs(first.speech.shape[0] - seconds * 25) <= 2  # 50 Whisper frames / s pooled by 2
    hits = extractor.cache.hits
    again = extractor.sample_streams(clip)
    assert extractor.cache.hits == hits + 1 and np.array_equal(again.speech, first.speech)


def test_paired_media_merge(extractor):
    shared("ravdess_speech", "fer2013")
    clip = datasets.load("ravdess", "all", limit=1)[0]
    face = datasets.load("fer2013", "dev", limit=1)[0]
    s = extractor.streams_of([clip, face])
    assert s.streams == ("visual", "face", "speech", "fusion") and s.modalities == ("scene", "face", "voice")
