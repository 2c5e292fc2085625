"""The neural shared actor: one trunk and three role heads (planner, evidence filter, generator) plus RAAF and MB-MoE.

The paper shares one MLLM between the three agents; here one small network plays that part: a shared trunk (modality
projections, face temporal pooling, the evidence token encoder) and one head per role, each in the file named after
its role (``planner.py``, ``evidence_filter.py``, ``generator.py``) together with its action distribution (actions with
log-probabilities and entropies, so SFT and MAPPO share one code path) and its explanation.

Shape legend: B batch · C labels · N evidence · K perceptual neighbours · D width (``dim``) · Ta/Tv audio/face tokens
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..fusion import MBMoE, RAAF, TemporalQueryPool
from ..fusion.masked import masked_mean
from ..schema import CANONICAL_EMOTIONS
from .evidence_filter import FilterHead
from .generator import GeneratorHead
from .layers import mlp
from .observation import BRANCHES, KIND_INDEX, EvidenceBatch, FeatureSpec, Observation, PerceptualBatch
from .planner import PlannerHead

# State-dict names of checkpoints saved before the role heads had modules of their own (the shipped default).
LEGACY_KEYS: tuple[tuple[str, str], ...] = (
    ("plan_head.", "planner.proj."), ("filter_head.", "evidence_filter.mlp."), ("ev_attn.", "generator.attn."),
    ("gen_head.", "generator.label_mlp."), ("sent_head.", "generator.sentiment_mlp."),
)


# Parameters added after the first checkpoints shipped: the unimodal branches' weights (planner and generator).
BRANCH_GAINS: tuple[str, ...] = ("planner.branch_gain", "generator.branch_gain", "planner.branch_gain_face",
                                  "generator.branch_gain_face")


def upgrade_state_dict(state: dict) -> dict:
    """Rename legacy head parameters (``LEGACY_KEYS``) and give checkpoints from before a branch zero gains for it
    (``BRANCH_GAINS``, padded to ``BRANCHES``: a branch added later — the face branch — is then ignored, as it was);
    other keys unchanged."""
    out = {}
    for k, v in state.items():
        for old, new in LEGACY_KEYS:
            if k.startswith(old):
                k = new + k[len(old):]
                break
        out[k] = v
    for name in BRANCH_GAINS:
        g = out.get(name, torch.zeros(0))
        if len(g) < len(BRANCHES):
            out[name] = torch.cat([g, torch.zeros(len(BRANCHES) - len(g), dtype=g.dtype)])
    return out


@dataclass(frozen=True)
class ActorConfig:
    """dim: hidden width; experts/top_k: MB-MoE; heads: attention heads; dropout: trunk dropout;
    vote_temperature: softmax temperature over evidence similarities for the evidence label vote."""

    dim: int = 192
    experts: int = 4
    top_k: int = 2
    heads: int = 4
    dropout: float = 0.2
    vote_temperature: float = 0.05

    def __post_init__(self) -> None:
        if self.dim % self.heads:
            raise ValueError("dim must be divisible by heads")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must be in [0, 1)")


@dataclass
class FusionOut:
    """audio/visual: (B, D) pooled fused representations; routing: (B, E); gate_audio/gate_visual: (B,);
    filled_audio/filled_visual: (B,) bool; aux_loss: scalar MB-MoE load-balance loss."""

    audio: torch.Tensor
    visual: torch.Tensor
    routing: torch.Tensor
    gate_audio: torch.Tensor
    gate_visual: torch.Tensor
    filled_audio: torch.Tensor
    filled_visual: torch.Tensor
    aux_loss: torch.Tensor


class SharedActor(nn.Module):
    def __init__(self, *, spec: FeatureSpec, config: ActorConfig = ActorConfig()) -> None:
        super().__init__()
        self.spec, self.config = spec, config
        d, c, p = config.dim, len(CANONICAL_EMOTIONS), config.dropout
        # Construction order = parameter-initialisation order (kept fixed so a seed gives the same initial network).
        # modality projections
        self.text_proj = nn.Sequential(nn.Dropout(p), nn.Linear(spec.text_dim, d))
        self.ctx_proj = nn.Sequential(nn.Dropout(p), nn.Linear(spec.text_dim, d))
        self.audio_proj = nn.Sequential(nn.Linear(spec.audio_dim, d), nn.GELU(), nn.Linear(d, d))
        self.aseq_proj = nn.Linear(spec.aseq_dim, d)
        self.fseq_proj = nn.Sequential(nn.Linear(spec.face_dim, d), nn.GELU(), nn.Linear(d, d))
        self.visual_proj = nn.Linear(spec.visual_dim, d)
        self.face_pool = TemporalQueryPool(dim=d, queries=2, heads=config.heads)
        self.trunk = nn.Sequential(nn.LayerNorm(6 * d + 4), mlp(6 * d + 4, 2 * d, d, p), nn.GELU())
        self.planner = PlannerHead(dim=d, labels=c)
        # evidence token encoder (shared by the filter and the generator)
        self.ev_proj = nn.Linear(spec.text_dim, d)
        self.label_emb = nn.Embedding(c + 1, d)  # index c = "no label"
        self.kind_emb = nn.Embedding(len(KIND_INDEX), d)
        self.evidence_filter = FilterHead(dim=d, dropout=p)
        # fusion
        self.raaf_audio = RAAF(dim=d, heads=config.heads)
        self.raaf_visual = RAAF(dim=d, heads=config.heads)
        self.moe = MBMoE(dim=d, experts=config.experts, top_k=config.top_k)
        self.generator = GeneratorHead(dim=d, heads=config.heads, dropout=p, vote_temperature=config.vote_temperature)

    # ---- state -------------------------------------------------------------------------------------------------
    def _tokens(self, obs: Observation) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Audio tokens = [utterance descriptor ; frame sequence]; visual tokens = [scene descriptor ; face frames]."""
        a_tok = torch.cat([self.audio_proj(obs.audio).unsqueeze(1), self.aseq_proj(obs.aseq)], dim=1)
        a_mask = torch.cat([obs.audio_on.unsqueeze(1), obs.aseq_mask & obs.audio_on.unsqueeze(1)], dim=1)
        v_tok = torch.cat([self.visual_proj(obs.visual).unsqueeze(1), self.fseq_proj(obs.fseq)], dim=1)
        v_mask = torch.cat([obs.visual_on.unsqueeze(1), obs.fseq_mask], dim=1)
        return a_tok, a_mask, v_tok, v_mask

    def state(self, obs: Observation) -> torch.Tensor:
        """(B, D) shared state every role conditions on."""
        a_tok, a_mask, v_tok, v_mask = self._tokens(obs)
        a = masked_mean(a_tok, a_mask)
        face = self.face_pool(x=self.fseq_proj(obs.fseq), mask=obs.fseq_mask).mean(dim=1) * obs.fseq_mask.any(1, keepdim=True)
        v = masked_mean(v_tok, v_mask)
        t = self.text_proj(obs.text) * obs.text_on.unsqueeze(1)
        cx = self.ctx_proj(obs.ctx) * obs.ctx_on.unsqueeze(1)
        flags = torch.stack([obs.text_on, obs.ctx_on, obs.audio_on, obs.visual_on], dim=1).float()
        return self.trunk(torch.cat([t, cx, a, v, face, t * cx, flags], dim=1))

    # ---- role heads -------------------------------------------------------------------------------------------
    def plan_logits(self, h: torch.Tensor, cand: torch.Tensor, branch: torch.Tensor | None = None,
                    face: torch.Tensor | None = None) -> torch.Tensor:
        return self.planner(h, cand, branch, face)

    def _label_tokens(self, ev: EvidenceBatch) -> torch.Tensor:
        lab = ev.label.clone()
        lab[lab < 0] = len(CANONICAL_EMOTIONS)
        return self.label_emb(lab)

    def _evidence_tokens(self, ev: EvidenceBatch) -> torch.Tensor:
        return self.ev_proj(ev.emb) + self._label_tokens(ev) + self.kind_emb(ev.kind)

    def filter_logits(self, h: torch.Tensor, ev: EvidenceBatch, support: torch.Tensor) -> torch.Tensor:
        """(B, N) keep logits; ``support`` (B,) is the planner's hypothesis label index."""
        return self.evidence_filter(h, self._evidence_tokens(ev), self._label_tokens(ev), ev, support)

    # ---- fusion ------------------------------------------------------------------------------------------------
    def fuse(self, obs: Observation, perc: PerceptualBatch, *, use_raaf: bool = True, use_moe: bool = True) -> FusionOut:
        a_tok, a_mask, v_tok, v_mask = self._tokens(obs)
        r_a = self.audio_proj(perc.audio)
        r_v = self.fseq_proj(perc.visual)
        ra = self.raaf_audio(x=a_tok, x_mask=a_mask, r=r_a, r_mask=perc.audio_mask, present=obs.audio_on,
                             use_retrieval=use_raaf)
        rv = self.raaf_visual(x=v_tok, x_mask=v_mask, r=r_v, r_mask=perc.visual_mask, present=obs.visual_on,
                              use_retrieval=use_raaf)
        b = obs.batch
        if use_moe:
            moe = self.moe(xa=ra.x, xa_mask=ra.mask, xv=rv.x, xv_mask=rv.mask)
            xa, xv, routing, aux = moe.xa, moe.xv, moe.weights, moe.aux_loss
        else:
            xa, xv = ra.x, rv.x
            routing, aux = obs.text.new_zeros(b, len(self.moe.experts)), obs.text.new_zeros(())
        return FusionOut(audio=masked_mean(xa, ra.mask), visual=masked_mean(xv, rv.mask), routing=routing,
                         gate_audio=ra.gate, gate_visual=rv.gate, filled_audio=ra.filled, filled_visual=rv.filled,
                         aux_loss=aux)

    def evidence_vote(self, ev: EvidenceBatch, keep: torch.Tensor) -> torch.Tensor:
        return self.generator.evidence_vote(ev, keep)

    def generate_logits(
        self, h: torch.Tensor, ev: EvidenceBatch, keep: torch.Tensor, fused: FusionOut, cand: torch.Tensor,
        branch: torch.Tensor | None = None, face: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns label logits (B, C) masked to candidates, sentiment logits (B, 3), evidence attention (B, N);
        ``branch`` (B, M, C): the unimodal branches' centred log-posteriors (``Observation.branch``); ``face`` (B,):
        rows with a face (``Observation.fseq_mask.any(1)``), which select the branch weight."""
        return self.generator(h, self._evidence_tokens(ev), ev, keep, fused.audio, fused.visual, cand, branch, face)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # noqa: D401 - nn.Module API
        """``nn.Module.load_state_dict`` that also reads older checkpoints (``upgrade_state_dict``)."""
        return super().load_state_dict(upgrade_state_dict(dict(state_dict)), strict=strict, assign=assign)

    def describe(self) -> dict:
        return {"spec": asdict(self.spec), "config": asdict(self.config)}
