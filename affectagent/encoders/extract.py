"""``extract(sample) -> Features``: decode a sample's media and run every encoder, through the feature cache.

Stages (each cached separately, keyed by content hash + encoder name/version + the config it depends on):
  probe     media headers; bad files raise typed ``MediaError``s (corrupt, empty, unsupported, over-limit, ...)
  audio     16 kHz mono decode -> audio encoder (emb (D_a,), seq (T_a, D_as)) + VAD speech segments
  speech_emotion  the speech-emotion branch's class posterior (``speech_emotion.py``) -> Features.branch_probs["audio"]
  language  with ExtractConfig.language="auto": the spoken language, identified by the multilingual Whisper base
  asr       when the sample has audio and no text: transcript of the speech regions; speech that is not English
            (declared or identified) or an English decode below the confidence guard gives the text branch no
            transcript, with a note (``speech_language.py``)
  text      sentence embedding of the utterance (the sample's text, else the transcript)
  visual    sampled frames -> face encoder (face_seq (T_f, D_f)) and visual encoder (visual_emb (D_v,))
A missing stream, silent audio, no speech, no face or an unregistered face/visual encoder is not an error: the
modality is marked missing in ``Features.mask`` and the reason is written to ``Features.info["notes"]``.
"""
from __future__ import annotations

import hashlib

import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

import numpy as np

from .. import progress
from ..errors import AffectAgentError
from ..media import MediaConfig, MediaInfo, SilentAudioError, load_audio, load_frames, probe
from ..schema import Features, ModalityMask, Sample
from .base import AudioEncoding, EncoderInfo, TextEncoder, Transcript
from .cache import FeatureCache, file_digest, make_key, text_digest
from .speech_emotion import OFF as SPEECH_EMOTION_OFF
from .speech_language import confidence_use, language_use
from .config import DEFAULT_TEXT_ENCODER, ExtractConfig
from .factory import (
    get_asr,
    get_audio_encoder,
    get_face_encoder,
    get_speech_emotion,
    get_text_encoder,
    get_visual_encoder,
    optional_encoder_error,
)
from .vad import speech_ratio, speech_segments

TEXT_CACHE_BLOCK = 1024  # texts per cache entry in encode_texts
# Face/visual encoders that failed to build in this process (not retried for every sample of a batch).
_UNAVAILABLE: dict[tuple[str, str], str] = {}


class MissingEncoderWarning(UserWarning):
    """A modality could not be encoded because its encoder is not registered/installed."""


def _tag(info: EncoderInfo) -> str:
    return f"{info.name}@{info.version}"


class _Run:
    """Per-call bookkeeping: timings, notes, encoder tags."""

    def __init__(self, sample_id: str) -> None:
        self.info: dict[str, Any] = {"id": sample_id, "notes": [], "encoders": {}, "timings": {}, "cached": []}

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Time ``stage`` into ``info["timings"]`` and report it to ``affectagent.progress`` listeners."""
        t0 = time.perf_counter()
        try:
            with progress.stage(stage):
                yield
        finally:
            self.info["timings"][stage] = round(self.info["timings"].get(stage, 0.0) + time.perf_counter() - t0, 4)

    def note(self, text: str) -> None:
        self.info["notes"].append(text)

    def cached(self, name: str) -> None:
        """``name``'s result came from the feature cache."""
        self.info["cached"].append(name)
        progress.report_done(name, 0.0, cached=True)


class _LazyWave:
    """Decodes the audio once, on first use (a fully cached run never decodes)."""

    def __init__(self, path: Path, media: MediaConfig, run: _Run) -> None:
        self.path, self.media, self.run = path, media, run
        self._wave: np.ndarray | None = None

    def get(self) -> np.ndarray:
        if self._wave is None:
            with self.run.timed("decode_audio"):
                self._wave = load_audio(self.path, sr=self.media.sample_rate, max_seconds=self.media.max_seconds,
                                        max_bytes=self.media.max_bytes, silence_dbfs=self.media.silence_dbfs)
        return self._wave


def _media_key(media: MediaConfig, *fields: str) -> dict[str, Any]:
    d = asdict(media)
    return {f: d[f] for f in fields}


# ---------------------------------------------------------------- stages
def _probe(path: Path, cfg: ExtractConfig, run: _Run) -> MediaInfo:
    with run.timed("probe"):
        return probe(path, max_bytes=cfg.media.max_bytes, max_seconds=cfg.media.max_seconds)


