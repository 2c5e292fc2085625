"""Query-group retrieval (``kb/retrieval.py``) on a real small KB: the first 80 MELD train utterances (dialogues 0–6)
embedded with the packaged MiniLM encoder, queried with real MELD dev / train utterances through ``Retriever.cognitive``
(the agents' path) and ``Retriever.retrieve`` (``kb search``).

The expected ids were computed once, read by hand next to their texts (quoted in the comments) and hard-coded with
their labels; every test also checks the group invariants (support = label h, counter = the counter valence and never
label h, no excluded id, scores non-increasing) and a brute-force numpy ranking over the 80 embeddings.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from affectagent.datasets import load
from affectagent.encoders import get_text_encoder
from affectagent.encoders.inputs import exclusion_sets
from affectagent.kb import KnowledgeBase, RetrievalQuery, Retriever
from affectagent.kb.build import entry_from_sample
from affectagent.paths import data_root
from affectagent.schema import EMOTION_SENTIMENT, SENTIMENT_SIGN, QueryPlan

pytestmark = pytest.mark.slow

N_TRAIN = 80
K = 4
T = "meld/train/"
QUERIES = {   # MELD dev utterances used as inputs (gold label in the comment)
    "genius": "meld/dev/dia1_utt1",    # happy: "You're a genius!"
    "lost": "meld/dev/dia0_utt0",      # sad: "Oh my God, he's lost it. He's totally lost it."
    "no_right": "meld/dev/dia5_utt0",  # angry: "You had no right to tell me you ever had feelings for me."
    "looking": "meld/dev/dia4_utt1",   # neutral: "Yeah, we were…we were just looking around."
}


@pytest.fixture(scope="module")
def meld(tmp_path_factory):
    root = data_root(must_exist=False)
    if not (root / "meld").is_dir():
        pytest.fail(f"MELD is required for this test and was not found under {root} (see /work/shared/data/README.md)")
    train = load("meld", "train", limit=N_TRAIN)
    dev = {s.id: s for s in load("meld", "dev", limit=60)}
    enc = get_text_encoder("minilm")
    x = np.asarray(enc.encode([s.text for s in train]), np.float32)
    q = np.asarray(enc.encode([dev[i].text for i in QUERIES.values()]), np.float32)
    kb = KnowledgeBase.create(tmp_path_factory.mktemp("meld") / "kb", text_dim=x.shape[1], encoders={"text": "minilm"})
    kb.add([entry_from_sample(s, text_emb=v) for s, v in zip(train, x)])
    yield SimpleNamespace(kb=kb, retriever=Retriever(kb), train=train, x=x / np.linalg.norm(x, axis=1, keepdims=True),
                          q=dict(zip(QUERIES, q)), row={s.id: i for i, s in enumerate(train)})
    kb.close()


def sign(sample) -> int:
    """Valence sign counter retrieval uses: the corpus sentiment (MELD has one for every row)."""
    return SENTIMENT_SIGN[sample.sentiment or EMOTION_SENTIMENT[sample.label]]


def oracle(m, q, keep, k, exclude=frozenset()):
    """Brute force: the k samples passing ``keep`` nearest to q by cosine, best first."""
    q = q / np.linalg.norm(q)
    scored = [(float(m.x[i] @ q), s.id) for i, s in enumerate(m.train) if keep(s) and s.id not in exclude]
    return [sid for _, sid in sorted(scored, key=lambda t: -t[0])[:k]]


def groups(items):
    out = {}
    for e in items:
        out.setdefault(e.kind, []).append(e)
    return out


def pairs(items):
    return [(e.id.removeprefix(T), e.label) for e in items]


def non_increasing(items):
    s = [e.score for e in items]
    return all(a >= b - 1e-6 for a, b in zip(s, s[1:]))


def cognitive(m, query, plan, *, exclude=frozenset(), **kw):
    q = m.q[query] if isinstance(query, str) else query
    return groups(m.retriever.cognitive(query=q, modality="text", plan=plan, top_k=K, exclude=exclude, **kw))


def test_the_kb_holds_the_first_80_train_utterances(meld):
    info = meld.kb.info()
    assert info.entries == N_TRAIN and info.dims == {"text": 384}
    assert info.labels == {"neutral": 40, "surprise": 15, "happy": 10, "sad": 8, "angry": 4, "fear": 2, "disgust": 1}
    assert info.sentiments == {"neutral": 40, "negative": 24, "positive": 16}
    assert meld.train[0].id == T + "dia0_utt0" and meld.train[-1].id == T + "dia6_utt17"


def test_support_is_the_nearest_entries_of_label_h(meld):
    g = cognitive(meld, "genius", QueryPlan.for_hypothesis("happy"))
    # "You betcha!" / "I'm so proud of you." / "Good job Joe! Well done! Top notch!" / "Oh-ho-ho, yeah!"
    assert pairs(g["support"]) == [("dia2_utt10", "happy"), ("dia4_utt9", "happy"), ("dia6_utt0", "happy"),
                                   ("dia6_utt2", "happy")]
    assert [e.id for e in g["support"]] == oracle(meld, meld.q["genius"], lambda s: s.label == "happy", K)
    assert non_increasing(g["support"])
    g = cognitive(meld, "no_right", QueryPlan.for_hypothesis("angry"))
    # "You fell asleep!!" / "There was no kangaroo!" / "They didn't take any of my suggestions!" / "give me some
    # specifics." — the KB's only four angry utterances, nearest first
    assert pairs(g["support"]) == [("dia6_utt9", "angry"), ("dia6_utt10", "angry"), ("dia6_utt11", "angry"),
                                   ("dia6_utt5", "angry")]
    assert all(e.label == "angry" and e.kind == "support" for e in g["support"]) and non_increasing(g["support"])


def test_confusion_takes_the_named_label_first_then_tops_up(meld):
    # sad hypothesis, confusable surprise: four surprise items ("He thinks Monica is empty, she is the empty vase!",
    # "What, what, what?!", "Oh my God, oh my God! Poor Monica!", "What?!") — the input "Oh my God, he's lost it" is
    # surface-similar to them although its gold label is sad
    g = cognitive(meld, "lost", QueryPlan.for_hypothesis("sad", "surprise"))
    assert pairs(g["confusion"]) == [("dia3_utt6", "surprise"), ("dia3_utt1", "surprise"), ("dia3_utt0", "surprise"),
                                     ("dia3_utt2", "surprise")]
    assert [e.id for e in g["confusion"]] == oracle(meld, meld.q["lost"], lambda s: s.label == "surprise", K)
    # angry hypothesis, confusable disgust: the KB's only disgust item ("Just coffee! Where are we gonna hang out
    # now?", similarity 0.02) comes first, then the nearest items of any label but angry fill the group
    g = cognitive(meld, "no_right", QueryPlan.for_hypothesis("angry", "disgust"))
    conf = g["confusion"]
    assert pairs(conf) == [("dia2_utt6", "disgust"), ("dia3_utt5", "neutral"), ("dia6_utt15", "sad"),
                           ("dia4_utt9", "happy")]
    assert conf[0].score < conf[1].score          # the named label outranks nearer items of other labels
    assert non_increasing(conf[1:])
    assert [e.id for e in conf[1:]] == oracle(meld, meld.q["no_right"], lambda s: s.label != "angry", 3,
                                              exclude={conf[0].id})
    # no confusable label named: just the nearest items of any label but h
    g = cognitive(meld, "no_right", QueryPlan.for_hypothesis("angry"))
    assert pairs(g["confusion"]) == [("dia3_utt5", "neutral"), ("dia6_utt15", "sad"), ("dia4_utt9", "happy"),
                                     ("dia0_utt1", "neutral")]
    assert all(e.label != "angry" for e in g["confusion"]) and non_increasing(g["confusion"])


def _check_counter(m, query, items, *, h, signs):
    assert items and all(e.kind == "counter" for e in items)
    assert all(e.label != h for e in items)                           # never the hypothesis label
    assert all(SENTIMENT_SIGN[e.sentiment] in signs for e in items)    # the counter valence
    assert non_increasing(items)
    assert [e.id for e in items] == oracle(m, m.q[query], lambda s: s.label != h and sign(s) in signs, K)


def test_counter_default_is_the_opposite_valence(meld):
    g = cognitive(meld, "genius", QueryPlan.for_hypothesis("happy"))
    # negative items: "Look!" (surprise, negative in MELD), "You fell asleep!!", "Don't go!", "I'm so sorry!"
    assert pairs(g["counter"]) == [("dia6_utt17", "surprise"), ("dia6_utt9", "angry"), ("dia6_utt14", "sad"),
                                   ("dia6_utt16", "sad")]
    _check_counter(meld, "genius", g["counter"], h="happy", signs={-1})
    g = cognitive(meld, "lost", QueryPlan.for_hypothesis("sad", "surprise"))
    # positive items: "You betcha!", "Oh-ho-ho, yeah!", "I'm so proud of you.", "Everybody!!" (surprise, positive)
    assert pairs(g["counter"]) == [("dia2_utt10", "happy"), ("dia6_utt2", "happy"), ("dia4_utt9", "happy"),
                                   ("dia5_utt3", "surprise")]
    _check_counter(meld, "lost", g["counter"], h="sad", signs={1})


def test_counter_of_a_neutral_hypothesis_takes_both_polarities(meld):
    g = cognitive(meld, "looking", QueryPlan.for_hypothesis("neutral"))
    # "Oh, totally. Oh, God, oh, she seemed so happy too." (sad), "There was no kangaroo!" (angry),
    # "Um-mm, yeah right!" (happy), "You fell asleep!!" (angry) — no neutral item although 40 of 80 are neutral
    assert pairs(g["counter"]) == [("dia3_utt8", "sad"), ("dia6_utt10", "angry"), ("dia2_utt12", "happy"),
                                   ("dia6_utt9", "angry")]
    assert {e.sentiment for e in g["counter"]} == {"negative", "positive"}
    _check_counter(meld, "looking", g["counter"], h="neutral", signs={-1, 1})


def test_a_stated_counter_sentiment_overrides_the_default(meld):
    # angry hypothesis countered by *negative* evidence (the planner's choice): sad / surprise items, never angry
    plan = QueryPlan(support="angry", confusion=None, counter_sentiment="negative")
    g = cognitive(meld, "no_right", plan)
    # "I'm sorry." / "Listen, I'm ah, I'm sorry I've been so crazy and jealous" / "I'm so sorry!" /
    # "No-no-no-no, no! Who, who were you talking about?" (surprise, negative)
    assert pairs(g["counter"]) == [("dia6_utt15", "sad"), ("dia4_utt11", "sad"), ("dia6_utt16", "sad"),
                                   ("dia1_utt2", "surprise")]
    _check_counter(meld, "no_right", g["counter"], h="angry", signs={-1})
    assert pairs(g["support"]) == pairs(cognitive(meld, "no_right", QueryPlan.for_hypothesis("angry"))["support"])
    # surprise (neutral valence): by default both polarities ("You betcha!" is in) ...
    g = cognitive(meld, "lost", QueryPlan(support="surprise", confusion=None, counter_sentiment=None))
    assert pairs(g["counter"]) == [("dia2_utt3", "sad"), ("dia1_utt1", "sad"), ("dia2_utt10", "happy"),
                                   ("dia6_utt16", "sad")]
    _check_counter(meld, "lost", g["counter"], h="surprise", signs={-1, 1})
    # ... with a stated negative only negative items; the nearer negative *surprise* items (support's
    # dia3_utt6, dia3_utt1, ...) stay out because they carry the hypothesis label
    g = cognitive(meld, "lost", QueryPlan(support="surprise", confusion=None, counter_sentiment="negative"))
    assert pairs(g["counter"]) == [("dia2_utt3", "sad"), ("dia1_utt1", "sad"), ("dia6_utt16", "sad"),
                                   ("dia6_utt9", "angry")]
    _check_counter(meld, "lost", g["counter"], h="surprise", signs={-1})
    assert pairs(g["support"])[:2] == [("dia3_utt6", "surprise"), ("dia3_utt1", "surprise")]
    assert g["support"][0].score > g["counter"][0].score


def test_plain_replaces_the_groups_with_3k_nearest_items(meld):
    items = meld.retriever.cognitive(query=meld.q["genius"], modality="text", plan=QueryPlan.plain_query(), top_k=K)
    assert len(items) == 3 * K and {e.kind for e in items} == {"plain"}
    assert pairs(items) == [
        ("dia2_utt10", "happy"), ("dia1_utt4", "neutral"), ("dia6_utt17", "surprise"), ("dia6_utt9", "angry"),
        ("dia4_utt9", "happy"), ("dia6_utt14", "sad"), ("dia6_utt16", "sad"), ("dia3_utt2", "surprise"),
        ("dia4_utt0", "surprise"), ("dia0_utt12", "surprise"), ("dia1_utt1", "sad"), ("dia6_utt0", "happy")]
    assert [e.id for e in items] == oracle(meld, meld.q["genius"], lambda s: True, 3 * K)
    assert non_increasing(items)
    # the switches of the planner's groups do not shrink naive RAG
    again = meld.retriever.cognitive(query=meld.q["genius"], modality="text", plan=QueryPlan.plain_query(), top_k=K,
                                     use_confusion=False, use_counter=False)
    assert [e.id for e in again] == [e.id for e in items]


def test_own_id_and_own_dialogue_are_excluded_from_every_group(meld):
    sid = T + "dia6_utt16"                          # sad: "I'm so sorry!"
    q = meld.x[meld.row[sid]]
    plan = QueryPlan.for_hypothesis("sad")
    g = cognitive(meld, q, plan)
    assert g["support"][0].id == sid and g["support"][0].score == pytest.approx(1.0, abs=1e-5)  # itself, if allowed
    g = cognitive(meld, q, plan, exclude=frozenset({sid}))
    # "I'm sorry." / "Don't go!" (same dialogue) / "Listen, I'm ah, I'm sorry I've been so crazy" / "Forget it!"
    assert pairs(g["support"]) == [("dia6_utt15", "sad"), ("dia6_utt14", "sad"), ("dia4_utt11", "sad"),
                                   ("dia1_utt1", "sad")]
    # training's leakage rule: the whole dialogue (all 18 utterances of dia6) is excluded
    exclude = exclusion_sets(meld.train, related=True)[meld.row[sid]]
    assert exclude == {s.id for s in meld.train if s.meta["dialogue_id"] == 6} and len(exclude) == 18
    g = cognitive(meld, q, plan, exclude=exclude)
    assert pairs(g["support"]) == [("dia4_utt11", "sad"), ("dia1_utt1", "sad"), ("dia3_utt8", "sad"),
                                   ("dia2_utt7", "sad")]
    # "Me too!" / "I'm so proud of you." / "Ok!" / "You betcha!"
    assert pairs(g["confusion"]) == [("dia4_utt10", "happy"), ("dia4_utt9", "happy"), ("dia1_utt4", "neutral"),
                                     ("dia2_utt10", "happy")]
    # "Me too!" / "I'm so proud of you." / "You betcha!" / "Hey!" (surprise, positive)
    assert pairs(g["counter"]) == [("dia4_utt10", "happy"), ("dia4_utt9", "happy"), ("dia2_utt10", "happy"),
                                   ("dia4_utt0", "surprise")]
    assert all(len(v) == K and not {e.id for e in v} & exclude for v in g.values())
    assert [e.id for e in g["support"]] == oracle(meld, q, lambda s: s.label == "sad", K, exclude)
    _check = oracle(meld, q, lambda s: s.label != "sad" and sign(s) == 1, K, exclude)
    assert [e.id for e in g["counter"]] == _check
    # the same through the explicit query: sample_id + exclude_ids
    res = meld.retriever.retrieve(RetrievalQuery(text_emb=q, hypothesis="sad", sample_id=sid,
                                                 exclude_ids=exclude - {sid}, top_k=K))
    assert {k: pairs(v) for k, v in res.cognitive.items()} == {k: pairs(v) for k, v in g.items()}


@pytest.mark.parametrize("query, plan", [
    ("genius", QueryPlan.for_hypothesis("happy")),
    ("lost", QueryPlan.for_hypothesis("sad", "surprise")),
    ("no_right", QueryPlan.for_hypothesis("angry", "disgust")),
    ("no_right", QueryPlan(support="angry", confusion=None, counter_sentiment="negative")),
    ("looking", QueryPlan.for_hypothesis("neutral")),
    ("lost", QueryPlan(support="surprise", confusion=None, counter_sentiment="negative")),
])
def test_retrieval_query_gives_the_same_groups_as_cognitive(meld, query, plan):
    q = meld.q[query]
    exclude = frozenset({T + "dia4_utt9", T + "dia2_utt10"})
    via_plan = meld.retriever.cognitive(query=q, modality="text", plan=plan, top_k=K, exclude=exclude)
    rq = RetrievalQuery(text_emb=q, hypothesis=plan.support,
                        confusion_labels=(plan.confusion,) if plan.confusion else None,
                        counter_sentiment=plan.counter_sentiment, kinds=("support", "confusion", "counter"),
                        top_k=K, exclude_ids=exclude)
    res = meld.retriever.retrieve(rq)
    assert list(res.cognitive) == ["support", "confusion", "counter"]
    assert res.all_cognitive() and not res.ids & exclude
    got = [(e.id, e.kind, e.label, round(e.score, 5)) for e in res.all_cognitive()]
    assert got == [(e.id, e.kind, e.label, round(e.score, 5)) for e in via_plan]
    # the agents' path carries each item's stored text embedding (for the filter / generator)
    assert all(e.vector is not None and e.vector.shape == (384,) for e in via_plan)
    np.testing.assert_allclose(via_plan[0].vector, meld.x[meld.row[via_plan[0].id]], atol=1e-5)
