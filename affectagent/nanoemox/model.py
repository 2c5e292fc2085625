"""Nano-EmoX (§3.1): four perception branches + heterogeneous adapters + a small LM with LoRA.

    model = NanoEmoX(config=NanoEmoXConfig())                         # SmolLM2-135M-Instruct by default
    text = model.answer(inputs, "mer")                                 # inputs: nanoemox.inputs.SampleInputs
    parsed = model.predict(inputs, "mer")                              # TaskAnswer (label, fallback, ...)
    model.save("runs/nx/phase3/model"); model = load_nanoemox("runs/nx/phase3/model")

Sequence fed to the LM (one sample):
    [chat prefix .. "<|im_start|>user\\n"] [visual 32] [face 4] [speech 32] [fusion 1] [prompt text .. assistant\\n]
    [answer .. <|im_end|>]
Streams a sample lacks are left out (a text-only MELD utterance has no multimodal token at all); the fusion token needs
speech and face together. The loss is the mean cross-entropy over answer tokens (Eq. 4); only the last T + 1 logits
of each left-padded row are computed.

Parameter groups (``GROUPS``) and what each P2E phase trains (``PHASE_GROUPS``; the LM's own weights never train):
    face      face branch (level alignment, MLP fusion, Temporal Modeling)
    visual    visual Q-Former                speech    speech Q-Former
    adapters  face / visual / speech adapters to the LM width
    fusion    hierarchical fusion experts + gate + the fusion adapter
    lora      the LM's LoRA adapter
    phase 1 = face, visual, speech, adapters ("adapters" in the paper's sense: everything that maps a frozen
              encoder into the LM, as the official code's phase 1 trains the Q-Formers and the face branch)
    phase 2 = phase 1 + fusion;  phase 3 = phase 2 + lora;  joint (Jo-T) = all of them from the start.

Shape legend: B batch · N_i multimodal tokens of sample i · L sequence · T answer tokens · H LM width · V vocabulary
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DataNotFoundError, InputError
from .adapters import HeterogeneousAdapters
from .config import NanoEmoXConfig
from .face import FaceBranch
from .fusion_experts import HierarchicalFusion
from .inputs import SampleInputs, StreamInputs
from .layers import gate_parameter_names
from .lm import LanguageModel, left_pad
from .speech import SpeechBranch
from .tasks import SYSTEM_PROMPT, TASKS, PromptStyle, TaskAnswer, inference_prompt, parse_answer
from .visual import VisualBranch

GROUPS: tuple[str, ...] = ("face", "visual", "speech", "adapters", "fusion", "lora")
PHASE_GROUPS: Mapping[str, tuple[str, ...]] = {
    "1": ("face", "visual", "speech", "adapters"),
    "2": ("face", "visual", "speech", "adapters", "fusion"),
    "3": GROUPS,
    "joint": GROUPS,
}
CONFIG_FILE = "nanoemox_config.json"
WEIGHTS_FILE = "weights.pt"
FORMAT = "affectagent-nanoemox/1"


@dataclass
class EncodedExample:
    """One example tokenised for the LM: ids before / after the multimodal tokens, answer ids (with the end-of-turn
    id; empty for generation) and the sample's streams."""

    prefix: list[int]
    suffix: list[int]
    target: list[int]
    streams: StreamInputs


@dataclass
class LossOutput:
    """loss: mean cross-entropy over answer tokens (scalar); tokens: answer tokens counted; fusion_weights: (B_f, E)
    gate weights of the samples that had a fusion token (None if none did)."""

    loss: torch.Tensor
    tokens: int
    fusion_weights: torch.Tensor | None