def _audio_stage(wave: _LazyWave, digest: str, cfg: ExtractConfig, cache: FeatureCache,
                 run: _Run) -> tuple[AudioEncoding | None, list[tuple[float, float]]]:
    encoder = get_audio_encoder(cfg.audio_encoder)
    run.info["encoders"]["audio"] = _tag(encoder.info)
    key = make_key("audio", digest, _tag(encoder.info), _media_key(cfg.media, "sample_rate", "silence_dbfs"),
                   asdict(cfg.vad))
    hit = cache.get("audio", key)
    if hit is not None:
        arrays, meta = hit
        run.cached("audio")
        if meta.get("status") != "ok":
            run.note(f"audio: missing ({meta['reason']})")
            return None, []
        segs = [tuple(s) for s in meta["speech"]]
        return AudioEncoding(emb=arrays["emb"], seq=arrays["seq"], stats=meta["stats"]), segs  # type: ignore[misc]
    try:
        x = wave.get()
    except SilentAudioError as exc:
        cache.put("audio", key, {}, {"status": "silent", "reason": str(exc)})
        run.note(f"audio: missing ({exc})")
        return None, []
    with run.timed("audio"):
        enc = encoder.encode(x, cfg.media.sample_rate)
    if enc.stats.get("too_short"):
        reason = f"{len(x) / cfg.media.sample_rate:.2f} s of audio is too short for {encoder.info.name} features"
        cache.put("audio", key, {}, {"status": "too_short", "reason": reason})
        run.note(f"audio: missing ({reason})")
        return None, []
    with run.timed("vad"):
        segs = speech_segments(x, sr=cfg.media.sample_rate, config=cfg.vad)
    enc.stats["speech_ratio"] = round(speech_ratio(segs, len(x) / cfg.media.sample_rate), 4)
    cache.put("audio", key, {"emb": enc.emb, "seq": enc.seq},
              {"status": "ok", "stats": enc.stats, "speech": [list(s) for s in segs]})
    return enc, segs


def _speech_emotion_stage(wave: _LazyWave, digest: str, cfg: ExtractConfig, cache: FeatureCache,
                          run: _Run) -> dict[str, float] | None:
    """The speech-emotion branch's posterior of the clip ({label: p}), cached per file and model; None when off."""
    if cfg.speech_emotion.lower() in SPEECH_EMOTION_OFF:
        return None
    branch = get_speech_emotion(cfg.speech_emotion)
    run.info["encoders"]["speech_emotion"] = branch.tag
    key = make_key("speech_emotion", digest, branch.tag, _media_key(cfg.media, "sample_rate"))
    hit = cache.get("speech_emotion", key)
    if hit is not None:
        run.cached("speech_emotion")
        return dict(hit[1]["probs"])
    x = wave.get()
    with run.timed("speech_emotion"):
        probs = branch.probs(x)
    cache.put("speech_emotion", key, {}, {"probs": probs})
    return probs


def _asr_stage(wave: _LazyWave, digest: str, segs: list[tuple[float, float]], cfg: ExtractConfig,
               cache: FeatureCache, run: _Run) -> Transcript:
    if not segs:
        run.note("asr: no speech detected, nothing to transcribe")
        return Transcript(text="", language=None, segments=[])
    asr = get_asr(cfg.asr)
    run.info["encoders"]["asr"] = _tag(asr.info)
    key = make_key("asr", digest, _tag(asr.info), _media_key(cfg.media, "sample_rate"), asdict(cfg.vad))
    hit = cache.get("asr", key)
    if hit is not None:
        meta = hit[1]
        run.cached("asr")
        return Transcript(text=meta["text"], language=meta["language"], segments=[tuple(s) for s in meta["segments"]],
                          avg_logprob=meta.get("avg_logprob"))
    x = wave.get()
    with run.timed("asr"):
        try:
            tr = asr.transcribe(x, cfg.media.sample_rate, speech=segs)  # type: ignore[call-arg]
        except TypeError:  # an ASR backend without the optional ``speech`` keyword
            tr = asr.transcribe(x, cfg.media.sample_rate)
    cache.put("asr", key, {}, {"text": tr.text, "language": tr.language, "segments": [list(s) for s in tr.segments],
                               "avg_logprob": tr.avg_logprob})
    return tr


