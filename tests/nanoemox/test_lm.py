import torch

from affectagent.nanoemox.config import LORA_TARGETS
from affectagent.nanoemox.lm import MM_PLACEHOLDER, LanguageModel, left_pad


def test_prompt_parts_put_multimodal_tokens_at_the_start_of_the_user_turn(tiny_model):
    lm = tiny_model.lm
    before, after = lm.prompt_parts(system="S", user="[Recognition] hi")
    text_before, text_after = lm.tokenizer.decode(before), lm.tokenizer.decode(after)
    assert text_before.endswith("<|im_start|>user\n") and MM_PLACEHOLDER not in text_before + text_after
    assert text_after.startswith("[Recognition] hi") and text_after.endswith("<|im_start|>assistant\n")
    assert lm.target_ids("happy")[-1] == lm.eos_ids[0] == lm.tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_lora_on_all_seven_projections_starts_as_the_base_model(tiny_model):
    lm: LanguageModel = tiny_model.lm
    names = [n for n, _ in lm.lora_named_parameters()]
    for target in LORA_TARGETS:
        assert any(f".{target}.lora_A." in n for n in names) and any(f".{target}.lora_B." in n for n in names)
    assert all(not p.requires_grad for p in lm.parameters())  # frozen until a trainer opens a group
    ids = torch.tensor([lm.encode("I am so happy today")])
    emb, mask = left_pad([lm.embed(ids[0])], width=lm.hidden_size, dtype=lm.dtype, device=lm.device)
    with torch.no_grad():
        on = lm.answer_logits(inputs_embeds=emb, attention_mask=mask, answer_len=3)
        off = lm.answer_logits(inputs_embeds=emb, attention_mask=mask, answer_len=3, use_lora=False)
    assert on.shape == (1, 3, len(lm.tokenizer)) and torch.equal(on, off)


def test_left_padding_and_positions_give_the_same_logits_as_unpadded(tiny_model):
    lm = tiny_model.lm
    a = lm.embed(torch.tensor(lm.encode("a short one here")))
    b = lm.embed(torch.tensor(lm.encode("a much longer sentence than the other")))
    emb, mask = left_pad([a, b], width=lm.hidden_size, dtype=lm.dtype, device=lm.device)
    assert mask[0].tolist()[: b.shape[0] - a.shape[0]] == [0] * (b.shape[0] - a.shape[0])
    with torch.no_grad():
        both = lm.answer_logits(inputs_embeds=emb, attention_mask=mask, answer_len=2)
        alone, m1 = left_pad([a], width=lm.hidden_size, dtype=lm.dtype, device=lm.device)
        single = lm.answer_logits(inputs_embeds=alone, attention_mask=m1, answer_len=2)
    assert torch.allclose(both[0], single[0], atol=1e-4)
