"""extract_many on several worker processes and batched still images: same features as one sample at a time, in
input order, one bad input = one error row; and the pure decision of when a pool pays off."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from affectagent.datasets import load
from affectagent.encoders import ExtractConfig, FeatureCache, MissingEncoderWarning
from affectagent.encoders.extract import extract, extract_many, prime_image_cache
from affectagent.encoders.parallel_extract import MIN_PARALLEL, PROBE, resolve_workers, worth_a_pool
from affectagent.errors import InputError
from affectagent.paths import data_root
from affectagent.schema import Features, Sample

from ..resources import require

ROOT = data_root(must_exist=False)
AUDIO_ONLY = ExtractConfig(transcribe=False)


def _feat(*, cached: list[str], timings: dict[str, float], error: bool = False) -> Features:
    info = {"cached": cached, "timings": timings}
    if error:
        info["error"] = "MediaError: bad"
    return Features(info=info)


def test_worth_a_pool_needs_misses_workers_and_enough_left():
    miss = _feat(cached=[], timings={"hash": 0.001, "decode_audio": 0.01, "audio": 0.05})
    hit = _feat(cached=["audio"], timings={"hash": 0.001, "probe": 0.001})
    half = [miss] * (PROBE // 2) + [hit] * (PROBE // 2)
    assert worth_a_pool(workers=2, probed=[miss] * PROBE, remaining=MIN_PARALLEL)
    assert worth_a_pool(workers=2, probed=half, remaining=500)  # half misses is enough
    assert not worth_a_pool(workers=2, probed=[hit] * PROBE, remaining=500)  # a cached run stays in-process
    assert not worth_a_pool(workers=1, probed=[miss] * PROBE, remaining=500)
    assert not worth_a_pool(workers=4, probed=[miss] * PROBE, remaining=MIN_PARALLEL - 1)
    errors = [_feat(cached=[], timings={}, error=True)] * PROBE  # errors are neither hits nor misses
    assert not worth_a_pool(workers=2, probed=errors, remaining=500)


def test_resolve_workers(monkeypatch):
    monkeypatch.delenv("AFFECTAGENT_WORKERS", raising=False)
    assert resolve_workers(None) == 1  # the Python API stays in-process unless asked
    assert resolve_workers(3) == 3 and resolve_workers(0) >= 1
    monkeypatch.setenv("AFFECTAGENT_WORKERS", "2")
    assert resolve_workers(None) == 2
    monkeypatch.setenv("AFFECTAGENT_WORKERS", "many")
    with pytest.raises(InputError, match="AFFECTAGENT_WORKERS must be an integer"):
        resolve_workers(None)
    with pytest.raises(InputError, match="workers must be >= 0"):
        resolve_workers(-1)


def test_pool_matches_one_process_in_order_with_an_error_row(tmp_path):
    require(ROOT / "emodb", "shared data emodb")
    samples = load("emodb", "all", data_root=ROOT)[: PROBE + MIN_PARALLEL]
    bad_file = tmp_path / "not_audio.wav"
    bad_file.write_bytes(b"this is not a wav file" * 10)
    samples.insert(PROBE + 5, Sample(id="bad", audio=bad_file))  # lands in the pool's first chunk
    pooled = extract_many(samples, config=AUDIO_ONLY, cache=FeatureCache(tmp_path / "a"), progress=False,
                          on_error="record", workers=2)
    serial = extract_many(samples, config=AUDIO_ONLY, cache=FeatureCache(tmp_path / "b"), progress=False,
                          on_error="record", workers=1)
    assert [f.info["id"] for f in pooled] == [s.id for s in samples]
    bad = [f for f in pooled if "error" in f.info]
    assert [f.info["id"] for f in bad] == ["bad"] and bad[0].audio_emb is None
    for p, s in zip(pooled, serial):
        if "error" in s.info:
            continue
        np.testing.assert_allclose(p.audio_emb, s.audio_emb, rtol=1e-5, atol=1e-6)
        assert p.audio_seq.shape == s.audio_seq.shape
    # the workers wrote the shared cache: a second pass is served from it, in this process
    again = extract_many(samples, config=AUDIO_ONLY, cache=FeatureCache(tmp_path / "a"), progress=False,
                         on_error="record", workers=2)
    assert all("audio" in f.info["cached"] for f in again if "error" not in f.info)


def test_pool_raises_a_sample_error_when_asked(tmp_path):
    require(ROOT / "emodb", "shared data emodb")
    samples = load("emodb", "all", data_root=ROOT)[: PROBE + MIN_PARALLEL]
    missing = Sample(id="gone", audio=tmp_path / "missing.flac")
    with pytest.raises(InputError) as exc:
        extract_many(samples + [missing], config=AUDIO_ONLY, cache=FeatureCache(tmp_path / "c"), progress=False,
                     workers=2)
    assert "missing.flac" in str(exc.value)


def test_batched_images_match_one_at_a_time_and_a_bad_image_is_its_own_error(tmp_path):
    require(ROOT / "fer2013", "shared data fer2013")
    faces = load("fer2013", "dev", data_root=ROOT, limit=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingEncoderWarning)
        one = [extract(s, cache=FeatureCache(tmp_path / "one")) for s in faces]
        cache = FeatureCache(tmp_path / "batch")
        assert prime_image_cache(faces, ExtractConfig(), cache) == len(faces)
        assert prime_image_cache(faces, ExtractConfig(), cache) == 0  # all present now
        batched = extract_many(faces, cache=cache, progress=False, workers=1)
        assert all("visual" in f.info["cached"] for f in batched)
        for a, b in zip(one, batched):
            np.testing.assert_allclose(a.face_seq, b.face_seq, rtol=1e-4, atol=1e-4)
        broken = Sample(id="broken", image=np.zeros((4, 4, 4, 4), np.uint8))
        mixed = extract_many(faces[:3] + [broken] + faces[3:6], cache=FeatureCache(tmp_path / "mixed"),
                             progress=False, on_error="record", workers=1)
    assert [("error" in f.info) for f in mixed] == [False] * 3 + [True] + [False] * 3
    assert all(f.face_seq is not None and f.face_seq.shape == (1, one[0].face_seq.shape[1])
               for f in mixed if "error" not in f.info)
