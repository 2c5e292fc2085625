"""DPO (``rl.dpo`` math, ``train.dpo`` trainer): completion log-probs with prompt and padding masked, the sigmoid /
hinge / IPO losses and TRL's logged rewards against hand values, ln 2 at step 0 with a zero-initialised adapter, the
pair schedule and learning rate, and tiny real runs: resumable on a 2-layer Llama, and the packaged SmolLM2-135M
(adapter moves, every base weight bit-identical, the adapter folder loads as an LLM backend)."""
from __future__ import annotations

import json
import math

import pytest
import torch

from affectagent.rl.dpo import completion_logprobs, dpo_loss
from affectagent.train.dpo import (DPOConfig, DPOPolicy, collate, dpo_batch_loss, encode_pair, lr_factor, step_pairs,
                                   steps_per_epoch, total_steps, train_dpo)
from affectagent.train.dpo_pairs import DPOPair, write_pairs

LN2 = math.log(2.0)


# ---- the math ----------------------------------------------------------------------------------------------------
def test_completion_logprobs_sum_completion_tokens_only():
    # ids [0, 1, 0, 1(pad)]; position t's logits score token t+1. Completion = tokens 1 and 2; token 3 is padding.
    logits = torch.tensor([[[0.0, math.log(3.0)],     # scores token 1: p(1) = 3/4
                            [0.0, 0.0],               # scores token 2: p(0) = 1/2
                            [-50.0, 50.0],            # scores token 3 (padding): p(1) ~ 1, but masked
                            [7.0, -7.0]]])            # the last position scores nothing
    ids = torch.tensor([[0, 1, 0, 1]])
    mask = torch.tensor([[0, 1, 1, 0]])
    got = completion_logprobs(logits, ids, mask)
    assert got.shape == (1,)
    assert got.item() == pytest.approx(math.log(0.75) + math.log(0.5), abs=1e-6)
    # the prompt's own tokens never count: unmask token 0 -> nothing changes (it is never a target)
    assert completion_logprobs(logits, ids, torch.tensor([[1, 1, 1, 0]])).item() == pytest.approx(got.item())
    # padding changes nothing, however extreme its logits
    logits2 = logits.clone()
    logits2[0, 2] = torch.tensor([50.0, -50.0])
    assert completion_logprobs(logits2, ids, mask).item() == pytest.approx(got.item())


def test_sigmoid_loss_and_rewards_hand_values():
    t = lambda *v: torch.tensor(v, dtype=torch.float32)
    s = dpo_loss(t(-1.0), t(-2.0), t(-1.5), t(-1.5), beta=0.1)
    # h = (-1 + 1.5) - (-2 + 1.5) = 1; loss = -log sigmoid(0.1) = log(1 + e^-0.1)
    assert float(s.loss) == pytest.approx(math.log1p(math.exp(-0.1)), abs=1e-6)
    assert s.rewards_chosen == pytest.approx(0.05) and s.rewards_rejected == pytest.approx(-0.05)
    assert s.margins == pytest.approx(0.1) and s.accuracies == 1.0
    assert set(s.to_dict()) == {"loss", "rewards/chosen", "rewards/rejected", "rewards/margins",
                                "rewards/accuracies"}
    # two pairs: the mean; the second pair prefers rejected -> accuracy 1/2
    s2 = dpo_loss(t(-1.0, -3.0), t(-2.0, -1.0), t(-1.5, -2.0), t(-1.5, -2.0), beta=0.1)
    h2 = (-3.0 + 2.0) - (-1.0 + 2.0)  # -2
    want = (math.log1p(math.exp(-0.1)) + math.log1p(math.exp(-0.1 * h2))) / 2
    assert float(s2.loss) == pytest.approx(want, abs=1e-6) and s2.accuracies == 0.5


def test_hinge_and_ipo_hand_values():
    t = lambda v: torch.tensor([v])
    assert float(dpo_loss(t(-1.0), t(-2.0), t(-1.5), t(-1.5), beta=0.1, loss_type="hinge").loss) == pytest.approx(0.9)
    assert float(dpo_loss(t(-1.0), t(-2.0), t(-1.5), t(-1.5), beta=0.1, loss_type="ipo").loss) == pytest.approx(16.0)
    with pytest.raises(ValueError, match="loss_type"):
        dpo_loss(t(0.0), t(0.0), t(0.0), t(0.0), loss_type="nope")
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(t(0.0), t(0.0), t(0.0), t(0.0), beta=0.0)


