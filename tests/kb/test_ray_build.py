"""``kb build --engine ray`` on a real local Ray cluster (module fixture ``ray_cluster``): real MELD texts and EmoDB
speech encoded in Ray actors (chunks of ``--batch-size``) give the KB the local engine builds: same ids, labels and
texts, vectors within 1e-6, same counts."""
import numpy as np

from affectagent.batch.ray_engine import RayEngine, RayEngineConfig
from affectagent.cli import main
from affectagent.datasets import load
from affectagent.kb import KnowledgeBase
from affectagent.kb.build import BuildConfig, BuildSource, build_kb

from ..ray_cluster import ray_cluster  # noqa: F401 - module fixture
from ..resources import shared

LIMIT, CHUNK = 24, 10  # 3 chunks per source: both actors get work


def _entries(path, ids):
    with KnowledgeBase.open(path, read_only=True) as kb:
        return kb.info(), {e.id: e for e in kb.get(ids)}


def test_ray_build_equals_local_build(ray_cluster, tmp_path, capsys):
    shared("meld", "emodb")
    sources = [BuildSource("meld", "train", limit=LIMIT), BuildSource("emodb", "all", limit=LIMIT)]
    build_kb(tmp_path / "local", sources, config=BuildConfig(batch_size=CHUNK), progress=False)
    assert main(["kb", "build", "--dataset", "meld:train", "--dataset", "emodb:all", "--limit", str(LIMIT),
                 "--batch-size", str(CHUNK), "--out", str(tmp_path / "ray"), "--quiet", "--engine", "ray",
                 "--concurrency", "2"]) == 0
    assert "meld/train: 24 samples, 24 added" in capsys.readouterr().out

    ids = [s.id for s in load("meld", "train", limit=LIMIT) + load("emodb", "all", limit=LIMIT)]
    info_l, local = _entries(tmp_path / "local", ids)
    info_r, ray_kb = _entries(tmp_path / "ray", ids)
    assert list(ray_kb) == list(local) and len(local) == 2 * LIMIT
    same = ("entries", "dims", "vectors", "labels", "sentiments", "sources")
    assert [getattr(info_r, k) for k in same] == [getattr(info_l, k) for k in same]
    assert set(info_l.dims) == {"text", "audio"} and info_l.vectors == {"text": LIMIT, "audio": LIMIT}
    for sid, e in local.items():
        r = ray_kb[sid]
        assert (r.text, r.label, r.sentiment, r.source, r.split, r.meta) == \
            (e.text, e.label, e.sentiment, e.source, e.split, e.meta)
        for field in ("text_emb", "audio_emb", "visual_emb"):
            a, b = getattr(r, field), getattr(e, field)
            assert (a is None) == (b is None), (sid, field)
            if a is not None:
                np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


def test_ray_build_of_nothing_new_is_idempotent(ray_cluster, tmp_path):
    shared("meld")
    sources = [BuildSource("meld", "train", limit=6)]
    engine = RayEngine(config=RayEngineConfig(concurrency=1))
    first = build_kb(tmp_path / "kb", sources, config=BuildConfig(batch_size=3), progress=False, engine=engine)
    again = build_kb(tmp_path / "kb", sources, config=BuildConfig(batch_size=3), progress=False, engine=engine)
    assert (first.sources[0].added, again.sources[0].added, again.sources[0].already_present) == (6, 0, 6)