def _language_stage(wave: _LazyWave, digest: str, segs: list[tuple[float, float]], cfg: ExtractConfig,
                    cache: FeatureCache, run: _Run) -> tuple[str | None, float]:
    """The spoken language identified by the multilingual Whisper base (cached per file); (None, 0) without speech."""
    if not segs:
        return None, 0.0
    lid = get_asr("whisper-base")
    run.info["encoders"]["language_id"] = _tag(lid.info)
    key = make_key("lang", digest, _tag(lid.info), _media_key(cfg.media, "sample_rate"), asdict(cfg.vad))
    hit = cache.get("lang", key)
    if hit is not None:
        run.cached("language_id")
        return hit[1]["language"], float(hit[1]["probability"])
    with run.timed("language_id"):
        lang, prob = lid.identify_language(wave.get(), cfg.media.sample_rate, speech=segs)  # type: ignore[attr-defined]
    cache.put("lang", key, {}, {"language": lang, "probability": prob})
    return lang, prob


def _speech_transcript(wave: _LazyWave, digest: str, segs: list[tuple[float, float]], cfg: ExtractConfig,
                       cache: FeatureCache, run: _Run) -> Transcript | None:
    """The transcript that may feed the text branch (``speech_language``): None when the speech is not English
    (declared or identified) or the English decode is below the confidence guard; every decision is in the trace."""
    if cfg.language == "auto" and segs:
        lang, prob = _language_stage(wave, digest, segs, cfg, cache, run)
        run.info["speech_language"] = {"language": lang, "probability": prob, "how": "identified"}
        use = language_use(lang, probability=prob, declared=False)
    else:
        if cfg.language != "auto":
            run.info["speech_language"] = {"language": cfg.language, "probability": None, "how": "declared"}
        use = language_use(None if cfg.language == "auto" else cfg.language, declared=True)
    if not use.use:
        run.note(use.note)
        run.info["transcript_skipped"] = use.reason
        return None
    tr = _asr_stage(wave, digest, segs, cfg, cache, run)
    run.info["transcript_language"] = tr.language
    run.info["transcript_logprob"] = tr.avg_logprob
    gate = confidence_use(tr, min_logprob=cfg.min_asr_logprob)
    if not gate.use:
        run.note(gate.note)
        run.info["transcript_dropped"] = tr.text
        run.info["transcript_skipped"] = gate.reason
        return Transcript(text="", language=tr.language, segments=[], avg_logprob=tr.avg_logprob)
    return tr


def _build_optional(kind: str, name: str, run: _Run) -> Any:
    """The face/visual encoder ``name``, or ``None`` with a visible note + warning when it is not registered or
    cannot be built (e.g. its checkpoint is missing). Errors while *encoding* frames are not caught."""
    err = _UNAVAILABLE.get((kind, name)) or optional_encoder_error(kind, name)
    encoder = None
    if err is None:
        try:
            encoder = get_face_encoder(name) if kind == "face" else get_visual_encoder(name)
        except AffectAgentError as exc:
            err = _UNAVAILABLE[(kind, name)] = f"{kind} encoder {name!r} is unavailable: {exc}"
    if err is not None:
        run.note(f"visual: {err}")
        run.info.setdefault("visual_errors", []).append(err)
        warnings.warn(err, MissingEncoderWarning, stacklevel=4)
    return encoder


def _visual_stage(path: Path, digest: str, cfg: ExtractConfig, cache: FeatureCache,
                  run: _Run) -> tuple[np.ndarray | None, np.ndarray | None]:
    face = _build_optional("face", cfg.face_encoder, run)
    visual = _build_optional("visual", cfg.visual_encoder, run)
    if face is None and visual is None:
        run.info["visual_error"] = "; ".join(run.info.pop("visual_errors"))
        return None, None
    if face is not None:
        run.info["encoders"]["face"] = _tag(face.info)
    if visual is not None:
        run.info["encoders"]["visual"] = _tag(visual.info)
    key = make_key("visual", digest, _tag(face.info) if face else None, _tag(visual.info) if visual else None,
                   _media_key(cfg.media, "fps", "max_frames", "max_side"))
    hit = cache.get("visual", key)
    if hit is not None:
        arrays, meta = hit
        run.cached("visual")
    else:
        with run.timed("decode_video"):
            frames, times = load_frames(path, fps=cfg.media.fps, max_frames=cfg.media.max_frames,
                                        max_side=cfg.media.max_side, max_seconds=cfg.media.max_seconds,
                                        max_bytes=cfg.media.max_bytes)
        arrays = {"times": times}
        if face is not None:
            with run.timed("face"):
                track = face.encode_frames(frames)
            arrays.update(face_seq=np.asarray(track.seq, np.float32), found=np.asarray(track.found, bool))
        if visual is not None:
            with run.timed("visual"):
                arrays["visual_emb"] = np.asarray(visual.encode_frames(frames), np.float32)
        meta = {"n_frames": len(frames)}
        cache.put("visual", key, arrays, meta)
    run.info["n_frames"] = int(meta["n_frames"])
    run.info["frame_times"] = [round(float(t), 3) for t in arrays["times"]]
    face_seq = arrays.get("face_seq")
    if face is not None:
        n_face = int(np.asarray(arrays["found"]).sum())
        run.info["n_face_frames"] = n_face
        if n_face == 0 or face_seq is None or len(face_seq) == 0:
            run.note(f"visual: no face found in {meta['n_frames']} sampled frames")
            face_seq = None
    return face_seq, arrays.get("visual_emb")


