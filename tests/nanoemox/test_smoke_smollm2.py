"""The one smoke test on the real SmolLM2-135M-Instruct (loaded once per session): streams map to its width, a
phase-3 training step on a real MELD item runs and moves only trainable parts, and it answers every task."""
import time

import pytest
import torch

from affectagent import datasets
from affectagent.nanoemox.config import LMConfig
from affectagent.nanoemox.inputs import SampleInputs
from affectagent.nanoemox.model import PHASE_GROUPS, NanoEmoX
from affectagent.nanoemox.tasks import TASKS, TaskAnswer

from ..resources import shared
from .conftest import make_streams, tiny_config


@pytest.mark.slow
def test_real_lm_step_and_answers(real_lm, rng):
    shared("meld")
    cfg = tiny_config("unused")
    from dataclasses import replace

    cfg = replace(cfg, lm=LMConfig(model="smollm2-135m"))
    model = NanoEmoX(config=cfg, lm=real_lm)
    assert model.lm.hidden_size == 576
    streams = make_streams(rng)
    tokens, _ = model.stream_tokens([streams])
    assert tokens[0].shape == (4 + 4 + 4 + 1, 576)

    sample = datasets.load("meld", "train", limit=5)[3]
    prompt = ("[Recognition]\n" f'Utterance: "{sample.text}"\n'
              "Which emotion is expressed? Answer with one word from: neutral, happy, sad, angry.")
    names = model.set_trainable(PHASE_GROUPS["3"])
    base = {n: p.detach().clone() for n, p in model.lm.named_parameters() if "lora_" not in n}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    ex = model.encode_example(prompt=prompt, streams=streams, target=sample.label)
    t0 = time.perf_counter()
    loss = model.loss([ex]).loss
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and time.perf_counter() - t0 < 120
    assert all(torch.equal(base[n], p) for n, p in model.lm.named_parameters() if "lora_" not in n)
    assert any("lora_B" in n for n in names)
    model.set_trainable(())
    for task in TASKS:
        out = model.predict(SampleInputs(streams=streams, text=sample.text), task, max_new_tokens=4)
        assert isinstance(out, TaskAnswer) and out.task == task and isinstance(out.text, str)
