from collections import Counter
from pathlib import Path

import pytest

from affectagent.datasets import fold_groups, folds, label_space, load
from affectagent.datasets.ravdess import parse_ravdess_name
from affectagent.errors import DataNotFoundError, InputError


@pytest.fixture(scope="module")
def ravdess(root, need):
    need("ravdess_speech")
    return load("ravdess", "all", data_root=root)


def test_count_actors_and_codes(ravdess):
    assert len(ravdess) == 1200
    per_actor = Counter(s.group for s in ravdess)
    assert sorted(per_actor) == [f"{i:02d}" for i in range(1, 21)] and set(per_actor.values()) == {60}
    for s in ravdess:
        code = s.audio.stem.split("-")
        assert s.group == code[6] and s.meta["gender"] == ("male" if int(code[6]) % 2 else "female")
        assert s.meta["intensity"] == {"01": "normal", "02": "strong"}[code[3]]
        assert s.meta["statement"] == int(code[4]) and s.meta["repetition"] == int(code[5])
    assert Counter(s.raw_label for s in ravdess)["neutral"] == 80  # neutral has no strong intensity


def test_label_map():
    space = label_space("ravdess")
    assert space.labels == ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    assert space.canonicalize("fearful") == "fear" and space.canonicalize("surprised") == "surprise"


def test_audio_is_16k_flac(ravdess):
    import soundfile as sf  # pinned in requirements.txt
    assert sf.info(str(ravdess[0].audio)).samplerate == 16000


def test_actor_independent_five_folds(ravdess):
    groups = fold_groups(ravdess, k=5)
    assert groups[0] == ("01", "02", "03", "04") and groups[-1] == ("17", "18", "19", "20")
    for (train, test), actors in zip(folds(ravdess, k=5), groups):
        assert len(test) == 240 and len(train) == 960
        assert {ravdess[i].group for i in test} == set(actors)
        assert Counter(ravdess[i].meta["gender"] for i in test) == {"male": 120, "female": 120}


def test_parse_errors(tmp_path):
    with pytest.raises(InputError, match="emotion code '09'"):
        parse_ravdess_name(Path("03-01-09-01-01-01-01.wav"))
    with pytest.raises(InputError, match="not a RAVDESS file name"):
        parse_ravdess_name(Path("hello.wav"))
    with pytest.raises(DataNotFoundError, match="no RAVDESS audio files"):
        load("ravdess", "all", data_file=tmp_path)
