"""``FaceBoxes``: the face box the web page draws on the upload's preview frame, and the timeline's face track.

``preview(path, media=)`` decodes the first frame the face encoder samples from a video (``first_sampled_frame``: the
frame ``media.load_frames`` keeps first with the agent's ``MediaConfig``, same size and time, without decoding the
rest of the clip; a still image is its one frame),
finds the largest face with the face encoder's first stage (``encoders.face_mediapipe.MediaPipeFaceLandmarker``, the
same thresholds: the box the encoder would crop), and returns a ``FramePreview``: the frame as a small JPEG data URL,
its size (the boxes' coordinate frame) and the boxes. Called as ``FaceBoxes()(frames)`` it is a
``timeline.FaceDetector`` (frames -> one bool per frame) sharing the same detector.

The detector loads on first use (about 1 s) and is kept; it is not thread-safe, and the service calls it under the
model lock. When MediaPipe is missing the preview has no boxes and says why (``note``); the prediction is unaffected.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import AffectAgentError
from ..media import MediaConfig
from ..media.container import import_av, is_image_format, open_media
from ..media.errors import CorruptMediaError, EmptyMediaError, NoVideoStreamError
from ..media.image import decode_image
from ..media.probe import stream_seconds
from ..media.sampling import fit_within, sample_times
from ..media.video import frame_rotation, upright

IMAGE_SIDE = 480  # longer side of the preview JPEG (the boxes stay in the decoded frame's pixels)
JPEG_QUALITY = 80


@dataclass(frozen=True)
class FaceBox:
    """A face on the preview frame: pixels (x1 / y1 exclusive); ``via``: "mesh" or "detector+mesh"."""

    x0: int
    y0: int
    x1: int
    y1: int
    via: str


@dataclass(frozen=True)
class FramePreview:
    """The first sampled frame: ``time`` (s), ``width`` / ``height`` (decoded pixels, the boxes' frame), ``image`` (a
    JPEG data URL, longer side <= ``IMAGE_SIDE``), ``face_boxes`` and a ``note`` when the detector could not run."""

    time: float
    width: int
    height: int
    image: str
    face_boxes: tuple[FaceBox, ...]
    note: str | None = None

    def frame_dict(self) -> dict[str, Any]:
        return {"time": self.time, "width": self.width, "height": self.height, "image": self.image,
                "note": self.note}


def first_sampled_frame(path: Path, *, media: MediaConfig) -> tuple[np.ndarray, float]:
    """(frame, time): the first frame ``media.load_frames`` keeps from ``path`` with these settings (the nearest to
    the first ``sampling.sample_times`` target, same size and rotation), decoding no further than that frame."""
    av = import_av()
    with open_media(path, max_bytes=media.max_bytes) as container:
        name = path.name
        if not container.streams.video:
            raise NoVideoStreamError(f"{name} has no video stream")
        if is_image_format(container.format.name):
            return decode_image(container, name=name, max_side=media.max_side), 0.0
        stream = container.streams.video[0]
        duration = stream_seconds(stream)
        if duration is None and container.duration is not None:
            duration = container.duration / 1_000_000
        target = float(sample_times(duration, fps=media.fps, max_frames=media.max_frames)[0])
        rate = float(stream.average_rate or stream.guessed_rate or 25.0)
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else index / rate
                if t + 0.5 / rate < target:
                    continue
                w, h = fit_within(frame.width, frame.height, media.max_side)
                return upright(frame.to_ndarray(format="rgb24", width=w, height=h), frame_rotation(frame)), t
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(f"cannot decode the video of {name}: corrupt or truncated ({exc})") from None
    raise EmptyMediaError(f"{name}: the video stream decodes to no frames")


def jpeg_data_url(rgb: np.ndarray, *, side: int = IMAGE_SIDE, quality: int = JPEG_QUALITY) -> str:
    """(H, W, 3) uint8 RGB -> ``data:image/jpeg;base64,...``, downscaled so the longer side is <= ``side``."""
    import cv2  # noqa: PLC0415 - OpenCV loads with the face stack

    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode the preview frame as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


class FaceBoxes:
    """The face encoder's detector, loaded once (see the module docstring). ``min_confidence``: its threshold."""

    name = "mediapipe-face-mesh"

    def __init__(self, *, min_confidence: float = 0.5) -> None:
        self.min_confidence = min_confidence
        self._landmarker: Any = None
        self._error: str | None = None

    def _detector(self) -> Any:
        if self._landmarker is None and self._error is None:
            from ..encoders.face_mediapipe import MediaPipeFaceLandmarker  # noqa: PLC0415 - mediapipe is heavy

            try:
                self._landmarker = MediaPipeFaceLandmarker(min_confidence=self.min_confidence)
            except AffectAgentError as exc:
                self._error = f"no face boxes: the face detector is unavailable ({exc})"
        return self._landmarker

    def boxes(self, frame: np.ndarray) -> tuple[FaceBox, ...]:
        """The largest face of an RGB frame (MediaPipe finds one), () when there is none; raises when the detector
        is unavailable."""
        detector = self._detector()
        if detector is None:
            raise AffectAgentError(self._error or "the face detector is unavailable")
        face = detector.detect(frame)
        if face is None:
            return ()
        x0, y0, x1, y1 = (int(v) for v in face.box)
        return (FaceBox(x0=x0, y0=y0, x1=x1, y1=y1, via=face.via),)

    def __call__(self, frames: Sequence[np.ndarray]) -> list[bool]:
        """``timeline.FaceDetector``: a face on each frame?"""
        return [bool(self.boxes(f)) for f in frames]

    def preview(self, path: Path, *, media: MediaConfig) -> FramePreview:
        """The first sampled frame of ``path`` (module docstring) with its face boxes."""
        frame, time = first_sampled_frame(path, media=media)
        note = None
        try:
            found = self.boxes(frame)
        except AffectAgentError as exc:
            found, note = (), str(exc)
        h, w = frame.shape[:2]
        return FramePreview(time=round(float(time), 3), width=int(w), height=int(h), image=jpeg_data_url(frame),
                            face_boxes=found, note=note)

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
