"""MediaPipe face detection + 468-point face mesh, run fully offline from the models bundled in mediapipe==0.10.21.

``MediaPipeFaceLandmarker.detect(rgb)`` → the largest face as ``DetectedFace`` (box, 468 landmarks in pixels, named
points for ``face_geometry`` / ``face_align``), or None when there is no face. Strategy (measured in docs/face-backend.md):
  1. face mesh on the whole frame (its own short-range BlazeFace detector inside);
  2. if that finds nothing, the full-range BlazeFace detector, then face mesh on an enlarged crop around its box
     (small or distant faces).
``BlazeFaceDetector(rgb)`` → boxes of every face (BlazeFace only), for scene statistics.
Instances hold MediaPipe graphs: not thread-safe, create one per thread; ``close()`` frees them.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingDependencyError
from ..quiet import native_stderr_filtered

# Face-mesh indices of the named points used by face_geometry / face_align ("r"/"l" = subject's right/left).
MESH_POINTS: dict[str, int] = {
    "eye_r_outer": 33, "eye_r_inner": 133, "eye_r_top": 159, "eye_r_bottom": 145,
    "eye_l_outer": 263, "eye_l_inner": 362, "eye_l_top": 386, "eye_l_bottom": 374,
    "brow_r_inner": 107, "brow_r_mid": 105, "brow_r_outer": 70,
    "brow_l_inner": 336, "brow_l_mid": 334, "brow_l_outer": 300,
    "mouth_r": 61, "mouth_l": 291, "lip_upper_inner": 13, "lip_lower_inner": 14,
    "lip_upper_outer": 0, "lip_lower_outer": 17, "nose_tip": 1, "chin": 152, "forehead": 10,
}
MESH_SIZE = 468

NATIVE_CHATTY_CALLS = 3  # MediaPipe logs its graph start-up during the first calls; later calls run unfiltered
INSTALL_HINT = "pip install mediapipe==0.10.21 (last release with the bundled face mesh; needs numpy<2, protobuf<5)"
# ``mediapipe.solutions`` imports its drawing helpers eagerly, and they import matplotlib.pyplot and cv2 (~0.4 s CPU
# and ~50 MB of a cold start); detection and the face mesh never draw, so these load only if something uses them.
DEFERRED_SOLUTIONS: tuple[str, ...] = ("drawing_utils", "drawing_styles")

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels (x1/y1 exclusive)


@dataclass
class DetectedFace:
    """One face: ``box`` (x0, y0, x1, y1) pixels; ``landmarks`` (468, 2) float32 pixels (x right, y down);
    ``points`` named subset of landmarks; ``via`` which path found it ("mesh" or "detector+mesh")."""

    box: Box
    landmarks: np.ndarray
    points: dict[str, np.ndarray] = field(default_factory=dict)
    via: str = "mesh"

    @property
    def area(self) -> int:
        return max(0, self.box[2] - self.box[0]) * max(0, self.box[3] - self.box[1])


def as_rgb(frame: np.ndarray, *, index: int = 0) -> np.ndarray:
    """Validate a frame: (H, W, 3) or (H, W) uint8 → contiguous (H, W, 3) uint8 RGB; ``InputError`` otherwise."""
    a = np.asarray(frame)
    if a.dtype != np.uint8:
        raise InputError(f"frame {index}: expected uint8 pixels, got {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 8 or a.shape[1] < 8:
        raise InputError(f"frame {index}: expected an (H, W, 3) RGB image of at least 8×8, got shape {a.shape}")
    return np.ascontiguousarray(a)


class _DeferredModule(types.ModuleType):
    """A source module registered in ``sys.modules`` whose code runs on the first lookup of a name it does not have
    yet (``importlib.util.LazyLoader`` is no use here: Python 3.11's import system reads ``__spec__`` of a module it
    finds in ``sys.modules``, which makes a LazyLoader module load at once)."""

    _lock = threading.Lock()

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):  # probes such as __path__ / __wrapped__ do not load it
            raise AttributeError(attr)
        with _DeferredModule._lock:
            loader = self.__dict__.pop("_deferred_loader", None)
            if loader is not None:
                loader.exec_module(self)
        if attr in self.__dict__:
            return self.__dict__[attr]
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")


def _defer_drawing_modules() -> list[str]:
    """Before the first ``import mediapipe``: register ``DEFERRED_SOLUTIONS`` as ``_DeferredModule`` s. Returns their
    full names (none when mediapipe is already imported or its layout is not the expected one)."""
    if "mediapipe" in sys.modules:
        return []
    spec = importlib.util.find_spec("mediapipe")  # a top-level name: finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]) / "python" / "solutions"
    deferred = []
    for short in DEFERRED_SOLUTIONS:
        name, path = f"mediapipe.python.solutions.{short}", folder / f"{short}.py"
        sub = importlib.util.spec_from_file_location(name, path) if path.is_file() else None
        if name in sys.modules or sub is None or sub.loader is None:
            continue
        module = _DeferredModule(name)
        for key, value in (("__spec__", sub), ("__loader__", sub.loader), ("__file__", str(path)),
                           ("__package__", sub.parent), ("_deferred_loader", sub.loader)):
            setattr(module, key, value)
        sys.modules[name] = module
        deferred.append(name)
    return deferred


def _import_mediapipe():
    os.environ.setdefault("GLOG_minloglevel", "2")  # silence MediaPipe's C++ info logs
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    deferred = _defer_drawing_modules()
    try:
        import mediapipe as mp
    except ImportError as exc:
        for name in deferred:
            sys.modules.pop(name, None)
        raise MissingDependencyError(f"face analysis needs mediapipe: {INSTALL_HINT} ({exc})") from None
    for name in deferred:  # found in sys.modules, so the import system did not bind them on their package
        package, _, short = name.rpartition(".")
        if package in sys.modules and not hasattr(sys.modules[package], short):
            setattr(sys.modules[package], short, sys.modules[name])
    if not hasattr(mp, "solutions"):
        raise MissingDependencyError(f"this mediapipe has no bundled solutions API: {INSTALL_HINT}")
    return mp


def _box_from_points(pts: np.ndarray, w: int, h: int) -> Box:
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 1
    return max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))


def _boxes(detector, rgb: np.ndarray) -> list[tuple[Box, float]]:
    res = detector.process(rgb)
    h, w = rgb.shape[:2]
    out = []
    for det in res.detections or []:
        rb = det.location_data.relative_bounding_box
        x0, y0 = int(round(rb.xmin * w)), int(round(rb.ymin * h))
        x1, y1 = int(round((rb.xmin + rb.width) * w)), int(round((rb.ymin + rb.height) * h))
        box = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
        if box[2] > box[0] and box[3] > box[1]:
            out.append((box, float(det.score[0]) if det.score else 0.0))
    return sorted(out, key=lambda bs: -(bs[0][2] - bs[0][0]) * (bs[0][3] - bs[0][1]))


class BlazeFaceDetector:
    """MediaPipe BlazeFace boxes only (no landmarks). ``full_range``: the 5 m model (small faces) instead of the
    short-range (selfie / talking-head) one. ``detect(rgb)`` → [(box, score)], largest first."""

    def __init__(self, *, min_confidence: float = 0.5, full_range: bool = False) -> None:
        if not 0.0 < min_confidence < 1.0:
            raise InputError(f"min_confidence must be in (0, 1), got {min_confidence}")
        with native_stderr_filtered():
            mp = _import_mediapipe()
            self._det = mp.solutions.face_detection.FaceDetection(model_selection=1 if full_range else 0,
                                                                  min_detection_confidence=min_confidence)
        self._calls = 0

    def detect(self, frame: np.ndarray) -> list[tuple[Box, float]]:
        self._calls += 1
        with native_stderr_filtered() if self._calls <= NATIVE_CHATTY_CALLS else contextlib.nullcontext():
            return _boxes(self._det, as_rgb(frame))

    def close(self) -> None:
        self._det.close()


class MediaPipeFaceLandmarker:
    """Largest-face detection + landmarks. ``min_confidence``: detector threshold; ``fallback_full_range``: step 2."""

    def __init__(self, *, min_confidence: float = 0.5, fallback_full_range: bool = True) -> None:
        if not 0.0 < min_confidence < 1.0:
            raise InputError(f"min_confidence must be in (0, 1), got {min_confidence}")
        self.min_confidence = min_confidence
        with native_stderr_filtered():
            mp = _import_mediapipe()
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=min_confidence)
            self._full = (mp.solutions.face_detection.FaceDetection(model_selection=1,
                                                                    min_detection_confidence=min_confidence)
                          if fallback_full_range else None)
        self._calls = 0

    # -- detection ---------------------------------------------------------------------------------------------
    def _mesh_points(self, rgb: np.ndarray) -> np.ndarray | None:
        res = self._mesh.process(rgb)
        if not res.multi_face_landmarks:
            return None
        h, w = rgb.shape[:2]
        lm = res.multi_face_landmarks[0].landmark
        return np.array([[p.x * w, p.y * h] for p in lm[:MESH_SIZE]], dtype=np.float32)

    def detect(self, frame: np.ndarray) -> DetectedFace | None:
        """The most prominent face of an RGB frame, or None when none is found."""
        self._calls += 1
        with native_stderr_filtered() if self._calls <= NATIVE_CHATTY_CALLS else contextlib.nullcontext():
            return self._detect(frame)

    def _detect(self, frame: np.ndarray) -> DetectedFace | None:
        rgb = as_rgb(frame)
        h, w = rgb.shape[:2]
        pts = self._mesh_points(rgb)
        via = "mesh"
        if pts is None and self._full is not None:
            boxes = _boxes(self._full, rgb)
            if boxes:
                (x0, y0, x1, y1), _ = boxes[0]  # largest
                side = int(1.8 * max(x1 - x0, y1 - y0))
                cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
                cx0, cy0 = max(0, cx - side // 2), max(0, cy - side // 2)
                crop = rgb[cy0:min(h, cy0 + side), cx0:min(w, cx0 + side)]
                if min(crop.shape[:2]) >= 8:
                    import cv2

                    scale = 256.0 / max(crop.shape[:2])
                    big = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else crop
                    sub = self._mesh_points(np.ascontiguousarray(big))
                    if sub is not None:
                        s = big.shape[1] / crop.shape[1]
                        pts = sub / s + np.array([cx0, cy0], np.float32)
                        via = "detector+mesh"
        if pts is None:
            return None
        points = {name: pts[i].astype(np.float64) for name, i in MESH_POINTS.items()}
        return DetectedFace(box=_box_from_points(pts, w, h), landmarks=pts, points=points, via=via)

    def close(self) -> None:
        for g in (self._mesh, self._full):
            if g is not None:
                g.close()

    def __enter__(self) -> "MediaPipeFaceLandmarker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
