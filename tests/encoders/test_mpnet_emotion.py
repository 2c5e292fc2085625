"""mpnet-emotion: the packaged all-mpnet-base-v2 joined from its parts, LoRA target checks, the shipped checkpoint on
real MELD dev."""
from __future__ import annotations

import json

import numpy as np
import pytest

from affectagent.encoders import mpnet_base
from affectagent.encoders.text_emotion import CONTEXT_FORMATTED_ENCODERS, MPNET_CHECKPOINT
from affectagent.errors import InputError

from ..resources import require
from .tuned_text_checks import check_head_on_meld


@pytest.fixture(scope="module")
def mpnet_dir():
    assert mpnet_base.installed(), f"all-mpnet-base-v2 parts missing (requirements-nodeps.txt): {mpnet_base.INSTALL}"
    return mpnet_base.model_dir()


def test_parts_join_into_an_mpnet_model_folder(mpnet_dir):
    for name in mpnet_base.REQUIRED_FILES:
        assert (mpnet_dir / name).is_file()
    cfg = json.loads((mpnet_dir / "config.json").read_text())
    assert cfg["model_type"] == "mpnet" and cfg["hidden_size"] == 768 and cfg["num_hidden_layers"] == 12
    assert not list(mpnet_dir.rglob("desktop.ini"))
    assert mpnet_base.model_dir() == mpnet_dir  # joined once, then reused


def test_bert_lora_targets_on_mpnet_are_refused_with_the_right_names(mpnet_dir):
    from affectagent.encoders.text_emotion_model import MPNET_BASE, MPNET_LORA_TARGETS, TextEmotionConfig, \
        TextEmotionModel

    # BERT's "query"/"key"/"value" do not exist in MPNet; only "dense" would match, silently adapting the FFN alone
    with pytest.raises(InputError, match="match no module") as err:
        TextEmotionModel(config=TextEmotionConfig(base=MPNET_BASE))
    assert " ".join(MPNET_LORA_TARGETS) in str(err.value)


def test_mpnet_emotion_reads_context_formatted_inputs():
    assert {"minilm-emotion", "mpnet-emotion"} <= CONTEXT_FORMATTED_ENCODERS


def test_shipped_mpnet_checkpoint_on_real_meld_dev(mpnet_dir):
    require(MPNET_CHECKPOINT, "the shipped mpnet-emotion checkpoint")
    from affectagent import datasets
    from affectagent.encoders import get_text_encoder

    enc = get_text_encoder("mpnet-emotion")
    check_head_on_meld(enc, datasets.load("meld", "dev")[:120], min_accuracy=0.55, dim=768)
    assert enc.info.name == "mpnet-emotion" and enc.info.version.startswith("mpnet-emotion-")


def test_frozen_mpnet_encoder_embeds_and_ranks_paraphrases(mpnet_dir):
    from affectagent.encoders import get_text_encoder

    enc = get_text_encoder("mpnet")
    e = enc.encode(["I am so happy today!", "Today I feel really glad.", "The train leaves at noon."])
    assert e.shape == (3, 768) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
    assert enc.info.name == "mpnet" and enc.info.dim == 768


def test_one_training_step_on_mpnet_moves_the_attention_adapters(mpnet_dir):
    import torch
    from affectagent import datasets
    from affectagent.encoders.text_emotion import format_with_context
    from affectagent.encoders.text_emotion_model import MPNET_BASE, MPNET_LORA_TARGETS, TextEmotionConfig, \
        candidate_mask
    from affectagent.schema import CANONICAL_EMOTIONS
    from affectagent.train.text_emotion import Encoded, TrainConfig, train

    samples = datasets.load("meld", "train", limit=8)
    train_set = Encoded(corpus="meld", texts=[format_with_context(s.text, s.context, s.speaker) for s in samples],
                        targets=np.array([CANONICAL_EMOTIONS.index(s.label) for s in samples]),
                        mask=candidate_mask(datasets.label_space("meld").canonical))
    cfg = TrainConfig(model=TextEmotionConfig(base=MPNET_BASE, lora_targets=MPNET_LORA_TARGETS, lora_rank=2,
                                              lora_alpha=4, max_len=32), batch_size=8, epochs=1, lr=1e-2,
                      warmup=0.0, bf16=False, progress=False)
    result = train(cfg, train_sets=[train_set], dev_sets=[], max_steps=1)
    lora = result.model.trainable_state()["lora"]
    for target in ("attn.q", "attn.k", "attn.v", "attn.o"):
        moved = [k for k in lora if f".{target}.lora_B" in k]
        assert moved and all(torch.count_nonzero(lora[k]) > 0 for k in moved), target
