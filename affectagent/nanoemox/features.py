"""Offline encoder features for Nano-EmoX (the encoders are frozen, so features are computed once and cached).

    extractor = StreamExtractor()                       # lazy: each encoder loads on first use
    streams = extractor.streams_of([sample])            # StreamInputs (face_levels, scene, speech)
    inputs = extractor.sample_inputs(sample)            # + text / context (ASR transcript for speech without text)

Per modality:
  speech  Whisper tiny.en encoder states through CTranslate2: ``WhisperModel(path).model.encode`` on faster-whisper's
          80-bin log-mel, padded to Whisper's 30-s window (``pad_to_window``; unpadded input is ~15x faster but
          drifts from the padded states, cosine ~0.94 per frame measured here), frames covering the audio kept
          (50 / s), then mean-pooled by ``speech_pool`` (default 2 -> 25 / s). (T_a, 384).
  face    our FER2013 CNN (``encoders.fer_model``, the shipped checkpoint): the output of each of its 4 stages,
          global-average-pooled -> levels (T_f, 32), (T_f, 64), (T_f, 128), (T_f, 256), one row per frame with a
          face. Video frames: MediaPipe landmarks -> aligned 48x48 crop (``encoders.face``); a FER2013 image is its
          own crop (one frame).
  scene   ``encoders.visual`` per-frame statistics (12) + luma motion to the previous frame -> (T_v, 13). A
          FER2013 image: the statistics of the image with the whole image as the face box.
Cache: ``encoders.FeatureCache`` namespace ``nanoemox``, key = (feature version, content digest of the file / image,
settings), so a corpus is encoded once per machine.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..encoders.cache import FeatureCache, file_digest, make_key
from ..errors import MissingDependencyError
from ..schema import Sample
from ..encoders.whisper_states import WHISPER_FRAME_RATE, WHISPER_WINDOW, WhisperStates  # noqa: F401 (re-exported)
from .inputs import NO_STREAMS, SampleInputs, StreamInputs, merge_streams

FEATURE_VERSION = "nanoemox-features-1"
NAMESPACE = "nanoemox"


@dataclass(frozen=True)
class FeatureConfig:
    """pad_to_window: pad the log-mel to Whisper's 30-s window (as Whisper was trained; slower).
    speech_pool: Whisper frames averaged per speech frame (2 -> 25 per second).
    max_speech_seconds: audio beyond this is cut (Whisper's window is 30 s).
    video_fps / video_max_frames: frames sampled from a video.
    whisper_threads: CTranslate2 threads.
    fer_checkpoint: FER CNN file (default: the shipped one)."""

    pad_to_window: bool = True
    speech_pool: int = 2
    max_speech_seconds: float = 30.0
    video_fps: float = 2.0
    video_max_frames: int = 16
    whisper_threads: int = 2
    fer_checkpoint: str | None = None

    def __post_init__(self) -> None:
        if self.speech_pool < 1 or self.video_max_frames < 1 or self.whisper_threads < 1:
            raise ValueError("FeatureConfig: speech_pool, video_max_frames and whisper_threads must be >= 1")
        if not 0 < self.max_speech_seconds <= 30 or self.video_fps <= 0:
            raise ValueError("FeatureConfig: max_speech_seconds must be in (0, 30] and video_fps > 0")


# ---- pure pieces ----------------------------------------------------------------------------------------------------
def pool_frames(x: np.ndarray, factor: int) -> np.ndarray:
    """(T, D) -> (ceil(T / factor), D) mean over consecutive frames (the last bin may be shorter)."""
    if factor <= 1 or len(x) == 0:
        return np.asarray(x, np.float32)
    n = -(-len(x) // factor)
    out = np.stack([x[i * factor:(i + 1) * factor].mean(0) for i in range(n)])
    return out.astype(np.float32)


def fer_stage_features(model, gray48: np.ndarray) -> list[np.ndarray]:
    """FER2013-style faces (N, 48, 48) uint8 -> one (N, C_s) array per stage of ``FerNet``: the stage's last
    activation (before its max-pool; the last stage before the global pool), global-average-pooled. Centre crop,
    the model's own pixel normalisation."""
    import torch
    from torch import nn

    from ..encoders.fer_model import center_crop

    if gray48.ndim != 3:
        raise ValueError(f"expected (N, 48, 48) faces, got {gray48.shape}")
    if len(gray48) == 0:
        return [np.zeros((0, w), np.float32) for w in model.config.widths]
    model.eval()
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(gray48)).float().div_(255.0).unsqueeze(1)
        h = (center_crop(x, model.config.crop) - model.pixel_mean) / model.pixel_std
        stages: list[np.ndarray] = []
        for layer in model.body:
            if isinstance(layer, nn.MaxPool2d):
                stages.append(h.mean(dim=(2, 3)).numpy())
            h = layer(h)
        stages.append(h.mean(dim=(2, 3)).numpy())
    return [s.astype(np.float32) for s in stages]


