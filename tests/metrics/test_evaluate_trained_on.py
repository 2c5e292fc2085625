"""Which scored samples a checkpoint trained on: held-out speaker folds (``CorpusSpec.exclude_groups``) are unseen."""
from affectagent.metrics.evaluate import trained_on

CORPORA = [{"name": "meld", "split": "train", "limit": None, "exclude_groups": []},
           {"name": "emodb", "split": "all", "limit": None, "exclude_groups": ["08", "09"]}]


def test_held_out_speakers_are_not_in_sample():
    assert not trained_on(CORPORA, dataset="emodb", split="all", groups={"08", "09"})
    assert not trained_on(CORPORA, dataset="emodb", split="all", groups={"08"})


def test_trained_speakers_splits_and_old_provenance_are_in_sample():
    assert trained_on(CORPORA, dataset="emodb", split="all", groups={"08", "10"})
    assert trained_on(CORPORA, dataset="meld", split="train", groups={"Ross"})
    assert not trained_on(CORPORA, dataset="meld", split="dev", groups={"Ross"})
    old = [{"name": "emodb", "split": "all", "limit": None}]  # checkpoints saved before exclude_groups
    assert trained_on(old, dataset="emodb", split="all", groups={"08"})
