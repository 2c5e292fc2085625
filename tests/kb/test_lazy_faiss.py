"""A KB below ``ann_min_size`` opens, searches and closes without importing FAISS (a cold-start cost); an ANN KB
still builds, persists and reopens its index."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def test_small_kb_never_imports_faiss(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from affectagent.kb import KBEntry, KnowledgeBase
        rng = np.random.default_rng(0)
        e = [KBEntry(id=f"e{{i}}", text=f"t{{i}}", label="happy" if i % 2 else "sad", source="hand", split="train",
                     text_emb=rng.standard_normal(8).astype(np.float32)) for i in range(50)]
        with KnowledgeBase.create({str(tmp_path / 'kb')!r}, text_dim=8) as kb:
            kb.add(e)
        with KnowledgeBase.open({str(tmp_path / 'kb')!r}, read_only=True) as kb:
            assert len(kb) == 50
            assert kb.search("text", e[3].text_emb, k=1)[0][0].id == "e3"
        print("faiss" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_ann_kb_still_uses_faiss(tmp_path):
    from affectagent.kb import KBConfig, KBEntry, KnowledgeBase

    from .helpers import clustered

    x = clustered(400, 16)
    entries = [KBEntry(id=f"e{i}", text=f"t{i}", label="happy", source="hand", split="train", text_emb=x[i])
               for i in range(len(x))]
    with KnowledgeBase.create(tmp_path / "kb", text_dim=16, config=KBConfig(index="ivf", ivf_nlist=8)) as kb:
        kb.add(entries)
    assert (tmp_path / "kb" / "index" / "text.ann").is_file()
    with KnowledgeBase.open(tmp_path / "kb", read_only=True) as kb:  # the persisted index is read through FAISS
        assert kb.info().indexes["text"].startswith("ivf(") and "over 400" in kb.info().indexes["text"]
        assert kb.search_text(x[7], 1)[0][0].id == "e7"
