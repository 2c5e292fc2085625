import numpy as np
import pytest

from affectagent.rl.rewards import agent_rewards, batch_weighted_f1, set_f1


def test_set_f1_hand_values():
    assert set_f1("happy", "happy") == 1.0
    assert set_f1("sad", "happy") == 0.0
    assert set_f1(["happy", "surprise"], ["happy"]) == 2 * 0.5 * 1 / 1.5
    assert set_f1([], []) == 1.0 and set_f1([], ["sad"]) == 0.0


def test_local_incremental_rewards():
    r = agent_rewards(full=["happy", "sad", "angry"], no_planner=["sad", "sad", "angry"],
                      no_filter=["happy", "angry", "fear"], gold=["happy", "sad", "fear"])
    assert np.allclose(r.shared, [1, 1, 0])
    assert np.allclose(r.generator, r.shared)
    assert np.allclose(r.planner, [2, 1, 0])       # planner fixed sample 0
    assert np.allclose(r.filter, [1, 2, -1])       # filter fixed sample 1, broke sample 2


def test_batch_weighted_f1():
    # class a: tp=1 fp=1 fn=0 -> f1 2/3, support 1; class b: tp=1, fn=1, fp=0 -> 2/3, support 2
    assert np.isclose(batch_weighted_f1(["a", "a", "b"], ["a", "b", "b"]), (2 / 3 * 1 + 2 / 3 * 2) / 3)


def test_marginal_weighted_f1_hand_values():
    from affectagent.rl.rewards import batch_weighted_f1, marginal_weighted_f1

    gold = ["a", "a", "b"]
    pred = ["a", "b", "b"]
    base = batch_weighted_f1(pred, gold)  # a: f1 2/3 (sup 2), b: f1 2/3 (sup 1) -> 2/3
    assert base == pytest.approx(2 / 3)
    d = marginal_weighted_f1(pred, gold)
    # drop answer 0 (correct a): a tp 0 -> f1 0; b unchanged 2/3 -> wf1 2/9
    # drop answer 1 (wrong, predicted b): b fp 0 -> f1 1; a unchanged 2/3 -> wf1 (4/3 + 1)/3 = 7/9
    # drop answer 2 (correct b): b tp 0 -> f1 0; a 2/3 -> wf1 4/9
    assert d == pytest.approx([3 * (2 / 3 - 2 / 9), 3 * (2 / 3 - 7 / 9), 3 * (2 / 3 - 4 / 9)])
    assert d[1] < 0 < d[2] < d[0]  # the wrong answer is penalised; the correct answer in the larger class helps most
