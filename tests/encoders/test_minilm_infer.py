"""The inference-only minilm-emotion path (plain torch, no peft / transformers) against the peft model it replaces:
the same token ids, pooled embeddings and logits on real MELD texts; the LoRA fold and config checks by hand."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from affectagent.encoders.bert import BertConfig, fold_lora
from affectagent.encoders.text_emotion import DEFAULT_CHECKPOINT, format_with_context
from affectagent.errors import InputError

from ..resources import require, shared

MINILM_CONFIG = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute",
                 "vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
                 "intermediate_size": 1536, "max_position_embeddings": 512, "type_vocab_size": 2,
                 "layer_norm_eps": 1e-12, "pad_token_id": 0}


# ------------------------------------------------------------------------------------------------ pure parts
def test_fold_lora_hand_computed_and_leaves_inputs_alone():
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    a = torch.tensor([[1.0, 0.0, 2.0]])            # (r=1, in=3)
    b = torch.tensor([[1.0], [-1.0]])              # (out=2, r=1)
    base = {"enc.q.weight": w, "enc.q.bias": torch.zeros(2), "enc.k.weight": w.clone()}
    lora = {"base_model.model.enc.q.lora_A.weight": a, "base_model.model.enc.q.lora_B.weight": b}
    out = fold_lora(base, lora, scaling=2.0)
    want = w + 2.0 * torch.tensor([[1.0, 0.0, 2.0], [-1.0, 0.0, -2.0]])
    assert torch.equal(out["enc.q.weight"], want)
    assert out["enc.k.weight"] is base["enc.k.weight"] and out["enc.q.bias"] is base["enc.q.bias"]
    assert torch.equal(base["enc.q.weight"], torch.arange(6, dtype=torch.float32).reshape(2, 3))  # not in place
    # an adapter name carrying the adapter ("default") is the same module
    named = {"enc.q.lora_A.default.weight": a, "enc.q.lora_B.default.weight": b}
    assert torch.equal(fold_lora(base, named, scaling=2.0)["enc.q.weight"], want)


@pytest.mark.parametrize("lora, match", [
    ({"base_model.model.enc.q.lora_A.weight": torch.ones(1, 3)}, "lacks its lora_B"),
    ({"base_model.model.enc.v.lora_A.weight": torch.ones(1, 3),
      "base_model.model.enc.v.lora_B.weight": torch.ones(2, 1)}, "does not have"),
    ({"base_model.model.enc.q.lora_A.weight": torch.ones(1, 4),
      "base_model.model.enc.q.lora_B.weight": torch.ones(2, 1)}, "does not fit"),
    ({"enc.q.weight": torch.ones(2, 3)}, "not a LoRA weight name"),
])
def test_fold_lora_refuses_what_does_not_fit(lora, match):
    with pytest.raises(InputError, match=match):
        fold_lora({"enc.q.weight": torch.zeros(2, 3)}, lora, scaling=1.0)


def test_bert_config_reads_minilm_and_refuses_other_architectures():
    cfg = BertConfig.from_json(MINILM_CONFIG)
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.layer_norm_eps) == (384, 6, 1e-12)
    for bad in ({"hidden_act": "relu"}, {"position_embedding_type": "relative_key"}, {"model_type": "roberta"},
                {"is_decoder": True}):
        with pytest.raises(InputError):
            BertConfig.from_json({**MINILM_CONFIG, **bad})
    with pytest.raises(InputError, match="lacks"):
        BertConfig.from_json({k: v for k, v in MINILM_CONFIG.items() if k != "num_hidden_layers"})


# --------------------------------------------------------------------------------- real model vs the peft path
@pytest.fixture(scope="module")
def meld_texts() -> list[str]:
    """Formatted MELD dev inputs: 24 with their dialogue context, 8 with curly quotes / ellipses (non-ASCII), 4
    long ones (10 context turns, past max_len tokens), a bare utterance, and two hand-made unicode stress strings."""
    shared("meld/dev_sent_emo.csv")
    from affectagent import datasets

    dev = datasets.load("meld", "dev")
    texts = [format_with_context(s.text, s.context, s.speaker) for s in dev[:24]]
    uni = [s for s in dev[24:] if any(ord(c) > 127 for c in s.text)][:8]
    texts += [format_with_context(s.text, s.context, s.speaker) for s in uni]
    deep = [s for s in dev if len(s.context) >= 10][:4]
    texts += [format_with_context(s.text, s.context, s.speaker, turns=10) for s in deep]
    texts += [dev[30].text, "Café — naïve coöperation, 日本語 and emoji 😀🎉! " * 3, "\u00a0\tZoë:\u200b  hi  "]
    assert len(texts) >= 38
    return texts


@pytest.fixture(scope="module")
def models():
    import peft  # noqa: F401  (the reference path needs it; pinned in requirements.txt)

    require(DEFAULT_CHECKPOINT, "the shipped minilm-emotion checkpoint")
    from affectagent.encoders.minilm_infer import load_inference_model
    from affectagent.encoders.text_emotion_model import load_checkpoint

    fast, _ = load_inference_model(DEFAULT_CHECKPOINT)
    ref, _ = load_checkpoint(DEFAULT_CHECKPOINT)
    return fast, ref


def test_token_ids_equal_the_hf_tokenizer(models, meld_texts):
    fast, ref = models
    long = [t for t in meld_texts if len(ref.tokenizer(t)["input_ids"]) > fast.config.max_len]
    assert len(long) >= 3, "the fixture must hold inputs longer than max_len (truncation)"
    for batch in (meld_texts, meld_texts[:1], long, meld_texts[-2:]):
        got, want = fast.tokenize(batch), ref.tokenize(batch)
        for key in ("input_ids", "token_type_ids", "attention_mask"):
            assert torch.equal(got[key], want[key]), key
    assert fast.tokenize(long)["input_ids"].shape[1] == fast.config.max_len
    with_context = next(t for t in meld_texts if " [SEP] " in t)
    ids = fast.tokenize([with_context])["input_ids"][0].tolist()
    assert ids[0] == 101 and ids[-1] == 102 and ids.count(102) >= 2  # [CLS] ... [SEP] (context separators) [SEP]


def test_pooled_and_logits_match_the_peft_model(models, meld_texts):
    from affectagent.encoders.text_emotion_model import batch_logits

    fast, ref = models
    pooled, logits = batch_logits(fast, meld_texts, batch_size=16)
    want_pooled, want_logits = batch_logits(ref, meld_texts, batch_size=16)
    assert pooled.shape == want_pooled.shape == (len(meld_texts), 384)
    assert logits.shape == want_logits.shape == (len(meld_texts), len(fast.config.labels))
    np.testing.assert_allclose(pooled.numpy(), want_pooled.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(logits.numpy(), want_logits.numpy(), atol=1e-4, rtol=0)
    assert (logits.argmax(1) == want_logits.argmax(1)).all()


def test_encoder_uses_the_fast_path():
    require(DEFAULT_CHECKPOINT, "the shipped minilm-emotion checkpoint")
    from affectagent.encoders.minilm_infer import MiniLMEmotionInfer
    from affectagent.encoders.text_emotion import MiniLMEmotionEncoder

    enc = MiniLMEmotionEncoder()
    assert isinstance(enc._model, MiniLMEmotionInfer)
    assert enc.info.dim == 384 and enc.context_turns == 2


def test_fast_path_imports_neither_peft_nor_transformers():
    require(DEFAULT_CHECKPOINT, "the shipped minilm-emotion checkpoint")
    code = textwrap.dedent("""
        import sys
        from affectagent.encoders import get_text_encoder
        enc = get_text_encoder("minilm-emotion")
        e = enc.encode(["Ross: You did what?! [SEP] Rachel: I kissed him."])
        p = enc.predict_proba(["I can't believe you did that!"])
        assert e.shape == (1, 384) and abs(float(p.sum()) - 1.0) < 1e-5
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("peft", "transformers", "sentence_transformers")
                       or m.startswith("torch._dynamo"))
        print(",".join(heavy) or "none")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "none"


def test_base_without_the_files_falls_back_to_the_peft_model(monkeypatch):
    import peft  # noqa: F401

    require(DEFAULT_CHECKPOINT, "the shipped minilm-emotion checkpoint")
    from affectagent.encoders import minilm_infer
    from affectagent.encoders.text_emotion import MiniLMEmotionEncoder
    from affectagent.encoders.text_emotion_model import TextEmotionModel

    monkeypatch.setattr(minilm_infer, "supports", lambda base: False)
    enc = MiniLMEmotionEncoder()
    assert isinstance(enc._model, TextEmotionModel)
    assert enc.encode(["You did what?!"]).shape == (1, 384)
