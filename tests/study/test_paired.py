"""Paired tri-modal episodes on real encoded samples: pairing by label, leakage-safe exclusions, dropping and
replacing modalities, modality dropout."""
import numpy as np
import pytest

from affectagent.encoders import ExtractConfig
from affectagent.encoders.inputs import EncodingConfig
from affectagent.schema import CANONICAL_EMOTIONS
from affectagent.study.paired import drop_modality, modality_dropout, pair_corpora, replace_modality

from ..resources import shared


@pytest.fixture(scope="module")
def corpora():
    root = shared("meld", "emodb", "fer2013")
    from affectagent.train.recipe import CorpusSpec, encode_corpus, load_corpus

    enc = EncodingConfig(extract=ExtractConfig(text_encoder="e5"), exclude_related=True)
    out = {}
    for key, spec in (("text", CorpusSpec("meld", "train", 300)), ("audio", CorpusSpec("emodb", "all", 40)),
                      ("visual", CorpusSpec("fer2013", "train", 30))):
        out[key] = encode_corpus(load_corpus(spec, data_root=root), dataset=spec.name, encoding=enc, cache=None,
                                 progress=False)
    return out


def test_pairs_share_the_gold_label_and_carry_all_three_modalities(corpora):
    labels = ("neutral", "happy", "sad", "angry")
    paired = pair_corpora(**corpora, seed=0, labels=labels)
    assert len(paired) > 50
    ids = {k: {x.sample_id: CANONICAL_EMOTIONS[g] for x, g in zip(c.inputs, c.gold)} for k, c in corpora.items()}
    for x, g in zip(paired.inputs, paired.gold):
        t, a, v = x.sample_id.removeprefix("pair/").split("+")
        lab = CANONICAL_EMOTIONS[g]
        assert lab in labels and ids["text"][t] == ids["audio"][a] == ids["visual"][v] == lab
        f = x.features
        assert f.mask.text and f.mask.audio and f.mask.visual
        assert f.text_emb is not None and f.audio_emb is not None and f.face_seq is not None
        assert x.label_set == labels
    again = pair_corpora(**corpora, seed=0, labels=labels)
    assert [x.sample_id for x in again.inputs] == [x.sample_id for x in paired.inputs]  # seeded


def test_related_exclusion_covers_shared_dialogue_speaker_and_face(corpora):
    paired = pair_corpora(**corpora, seed=1, labels=("neutral", "happy", "sad", "angry"), exclude_related=True)
    comp = {k: {x.sample_id: x for x in c.inputs} for k, c in corpora.items()}
    n_related = 0
    for x in paired.inputs[:40]:
        t, a, v = x.sample_id.removeprefix("pair/").split("+")
        for other in paired.inputs:
            t2, a2, v2 = other.sample_id.removeprefix("pair/").split("+")
            related = (t2 in comp["text"][t].exclude          # same MELD dialogue
                       or a2 in comp["audio"][a].exclude      # same EmoDB speaker
                       or v2 == v)                            # same face image
            assert (other.sample_id in x.exclude) == related, (x.sample_id, other.sample_id)
            n_related += related and other.sample_id != x.sample_id
    assert n_related > 0


def test_drop_and_replace_modality(corpora):
    paired = pair_corpora(**corpora, seed=0, labels=("neutral", "happy", "sad", "angry"))
    x, y = paired.inputs[0], paired.inputs[1]
    no_a = drop_modality(x, "audio")
    assert no_a.features.audio_emb is None and no_a.features.audio_seq is None and not no_a.features.mask.audio
    assert no_a.features.text_emb is x.features.text_emb and no_a.features.mask.visual
    no_t = drop_modality(x, "text")
    assert no_t.features.text_emb is None and no_t.ctx_emb is None and not no_t.features.mask.text
    no_v = drop_modality(x, "visual")
    assert no_v.features.face_seq is None and not no_v.features.mask.visual
    swapped = replace_modality(x, y, "visual")
    assert swapped.features.face_seq is y.features.face_seq and swapped.features.audio_emb is x.features.audio_emb
    assert swapped.exclude == x.exclude | y.exclude      # evidence of neither source episode may leak in
    assert x.sample_id in swapped.exclude and y.sample_id in swapped.exclude
    with pytest.raises(ValueError):
        drop_modality(x, "smell")


def test_modality_dropout_keeps_labels_and_drops_at_most_one(corpora):
    paired = pair_corpora(**corpora, seed=0, labels=("neutral", "happy", "sad", "angry"))
    aug = modality_dropout(paired, seed=3, p_keep_all=0.4)
    assert np.array_equal(aug.gold, paired.gold)
    present = np.array([sum(x.features.mask.as_dict().values()) for x in aug.inputs])
    assert set(present.tolist()) <= {2, 3}
    frac_full = float((present == 3).mean())
    assert 0.2 < frac_full < 0.6
