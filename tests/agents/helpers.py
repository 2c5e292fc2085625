"""Small random observations for agent tests (shapes only; behaviour tests use real data elsewhere) and
``ListSource``, a tiny real knowledge base behind the production retriever."""
import shutil
import tempfile
import weakref
import zlib
from pathlib import Path

import numpy as np

from affectagent.agents.observation import FeatureSpec, build_evidence_batch, build_observation, build_perceptual_batch
from affectagent.kb import KBEntry, KnowledgeBase, Retriever
from affectagent.schema import CANONICAL_EMOTIONS, Evidence, FeatureNorm, Features, ModalityMask

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


def perceptual_vector(item_id: str, label: str, dim: int) -> np.ndarray:
    """Deterministic stored audio / face vector of a ``ListSource`` item: a label-specific direction plus per-item
    noise (seeded by the id), so a label's exemplars are meaningful and every item is distinct."""
    axis = np.zeros(dim, np.float32)
    axis[CANONICAL_EMOTIONS.index(label) % dim] = 2.0
    noise = np.random.default_rng(zlib.crc32(item_id.encode())).normal(size=dim).astype(np.float32)
    return axis + 0.5 * noise


def _close_and_remove(kb: KnowledgeBase, directory: str) -> None:
    kb.close()
    shutil.rmtree(directory, ignore_errors=True)


class ListSource:
    """The production ``kb.retrieval.Retriever`` over a tiny real ``KnowledgeBase`` built from (id, label, text vector)
    items; each item also gets audio (``SPEC.audio_dim``) and face (``SPEC.face_dim``) vectors from
    ``perceptual_vector``. The KB lives in a temporary directory removed when the source is collected or at exit.

    calls: the ``QueryPlan`` of every ``cognitive`` call; perceptual_calls: the ``complete`` label of every
    ``perceptual`` call (None without completion)."""

    def __init__(self, items):
        self.items = list(items)
        if not self.items:
            raise ValueError("ListSource needs at least one item")
        self.calls = []
        self.perceptual_calls = []
        self.directory = tempfile.mkdtemp(prefix="listsource-")
        self.kb = KnowledgeBase.create(Path(self.directory) / "kb", text_dim=len(self.items[0][2]),
                                       audio_dim=SPEC.audio_dim, visual_dim=SPEC.face_dim)
        weakref.finalize(self, _close_and_remove, self.kb, self.directory)
        self.kb.add([KBEntry(id=i, text=i, label=lab, source="toy", split="train",
                             text_emb=np.asarray(v, np.float32),
                             audio_emb=perceptual_vector(i, lab, SPEC.audio_dim),
                             visual_emb=perceptual_vector(i, lab, SPEC.face_dim))
                     for i, lab, v in self.items])
        self.retriever = Retriever(self.kb)

    def cognitive(self, *, query, modality, plan, top_k, use_confusion, use_counter, exclude):
        self.calls.append(plan)
        return self.retriever.cognitive(query=query, modality=modality, plan=plan, top_k=top_k,
                                        use_confusion=use_confusion, use_counter=use_counter, exclude=exclude)

    def perceptual(self, *, audio, visual, k, exclude, complete=None):
        self.perceptual_calls.append(complete)
        return self.retriever.perceptual(audio=audio, visual=visual, k=k, exclude=exclude, complete=complete)
