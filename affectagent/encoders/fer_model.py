"""Our compact facial-expression CNN (FER2013, 7 classes) and its versioned checkpoint format.

Shape legend:
  B  batch            S  crop side the net sees (44: a 44×44 centre/random crop of a 48×48 FER2013 face)
  E  embedding width  (= last stage width, 256 by default)     K  classes (7, FER2013 order below)

Architecture (VGG-style, BN + ReLU, ~1.9 M parameters, ~55 MMAC per 44×44 image):
  stem  conv3×3 1→32            @44×44  → maxpool → 22×22
  stage conv3×3 ×2   32→64      @22×22  → maxpool → 11×11
  stage conv3×3 ×3   64→128     @11×11  → maxpool → 5×5
  stage conv3×3 ×3  128→256     @5×5    → global average pool → embedding (B, E)
  head  dropout → linear E→K    → logits (B, K)

Input convention: ``forward`` takes float images in [0, 1], shape (B, 1, S, S); the per-dataset mean/std stored in the
config is applied inside the model, so callers never normalise by hand.

Checkpoint file (``save_checkpoint`` / ``load_checkpoint``): a ``torch.save`` dict readable with ``weights_only=True``:
  {"format": "affectagent-fer/1", "config": {...FerNetConfig fields...}, "state_dict": {name: fp16 tensor}, "meta": {...}}
Weights are stored in float16 to keep the shipped file small (< 5 MB); they are cast back to float32 on load.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import InputError

FER_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
CHECKPOINT_FORMAT = "affectagent-fer/1"
FER_SIDE = 48  # FER2013 image side
CROP_SIDE = 44  # side of the crop the network sees


@dataclass(frozen=True)
class FerNetConfig:
    """Architecture of ``FerNet``.

    widths: channels of each stage; depths: conv layers per stage (same length as widths).
    dropout: before the classifier. crop: input side S. mean/std: pixel statistics (in [0, 1]) of the training set.
    """

    widths: tuple[int, ...] = (32, 64, 128, 256)
    depths: tuple[int, ...] = (1, 2, 3, 3)
    dropout: float = 0.4
    num_classes: int = len(FER_CLASSES)
    crop: int = CROP_SIDE
    mean: float = 0.5
    std: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "depths", tuple(int(d) for d in self.depths))
        if len(self.widths) != len(self.depths) or not self.widths:
            raise ValueError(f"widths {self.widths} and depths {self.depths} must be non-empty and the same length")
        if min(self.widths) < 1 or min(self.depths) < 1:
            raise ValueError("widths and depths must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.std <= 0:
            raise ValueError(f"std must be positive, got {self.std}")

    @property
    def embed_dim(self) -> int:
        return self.widths[-1]


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class FerNet(nn.Module):
    """Compact VGG-style expression classifier. ``forward``: (B,1,S,S) in [0,1] → logits (B,K)."""

    def __init__(self, config: FerNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or FerNetConfig()
        layers: list[nn.Module] = []
        c_in = 1
        for i, (width, depth) in enumerate(zip(self.config.widths, self.config.depths)):
            for _ in range(depth):
                layers += _conv_bn_relu(c_in, width)
                c_in = width
            if i < len(self.config.widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(self.config.dropout)
        self.head = nn.Linear(c_in, self.config.num_classes)
        self.register_buffer("pixel_mean", torch.tensor(float(self.config.mean)), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(float(self.config.std)), persistent=False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B,1,S,S) in [0,1] → (B,E) penultimate embedding (global-average-pooled last stage)."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected (B,1,S,S) images, got {tuple(x.shape)}")
        h = self.body((x - self.pixel_mean) / self.pixel_std)
        return self.pool(h).flatten(1)

    def classify(self, emb: torch.Tensor) -> torch.Tensor:
        """(B,E) → (B,K) logits."""
        return self.head(self.dropout(emb))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


def center_crop(images: torch.Tensor, side: int = CROP_SIDE) -> torch.Tensor:
    """(..., H, W) → (..., side, side) centre crop."""
    h, w = images.shape[-2:]
    if h < side or w < side:
        raise ValueError(f"image {h}×{w} smaller than crop {side}")
    top, left = (h - side) // 2, (w - side) // 2
    return images[..., top:top + side, left:left + side]


def to_fer_gray(crops: Sequence[np.ndarray]) -> np.ndarray:
    """Face crops (each H×W gray or H×W×3 RGB uint8, any size) → (N, 48, 48) uint8, FER2013-like grayscale.

    Colour → luma with the ITU-R BT.601 weights (what FER2013's grayscale used); resize with area interpolation.
    """
    import cv2  # lazy: opencv is an encoder dependency, not a core one

    out = np.empty((len(crops), FER_SIDE, FER_SIDE), dtype=np.uint8)
    for i, crop in enumerate(crops):
        a = np.asarray(crop)
        if a.ndim == 3 and a.shape[2] == 3:
            a = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)
        elif a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.ndim != 2 or a.size == 0:
            raise InputError(f"face crop {i}: expected H×W or H×W×3 image, got shape {a.shape}")
        if a.dtype != np.uint8:
            a = np.clip(a, 0, 255).astype(np.uint8)
        if a.shape != (FER_SIDE, FER_SIDE):
            interp = cv2.INTER_AREA if min(a.shape) >= FER_SIDE else cv2.INTER_LINEAR
            a = cv2.resize(a, (FER_SIDE, FER_SIDE), interpolation=interp)
        out[i] = a
    return out


TTA_MODES: tuple[str, ...] = ("none", "flip", "ten_crop")


def tta_views(x: torch.Tensor, side: int, mode: str) -> list[torch.Tensor]:
    """(B,1,48,48) → the crops averaged at test time: "none" centre crop; "flip" centre + mirror;
    "ten_crop" centre and 4 corner crops, each with its mirror (the standard FER ten-crop)."""
    if mode not in TTA_MODES:
        raise InputError(f"unknown test-time augmentation {mode!r}; choose from {', '.join(TTA_MODES)}")
    centre = center_crop(x, side)
    if mode == "none":
        return [centre]
    crops = [centre]
    if mode == "ten_crop":
        h, w = x.shape[-2:]
        crops += [x[..., t:t + side, l:l + side] for t in (0, h - side) for l in (0, w - side)]
    return crops + [torch.flip(c, dims=[-1]) for c in crops]


@torch.no_grad()
def predict(model: FerNet, images: np.ndarray, *, batch_size: int = 256, tta: str = "flip"
            ) -> tuple[np.ndarray, np.ndarray]:
    """Score FER-style faces.

    images: (N, 48, 48) uint8 grayscale. Returns (probs (N, K) float32 summing to 1, emb (N, E) float32).
    ``tta`` (``TTA_MODES``): the views whose softmax probabilities and embeddings are averaged.
    """
    if images.ndim != 3:
        raise InputError(f"expected (N, H, W) grayscale images, got shape {images.shape}")
    model.eval()
    probs, embs = [], []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size])).float().div_(255.0).unsqueeze(1)
        views = tta_views(x, model.config.crop, tta)
        p_sum, e_sum = 0.0, 0.0
        for v in views:
            emb = model.embed(v)
            p_sum = p_sum + torch.softmax(model.classify(emb).float(), dim=1)
            e_sum = e_sum + emb.float()
        probs.append((p_sum / len(views)).numpy())
        embs.append((e_sum / len(views)).numpy())
    if not probs:
        return (np.zeros((0, model.config.num_classes), np.float32), np.zeros((0, model.config.embed_dim), np.float32))
    return np.concatenate(probs).astype(np.float32), np.concatenate(embs).astype(np.float32)


def save_checkpoint(path: str | Path, *, model: FerNet, meta: dict[str, Any] | None = None) -> Path:
    """Write the versioned checkpoint (fp16 weights + config + meta). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().to(torch.float16) if v.is_floating_point() else v.detach().clone())
             for k, v in model.state_dict().items()}
    cfg = asdict(model.config)
    cfg["widths"], cfg["depths"] = list(cfg["widths"]), list(cfg["depths"])
    torch.save({"format": CHECKPOINT_FORMAT, "config": cfg, "state_dict": state, "meta": dict(meta or {})}, path)
    return path


@dataclass
class LoadedFer:
    """A loaded checkpoint: the model in eval mode, its config, and the training metadata."""

    model: FerNet
    config: FerNetConfig
    meta: dict[str, Any] = field(default_factory=dict)


def load_checkpoint(path: str | Path) -> LoadedFer:
    """Read a checkpoint written by ``save_checkpoint``; clear ``InputError`` when it is missing or foreign."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"FER checkpoint not found: {path} (train one: affectagent train fer --help)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt/foreign file
        raise InputError(f"cannot read FER checkpoint {path}: {exc}") from None
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path} is not an {CHECKPOINT_FORMAT} checkpoint")
    config = FerNetConfig(**blob["config"])
    model = FerNet(config)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    model.eval()
    return LoadedFer(model=model, config=config, meta=dict(blob.get("meta") or {}))
