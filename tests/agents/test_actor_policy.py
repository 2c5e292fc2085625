import torch

from affectagent.agents.actor import ActorConfig, SharedActor
from affectagent.agents.evidence_filter import filter_action
from affectagent.agents.generator import generate_action
from affectagent.agents.planner import plan_action
from affectagent.schema import CANONICAL_EMOTIONS

from .helpers import SPEC, random_batch


def _actor():
    torch.manual_seed(0)
    return SharedActor(spec=SPEC, config=ActorConfig(dim=16, heads=2, dropout=0.0)).eval()


def test_planner_only_proposes_candidate_labels_and_logprob_matches():
    obs, ev, perc = random_batch()
    actor = _actor()
    h = actor.state(obs)
    logits = actor.plan_logits(h, obs.cand)
    act = plan_action(logits, sample=True, generator=torch.Generator().manual_seed(1))
    allowed = {CANONICAL_EMOTIONS.index(x) for x in ("happy", "sad", "angry", "neutral")}
    assert set(act.support.tolist()) <= allowed and set(act.confusion.tolist()) <= allowed
    assert (act.support != act.confusion).all()
    again = plan_action(logits, sample=False, actions=(act.support, act.confusion))
    assert torch.allclose(again.log_prob, act.log_prob)
    # log p(s, c) = log p(s) + log p(c | not s)
    p = logits.softmax(-1)
    s, c = act.support[0], act.confusion[0]
    expect = torch.log(p[0, s]) + torch.log(p[0, c] / (1 - p[0, s]))
    assert torch.isclose(act.log_prob[0], expect, atol=1e-5)


def test_filter_and_generator_actions():
    obs, ev, perc = random_batch()
    actor = _actor()
    h = actor.state(obs)
    fl = actor.filter_logits(h, ev, torch.zeros(3, dtype=torch.long))
    fa = filter_action(fl, ev.mask, sample=False)
    assert fa.keep.shape == ev.mask.shape
    fused = actor.fuse(obs, perc)
    assert torch.allclose(fused.routing.sum(-1), torch.ones(3))
    gl, sl, attn = actor.generate_logits(h, ev, fa.keep | ev.mask, fused, obs.cand)
    ga = generate_action(gl, sample=False)
    assert torch.allclose(ga.probs.sum(-1), torch.ones(3))
    assert ga.probs[:, CANONICAL_EMOTIONS.index("fear")].max() < 1e-6  # not a candidate
    assert sl.shape == (3, 3)


def test_missing_audio_is_filled_from_perceptual_neighbours():
    obs, ev, perc = random_batch(audio=False)
    fused = _actor().fuse(obs, perc)
    assert fused.filled_audio.all() and not fused.filled_visual.any()
    fused_off = _actor().fuse(obs, perc, use_raaf=False)
    assert not fused_off.filled_audio.any()


def test_evidence_vote_weights_by_similarity():
    obs, ev, perc = random_batch()
    vote = _actor().evidence_vote(ev, ev.mask)
    assert torch.allclose(vote.sum(-1), torch.ones(3))
    none = _actor().evidence_vote(ev, torch.zeros_like(ev.mask))
    assert torch.all(none == 0)


def test_sequence_padding_is_trimmed_and_does_not_change_outputs():
    """A batch pads audio / face sequences only to its longest member; a longer neighbour in the batch (more
    padding for everyone else) leaves every other sample's state, fusion and logits unchanged."""
    import numpy as np

    from affectagent.agents.observation import build_observation
    from affectagent.schema import FeatureNorm, Features, ModalityMask

    rng = np.random.default_rng(0)

    def feat(ta, tv):
        return Features(text_emb=rng.normal(size=8).astype(np.float32), audio_emb=rng.normal(size=6).astype(np.float32),
                        audio_seq=rng.normal(size=(ta, 5)).astype(np.float32),
                        face_seq=rng.normal(size=(tv, 7)).astype(np.float32),
                        mask=ModalityMask(text=True, audio=True, visual=True))

    short = [feat(2, 1), feat(3, 2)]
    long = feat(SPEC.max_aseq + 5, SPEC.max_fseq + 3)
    labels = [("happy", "sad")] * 3
    obs_short = build_observation(short, ctx_embs=[None] * 2, label_sets=labels[:2], spec=SPEC, norm=FeatureNorm())
    obs_mixed = build_observation(short + [long], ctx_embs=[None] * 3, label_sets=labels, spec=SPEC, norm=FeatureNorm())
    assert obs_short.aseq.shape[1] == 3 and obs_short.fseq.shape[1] == 2
    assert obs_mixed.aseq.shape[1] == SPEC.max_aseq and obs_mixed.fseq.shape[1] == SPEC.max_fseq
    _, _, perc = random_batch(b=3)
    actor = _actor()
    with torch.no_grad():
        h1, h2 = actor.state(obs_short), actor.state(obs_mixed)[:2]
        assert torch.allclose(h1, h2, atol=1e-5)
        from affectagent.agents.observation import PerceptualBatch

        sub = PerceptualBatch(audio=perc.audio[:2], audio_mask=perc.audio_mask[:2], visual=perc.visual[:2],
                              visual_mask=perc.visual_mask[:2])
        f1, f2 = actor.fuse(obs_short, sub), actor.fuse(obs_mixed, perc)
        assert torch.allclose(f1.audio, f2.audio[:2], atol=1e-5) and torch.allclose(f1.visual, f2.visual[:2], atol=1e-5)
        assert torch.allclose(f1.routing, f2.routing[:2], atol=1e-5)