def _image_stage(image: np.ndarray, cfg: ExtractConfig, cache: FeatureCache,
                 run: _Run) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A single face image (e.g. FER2013 48×48 crop): face features via ``encode_crops``, scene via the visual encoder.
    Cached like a video, keyed by the image's pixels (dtype, shape and bytes)."""
    face = _build_optional("face", cfg.face_encoder, run)
    visual = _build_optional("visual", cfg.visual_encoder, run)
    if face is None and visual is None:
        run.info["visual_error"] = "; ".join(run.info.pop("visual_errors"))
        return None, None
    img = np.ascontiguousarray(image)
    run.info["n_frames"] = 1
    if face is not None:
        run.info["encoders"]["face"] = _tag(face.info)
    if visual is not None:
        run.info["encoders"]["visual"] = _tag(visual.info)
    key = _image_key(img, face, visual)
    hit = cache.get("visual", key)
    if hit is not None:
        arrays, _ = hit
        run.cached("visual")
    else:
        with run.timed("face" if face is not None else "visual"):
            [arrays] = _encode_images([img], face, visual)
        cache.put("visual", key, arrays, {"n_frames": 1, "image": True})
    face_seq = arrays.get("face_seq")
    if face_seq is not None:
        run.info["n_face_frames"] = len(face_seq)
    return face_seq, arrays.get("visual_emb")