def _pad_frames(arrays: Sequence[np.ndarray], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(T_i, D) arrays -> (B, T, D) float32 zeros-padded + (B, T) bool mask."""
    longest = max(len(a) for a in arrays)
    d = arrays[0].shape[1]
    out = np.zeros((len(arrays), longest, d), np.float32)
    mask = np.zeros((len(arrays), longest), bool)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = a
        mask[i, :len(a)] = True
    return torch.from_numpy(out).to(device), torch.from_numpy(mask).to(device)


def _clip_middle(ids: list[int], limit: int, *, head: int = 24) -> list[int]:
    """At most ``limit`` ids: the first ``head`` (the task identifier) and the last ``limit - head`` (the question)."""
    if len(ids) <= limit:
        return ids
    head = min(head, limit // 2)
    return ids[:head] + ids[len(ids) - (limit - head):]


class NanoEmoX(nn.Module):
    """The model (see module docstring). ``lm`` lets tests and trainers share one loaded LM."""

    def __init__(self, *, config: NanoEmoXConfig, lm: LanguageModel | None = None) -> None:
        super().__init__()
        self.config = config
        self.lm = lm if lm is not None else LanguageModel(config=config.lm)
        h = self.lm.hidden_size
        self.face = FaceBranch(config=config.face)
        self.visual = VisualBranch(config=config.visual)
        self.speech = SpeechBranch(config=config.speech)
        self.fusion = HierarchicalFusion(config=config.fusion, visual_dims=config.visual_level_dims())
        dims = {"face": config.face.dim, "visual": config.visual.qformer.dim, "speech": config.speech.qformer.dim,
                "fusion": config.fusion.dim}
        self.adapters = HeterogeneousAdapters(config=config.adapters, dims=dims, lm_width=h,
                                              embedding_rms=self.lm.embedding_rms())
        device = self.lm.device
        for name in ("face", "visual", "speech", "fusion", "adapters"):
            getattr(self, name).to(device)
        self.style = PromptStyle()
        self.max_prompt_tokens = 384
        self.max_target_tokens = 160

    # -- parameters ------------------------------------------------------------------------------------------------
    def parameter_groups(self) -> dict[str, list[tuple[str, nn.Parameter]]]:
        """``{group: [(qualified name, parameter)]}`` for every trainable-in-some-phase parameter (``GROUPS``)."""
        groups: dict[str, list[tuple[str, nn.Parameter]]] = {g: [] for g in GROUPS}
        for name in ("face", "visual", "speech", "fusion"):
            groups[name] = [(f"{name}.{n}", p) for n, p in getattr(self, name).named_parameters()]
        for stream, module in self.adapters.adapters.items():
            group = "fusion" if stream == "fusion" else "adapters"
            groups[group] += [(f"adapters.adapters.{stream}.{n}", p) for n, p in module.named_parameters()]
        groups["lora"] = [(f"lm.model.{n}", p) for n, p in self.lm.lora_named_parameters()]
        return groups

    def set_trainable(self, groups: Sequence[str]) -> list[str]:
        """requires_grad on exactly the parameters of ``groups`` (everything else frozen); returns their names."""
        unknown = set(groups) - set(GROUPS)
        if unknown:
            raise InputError(f"unknown parameter group(s) {', '.join(sorted(unknown))}; groups: {', '.join(GROUPS)}")
        for p in self.parameters():
            p.requires_grad_(False)
        names = []
        for g, params in self.parameter_groups().items():
            if g in groups:
                for n, p in params:
                    p.requires_grad_(True)
                    names.append(n)
        return names

    def gate_names(self) -> set[str]:
        """Qualified names of every zero-initialised tanh-gate parameter (the trainer gives them their own lr)."""
        out: set[str] = set()
        for name in ("face", "visual", "speech", "fusion"):
            out |= {f"{name}.{n}" for n in gate_parameter_names(getattr(self, name))}
        return out

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Detached copies of every parameter in ``GROUPS`` (the checkpoint: the base LM is never saved)."""
        return {n: p.detach().clone() for params in self.parameter_groups().values() for n, p in params}

    def load_trainable_state(self, state: Mapping[str, torch.Tensor]) -> None:
        own = {n: p for params in self.parameter_groups().values() for n, p in params}
        missing, unexpected = set(own) - set(state), set(state) - set(own)
        if missing or unexpected:
            raise InputError(f"checkpoint does not fit this model: {len(missing)} missing "
                             f"({', '.join(sorted(missing)[:3])}...), {len(unexpected)} unexpected "
                             f"({', '.join(sorted(unexpected)[:3])}...); was it written with another configuration?")
        with torch.no_grad():
            for n, p in own.items():
                if tuple(state[n].shape) != tuple(p.shape):
                    raise InputError(f"checkpoint tensor {n} has shape {tuple(state[n].shape)}, the model "
                                     f"{tuple(p.shape)}")
                p.copy_(state[n].to(p.dtype))

    # -- streams ---------------------------------------------------------------------------------------------------
    def stream_tokens(self, streams: Sequence[StreamInputs]) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """Per sample the (N_i, H) multimodal tokens in ``inputs.STREAM_ORDER`` (N_i = 0 when it has no stream),
        and the fusion gate weights (B_f, E) of the samples with a fusion token."""
        device, dtype, h = self.lm.device, self.lm.dtype, self.lm.hidden_size
        per: list[list[torch.Tensor]] = [[] for _ in streams]
        vis = [i for i, s in enumerate(streams) if s.scene is not None]
        if vis:
            frames, mask = _pad_frames([streams[i].scene for i in vis], device)
            toks = self.adapters(stream="visual", x=self.visual(frames=frames, mask=mask))
            for j, i in enumerate(vis):
                per[i].append(toks[j])
        face = [i for i, s in enumerate(streams) if s.face_levels is not None]
        if face:
            padded = [_pad_frames([streams[i].face_levels[k] for i in face], device)
                      for k in range(len(self.config.face.level_dims))]
            mask = padded[0][1]
            toks = self.adapters(stream="face", x=self.face(levels=[x for x, _ in padded], mask=mask))
            for j, i in enumerate(face):
                per[i].append(toks[j])
        sp = [i for i, s in enumerate(streams) if s.speech is not None]
        if sp:
            frames, mask = _pad_frames([streams[i].speech for i in sp], device)
            toks = self.adapters(stream="speech", x=self.speech(frames=frames, mask=mask))
            for j, i in enumerate(sp):
                per[i].append(toks[j])
        both = [i for i in sp if streams[i].face_levels is not None]
        weights = None
        if both:
            speech, smask = _pad_frames([streams[i].speech for i in both], device)
            levels = [_pad_frames([streams[i].face_levels[k] for i in both], device)
                      for k in self.config.fusion.visual_levels]
            out = self.fusion(speech=speech, speech_mask=smask, visual=[x for x, _ in levels],
                              visual_mask=levels[0][1])
            toks = self.adapters(stream="fusion", x=out.embedding).unsqueeze(1)  # (B_f, 1, H)
            for j, i in enumerate(both):
                per[i].append(toks[j])
            weights = out.weights
        tokens = [torch.cat(p, dim=0).to(dtype) if p else torch.zeros(0, h, dtype=dtype, device=device)
                  for p in per]
        return tokens, weights

    # -- sequences -------------------------------------------------------------------------------------------------
    def encode_example(self, *, prompt: str, streams: StreamInputs, target: str | None = None) -> EncodedExample:
        prefix, suffix = self.lm.prompt_parts(system=SYSTEM_PROMPT, user=prompt)
        suffix = _clip_middle(suffix, max(8, self.max_prompt_tokens - len(prefix)))
        tgt = self.lm.target_ids(target)[: self.max_target_tokens] if target is not None else []
        return EncodedExample(prefix=prefix, suffix=suffix, target=tgt, streams=streams)

    def _sequences(self, examples: Sequence[EncodedExample]) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        device = self.lm.device
        mm, weights = self.stream_tokens([e.streams for e in examples])
        seqs = []
        for e, toks in zip(examples, mm):
            ids = torch.tensor(e.prefix, dtype=torch.long, device=device)
            rest = torch.tensor(e.suffix + e.target, dtype=torch.long, device=device)
            seqs.append(torch.cat([self.lm.embed(ids), toks, self.lm.embed(rest)], dim=0))
        return seqs, weights

    def loss(self, examples: Sequence[EncodedExample], *, use_lora: bool = True) -> LossOutput:
        """Mean cross-entropy over the answer tokens of ``examples`` (each needs a target)."""
        if not examples or any(not e.target for e in examples):
            raise InputError("loss needs examples with targets")
        seqs, weights = self._sequences(examples)
        emb, mask = left_pad(seqs, width=self.lm.hidden_size, dtype=self.lm.dtype, device=self.lm.device)
        t = max(len(e.target) for e in examples)
        labels = torch.full((len(examples), t), -100, dtype=torch.long, device=self.lm.device)
        for i, e in enumerate(examples):
            labels[i, t - len(e.target):] = torch.tensor(e.target, dtype=torch.long)
        logits = self.lm.answer_logits(inputs_embeds=emb, attention_mask=mask, answer_len=t, use_lora=use_lora)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        return LossOutput(loss=loss, tokens=int((labels != -100).sum()), fusion_weights=weights)

    @torch.no_grad()
    def generate(self, examples: Sequence[EncodedExample], *, max_new_tokens: int | None = None) -> list[str]:
        """Greedy answers to ``examples`` (their targets are ignored)."""
        stripped = [EncodedExample(e.prefix, e.suffix, [], e.streams) for e in examples]
        seqs, _ = self._sequences(stripped)
        emb, mask = left_pad(seqs, width=self.lm.hidden_size, dtype=self.lm.dtype, device=self.lm.device)
        was_training = self.training
        self.eval()
        try:
            ids = self.lm.generate(inputs_embeds=emb, attention_mask=mask,
                                   max_new_tokens=max_new_tokens or self.config.lm.max_new_tokens)
        finally:
            self.train(was_training)
        return [self.lm.decode(r) for r in ids]

    # -- the library entry point -----------------------------------------------------------------------------------
    def answer(self, sample_inputs: SampleInputs, task: str, *, options: Sequence[str] = (),
               max_new_tokens: int | None = None) -> str:
        """The generated answer text for ``task`` (one of ``tasks.TASKS``) on one sample."""
        return self._answer(sample_inputs, task, options=options, max_new_tokens=max_new_tokens)[0]

    def predict(self, sample_inputs: SampleInputs, task: str, *, options: Sequence[str] = (),
                max_new_tokens: int | None = None) -> TaskAnswer:
        """``answer`` parsed into a ``TaskAnswer`` (never raises on a malformed generation: ``fallback`` says so)."""
        text, opts = self._answer(sample_inputs, task, options=options, max_new_tokens=max_new_tokens)
        return parse_answer(task, text, options=opts)

    def task_budget(self, task: str) -> int:
        """New tokens generated for ``task``: ERG's think + reply, ERI's sentence, 16 for a label."""
        lm = self.config.lm
        return {"erg": lm.reply_max_new_tokens, "eri": lm.max_new_tokens}.get(task, 16)

    def _answer(self, inputs: SampleInputs, task: str, *, options: Sequence[str],
                max_new_tokens: int | None) -> tuple[str, tuple[str, ...]]:
        if task not in TASKS:
            raise InputError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
        prompt, opts = inference_prompt(task, text=inputs.text, context=inputs.context, speaker=inputs.speaker,
                                        modalities=inputs.streams.modalities, options=options, style=self.style)
        ex = self.encode_example(prompt=prompt, streams=inputs.streams)
        budget = max_new_tokens or self.task_budget(task)
        return self.generate([ex], max_new_tokens=budget)[0], opts

    # -- files -----------------------------------------------------------------------------------------------------
    def save(self, out_dir: str | os.PathLike[str], *, meta: Mapping | None = None,
             dtype: str = "float32") -> Path:
        """Write config + trainable weights (never the base LM) atomically to ``out_dir``; ``dtype="float16"``
        halves the file for shipping (loading casts back to the model's dtype)."""
        if dtype not in ("float32", "float16", "bfloat16"):
            raise InputError(f"weights dtype must be float32, float16 or bfloat16, got {dtype!r}")
        out = Path(out_dir)
        from ..paths import atomic_directory

        with atomic_directory(out) as tmp:
            (tmp / CONFIG_FILE).write_text(json.dumps({"format": FORMAT, "config": self.config.to_dict(),
                                                       "meta": dict(meta or {})}, indent=2, default=str) + "\n")
            state = {k: v.to(getattr(torch, dtype)) for k, v in self.trainable_state().items()}
            torch.save({"format": FORMAT, "state": state}, tmp / WEIGHTS_FILE)
            os.chmod(tmp, 0o755)
        return out


def read_model_config(checkpoint_dir: str | os.PathLike[str]) -> tuple[NanoEmoXConfig, dict]:
    d = Path(checkpoint_dir)
    f = d / CONFIG_FILE
    if not f.is_file():
        raise DataNotFoundError(f"{d} is not a Nano-EmoX checkpoint (no {CONFIG_FILE}); train one with "
                                "`affectagent train nanoemox --phase 1 --out DIR`")
    raw = json.loads(f.read_text())
    if raw.get("format") != FORMAT:
        raise InputError(f"{f}: unknown format {raw.get('format')!r} (expected {FORMAT})")
    try:
        return NanoEmoXConfig.from_dict(raw["config"]), dict(raw.get("meta") or {})
    except (TypeError, ValueError) as exc:
        raise InputError(f"{f}: bad configuration ({exc})") from None


def load_weights(model: NanoEmoX, checkpoint_dir: str | os.PathLike[str]) -> None:
    blob = torch.load(Path(checkpoint_dir) / WEIGHTS_FILE, map_location=model.lm.device, weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise InputError(f"{checkpoint_dir}/{WEIGHTS_FILE} is not a {FORMAT} weights file")
    model.load_trainable_state(blob["state"])


def load_nanoemox(checkpoint_dir: str | os.PathLike[str], *, lm_model: str | None = None,
                  lm: LanguageModel | None = None) -> NanoEmoX:
    """A trained model from a folder written by ``NanoEmoX.save`` (the trainer's ``<out>/<phase>/model``).
    ``lm_model`` replaces the base LM named in the checkpoint (same architecture required); ``lm`` reuses a
    loaded one. Returned in eval mode."""
    from dataclasses import replace

    config, _ = read_model_config(checkpoint_dir)
    if lm_model:
        config = replace(config, lm=replace(config.lm, model=lm_model))
    model = NanoEmoX(config=config, lm=lm)
    load_weights(model, checkpoint_dir)
    model.eval()
    return model


__all__ = ["EncodedExample", "GROUPS", "LossOutput", "NanoEmoX", "PHASE_GROUPS", "load_nanoemox",
           "read_model_config"]
