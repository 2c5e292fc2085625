from collections import Counter

import numpy as np
import pytest

from affectagent.datasets import folds, label_space, load
from affectagent.datasets.emodb import EMOTION_CODES
from affectagent.errors import DataNotFoundError, InputError


@pytest.fixture(scope="module")
def emodb(root, need):
    need("emodb")
    return load("emodb", "all", data_root=root)


def test_count_speakers_and_audio(emodb):
    assert len(emodb) == 415
    assert sorted({s.group for s in emodb}) == ["08", "09", "10", "11", "12", "13", "14", "15"]
    assert all(s.audio.is_file() and s.audio.suffix == ".flac" for s in emodb)
    assert all(s.speaker == s.group == s.audio.name[:2] for s in emodb)


def test_label_comes_from_file_name_code(emodb):
    space = label_space("emodb")
    for s in emodb:
        assert s.raw_label == EMOTION_CODES[s.audio.stem[5]] and s.label == space.canonicalize(s.raw_label)
    assert Counter(s.label for s in emodb)["happy"] == sum(s.audio.stem[5] == "F" for s in emodb)


def test_audio_is_readable(emodb):
    import soundfile as sf  # pinned in requirements.txt
    info = sf.info(str(emodb[0].audio))
    assert info.samplerate == 22050 and abs(info.duration - 2.0) < 1e-3


def test_leave_one_speaker_out(emodb):
    fs = folds(emodb)
    assert len(fs) == 8
    seen = np.concatenate([f.test for f in fs])
    assert sorted(seen.tolist()) == list(range(len(emodb)))
    for train, test in fs:
        assert len({emodb[i].group for i in test}) == 1
        assert not {emodb[i].group for i in train} & {emodb[i].group for i in test}


def test_mismatched_label_and_missing_audio(tmp_path, root, need):
    need("emodb")
    (tmp_path / "audio").mkdir()
    p = tmp_path / "labels.csv"
    p.write_text("file,speaker,text_code,emotion_code,emotion\n08a01Ab.flac,08,a01,A,happiness\n")
    with pytest.raises(InputError, match=r"labels\.csv line 2: emotion 'happiness' disagrees"):
        load("emodb", "all", data_file=p)
    p.write_text("file,speaker,text_code,emotion_code,emotion\n08a01Ab.flac,08,a01,A,fear\n")
    with pytest.raises(DataNotFoundError, match=r"line 2: audio file not found: .*08a01Ab\.flac"):
        load("emodb", "all", data_file=p)
    with pytest.raises(InputError, match="splits: all"):
        load("emodb", data_root=root)
