"""Small random observations for agent tests (shapes only; behaviour tests use real data elsewhere)."""
import numpy as np

from affectagent.agents.observation import FeatureSpec, build_evidence_batch, build_observation, build_perceptual_batch
from affectagent.schema import EMOTION_SENTIMENT, Evidence, FeatureNorm, Features, ModalityMask

SPEC = FeatureSpec(text_dim=8, audio_dim=6, aseq_dim=5, face_dim=7, visual_dim=4, max_aseq=6, max_fseq=5)


def random_batch(b=3, seed=0, audio=True, visual=True):
    rng = np.random.default_rng(seed)
    feats = []
    for i in range(b):
        feats.append(Features(
            text_emb=rng.normal(size=8).astype(np.float32),
            audio_emb=rng.normal(size=6).astype(np.float32) if audio else None,
            audio_seq=rng.normal(size=(9, 5)).astype(np.float32) if audio else None,
            face_seq=rng.normal(size=(3, 7)).astype(np.float32) if visual else None,
            visual_emb=rng.normal(size=4).astype(np.float32) if visual else None,
            mask=ModalityMask(text=True, audio=audio, visual=visual)))
    obs = build_observation(feats, ctx_embs=[None] * b, label_sets=[("happy", "sad", "angry", "neutral")] * b,
                            spec=SPEC, norm=FeatureNorm())
    groups = [[Evidence(id=f"e{i}{j}", text="x", label=lab, kind=kind, score=float(rng.uniform(0.2, 0.9)),
                        vector=rng.normal(size=8).astype(np.float32))
               for j, (lab, kind) in enumerate([("happy", "support"), ("sad", "confusion"), ("angry", "counter")])]
              for i in range(b)]
    ev = build_evidence_batch(groups, text_dim=8)
    perc = build_perceptual_batch([[rng.normal(size=6)] * 2] * b, [[rng.normal(size=7)] * 2] * b, spec=SPEC, k=2)
    return obs, ev, perc


class ListSource:
    """Brute-force evidence source over a list of (id, label, vector)."""

    def __init__(self, items):
        self.items = items
        self.calls = []

    def cognitive(self, *, query, modality, plan, top_k, use_confusion, use_counter, exclude):
        self.calls.append(plan)
        def top(pred, kind):
            rows = [(float(v @ query), i, lab, v) for i, lab, v in self.items if i not in exclude and pred(lab)]
            rows.sort(key=lambda r: -r[0])
            return [Evidence(id=i, text=i, label=lab, kind=kind, score=s, vector=v,
                             sentiment=EMOTION_SENTIMENT[lab]) for s, i, lab, v in rows[:top_k]]
        if plan.plain:
            return top(lambda lab: True, "plain")[: 3 * top_k]
        out = top(lambda lab: lab == plan.support, "support")
        if use_confusion:
            out += top(lambda lab: lab != plan.support and (plan.confusion is None or lab == plan.confusion), "confusion")
        if use_counter and plan.counter_sentiment:
            out += top(lambda lab: EMOTION_SENTIMENT[lab] == plan.counter_sentiment, "counter")
        return out

    def perceptual(self, *, audio, visual, k, exclude, complete=None):
        a = [Evidence(id="a1", text="", label="happy", kind="perceptual", score=0.9, modality="audio",
                      vector=np.ones(SPEC.audio_dim, np.float32))] if k else []
        return a, []
