from collections import Counter

import numpy as np
import pytest

from affectagent.datasets import label_space, load
from affectagent.datasets.fer2013 import FER_CLASSES
from affectagent.errors import DataNotFoundError, InputError


@pytest.fixture(scope="module")
def fer(root, need):
    need("fer2013")
    return {s: load("fer2013", s, data_root=root) for s in ("train", "dev")}


def test_counts_images_and_labels(root, fer):
    assert len(fer["train"]) == 28709 and len(fer["dev"]) == 3589
    with np.load(root / "fer2013" / "validation.npz", allow_pickle=False) as z:
        labels, images = z["labels"], z["images"]
    assert [s.label for s in fer["dev"]] == [FER_CLASSES[i] for i in labels]
    assert all(s.image.dtype == np.uint8 and s.image.shape == (48, 48) for s in fer["dev"])
    assert np.array_equal(fer["dev"][10].image, images[10])


def test_class_order_and_ids(fer):
    assert label_space("fer2013").labels == ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    ids = [s.id for s in fer["train"]]
    assert len(set(ids)) == len(ids)
    dup = [i for i in ids if i.startswith("fer2013/train/Training_8475486")]
    assert sorted(dup) == ["fer2013/train/Training_8475486_angry", "fer2013/train/Training_8475486_surprise"]
    assert Counter(s.label for s in fer["train"])["disgust"] == 436


def test_absent_test_npz(tmp_path):
    (tmp_path / "fer2013").mkdir()
    with pytest.raises(DataNotFoundError, match="test.npz"):
        load("fer2013", "test", data_root=tmp_path)


def test_user_npz_and_kaggle_csv(tmp_path):
    images = np.arange(2 * 48 * 48, dtype=np.uint8).reshape(2, 48, 48)
    np.savez(tmp_path / "mine.npz", images=images, labels=np.array([3, 6]))
    a, b = load("fer2013", "test", data_file=tmp_path / "mine.npz")
    assert (a.id, a.label, b.label) == ("fer2013/test/idx0", "happy", "surprise")
    np.savez(tmp_path / "pickled.npz", images=images, labels=np.array([{"x": 1}, None], dtype=object))
    with pytest.raises(InputError, match="pickled.npz"):
        load("fer2013", "test", data_file=tmp_path / "pickled.npz")
    pix = " ".join(["7"] * 48 * 48)
    csv_path = tmp_path / "fer2013.csv"
    csv_path.write_text(f"emotion,pixels,Usage\n0,{pix},Training\n4,{pix},PublicTest\n9,{pix},PrivateTest\n")
    (s,) = load("fer2013", "dev", data_file=csv_path)
    assert s.label == "neutral" and s.image.shape == (48, 48) and int(s.image[0, 0]) == 7
    with pytest.raises(InputError, match=r"fer2013\.csv line 4: emotion 9 outside"):
        load("fer2013", "test", data_file=csv_path)
