"""The unimodal branches' posteriors reach the planner and the generator: the centred log-posterior on the label
axis, a learned gain per branch (0 in checkpoints from before it, which therefore answer exactly as they did)."""
import numpy as np
import torch

from affectagent.agents.actor import ActorConfig, SharedActor
from affectagent.agents.observation import BRANCHES, LABEL_INDEX, build_observation, branch_scores
from affectagent.schema import FeatureNorm, Features, ModalityMask

from .helpers import SPEC, random_batch


def test_branch_scores_are_centred_log_posteriors_on_the_label_axis():
    probs = {"audio": {"angry": 0.5, "sad": 0.25, "boredom": 0.25, "not-a-label": 0.9}}
    out = branch_scores([probs, {}])
    m = BRANCHES.index("audio")
    logs = np.log([0.5, 0.25, 0.25])
    want = logs - logs.mean()
    assert out.shape == (2, len(BRANCHES), len(LABEL_INDEX))
    np.testing.assert_allclose([out[0, m, LABEL_INDEX[k]] for k in ("angry", "sad", "boredom")], want, rtol=1e-5)
    assert out[0, m, LABEL_INDEX["happy"]] == 0 and not out[1].any()  # unknown label / absent branch: no vote


def test_floor_keeps_zero_probabilities_finite():
    out = branch_scores([{"audio": {"angry": 1.0, "sad": 0.0}}])
    assert np.isfinite(out).all() and out[0, 0, LABEL_INDEX["angry"]] > out[0, 0, LABEL_INDEX["sad"]]


def _actor(gain: float):
    torch.manual_seed(0)
    actor = SharedActor(spec=SPEC, config=ActorConfig(dim=16, heads=2, dropout=0.0)).eval()
    with torch.no_grad():
        actor.generator.branch_gain.fill_(gain)
        actor.planner.branch_gain.fill_(gain)
    return actor


def _with_branch(label: str):
    rng = np.random.default_rng(0)
    feats = [Features(text_emb=rng.normal(size=8).astype(np.float32), audio_emb=rng.normal(size=6).astype(np.float32),
                      audio_seq=rng.normal(size=(4, 5)).astype(np.float32), mask=ModalityMask(text=True, audio=True),
                      branch_probs={"audio": {k: (0.85 if k == label else 0.05) for k in ("happy", "sad", "angry", "neutral")}})
             for _ in range(3)]
    return build_observation(feats, ctx_embs=[None] * 3, label_sets=[("happy", "sad", "angry", "neutral")] * 3,
                             spec=SPEC, norm=FeatureNorm())


def test_a_positive_gain_moves_planner_and_generator_toward_the_branch():
    _, ev, perc = random_batch()
    obs = _with_branch("sad")
    sad = LABEL_INDEX["sad"]
    for gain in (0.0, 2.0):
        actor = _actor(gain)
        h = actor.state(obs)
        plan = actor.plan_logits(h, obs.cand, obs.branch).softmax(-1)[:, sad]
        gen = actor.generate_logits(h, ev, ev.mask, actor.fuse(obs, perc), obs.cand, obs.branch)[0].softmax(-1)[:, sad]
        plain = actor.generate_logits(h, ev, ev.mask, actor.fuse(obs, perc), obs.cand)[0].softmax(-1)[:, sad]
        if gain == 0.0:
            assert torch.allclose(gen, plain)  # gain 0: the branch is ignored
        else:
            assert (gen > plain + 0.2).all() and (plan > 0.5).all()


def test_old_state_dicts_load_with_zero_gains():
    actor = _actor(1.5)
    state = {k: v for k, v in actor.state_dict().items() if not k.endswith("branch_gain")}
    fresh = _actor(0.7)
    fresh.load_state_dict(state)
    assert not fresh.generator.branch_gain.detach().any() and not fresh.planner.branch_gain.detach().any()