def scene_rows(stats: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """Per-frame statistics (T, 12) + motion between consecutive frames (T-1,) -> (T, 13) (motion 0 for frame 0)."""
    m = np.concatenate([[0.0], np.asarray(motion, np.float32)]) if len(stats) else np.zeros(0, np.float32)
    return np.concatenate([np.asarray(stats, np.float32), m[:, None].astype(np.float32)], axis=1)


def image_scene(image: np.ndarray) -> np.ndarray:
    """A face image (H, W) or (H, W, 3) uint8 -> (1, 13): its scene statistics, the whole image as the face box."""
    from ..encoders.visual import frame_statistics

    a = np.asarray(image)
    rgb = np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a[:, :, :3]
    h, w = rgb.shape[:2]
    stats = frame_statistics(rgb.astype(np.float32) / 255.0, faces=[(0, 0, w, h)], size=(h, w))
    return scene_rows(stats[None], np.zeros(0, np.float32))


def _gray48(image: np.ndarray) -> np.ndarray:
    from ..encoders.fer_model import to_fer_gray

    return to_fer_gray([np.asarray(image)])


# ---- encoders (lazy) -----------------------------------------------------------------------------------------------
class StreamExtractor:
    """Samples -> ``StreamInputs`` (cached). A sample with ``audio`` gives speech; with ``image`` face + scene (one
    frame); with ``video`` face + scene from its frames and speech from its audio track (if any)."""

    def __init__(self, *, config: FeatureConfig = FeatureConfig(), cache: FeatureCache | None = None) -> None:
        self.config = config
        self.cache = cache if cache is not None else FeatureCache()
        self._whisper: WhisperStates | None = None
        self._fer = None
        self._fer_tag = ""
        self._face_encoder = None
        self._scene_encoder = None
        self._asr = None
        self._lock = threading.Lock()

    # -- lazy encoders ---------------------------------------------------------------------------------------------
    def whisper(self) -> WhisperStates:
        with self._lock:
            if self._whisper is None:
                self._whisper = WhisperStates(pad_to_window=self.config.pad_to_window,
                                              cpu_threads=self.config.whisper_threads)
            return self._whisper

    def fer(self):
        with self._lock:
            if self._fer is None:
                from ..encoders.face import DEFAULT_FER_CHECKPOINT
                from ..encoders.fer_model import load_checkpoint

                path = Path(self.config.fer_checkpoint) if self.config.fer_checkpoint else DEFAULT_FER_CHECKPOINT
                self._fer = load_checkpoint(path).model
                self._fer_tag = file_digest(path)[:12]
            return self._fer

    def _settings(self, kind: str) -> dict:
        c = asdict(self.config)
        keep = {"speech": ("pad_to_window", "speech_pool", "max_speech_seconds"),
                "image": ("fer_checkpoint",), "video": ("fer_checkpoint", "video_fps", "video_max_frames",
                                                         "pad_to_window", "speech_pool", "max_speech_seconds")}[kind]
        return {k: c[k] for k in keep}

    # -- per source --------------------------------------------------------------------------------------------------
    def speech_of_wave(self, wave: np.ndarray, sr: int = 16000) -> np.ndarray:
        x = np.asarray(wave, np.float32).reshape(-1)[: int(self.config.max_speech_seconds * sr)]
        return pool_frames(self.whisper()(x), self.config.speech_pool)

    def face_of_crops(self, crops48: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(fer_stage_features(self.fer(), crops48))

    def _cached(self, kind: str, digest: str, compute) -> StreamInputs:
        fer_tag = ""
        if kind != "speech":  # the FER checkpoint's digest is part of the key
            self.fer()
            fer_tag = self._fer_tag
        key = make_key(FEATURE_VERSION, kind, digest, self._settings(kind), fer_tag)
        hit = self.cache.get(NAMESPACE, key)
        if hit is not None:
            return _from_arrays(hit[0])
        streams = compute()
        self.cache.put(NAMESPACE, key, _to_arrays(streams), meta={"kind": kind})
        return streams

    def audio_streams(self, path: str | Path) -> StreamInputs:
        from ..media.audio import load_audio

        def compute() -> StreamInputs:
            wave = load_audio(path, allow_silent=True)
            return StreamInputs(speech=self.speech_of_wave(wave))

        return self._cached("speech", file_digest(path), compute)

    def image_streams(self, image: np.ndarray) -> StreamInputs:
        a = np.ascontiguousarray(np.asarray(image))
        digest = hashlib.sha256(a.tobytes() + str(a.shape).encode()).hexdigest()

        def compute() -> StreamInputs:
            return StreamInputs(face_levels=self.face_of_crops(_gray48(a)), scene=image_scene(a))

        return self._cached("image", digest, compute)

    def video_streams(self, path: str | Path) -> StreamInputs:
        def compute() -> StreamInputs:
            from ..media.audio import load_audio
            from ..media.errors import MediaError
            from ..media.video import load_frames

            frames, _ = load_frames(path, fps=self.config.video_fps, max_frames=self.config.video_max_frames)
            face_enc, scene_enc = self._video_encoders()
            crops = [f.crop for f in (face_enc.analyze_frame(fr) for fr in frames) if f is not None]
            levels = self.face_of_crops(np.stack(crops)) if crops else None
            stats, motion = scene_enc.frame_stats(frames)
            speech = None
            try:
                speech = self.speech_of_wave(load_audio(path))
            except MediaError:  # no audio track, or a silent one: the video's other streams still count
                speech = None
            return StreamInputs(face_levels=levels, scene=scene_rows(stats, motion), speech=speech)

        return self._cached("video", file_digest(path), compute)

    def _video_encoders(self):
        with self._lock:
            if self._face_encoder is None:
                from ..encoders.face import MediaPipeFerFaceEncoder
                from ..encoders.visual import SceneStatsEncoder

                self._face_encoder = MediaPipeFerFaceEncoder()
                self._scene_encoder = SceneStatsEncoder()
            return self._face_encoder, self._scene_encoder

    # -- samples -----------------------------------------------------------------------------------------------------
    def sample_streams(self, sample: Sample) -> StreamInputs:
        """One sample's streams (video > image for the visual side; audio file > video's audio track for speech)."""
        parts: list[StreamInputs] = []
        if sample.audio is not None:
            parts.append(self.audio_streams(sample.audio))
        if sample.image is not None:
            parts.append(self.image_streams(sample.image))
        if sample.video is not None:
            parts.append(self.video_streams(sample.video))
        return merge_streams(parts) if parts else NO_STREAMS

    def streams_of(self, media: Sequence[Sample]) -> StreamInputs:
        """The streams of several samples joined (a paired episode: a speech sample and a face sample)."""
        return merge_streams([self.sample_streams(s) for s in media])

    def sample_inputs(self, sample: Sample, *, transcribe: bool = True) -> SampleInputs:
        """``SampleInputs`` for answering: streams + text; speech without text is transcribed (Whisper tiny.en)
        when ``transcribe``."""
        streams = self.sample_streams(sample)
        text = sample.text
        if not text and transcribe and (sample.audio is not None or sample.video is not None):
            text = self._transcribe(sample) or None
        return SampleInputs(streams=streams, text=text, context=sample.context, speaker=sample.speaker,
                            sample_id=sample.id)

    def _transcribe(self, sample: Sample) -> str:
        from ..encoders.asr import WhisperTinyASR
        from ..media.audio import load_audio
        from ..media.errors import MediaError

        try:
            wave = load_audio(sample.audio if sample.audio is not None else sample.video)
        except MediaError:
            return ""
        with self._lock:
            if self._asr is None:
                self._asr = WhisperTinyASR()
        return self._asr.transcribe(wave).text


def _to_arrays(s: StreamInputs) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if s.face_levels is not None:
        for i, x in enumerate(s.face_levels):
            out[f"face{i}"] = np.asarray(x, np.float32)
    if s.scene is not None:
        out["scene"] = np.asarray(s.scene, np.float32)
    if s.speech is not None:
        out["speech"] = np.asarray(s.speech, np.float32)
    return out


def _from_arrays(arrays: dict[str, np.ndarray]) -> StreamInputs:
    faces = sorted((k for k in arrays if k.startswith("face")), key=lambda k: int(k[4:]))
    return StreamInputs(face_levels=tuple(arrays[k] for k in faces) if faces else None,
                        scene=arrays.get("scene"), speech=arrays.get("speech"))


__all__ = ["FEATURE_VERSION", "FeatureConfig", "StreamExtractor", "WhisperStates", "fer_stage_features",
           "image_scene", "pool_frames", "scene_rows"]
