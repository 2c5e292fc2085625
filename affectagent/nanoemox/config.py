"""Typed configuration of every Nano-EmoX size: branches, fusion, adapters and the language model.

The defaults are the CPU scale this project trains on 2 cores (branch width 256, SmolLM2-135M-Instruct); a GPU user
scales up by configuration only, e.g. ``NanoEmoXConfig(lm=LMConfig(model="qwen-1.5b"), fusion=FusionConfig(dim=512,
heads=8))``. Token counts follow the paper (§4.1): visual 32, speech 32, face 4, fusion 1. Every ``__post_init__``
validates its fields (``ValueError``; the CLI turns it into a one-line error).

Encoder widths (``in_dim`` / ``level_dims`` / ``speech_dim``) match what ``nanoemox.features`` extracts offline:
  face frames   4 levels (32, 64, 128, 256): global-average-pooled outputs of the 4 stages of our FER2013 CNN
  scene frames  13: the 12 per-frame scene statistics of ``encoders.visual`` + luma motion to the previous frame
  speech frames 384: Whisper tiny.en encoder states (CTranslate2 ``encode``), 50 per second
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Mapping

LORA_TARGETS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _positive(owner: str, **values: float) -> None:
    bad = [k for k, v in values.items() if not v > 0]
    if bad:
        raise ValueError(f"{owner}: these settings must be > 0: {', '.join(bad)}")


def _divisible(owner: str, dim: int, heads: int) -> None:
    if dim % heads:
        raise ValueError(f"{owner}: dim {dim} is not divisible by heads {heads}")


def _dropout(owner: str, p: float) -> None:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{owner}: dropout must be in [0, 1), got {p}")


@dataclass(frozen=True)
class QFormerConfig:
    """A Q-Former resampler (learned queries; self-attention, cross-attention to the frames, FFN per layer).

    queries: output tokens (paper: 32).
    layers: Q-Former layers (paper: 2). Layer 1's cross-attention is always open; deeper layers' cross-attention
        residuals pass through a zero-initialised tanh gate, so each extra layer starts as identity.
    dim: width of the queries.
    heads: attention heads.
    ffn_mult: FFN hidden width = ffn_mult * dim.
    max_frames: temporal position embeddings (longer inputs are average-pooled down to this many frames).
    dropout: attention / FFN dropout.
    """

    queries: int = 32
    layers: int = 2
    dim: int = 256
    heads: int = 4
    ffn_mult: int = 2
    max_frames: int = 512
    dropout: float = 0.0

    def __post_init__(self) -> None:
        _positive("QFormerConfig", queries=self.queries, layers=self.layers, dim=self.dim, heads=self.heads,
                  ffn_mult=self.ffn_mult, max_frames=self.max_frames)
        _divisible("QFormerConfig", self.dim, self.heads)
        _dropout("QFormerConfig", self.dropout)


@dataclass(frozen=True)
class FaceBranchConfig:
    """Enhanced face modelling: multi-scale per-frame features -> MLP fusion -> Temporal Modeling -> face tokens.

    level_dims: widths of the per-frame feature levels (our FER CNN's 4 stages: 32, 64, 128, 256).
    dim: width after aligning each level and fusing them.
    queries: learnable temporal query tokens = face tokens (paper: 4).
    heads: heads of the temporal cross-attention (official code: 4).
    max_frames: temporal position embeddings (longer tracks are average-pooled down to this many frames).
    dropout: dropout in the MLP fusion.
    """

    level_dims: tuple[int, ...] = (32, 64, 128, 256)
    dim: int = 256
    queries: int = 4
    heads: int = 4
    max_frames: int = 64
    dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "level_dims", tuple(int(d) for d in self.level_dims))
        if not self.level_dims or min(self.level_dims) < 1:
            raise ValueError("FaceBranchConfig: level_dims must name at least one positive width")
        _positive("FaceBranchConfig", dim=self.dim, queries=self.queries, heads=self.heads,
                  max_frames=self.max_frames)
        _divisible("FaceBranchConfig", self.dim, self.heads)
        _dropout("FaceBranchConfig", self.dropout)


@dataclass(frozen=True)
class VisualBranchConfig:
    """Scene visual perception: per-frame scene features -> 2-layer Q-Former -> visual tokens.

    in_dim: width of one frame's scene features (13, see module docstring).
    qformer: the resampler (32 tokens).
    """

    in_dim: int = 13
    qformer: QFormerConfig = field(default_factory=QFormerConfig)

    def __post_init__(self) -> None:
        _positive("VisualBranchConfig", in_dim=self.in_dim)


@dataclass(frozen=True)
class SpeechBranchConfig:
    """Speech perception: speech-encoder frame states -> 2-layer Q-Former -> speech tokens.

    in_dim: width of one speech frame (Whisper tiny.en encoder: 384).
    qformer: the resampler (32 tokens).
    """

    in_dim: int = 384
    qformer: QFormerConfig = field(default_factory=QFormerConfig)

    def __post_init__(self) -> None:
        _positive("SpeechBranchConfig", in_dim=self.in_dim)


@dataclass(frozen=True)
class FusionConfig:
    """Cross-modal hierarchical expert fusion: one expert per visual depth, speech frames as queries.

    speech_dim: width of the speech frames (the queries of every expert; projection shared across experts).
    visual_levels: which face-feature levels (indices into ``FaceBranchConfig.level_dims``) are the visual depths,
        low to high, one expert each (default: FER CNN stages 2, 3, 4 = three encoder depths).
    dim: expert width (official code: 512).
    heads: cross-attention heads (official code: 8 at width 512).
    ffn_mult: expert FFN hidden width = ffn_mult * dim.
    gate_hidden: hidden width of the 2-layer GELU gate over the experts.
    dropout: attention / FFN / gate dropout.
    """

    speech_dim: int = 384
    visual_levels: tuple[int, ...] = (1, 2, 3)
    dim: int = 256
    heads: int = 4
    ffn_mult: int = 2
    gate_hidden: int = 256
    dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "visual_levels", tuple(int(i) for i in self.visual_levels))
        if len(self.visual_levels) < 1 or min(self.visual_levels) < 0:
            raise ValueError("FusionConfig: visual_levels must list at least one non-negative level index")
        _positive("FusionConfig", speech_dim=self.speech_dim, dim=self.dim, heads=self.heads,
                  ffn_mult=self.ffn_mult, gate_hidden=self.gate_hidden)
        _divisible("FusionConfig", self.dim, self.heads)
        _dropout("FusionConfig", self.dropout)

    @property
    def experts(self) -> int:
        return len(self.visual_levels)


@dataclass(frozen=True)
class AdapterConfig:
    """Heterogeneous adapters from each stream to the LM width.

    face_hidden: hidden width of the face adapter (2-layer GELU MLP, as the official face branch); 0 = the LM width.
    dropout: dropout inside the face adapter.
    match_embedding_scale: end every adapter in an RMS normalisation whose learned gain starts at the RMS of the LM's
        token embeddings, so injected tokens start on the scale of text tokens.
    """

    face_hidden: int = 0
    dropout: float = 0.0
    match_embedding_scale: bool = True

    def __post_init__(self) -> None:
        if self.face_hidden < 0:
            raise ValueError("AdapterConfig: face_hidden must be >= 0")
        _dropout("AdapterConfig", self.dropout)


@dataclass(frozen=True)
class LMConfig:
    """The language backbone and its LoRA adapter.

    model: packaged alias (smollm2-135m, qwen-0.5b, qwen-1.5b) or a local transformers causal-LM folder.
    dtype: weight dtype (float32 is the fast one on most CPUs; time bfloat16 before using it).
    lora_r: LoRA rank (paper and official code: 16).
    lora_alpha: LoRA alpha (official code: 32; the paper's figure: 64); the update is scaled by alpha / r.
    lora_dropout: dropout on the LoRA input (official code: 0.05).
    lora_targets: projections that get a LoRA adapter (Llama/Qwen names).
    max_new_tokens: default generation budget of ``NanoEmoX.answer`` (ERI; label tasks use 16 tokens).
    reply_max_new_tokens: generation budget of ERG, whose <think> chain comes before the reply (its training
      targets run to ~160 tokens; 64 cut every reply off).
    """

    model: str = "smollm2-135m"
    dtype: str = "float32"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = LORA_TARGETS
    max_new_tokens: int = 64
    reply_max_new_tokens: int = 192

    def __post_init__(self) -> None:
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        _positive("LMConfig", lora_r=self.lora_r, lora_alpha=self.lora_alpha, max_new_tokens=self.max_new_tokens,
                  reply_max_new_tokens=self.reply_max_new_tokens)
        _dropout("LMConfig", self.lora_dropout)
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"LMConfig: dtype must be float32, bfloat16 or float16, got {self.dtype!r}")
        if not self.lora_targets:
            raise ValueError("LMConfig: lora_targets must name at least one module")
        if not self.model:
            raise ValueError("LMConfig: model must name a packaged alias or a folder")


@dataclass(frozen=True)
class NanoEmoXConfig:
    """The whole model.

    face / visual / speech: the perception branches.
    fusion: the hierarchical fusion experts (1 fusion token).
    adapters: projections of every stream to the LM width.
    lm: the language backbone + LoRA.
    """

    face: FaceBranchConfig = field(default_factory=FaceBranchConfig)
    visual: VisualBranchConfig = field(default_factory=VisualBranchConfig)
    speech: SpeechBranchConfig = field(default_factory=SpeechBranchConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    adapters: AdapterConfig = field(default_factory=AdapterConfig)
    lm: LMConfig = field(default_factory=LMConfig)

    def __post_init__(self) -> None:
        if max(self.fusion.visual_levels) >= len(self.face.level_dims):
            raise ValueError(f"FusionConfig.visual_levels {self.fusion.visual_levels} index face levels "
                             f"0..{len(self.face.level_dims) - 1}")
        if self.fusion.speech_dim != self.speech.in_dim:
            raise ValueError(f"FusionConfig.speech_dim {self.fusion.speech_dim} must equal the speech frames' width "
                             f"{self.speech.in_dim}")

    def visual_level_dims(self) -> tuple[int, ...]:
        """Widths of the visual depths the fusion experts read."""
        return tuple(self.face.level_dims[i] for i in self.fusion.visual_levels)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NanoEmoXConfig":
        return _build(cls, data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    """A (nested) frozen config from a dict written by ``to_dict`` (lists back to tuples, unknown keys rejected)."""
    import typing

    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name, raw in data.items():
        tp = hints[name]
        if is_dataclass(tp) and isinstance(raw, Mapping):
            values[name] = _build(tp, raw)
        elif isinstance(raw, list):
            values[name] = tuple(raw)
        else:
            values[name] = raw
    return cls(**values)


def build_config(cls: type, data: Mapping[str, Any]) -> Any:
    """Public form of the dict -> nested config builder (used for trainer configs too)."""
    return _build(cls, data)


__all__ = ["AdapterConfig", "FaceBranchConfig", "FusionConfig", "LMConfig", "LORA_TARGETS", "NanoEmoXConfig",
           "QFormerConfig", "SpeechBranchConfig", "VisualBranchConfig", "build_config"]