# ---------------------------------------------------------------- public API
def encode_texts(texts: Sequence[str], *, encoder: str | TextEncoder = DEFAULT_TEXT_ENCODER,
                 cache: FeatureCache | None = None, batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """(N,) strings -> (N, D) float32 L2-normalised embeddings, cached in blocks of ``TEXT_CACHE_BLOCK`` texts.

    ``encoder``: a registered name / model path, or an encoder instance. ``cache=None`` uses the default cache
    directory; pass ``FeatureCache(enabled=False)`` to bypass it.
    """
    enc = get_text_encoder(encoder) if isinstance(encoder, str) else encoder
    cache = cache if cache is not None else FeatureCache()
    texts = [str(t) for t in texts]
    tag = _tag(enc.info)
    blocks: list[np.ndarray] = []
    starts = range(0, len(texts), TEXT_CACHE_BLOCK)
    if progress and len(texts) > TEXT_CACHE_BLOCK:
        from tqdm.auto import tqdm  # noqa: PLC0415

        starts = tqdm(starts, desc=f"text[{enc.info.name}]", unit="block")
    for s in starts:
        block = texts[s:s + TEXT_CACHE_BLOCK]
        key = make_key("text", tag, [text_digest(t) for t in block])
        hit = cache.get("text", key)
        if hit is not None:
            blocks.append(hit[0]["emb"])
            continue
        emb = np.asarray(enc.encode(block, batch_size=batch_size, progress=False), dtype=np.float32)
        cache.put("text", key, {"emb": emb}, {"encoder": tag, "n": len(block)})
        blocks.append(emb)
    if not blocks:
        return np.zeros((0, enc.info.dim), np.float32)
    return np.concatenate(blocks).astype(np.float32, copy=False)


def _media_paths(sample: Sample) -> tuple[Path | None, Path | None]:
    return (Path(sample.video) if sample.video else None), (Path(sample.audio) if sample.audio else None)


def _audio_source(vinfo: MediaInfo | None, ainfo: MediaInfo | None, run: _Run) -> Path | None:
    """The audio file if it has an audio stream, else the video's audio track; notes why when there is none."""
    for m in (ainfo, vinfo):
        if m is not None and m.has_audio:
            return m.path
    for m in (ainfo, vinfo):
        if m is not None:
            run.note(f"audio: missing (no audio stream in {m.path.name})")
    return None


_IMAGE_BATCH = 64  # still images encoded per batched call in extract_many


def _image_key(img: np.ndarray, face: Any, visual: Any) -> str:
    """Cache key of one still image: its pixels (dtype, shape, bytes) and the encoders that describe it."""
    digest = hashlib.sha256(f"{img.dtype}|{img.shape}|".encode() + img.tobytes()).hexdigest()
    return make_key("image", digest, _tag(face.info) if face else None, _tag(visual.info) if visual else None)


def _encode_images(imgs: Sequence[np.ndarray], face: Any, visual: Any) -> list[dict[str, np.ndarray]]:
    """The cache arrays of several still images: face features in one batched ``encode_crops`` call (the FER CNN
    scores all crops together), the scene descriptor per image."""
    out: list[dict[str, np.ndarray]] = [{} for _ in imgs]
    if face is not None:
        feats = np.asarray(face.encode_crops(list(imgs)), np.float32)
        for i, row in enumerate(feats):
            out[i]["face_seq"] = row[None]
    if visual is not None:
        for i, img in enumerate(imgs):
            rgb = np.repeat(img[..., None], 3, axis=-1) if img.ndim == 2 else img
            out[i]["visual_emb"] = np.asarray(visual.encode_frames([rgb]), np.float32)
    return out


def prime_image_cache(samples: Sequence[Sample], config: ExtractConfig, cache: FeatureCache) -> int:
    """Encode the still images among ``samples`` that the cache lacks in one batch and store them, so that the
    per-sample ``extract`` calls that follow are cache hits. Returns how many were encoded. Images that fail here
    (e.g. a bad shape) are left to ``extract``, which reports them one by one."""
    imgs = [np.ascontiguousarray(s.image) for s in samples if s.image is not None and s.video is None
            and s.audio is None]
    if len(imgs) < 2 or not cache.enabled:
        return 0
    quiet = _Run("prime")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingEncoderWarning)  # extract() warns once per sample itself
        face = _build_optional("face", config.face_encoder, quiet)
        visual = _build_optional("visual", config.visual_encoder, quiet)
    if face is None and visual is None:
        return 0
    keys = [_image_key(img, face, visual) for img in imgs]
    todo = [i for i, k in enumerate(keys) if not cache.path("visual", k).is_file()]
    if len(todo) < 2:
        return 0
    try:
        arrays = _encode_images([imgs[i] for i in todo], face, visual)
    except AffectAgentError:
        return 0  # one bad image spoils the batch: extract() then finds and reports it
    for i, a in zip(todo, arrays):
        cache.put("visual", keys[i], a, {"n_frames": 1, "image": True})
    return len(todo)


