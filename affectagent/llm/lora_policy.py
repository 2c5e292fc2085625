"""A causal LM with a LoRA adapter as an RL policy, and its rollouts (sampled, scored responses).

The actor is the base model with the adapter on; the frozen reference is the same model with the adapter disabled
(no second copy is held); the critic is a linear value head on the detached last hidden state before each token.
``rollout`` samples one response per prompt and scores it: per-token log-probs under the policy and the reference,
values, and the task reward ``set_f1(parsed label, gold)``. The PPO arithmetic lives in ``affectagent.rl`` and the
training loop in ``affectagent.train.lora_mappo``.

Shape legend: B prompts per batch, P longest prompt (prompts are left-padded), T longest response (right-padded),
L = P + T, H hidden size, V vocabulary.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

from ..errors import DataNotFoundError, InputError, MissingDependencyError
from ..rl.rewards import set_f1
from .backend import ChatMessage
from .parsing import first_label_in

CONFIG_FILE = "lora_policy_config.json"
_LEGACY_CONFIG_FILE = "lora_mappo_config.json"  # folders written before the policy had its own config


@dataclass(frozen=True)
class LoRAPolicyConfig:
    """The policy: base model, LoRA adapter and sampling.

    model: hf backend model (alias, folder or HF id), e.g. qwen-0.5b, qwen-1.5b.
    device: "cpu" or "cuda[:i]".
    lora_r: LoRA rank.
    lora_alpha: LoRA scaling alpha (the adapter's update is scaled by lora_alpha / lora_r).
    lora_dropout: dropout on the LoRA input.
    target_modules: names of the modules that get an adapter.
    temperature: sampling temperature of the rollout policy (log-probs are taken at the same temperature).
    max_tokens: response budget in tokens.
    """

    model: str = "qwen-0.5b"
    device: str = "cpu"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    temperature: float = 1.0
    max_tokens: int = 8

    def __post_init__(self) -> None:
        positive = {"lora_r": self.lora_r, "lora_alpha": self.lora_alpha, "max_tokens": self.max_tokens,
                    "temperature": self.temperature}
        bad = [k for k, v in positive.items() if not v > 0]
        if bad:
            raise InputError(f"these LoRA policy settings must be > 0: {', '.join(bad)}")
        if not 0 <= self.lora_dropout < 1:
            raise InputError("lora_dropout must be in [0, 1)")
        if not self.target_modules:
            raise InputError("target_modules must name at least one module")
        object.__setattr__(self, "target_modules", tuple(self.target_modules))


@dataclass(frozen=True)
class LabelledPrompt:
    """One role input with its gold answer: the chat messages, the gold label set and the labels the parser may
    return (canonical emotions)."""

    messages: tuple[ChatMessage, ...]
    gold: tuple[str, ...]
    labels: tuple[str, ...]


class TokenBatch(NamedTuple):
    """Prompts (left-padded) + responses (right-padded) on the policy device."""

    input_ids: Any  # (B, L) long
    attention_mask: Any  # (B, L) long
    position_ids: Any  # (B, L) long
    response_mask: Any  # (B, T) float, 1 on generated tokens


@dataclass(frozen=True)
class TokenRollout:
    """One rollout batch: the token batch and its scores (``logp_*``, ``values_old`` zero on padding).

    logp_old, logp_ref, values_old: (B, T). task_reward: (B,). texts / preds: per prompt (decoded response, parsed
    label or None)."""

    batch: TokenBatch
    logp_old: Any
    logp_ref: Any
    values_old: Any
    task_reward: Any
    texts: tuple[str, ...]
    preds: tuple[str | None, ...]

    @property
    def response_mask(self) -> Any:
        return self.batch.response_mask


def _require_peft():
    try:
        import peft
    except ImportError:
        raise MissingDependencyError("LoRA MAPPO needs peft: pip install peft==0.21.2") from None
    return peft


class LoRAPolicy:
    """Base causal LM + LoRA adapter (the actor; adapter off = the frozen reference) + a value head (the critic).

    The value head reads the detached last hidden state, so the critic trains only its head and the adapter is
    moved by the actor loss alone. ``seed`` initialises the value head (a loaded policy reads its saved head).
    """

    def __init__(self, config: LoRAPolicyConfig, *, seed: int, adapter_dir: str | os.PathLike[str] | None = None
                 ) -> None:
        import torch

        from .hf import HFBackend

        peft = _require_peft()
        self.config = config
        self.backend = HFBackend(model=config.model, shared=False)  # its own copy: peft wraps its modules
        base = self.backend.model.to(config.device)
        for p in base.parameters():
            p.requires_grad_(False)
        if adapter_dir is not None:
            self.model = peft.PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=True)
        else:
            lora = peft.LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                                   target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM")
            self.model = peft.get_peft_model(base, lora)
        hidden = base.config.hidden_size
        torch.manual_seed(seed)
        self.value_head = torch.nn.Linear(hidden, 1).to(config.device)
        if adapter_dir is not None:
            state = torch.load(Path(adapter_dir) / "value_head.pt", map_location=config.device, weights_only=True)
            self.value_head.load_state_dict(state)
        self.tokenizer = self.backend.tokenizer

    def adapter_parameters(self) -> list:
        return [p for n, p in self.model.named_parameters() if p.requires_grad and "lora_" in n]

    def adapter_state(self) -> dict[str, Any]:
        """A detached copy of every LoRA tensor (to compare before/after training)."""
        return {n: p.detach().clone() for n, p in self.model.named_parameters() if "lora_" in n}

    def forward(self, batch: TokenBatch, *, use_adapter: bool = True, with_values: bool = True):
        """(logp, values) over the response positions, each (B, T); logp at the rollout temperature."""
        import torch

        t = batch.response_mask.shape[1]
        ctx = contextlib.nullcontext() if use_adapter else self.model.disable_adapter()
        with ctx:
            out = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                             position_ids=batch.position_ids, output_hidden_states=with_values,
                             logits_to_keep=t + 1)
        # logits[:, j] predicts token j+1: the last T+1 positions minus the final one predict the T response tokens
        logits = out.logits[:, -(t + 1):-1].float() / self.config.temperature  # (B, T, V)
        resp = batch.input_ids[:, -t:]
        logp = torch.log_softmax(logits, dim=-1).gather(-1, resp.unsqueeze(-1)).squeeze(-1)  # (B, T)
        values = None
        if with_values:
            h = out.hidden_states[-1][:, -(t + 1):-1].detach().float()  # (B, T, H): state before each token
            values = self.value_head(h).squeeze(-1)  # (B, T)
        return logp, values

    def save(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write the adapter (peft format), the value head and the policy config atomically to ``out_dir``."""
        import torch

        out = Path(out_dir)
        from ..paths import atomic_directory

        with atomic_directory(out) as tmp:
            self.model.save_pretrained(str(tmp))
            torch.save(self.value_head.state_dict(), tmp / "value_head.pt")
            (tmp / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        return out

    @classmethod
    def load(cls, adapter_dir: str | os.PathLike[str], *, device: str | None = None) -> "LoRAPolicy":
        """Rebuild a saved policy (base model named in its config + adapter + value head)."""
        d = Path(adapter_dir)
        cfg_file = next((d / n for n in (CONFIG_FILE, _LEGACY_CONFIG_FILE) if (d / n).is_file()), None)
        if cfg_file is None:
            raise DataNotFoundError(f"{d} is not a LoRA policy folder (no {CONFIG_FILE})")
        raw = json.loads(cfg_file.read_text())
        names = {f.name for f in fields(LoRAPolicyConfig)}
        raw = {k: v for k, v in raw.items() if k in names}  # a legacy file also holds the trainer's settings
        if device:
            raw["device"] = device
        return cls(LoRAPolicyConfig(**raw), seed=0, adapter_dir=d)


def pad_batch(prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], *, pad_id: int,
              device: str) -> TokenBatch:
    """Left-pad prompts to P, right-pad responses to T (at least 1); positions count only real tokens."""
    import torch

    p = max(len(x) for x in prompts)
    t = max(1, max(len(r) for r in responses))
    rows, masks, rmask = [], [], []
    for pr, rs in zip(prompts, responses):
        pr, rs = list(pr), list(rs)
        rows.append([pad_id] * (p - len(pr)) + pr + rs + [pad_id] * (t - len(rs)))
        masks.append([0] * (p - len(pr)) + [1] * (len(pr) + len(rs)) + [0] * (t - len(rs)))
        rmask.append([1] * len(rs) + [0] * (t - len(rs)))
    ids = torch.tensor(rows, dtype=torch.long, device=device)
    att = torch.tensor(masks, dtype=torch.long, device=device)
    pos = (att.cumsum(dim=1) - 1).clamp_min(0)
    return TokenBatch(input_ids=ids, attention_mask=att, position_ids=pos,
                      response_mask=torch.tensor(rmask, dtype=torch.float32, device=device))


def rollout(policy: LoRAPolicy, prompts: Sequence[LabelledPrompt], *, seed: int,
            parse: Callable[[str, Sequence[str]], str | None] = first_label_in) -> TokenRollout:
    """Sample one response per prompt from the policy (prompt i with seed ``seed + i``), parse its label with
    ``parse(text, prompt.labels)`` and score it (log-probs, reference log-probs, values, task reward)."""
    import torch

    cfg = policy.config
    backend = policy.backend
    prompt_ids, responses, texts, preds, rewards = [], [], [], [], []
    policy.model.eval()
    for i, ex in enumerate(prompts):
        ids = backend.encode_chat(list(ex.messages))
        gen = backend.generate_ids(ids, max_tokens=cfg.max_tokens, temperature=cfg.temperature, seed=seed + i,
                                   model=policy.model)
        body = gen.ids[:-1] if gen.hit_eos else gen.ids
        text = backend.tokenizer.decode(body, skip_special_tokens=True)
        pred = parse(text, ex.labels)
        prompt_ids.append(ids)
        responses.append(gen.ids if gen.ids else [backend.eos_ids[0]])
        texts.append(text)
        preds.append(pred)
        rewards.append(set_f1([pred] if pred else [], list(ex.gold)))
    batch = pad_batch(prompt_ids, responses, pad_id=backend.pad_id, device=cfg.device)
    rmask = batch.response_mask
    with torch.no_grad():
        logp_old, values_old = policy.forward(batch)
        logp_ref, _ = policy.forward(batch, use_adapter=False, with_values=False)
    return TokenRollout(batch=batch, logp_old=logp_old * rmask, logp_ref=logp_ref * rmask,
                        values_old=values_old * rmask,
                        task_reward=torch.tensor(rewards, dtype=torch.float32, device=cfg.device),
                        texts=tuple(texts), preds=tuple(preds))


__all__ = ["CONFIG_FILE", "LabelledPrompt", "LoRAPolicy", "LoRAPolicyConfig", "TokenBatch", "TokenRollout",
           "pad_batch", "rollout"]