def test_policy_equal_to_reference_gives_ln2_and_the_hand_gradient():
    pc = torch.tensor([-4.0, -9.0], requires_grad=True)
    pr = torch.tensor([-5.0, -2.0], requires_grad=True)
    s = dpo_loss(pc, pr, pc.detach().clone(), pr.detach().clone(), beta=0.1)
    assert float(s.loss.detach()) == pytest.approx(LN2, abs=1e-7)
    assert s.rewards_chosen == 0.0 and s.rewards_rejected == 0.0 and s.margins == 0.0 and s.accuracies == 0.0
    s.loss.backward()
    # d/d(pi_c) of mean(-log sigma(beta h)) = -beta * sigma(-beta h) / B = -0.1 * 0.5 / 2 at h = 0
    assert pc.grad.tolist() == pytest.approx([-0.025, -0.025]) and pr.grad.tolist() == pytest.approx([0.025, 0.025])


def test_reference_gets_no_gradient():
    ref = torch.tensor([-1.0], requires_grad=True)
    pol = torch.tensor([-2.0], requires_grad=True)
    dpo_loss(pol, pol, ref, ref).loss.backward()
    assert ref.grad is None


# ---- tokens and schedule -----------------------------------------------------------------------------------------
def _encode(pair, **kw):
    return encode_pair(pair, encode_chat=lambda msgs: [100 + i for i in range(len(msgs[-1].content))],
                       encode_text=lambda text: [ord(c) for c in text], end_id=2, **kw)


def test_encode_and_collate_masks():
    pair = DPOPair.of("abcd", "xy", "zzz", system="S")
    e = _encode(pair, max_length=64, max_prompt_length=32)
    assert e.prompt == [100, 101, 102, 103] and e.chosen == [ord("x"), ord("y"), 2]
    assert e.rejected == [ord("z")] * 3 + [2] and not e.truncated
    b = collate([e], pad_id=0)
    assert b.input_ids.shape == (2, 8) and b.pairs == 1
    assert b.completion_mask.tolist() == [[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1]]
    assert b.attention_mask.tolist() == [[1] * 7 + [0], [1] * 8]
    assert b.input_ids[0, -1].item() == 0 and b.tokens == 15


def test_long_pairs_keep_the_prompt_end_and_the_answer_start():
    e = _encode(DPOPair.of("abcdefgh", "uvwxyz", "q"), max_length=7, max_prompt_length=3)
    assert e.truncated and e.prompt == [105, 106, 107]                     # the last 3 prompt tokens
    assert e.chosen == [ord(c) for c in "uvwx"] and e.rejected == [ord("q"), 2]   # 7 - 3 = 4 answer tokens


def test_each_epoch_reads_every_pair_once_in_a_seeded_order():
    cfg = DPOConfig(batch_size=2, grad_accum=2, epochs=3, warmup_steps=0)
    assert steps_per_epoch(10, cfg) == 3 and total_steps(10, cfg) == 9
    for epoch in range(3):
        seen = sum((step_pairs(epoch * 3 + k, 10, cfg) for k in range(3)), [])
        assert sorted(seen) == list(range(10))
    assert step_pairs(0, 10, cfg) == step_pairs(0, 10, cfg) and step_pairs(0, 10, cfg) != step_pairs(3, 10, cfg)
    assert len(step_pairs(2, 10, cfg)) == 2  # the epoch's last, partial step
    assert total_steps(10, DPOConfig(max_steps=5)) == 5


def test_learning_rate_warmup_then_linear_decay_or_constant():
    cfg = DPOConfig(warmup_steps=4)
    assert [lr_factor(s, 10, cfg) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 10, cfg) == 1.0 and lr_factor(7, 10, cfg) == pytest.approx(0.5)
    assert lr_factor(9, 10, cfg) == pytest.approx(1 / 6)
    assert lr_factor(9, 10, DPOConfig(warmup_steps=4, schedule="constant")) == 1.0
    assert lr_factor(0, 10, DPOConfig(warmup_steps=0)) == 1.0


def test_config_defaults_are_table_7():
    c = DPOConfig()
    assert (c.lora_r, c.lora_alpha, c.lora_dropout, c.beta, c.lr, c.loss_type) == (16, 64, 0.05, 0.1, 5e-6, "sigmoid")
    assert set(c.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj", "gate_proj"}
    assert (c.batch_size, c.grad_accum, c.warmup_steps, c.weight_decay, c.epochs, c.max_length, c.seed) == \
        (4, 4, 100, 0.01, 3, 1024, 111)


# ---- real models -------------------------------------------------------------------------------------------------
PAIRS = [
    DPOPair.of("Stimulus: \"I waited two hours and nobody came.\"\nTask: name the emotion.",
               "Sadness and disappointment: waiting alone for hours.", "Happy.", system="Answer briefly."),
    DPOPair.of("Stimulus: \"The scan is clear!\"\nTask: name the emotion.",
               "Relief and joy at good news.", "Anger.", system="Answer briefly."),
    DPOPair.of("Stimulus: \"Who moved my keys again?\"\nTask: name the emotion.",
               "Irritation.", "Calm contentment with nothing to report.", system="Answer briefly."),
]


def _small(model, **kw) -> DPOConfig:
    base = dict(model=str(model), batch_size=2, grad_accum=1, max_steps=2, max_length=96, max_prompt_length=64,
                lr=1e-3, warmup_steps=0, schedule="constant", lora_dropout=0.0, progress=False, save_every=1,
                num_threads=1)
    return DPOConfig(**{**base, **kw})


def _base_weights(policy) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in policy.model.named_parameters() if "lora_" not in n}