def test_rows_with_a_face_use_their_own_branch_weight():
    """No training input pairs a voice with a face, so with a face the voice has its own weight (0 when new); the face
    branch, which exists only with a face, starts at 1."""
    from affectagent.agents.layers import branch_term

    a, f = BRANCHES.index("audio"), BRANCHES.index("face")
    branch = torch.zeros(2, len(BRANCHES), len(LABEL_INDEX))
    branch[:, a, LABEL_INDEX["sad"]] = 2.0
    gain, gain_face = torch.zeros(len(BRANCHES)), torch.zeros(len(BRANCHES))
    gain[a] = 1.5
    out = branch_term(gain, gain_face, branch, torch.tensor([False, True]))
    assert out[0, LABEL_INDEX["sad"]] == 3.0 and not out[1].any()
    actor = SharedActor(spec=SPEC, config=ActorConfig(dim=16, heads=2, dropout=0.0))
    for head in (actor.generator, actor.planner):
        assert head.branch_gain.detach().tolist() == [1.0 if b == "audio" else 0.0 for b in BRANCHES]
        assert head.branch_gain_face.detach().tolist() == [1.0 if b == "face" else 0.0 for b in BRANCHES]


def _face_row(expr: str) -> np.ndarray:
    """A face-feature row of the test width (7: the expression block only, so frames pool with equal weights)."""
    from affectagent.encoders.face_pooling import EXPRESSIONS

    row = np.full(SPEC.face_dim, 0.02, np.float32)
    row[EXPRESSIONS.index(expr)] = 0.88
    return row


def test_the_face_branch_is_the_pooled_expression_posterior():
    from affectagent.agents.observation import input_branch_probs

    f = Features(face_seq=np.stack([_face_row("sad"), _face_row("sad"), _face_row("happy")]),
                 mask=ModalityMask(visual=True))
    probs = input_branch_probs(f)
    assert set(probs) == {"face"} and max(probs["face"], key=probs["face"].get) == "sad"
    obs = build_observation([f, Features(text_emb=np.ones(8, np.float32), mask=ModalityMask(text=True))],
                            ctx_embs=[None, None], label_sets=[("happy", "sad", "neutral")] * 2, spec=SPEC,
                            norm=FeatureNorm())
    m = BRANCHES.index("face")
    row = obs.branch[0, m]
    assert row[LABEL_INDEX["sad"]] > row[LABEL_INDEX["happy"]] > 0 > row[LABEL_INDEX["fear"]]
    assert not obs.branch[1].any()  # text only: no face branch
    assert abs(float(obs.branch[0, m].sum())) < 1e-4  # centred over the seven expressions


def test_the_face_branch_moves_the_answer_with_a_face_in_view():
    _, ev, perc = random_batch()
    f = Features(text_emb=np.ones(8, np.float32), face_seq=np.stack([_face_row("angry")] * 2),
                 mask=ModalityMask(text=True, visual=True))
    obs = build_observation([f] * 3, ctx_embs=[None] * 3, label_sets=[("happy", "sad", "angry", "neutral")] * 3,
                            spec=SPEC, norm=FeatureNorm())
    face = obs.fseq_mask.any(1)
    assert face.all()
    angry = LABEL_INDEX["angry"]
    actor = _actor(0.0)
    h = actor.state(obs)
    fused = actor.fuse(obs, perc)
    with torch.no_grad():
        actor.generator.branch_gain_face.zero_()
    off = actor.generate_logits(h, ev, ev.mask, fused, obs.cand, obs.branch, face)[0].softmax(-1)[:, angry]
    with torch.no_grad():
        actor.generator.branch_gain_face[BRANCHES.index("face")] = 2.0
    on = actor.generate_logits(h, ev, ev.mask, fused, obs.cand, obs.branch, face)[0].softmax(-1)[:, angry]
    assert (on > off + 0.2).all()


def test_checkpoints_from_before_the_face_branch_ignore_it():
    from affectagent.agents.actor import upgrade_state_dict

    actor = _actor(1.0)
    state = {k: (v[:1] if "branch_gain" in k else v) for k, v in actor.state_dict().items()}  # audio-only gains
    fresh = SharedActor(spec=SPEC, config=ActorConfig(dim=16, heads=2, dropout=0.0))
    fresh.load_state_dict(upgrade_state_dict(state))
    f = BRANCHES.index("face")
    assert fresh.generator.branch_gain_face[f] == 0 and fresh.planner.branch_gain_face[f] == 0
    assert fresh.generator.branch_gain[BRANCHES.index("audio")] == 1.0