def extract(sample: Sample, *, config: ExtractConfig | None = None, cache: FeatureCache | None = None) -> Features:
    """Encode one sample (see the module docstring for stages). ``cache=None`` uses the default cache directory.

    Raises a ``MediaError`` for a missing/corrupt/empty/unsupported/over-limit media file.
    """
    cfg = config or ExtractConfig()
    cache = cache if cache is not None else FeatureCache()
    run = _Run(sample.id)
    info = run.info
    video_path, audio_path = _media_paths(sample)

    vinfo = _probe(video_path, cfg, run) if video_path else None
    ainfo = _probe(audio_path, cfg, run) if audio_path else None
    durations = [m.duration for m in (vinfo, ainfo) if m is not None and m.duration]
    info["duration"] = round(max(durations), 3) if durations else None
    info["media"] = {k: m.as_dict() for k, m in (("video", vinfo), ("audio", ainfo)) if m is not None}

    audio_src = _audio_source(vinfo, ainfo, run)
    audio_enc: AudioEncoding | None = None
    transcript: Transcript | None = None
    branch_probs: dict[str, dict[str, float]] = {}
    if audio_src is not None:
        with run.timed("hash"):
            digest = file_digest(audio_src)
        wave = _LazyWave(audio_src, cfg.media, run)
        audio_enc, segs = _audio_stage(wave, digest, cfg, cache, run)
        if audio_enc is not None:
            for k in ("rms_dbfs", "peak_dbfs", "speech_ratio"):
                if k in audio_enc.stats:
                    info[k] = audio_enc.stats[k]
            info["audio_stats"] = audio_enc.stats
            speech_probs = _speech_emotion_stage(wave, digest, cfg, cache, run)
            if speech_probs is not None:
                branch_probs["audio"] = speech_probs
            has_text = bool(sample.text and sample.text.strip())
            if not has_text and cfg.transcribe:
                transcript = _speech_transcript(wave, digest, segs, cfg, cache, run)

    text = sample.text.strip() if sample.text and sample.text.strip() else (transcript.text if transcript else "")
    text_emb = None
    if text:
        with run.timed("text"):
            enc = get_text_encoder(cfg.text_encoder)
            info["encoders"]["text"] = _tag(enc.info)
            hits = cache.hits
            text_emb = encode_texts([text], encoder=enc, cache=cache)[0]
            if cache.hits > hits:
                run.cached("text")
    elif transcript is not None and "transcript_dropped" not in info:
        run.note("text: missing (the transcript is empty)")

    face_seq = visual_emb = None
    if vinfo is not None:
        if vinfo.has_video:
            with run.timed("hash"):
                vdigest = file_digest(video_path)  # type: ignore[arg-type]
            face_seq, visual_emb = _visual_stage(video_path, vdigest, cfg, cache, run)  # type: ignore[arg-type]
        else:
            run.note(f"visual: missing (no video stream in {video_path.name})")  # type: ignore[union-attr]
    elif sample.image is not None:
        face_seq, visual_emb = _image_stage(sample.image, cfg, cache, run)

    mask = ModalityMask(text=text_emb is not None, audio=audio_enc is not None,
                        visual=face_seq is not None or visual_emb is not None)
    return Features(
        text_emb=text_emb,
        audio_emb=audio_enc.emb if audio_enc is not None else None,
        audio_seq=audio_enc.seq if audio_enc is not None else None,
        face_seq=face_seq,
        visual_emb=visual_emb,
        transcript=transcript.text if transcript is not None else None,
        mask=mask,
        info=info,
        branch_probs=branch_probs,
    )


def extract_many(samples: Sequence[Sample], *, config: ExtractConfig | None = None,
                 cache: FeatureCache | None = None, progress: bool = True,
                 on_error: Literal["raise", "record"] = "raise", workers: int | None = None) -> list[Features]:
    """``extract`` over many samples with a progress bar, in input order.

    on_error="record": a sample whose input is bad (any ``AffectAgentError``) yields empty ``Features`` with
    ``info["error"]`` set instead of stopping the run.
    workers: processes for the samples the cache lacks (0 = one per core; None = ``$AFFECTAGENT_WORKERS`` or the
    process default, see ``parallel_extract``): the first samples run here and decide whether a pool pays off. Still images are encoded in batches (``prime_image_cache``).
    """
    from .parallel_extract import PROBE, extract_in_pool, resolve_workers, worth_a_pool  # noqa: PLC0415

    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    workers = resolve_workers(workers)
    cfg = config or ExtractConfig()
    cache = cache if cache is not None else FeatureCache()
    bar = None
    if progress:
        from tqdm.auto import tqdm  # noqa: PLC0415

        bar = tqdm(total=len(samples), desc="extract", unit="sample")

    def one(s: Sample) -> Features:
        try:
            return extract(s, config=cfg, cache=cache)
        except AffectAgentError as exc:
            if on_error == "raise":
                raise
            return Features(info={"id": s.id, "error": f"{type(exc).__name__}: {exc}", "notes": []})

    out: list[Features] = []
    try:
        start = 0
        while start < len(samples):
            if start == PROBE and worth_a_pool(workers=workers, probed=out, remaining=len(samples) - start):
                out.extend(extract_in_pool(samples[start:], config=cfg, cache=cache, workers=workers,
                                           on_error=on_error, advance=bar.update if bar is not None else None))
                break
            chunk = samples[start:min(start + (PROBE if start < PROBE else _IMAGE_BATCH), len(samples))]
            prime_image_cache(chunk, cfg, cache)
            for s in chunk:
                out.append(one(s))
                if bar is not None:
                    bar.update(1)
            start += len(chunk)
    finally:
        if bar is not None:
            bar.close()
    return out
