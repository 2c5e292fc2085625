"""Building KBs from the real shared corpora (MELD text, EmoDB speech) and merging sources."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from affectagent.datasets import load
from affectagent.kb import KnowledgeBase, RetrievalQuery, Retriever
from affectagent.kb.build import BuildConfig, BuildSource, build_kb, entry_from_sample, entry_text
from affectagent.paths import data_root
from affectagent.schema import Sample, Turn

from ..resources import require

ROOT = data_root(must_exist=False)


def need(folder: str) -> None:
    require(ROOT / folder, f"shared data {folder}")


def test_entry_from_sample_keeps_labels_speaker_and_context():
    s = Sample(id="meld/train/dia1_utt2", text="You did WHAT?", speaker="Ross", label="surprise", raw_label="surprise",
               sentiment="negative", labels=("surprise", "angry"), source="meld", split="train",
               context=(Turn("Ann", "hi"), Turn("Bob", "I sold the car."), Turn("Ann", "no")), meta={"season": 1})
    e = entry_from_sample(s, text_emb=np.ones(3), context_turns=2)
    assert (e.id, e.text, e.label, e.sentiment, e.source, e.split) == \
        ("meld/train/dia1_utt2", "Ross: You did WHAT?", "surprise", "negative", "meld", "train")
    assert e.ov_labels == ("surprise", "angry")
    assert e.meta["context"] == [{"speaker": "Bob", "text": "I sold the car."}, {"speaker": "Ann", "text": "no"}]
    assert e.meta["season"] == 1 and e.meta["speaker"] == "Ross"
    assert entry_text(s, speaker_in_text=False) == "You did WHAT?"
    assert entry_text(Sample(id="x", audio="/d/a.flac", source="emodb"), speaker_in_text=True) == "[emodb audio a.flac]"


@pytest.mark.slow
def test_build_meld_matches_dataset_counts_and_is_idempotent(tmp_path):
    need("meld")
    out = tmp_path / "meld"
    src = BuildSource("meld", "train", limit=60)
    summary = build_kb(out, [src], config=BuildConfig(batch_size=25), progress=False)
    samples = load("meld", "train", limit=60)
    assert summary.sources[0].added == 60 and summary.info.entries == 60
    assert summary.info.labels == dict(Counter(s.label for s in samples))
    assert summary.info.sentiments == dict(Counter(s.sentiment for s in samples))
    assert summary.info.sources == {"meld/train": 60} and summary.info.encoders == {"text": "e5"}
    # running it again adds nothing; adding the dev split merges a second source
    again = build_kb(out, [src, BuildSource("meld", "dev", limit=10)], progress=False)
    assert [s.added for s in again.sources] == [0, 10] and again.sources[0].already_present == 60
    assert again.info.sources == {"meld/train": 60, "meld/dev": 10}
    with KnowledgeBase.open(out, read_only=True) as kb:
        first = samples[5]
        got = kb.get([first.id])[0]
        assert got.text == f"{first.speaker}: {first.text}" and got.label == first.label
        # the stored embedding is the utterance's: retrieving with it finds the sample itself unless excluded
        res = Retriever(kb).retrieve(RetrievalQuery(text_emb=got.text_emb, kinds=("plain",), top_k=3))
        assert res.cognitive["plain"][0].id == first.id
        res = Retriever(kb).retrieve(RetrievalQuery(text_emb=got.text_emb, kinds=("plain",), top_k=3,
                                                    sample_id=first.id))
        assert first.id not in {e.id for e in res.cognitive["plain"]}


@pytest.mark.slow
def test_build_speech_corpus_gives_perceptual_vectors(tmp_path):
    need("emodb")
    summary = build_kb(tmp_path / "emodb", [BuildSource("emodb", "all", limit=6)], progress=False)
    info = summary.info
    assert info.entries == 6 and set(info.dims) == {"audio"} and info.vectors["audio"] == 6
    assert info.encoders == {"audio": "egemaps"}
    samples = load("emodb", "all", limit=6)
    with KnowledgeBase.open(tmp_path / "emodb", read_only=True) as kb:
        e = kb.get([samples[0].id])[0]
        assert e.audio_emb is not None and e.meta["audio"].endswith(".flac")
        hits = kb.search_perceptual(e.audio_emb, "audio", 2, exclude_ids={samples[0].id})
        assert len(hits) == 2 and all(h.vector.shape == e.audio_emb.shape for h in hits)
        assert samples[0].id not in {h.id for h in hits}


@pytest.mark.slow
def test_build_from_manifest_merges_with_a_dataset(tmp_path):
    need("meld")
    manifest = tmp_path / "mine.jsonl"
    manifest.write_text('{"id": "mine-1", "text": "I love this so much!", "label": "happy", "speaker": "Ann"}\n'
                        '{"id": "mine-2", "text": "Leave me alone.", "label": "angry", "split": "train"}\n'
                        '{"id": "mine-3", "text": "What time is it?"}\n', encoding="utf-8")
    out = tmp_path / "merged"
    summary = build_kb(out, [BuildSource("meld", "train", limit=5),
                             BuildSource("manifest", "all", data_file=str(manifest))], progress=False)
    assert [s.added for s in summary.sources] == [5, 3]
    assert summary.info.entries == 8 and summary.info.labels["(none)"] == 1
    with KnowledgeBase.open(out, read_only=True) as kb:
        got = {e.id: e for e in kb.get(["mine-1", "mine-3"])}
        assert got["mine-1"].text == "Ann: I love this so much!" and got["mine-1"].label == "happy"
        assert got["mine-3"].label is None and got["mine-3"].text_emb is not None
