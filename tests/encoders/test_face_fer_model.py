"""Our FER2013 CNN: shapes, probabilities, checkpoint round trip, and the shipped checkpoint's real accuracy."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from affectagent.encoders.face import DEFAULT_FER_CHECKPOINT
from affectagent.encoders.fer_model import (
    FER_CLASSES, FerNet, FerNetConfig, center_crop, load_checkpoint, predict, save_checkpoint, to_fer_gray,
)
from affectagent.errors import InputError
from affectagent.train.fer import accuracy_and_uar, load_fer2013

from ..resources import require, shared

# FER2013 validation (PublicTest) accuracy of the shipped model is ~0.68 (BENCHMARKS.md "Faces"); on a random
# 500-image subset the binomial standard error is ~0.02, so this floor only fails for a genuinely worse model.
ACCURACY_FLOOR_500 = 0.62


def test_forward_shapes_and_probabilities():
    torch.manual_seed(0)
    model = FerNet(FerNetConfig())
    x = torch.rand(3, 1, 44, 44)
    assert model(x).shape == (3, len(FER_CLASSES))
    assert model.embed(x).shape == (3, model.config.embed_dim) == (3, 256)
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    probs, emb = predict(model, images)
    assert probs.shape == (5, 7) and emb.shape == (5, 256)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    # the default test-time augmentation averages the softmax of the centre crop and of its mirror image
    x = center_crop(torch.from_numpy(images).float().div(255.0).unsqueeze(1), model.config.crop)
    with torch.no_grad():
        want = (torch.softmax(model(x), 1) + torch.softmax(model(torch.flip(x, dims=[-1])), 1)) / 2
        want_emb = (model.embed(x) + model.embed(torch.flip(x, dims=[-1]))) / 2
    np.testing.assert_allclose(probs, want.numpy(), atol=1e-5)
    np.testing.assert_allclose(emb, want_emb.numpy(), atol=1e-4)
    with pytest.raises(ValueError):
        model(torch.rand(2, 3, 44, 44))


def test_config_validation():
    with pytest.raises(ValueError):
        FerNetConfig(widths=(8, 16), depths=(1,))
    with pytest.raises(ValueError):
        FerNetConfig(dropout=1.0)


def test_center_crop_and_gray_conversion():
    img = torch.arange(48 * 48, dtype=torch.float32).view(48, 48)
    crop = center_crop(img, 44)
    assert crop.shape == (44, 44) and crop[0, 0] == img[2, 2]
    rgb = np.zeros((96, 96, 3), np.uint8)
    rgb[..., 0] = 255  # pure red → BT.601 luma 0.299·255 ≈ 76
    gray = to_fer_gray([rgb, np.full((48, 48), 7, np.uint8)])
    assert gray.shape == (2, 48, 48) and gray.dtype == np.uint8
    assert abs(int(gray[0, 10, 10]) - 76) <= 1 and np.all(gray[1] == 7)
    with pytest.raises(InputError):
        to_fer_gray([np.zeros((4, 4, 2), np.uint8)])


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    model = FerNet(FerNetConfig(widths=(8, 16), depths=(1, 1), mean=0.4, std=0.2)).eval()
    path = save_checkpoint(tmp_path / "m.pt", model=model, meta={"note": "x"})
    loaded = load_checkpoint(path)
    assert loaded.config == model.config and loaded.meta == {"note": "x"}
    images = np.random.default_rng(1).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    np.testing.assert_allclose(predict(loaded.model, images)[0], predict(model, images)[0], atol=2e-3)  # fp16 weights
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_shipped_checkpoint_accuracy_on_real_validation_subset():
    require(DEFAULT_FER_CHECKPOINT, "the shipped FER checkpoint")
    shared("fer2013/validation.npz")
    loaded = load_checkpoint(DEFAULT_FER_CHECKPOINT)
    assert DEFAULT_FER_CHECKPOINT.stat().st_size < 5 * 1024 * 1024
    assert loaded.meta["classes"] == list(FER_CLASSES)
    val = load_fer2013("validation", limit=500, seed=0)
    probs, _ = predict(loaded.model, val.images)
    acc, uar, cm = accuracy_and_uar(val.labels, probs.argmax(1))
    assert cm.sum() == 500
    assert acc >= ACCURACY_FLOOR_500, f"accuracy {acc:.3f} on 500 real validation faces"
    assert uar >= ACCURACY_FLOOR_500 - 0.1


def test_tta_views():
    from affectagent.encoders.fer_model import tta_views

    x = torch.rand(2, 1, 48, 48)
    assert [len(tta_views(x, 44, m)) for m in ("none", "flip", "ten_crop")] == [1, 2, 10]
    ten = tta_views(x, 44, "ten_crop")
    torch.testing.assert_close(ten[1], x[..., :44, :44])  # top-left corner
    torch.testing.assert_close(ten[5], center_crop(x, 44).flip(-1))  # mirrors follow the 5 crops
    with pytest.raises(InputError):
        tta_views(x, 44, "twelve")
