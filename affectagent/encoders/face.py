"""The face branch: per-frame face detection + landmarks → aligned FER crop → expression probabilities and embedding,
plus geometric action-unit-like measures. Registered as FACE_ENCODERS "default" (alias "mediapipe-fercnn").

    enc = FACE_ENCODERS.get("default")()
    track = enc.encode_frames(frames)     # frames: list of (H, W, 3) uint8 RGB
    feats = enc.encode_crops(fer_images)  # already-cropped faces, e.g. FER2013 48×48 gray

Per-face feature layout (D_f = 272, the same for ``FaceTrack.seq`` rows and ``encode_crops`` rows; see ``FEATURE_SLICES``):
  [0:7]     expression probabilities, FER2013 order (angry, disgust, fear, happy, neutral, sad, surprise)
  [7:15]    geometry (``GEOMETRY_NAMES``: mouth_open, mouth_width, lip_corner_pull, brow_raise, brow_gap, eye_open,
            head_roll, head_yaw), each normalised by the inter-ocular distance (see face_geometry.py)
  [15]      geometry_valid: 1.0 when landmarks were found (always for video frames with a face; for ``encode_crops``
            the mesh is run on the crop and may miss: then geometry is 0 and this flag is 0)
  [16:272]  256-d penultimate embedding of our FER2013 CNN (averaged over the test-time views)
Backend: MediaPipe face mesh (bundled models, offline) with a full-range BlazeFace fallback; expression model: our
FER2013 CNN (affectagent/assets/fer/fer_cnn.pt, trained by ``affectagent train fer``). Choice and numbers:
docs/face-backend.md, BENCHMARKS.md "Faces".
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..paths import PACKAGE_DIR
from .base import FACE_ENCODERS, EncoderInfo, FaceTrack
from .face_geometry import GEOMETRY_NAMES, GeometryError, face_geometry

DEFAULT_FER_CHECKPOINT = PACKAGE_DIR / "assets" / "fer" / "fer_cnn.pt"
N_EXPR = 7
N_GEOM = len(GEOMETRY_NAMES)
EMBED_DIM = 256
FEATURE_SLICES: dict[str, slice] = {
    "expr": slice(0, N_EXPR),
    "geometry": slice(N_EXPR, N_EXPR + N_GEOM),
    "geometry_valid": slice(N_EXPR + N_GEOM, N_EXPR + N_GEOM + 1),
    "embedding": slice(N_EXPR + N_GEOM + 1, N_EXPR + N_GEOM + 1 + EMBED_DIM),
}
FACE_DIM = FEATURE_SLICES["embedding"].stop
ENCODER_VERSION = "1"
_CROP_UPSCALE = 192  # encode_crops: side the crop is resized to before running the face mesh on it


@dataclass(frozen=True)
class FaceEncoderConfig:
    """checkpoint: FER CNN file (default: the shipped asset). min_confidence: face detector threshold.
    fallback_full_range: retry small/distant faces with the full-range detector. tta: test-time views averaged by the CNN
    (``fer_model.TTA_MODES``; ten_crop = centre + 4 corners, each mirrored).
    crop_geometry: in ``encode_crops``, run the face mesh on each crop to fill the geometry block."""

    checkpoint: str | None = None
    min_confidence: float = 0.5
    fallback_full_range: bool = True
    tta: str = "ten_crop"
    crop_geometry: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.min_confidence < 1.0:
            raise InputError(f"min_confidence must be in (0, 1), got {self.min_confidence}")
        from .fer_model import TTA_MODES

        if self.tta not in TTA_MODES:
            raise InputError(f"unknown tta {self.tta!r}; choose from {', '.join(TTA_MODES)}")


@dataclass
class FrameFace:
    """Full analysis of one frame's main face (``analyze_frame``): box, (468, 2) landmarks, aligned 48×48 crop,
    expression probabilities (7,), geometry (G,), embedding (256,)."""

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    crop: np.ndarray
    expr: np.ndarray
    geometry: np.ndarray
    embedding: np.ndarray


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def assemble_features(expr: np.ndarray, geometry: np.ndarray, geometry_valid: np.ndarray,
                      embedding: np.ndarray) -> np.ndarray:
    """(N,7), (N,G), (N,), (N,256) → (N, FACE_DIM) float32 in the documented layout."""
    n = len(expr)
    out = np.zeros((n, FACE_DIM), np.float32)
    out[:, FEATURE_SLICES["expr"]] = expr
    out[:, FEATURE_SLICES["geometry"]] = geometry
    out[:, FEATURE_SLICES["geometry_valid"]] = np.asarray(geometry_valid, np.float32).reshape(n, 1)
    out[:, FEATURE_SLICES["embedding"]] = embedding
    return out


@FACE_ENCODERS.register("default")
@FACE_ENCODERS.register("mediapipe-fercnn")
class MediaPipeFerFaceEncoder:
    """MediaPipe landmarks + our FER2013 CNN. Thread-safe (one lock around the MediaPipe graphs)."""

    def __init__(self, *, config: FaceEncoderConfig | None = None) -> None:
        from .face_mediapipe import MediaPipeFaceLandmarker
        from .fer_model import load_checkpoint

        self.config = config or FaceEncoderConfig()
        ckpt = Path(self.config.checkpoint) if self.config.checkpoint else DEFAULT_FER_CHECKPOINT
        self._fer = load_checkpoint(ckpt)
        if self._fer.config.embed_dim != EMBED_DIM or self._fer.config.num_classes != N_EXPR:
            raise InputError(f"{ckpt}: expected a {N_EXPR}-class FER CNN with a {EMBED_DIM}-d embedding")
        self._landmarker = MediaPipeFaceLandmarker(min_confidence=self.config.min_confidence,
                                                   fallback_full_range=self.config.fallback_full_range)
        self._lock = threading.Lock()
        self.info = EncoderInfo(name="mediapipe-fercnn", version=f"{ENCODER_VERSION}+fer-{_file_sha(ckpt)}",
                                modality="visual", dim=FACE_DIM)

    # -- pieces ------------------------------------------------------------------------------------------------------
    def _score(self, gray48: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from .fer_model import predict

        return predict(self._fer.model, gray48, tta=self.config.tta)

    def analyze_frame(self, frame: np.ndarray) -> FrameFace | None:
        """The main face of one RGB frame with everything we compute about it, or None when there is no face."""
        from .face_align import warp_to_fer
        from .face_mediapipe import as_rgb

        rgb = as_rgb(frame)
        with self._lock:
            face = self._landmarker.detect(rgb)
        if face is None:
            return None
        crop = warp_to_fer(rgb, face.points)
        try:
            geom = face_geometry(face.points)
        except GeometryError:
            return None
        probs, emb = self._score(crop[None])
        return FrameFace(box=face.box, landmarks=face.landmarks, crop=crop, expr=probs[0], geometry=geom,
                         embedding=emb[0])

    # -- protocol ----------------------------------------------------------------------------------------------------
    def encode_frames(self, frames: Sequence[np.ndarray]) -> FaceTrack:
        """Frames (list of (H, W, 3) uint8 RGB) → FaceTrack over the frames where a face was found.

        seq (T_f, 272), found (T,), expr (T_f, 7), geometry (T_f, 8), boxes: one (x0, y0, x1, y1) or None per frame.
        A frame without a face is not an error (found[t] = False); no frames at all → empty arrays.
        """
        from .face_align import warp_to_fer
        from .face_mediapipe import as_rgb

        found = np.zeros(len(frames), bool)
        boxes: list[tuple[int, int, int, int] | None] = [None] * len(frames)
        crops, geoms = [], []
        for t, frame in enumerate(frames):
            rgb = as_rgb(frame, index=t)
            with self._lock:
                face = self._landmarker.detect(rgb)
            if face is None:
                continue
            try:
                geom = face_geometry(face.points)
            except GeometryError:
                continue
            found[t] = True
            boxes[t] = face.box
            crops.append(warp_to_fer(rgb, face.points))
            geoms.append(geom)
        if crops:
            probs, emb = self._score(np.stack(crops))
            geometry = np.stack(geoms).astype(np.float32)
        else:
            probs, emb = np.zeros((0, N_EXPR), np.float32), np.zeros((0, EMBED_DIM), np.float32)
            geometry = np.zeros((0, N_GEOM), np.float32)
        seq = assemble_features(probs, geometry, np.ones(len(probs)), emb)
        return FaceTrack(seq=seq, found=found, expr=probs, geometry=geometry, geometry_names=GEOMETRY_NAMES,
                         boxes=boxes)

    def encode_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Already-cropped faces (each H×W gray or H×W×3 RGB uint8; FER2013 48×48 as is) → (N, 272) features.

        The crop is scored as given (resized to 48×48 gray); geometry comes from the face mesh run on the crop
        upscaled to 192 px (``crop_geometry``), with geometry_valid = 0 where the mesh finds no face.
        """
        from .fer_model import to_fer_gray

        gray = to_fer_gray(crops)
        probs, emb = self._score(gray) if len(gray) else (np.zeros((0, N_EXPR), np.float32),
                                                          np.zeros((0, EMBED_DIM), np.float32))
        geometry = np.zeros((len(gray), N_GEOM), np.float32)
        valid = np.zeros(len(gray), np.float32)
        if self.config.crop_geometry and len(gray):
            import cv2

            for i, g in enumerate(gray):
                big = cv2.resize(g, (_CROP_UPSCALE, _CROP_UPSCALE), interpolation=cv2.INTER_CUBIC)
                with self._lock:
                    face = self._landmarker.detect(big)
                if face is None:
                    continue
                try:
                    geometry[i] = face_geometry(face.points)
                    valid[i] = 1.0
                except GeometryError:
                    pass
        return assemble_features(probs, geometry, valid, emb)

    def close(self) -> None:
        self._landmarker.close()