def _lora_weights(policy) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in policy.model.named_parameters() if "lora_" in n}


def test_fresh_adapter_gives_ln2_and_zero_rewards(tiny_lm_dir):
    policy = DPOPolicy(_small(tiny_lm_dir, lora_dropout=0.05))
    policy.model.train()  # dropout on: the zero B matrix still makes policy == reference
    batch = collate([policy.encode(p) for p in PAIRS], pad_id=policy.pad_id)
    stats, lc, lr = dpo_batch_loss(policy, batch, config=policy.config)
    assert float(stats.loss.detach()) == pytest.approx(LN2, abs=1e-6)
    assert stats.rewards_chosen == 0.0 and stats.rewards_rejected == 0.0 and stats.accuracies == 0.0
    assert lc.shape == (3,) and bool((lc < 0).all())


def test_resumed_run_equals_an_uninterrupted_one(tiny_lm_dir, tmp_path):
    pairs = write_pairs(PAIRS, tmp_path / "pairs.jsonl")
    whole = train_dpo(_small(tiny_lm_dir, max_steps=2), pairs_path=pairs, out=tmp_path / "whole", log=lambda m: None)
    first = train_dpo(_small(tiny_lm_dir, max_steps=1), pairs_path=pairs, out=tmp_path / "cut", log=lambda m: None)
    assert first.steps == 1 and (tmp_path / "cut" / "checkpoint" / "trainer_state.pt").is_file()
    rest = train_dpo(_small(tiny_lm_dir, max_steps=2), pairs_path=pairs, out=tmp_path / "cut", log=lambda m: None)
    assert rest.ran == 1 and rest.records[0].step == 2
    assert rest.records[0].loss == pytest.approx(whole.records[1].loss, abs=1e-5)
    rows = [json.loads(x) for x in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for key in ("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "lr"):
        assert key in rows[0]
    assert rows[0]["loss"] == pytest.approx(LN2, abs=1e-5)  # step 1 is measured before its update
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "whole" / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    again = train_dpo(_small(tiny_lm_dir, max_steps=2), pairs_path=pairs, out=tmp_path / "cut", log=lambda m: None)
    assert again.ran == 0
    from affectagent.errors import InputError

    with pytest.raises(InputError, match="lora_r"):
        train_dpo(_small(tiny_lm_dir, max_steps=3, lora_r=4), pairs_path=pairs, out=tmp_path / "cut",
                  log=lambda m: None)


def test_smoke_smollm2_two_steps_moves_only_the_adapter(smollm_dir, tmp_path):
    """The packaged SmolLM2-135M, 3 pairs, 2 steps: the adapter changes, every base weight stays bit-identical, the
    log has TRL's keys, and the saved adapter loads as an hf backend (base + adapter merged)."""
    import time

    from affectagent.llm.adapter import adapter_meta
    from affectagent.llm.backend import ChatMessage
    from affectagent.llm.hf import HFBackend

    config = _small("smollm2-135m", lr=2e-3)
    pairs = write_pairs(PAIRS, tmp_path / "pairs.jsonl")
    policy = DPOPolicy(config)
    base0, lora0 = _base_weights(policy), _lora_weights(policy)
    t0 = time.perf_counter()
    res = train_dpo(config, pairs_path=pairs, out=tmp_path / "dpo", policy=policy, log=lambda m: None)
    seconds = time.perf_counter() - t0
    assert res.steps == 2 and len(res.records) == 2
    assert res.records[0].loss == pytest.approx(LN2, abs=1e-5)
    base1, lora1 = _base_weights(policy), _lora_weights(policy)
    assert base0.keys() == base1.keys() and all(torch.equal(base0[k], base1[k]) for k in base0)
    moved = [k for k in lora0 if not torch.equal(lora0[k], lora1[k])]
    assert moved and all("lora_" in k for k in moved)
    assert adapter_meta(res.adapter)["base_model"] == "smollm2-135m"
    size = sum(f.stat().st_size for f in res.adapter.iterdir())
    print(f"\nsmoke: 2 DPO steps on smollm2-135m in {seconds:.1f} s; adapter {size / 1e6:.1f} MB")
    backend = HFBackend(model=str(tmp_path / "dpo"), shared=False)
    assert backend.adapter == str(res.adapter.resolve())
    out = backend.chat([ChatMessage("user", "Say hi.")], max_tokens=4)
    assert out.completion_tokens >= 1
