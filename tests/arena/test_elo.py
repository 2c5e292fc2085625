"""Arena ratings against hand-computed values: Eq. 1–2 Elo, replay, closest pairing, Bradley–Terry, convergence."""
from __future__ import annotations

import numpy as np
import pytest

from affectagent.arena.elo import (
    INITIAL_RATING, K_FACTOR, SCALE_M, Battle, EloHistory, converged_since, expected, fit_bt, pair_by_closest,
    ranking_of, replay, update,
)
from affectagent.errors import InputError

LOG3 = 0.47712125471966244  # log10(3)


# ---- Elo (Eqs. 1–2, Table 7) -------------------------------------------------------------------------------------

def test_defaults_are_table_7():
    assert (K_FACTOR, SCALE_M, INITIAL_RATING) == (64.0, 600.0, 1000.0)


def test_expected_equal_players_is_half():
    assert expected(1000, 1000) == 0.5


def test_expected_600_point_gap_is_ten_elevenths():
    assert expected(1600, 1000) == pytest.approx(10 / 11)
    assert expected(1000, 1600) == pytest.approx(1 / 11)


def test_update_equal_players_win_moves_32_each_way():
    assert update(1000, 1000, 1.0) == (1032.0, 968.0)
    assert update(1000, 1000, 0.0) == (968.0, 1032.0)


def test_update_draw_between_equals_changes_nothing_and_favourite_loses_points():
    assert update(1000, 1000, 0.5) == (1000.0, 1000.0)
    hi, lo = update(1600, 1000, 0.5)
    assert hi == pytest.approx(1600 + 64 * (0.5 - 10 / 11))  # = 1600 − 26.18
    assert lo == pytest.approx(1000 - 64 * (0.5 - 10 / 11))


def test_update_favourite_win_gains_k_over_eleven():
    hi, lo = update(1600, 1000, 1.0)
    assert hi == pytest.approx(1600 + 64 / 11)
    assert lo == pytest.approx(1000 - 64 / 11)


def test_update_custom_k_and_scale():
    assert update(1000, 1000, 1.0, k=32) == (1016.0, 984.0)
    assert expected(1400, 1000, scale=400) == pytest.approx(10 / 11)


def test_update_rejects_bad_outcome():
    with pytest.raises(InputError):
        update(1000, 1000, 0.7)


def test_battle_validation():
    with pytest.raises(InputError):
        Battle("a", "a", 1)
    with pytest.raises(InputError):
        Battle("a", "b", 2)
    assert Battle("a", "b", 1).outcome == 1.0


# ---- replay ------------------------------------------------------------------------------------------------------

def test_replay_two_rounds_hand_values():
    h = replay([Battle("a", "b", 1, round=1), Battle("a", "b", 1, round=2)])
    assert h.models == ("a", "b") and h.rounds == (1, 2)
    assert h.ratings.shape == (3, 2)
    np.testing.assert_allclose(h.ratings[0], [1000, 1000])
    np.testing.assert_allclose(h.ratings[1], [1032, 968])
    # second win: E = 1/(1 + 10^(−64/600)) = 0.561095..., gain 64·(1 − E) = 28.0899
    np.testing.assert_allclose(h.ratings[2], [1060.089891099128, 939.910108900872])
    assert h.final == pytest.approx({"a": 1060.089891099128, "b": 939.910108900872})
    np.testing.assert_allclose(h.curve("b"), [1000, 968, 939.910108900872])
    assert h.ranking() == ("a", "b")


def test_replay_one_row_per_round_and_models_that_never_played():
    battles = [Battle("a", "b", 1, round=0), Battle("c", "d", 0.5, round=0), Battle("a", "c", 0, round=1)]
    h = replay(battles, models=["d", "c", "b", "a", "e"])
    assert h.models == ("d", "c", "b", "a", "e") and h.rounds == (0, 1)
    np.testing.assert_allclose(h.ratings[1], [1000, 1000, 968, 1032, 1000])
    e_c = expected(1000, 1032)
    np.testing.assert_allclose(h.ratings[2, 1], 1000 + 64 * (1 - e_c))
    assert h.ratings[:, 4].tolist() == [1000, 1000, 1000]
    np.testing.assert_allclose(h.ratings.sum(axis=1), 5000)  # zero-sum


def test_replay_rejects_decreasing_rounds_and_unknown_models():
    with pytest.raises(InputError):
        replay([Battle("a", "b", 1, round=2), Battle("a", "b", 1, round=1)])
    with pytest.raises(InputError):
        replay([Battle("a", "b", 1)], models=["a"])
    with pytest.raises(InputError):
        replay([Battle("a", "b", 1)]).curve("zzz")


def test_replay_no_battles():
    h = replay([], models=["a", "b"])
    assert h.rounds == () and h.ratings.tolist() == [[1000, 1000]]


def test_replay_is_order_dependent():
    a = replay([Battle("x", "y", 1, 0), Battle("x", "y", 0, 1)]).final
    b = replay([Battle("x", "y", 0, 0), Battle("x", "y", 1, 1)]).final
    assert a["x"] < 1000 < b["x"]  # the later result counts more


# ---- pairing -----------------------------------------------------------------------------------------------------

def test_pair_by_closest_pairs_sorted_neighbours():
    p = pair_by_closest({"a": 1000, "b": 1010, "c": 1200, "d": 1190}, 0)
    assert p.pairs == (("a", "b"), ("d", "c")) and p.sitting_out is None


def test_pair_by_closest_odd_sits_out_fewest_byes():
    p = pair_by_closest({"a": 1000, "b": 1100, "c": 1200}, 0, sat_out={"a": 1, "c": 1})
    assert p.sitting_out == "b" and p.pairs == (("a", "c"),)


def test_pair_by_closest_bye_rotates():
    ratings = {m: 1000.0 for m in "abcde"}
    counts: dict[str, int] = {}
    rng = np.random.default_rng(3)
    for _ in range(5):
        p = pair_by_closest(ratings, rng, sat_out=counts)
        counts[p.sitting_out] = counts.get(p.sitting_out, 0) + 1
        played = [m for pair in p.pairs for m in pair]
        assert sorted(played + [p.sitting_out]) == list("abcde")
    assert counts == {m: 1 for m in "abcde"}


def test_pair_by_closest_ties_deterministic_per_seed():
    ratings = {m: 1000.0 for m in "abcdefgh"}
    assert pair_by_closest(ratings, 7) == pair_by_closest(ratings, 7)
    assert len({pair_by_closest(ratings, s).pairs for s in range(10)}) > 1


def test_pair_by_closest_needs_two():
    with pytest.raises(InputError):
        pair_by_closest({"a": 1000}, 0)


# ---- Bradley–Terry -----------------------------------------------------------------------------------------------

def test_bt_two_players_three_to_one_is_400_log10_3():
    # P(a beats b) = 3/4 -> ln10·(r_a − r_b) = ln 3 -> rating gap 400·log10(3) = 190.85, mean anchored at 1000
    res = fit_bt([Battle("a", "b", 1)] * 3 + [Battle("a", "b", 0)], n_bootstrap=0)
    assert res.as_dict() == pytest.approx({"a": 1000 + 200 * LOG3, "b": 1000 - 200 * LOG3}, abs=1e-3)
    assert res.converged and res.n_battles == 4
    assert np.isnan(res.lower).all() and res.ranks.tolist() == [1, 2]


def test_bt_tie_is_half_win_half_loss():
    # one win + one tie = 1.5 of 2 -> same as 3:1
    res = fit_bt([Battle("a", "b", 1), Battle("a", "b", 0.5)], n_bootstrap=0)
    assert res.ratings[0] - res.ratings[1] == pytest.approx(400 * LOG3, abs=1e-3)
    ties = fit_bt([Battle("a", "b", 0.5)] * 5, n_bootstrap=0)
    np.testing.assert_allclose(ties.ratings, [1000, 1000], atol=1e-6)


def test_bt_is_order_and_orientation_independent():
    battles = [Battle("a", "b", 1), Battle("b", "c", 1), Battle("a", "c", 0.5), Battle("c", "a", 0),
               Battle("b", "a", 1)]
    flipped = [Battle(b.b, b.a, 1 - b.outcome) for b in reversed(battles)]
    r1 = fit_bt(battles, n_bootstrap=0).as_dict()
    r2 = fit_bt(flipped, n_bootstrap=0).as_dict()
    assert r1 == pytest.approx(r2, abs=1e-3)


def test_bt_symmetric_cycle_gives_equal_ratings():
    battles = [Battle("a", "b", 1), Battle("b", "c", 1), Battle("c", "a", 1)] * 2
    res = fit_bt(battles, n_bootstrap=0)
    np.testing.assert_allclose(res.ratings, 1000, atol=1e-4)


def test_bt_three_player_chain_ordering_and_symmetry():
    battles = []
    for x, y in (("a", "b"), ("b", "c"), ("a", "c")):
        battles += [Battle(x, y, 1)] * 3 + [Battle(x, y, 0)]
    res = fit_bt(battles, n_bootstrap=0)
    r = res.as_dict()
    assert r["a"] > r["b"] > r["c"]
    assert r["b"] == pytest.approx(1000, abs=1e-3)  # mirror symmetry a <-> c
    assert r["a"] - 1000 == pytest.approx(1000 - r["c"], abs=1e-3)
    assert np.mean(res.ratings) == pytest.approx(1000)


def test_bt_bootstrap_intervals_contain_point_and_ranks():
    battles = []
    for x, y, wins in (("a", "b", 18), ("b", "c", 18), ("a", "c", 19)):
        battles += [Battle(x, y, 1)] * wins + [Battle(x, y, 0)] * (20 - wins) + [Battle(x, y, 0.5)]
    res = fit_bt(battles, n_bootstrap=100, seed=1)
    assert res.n_bootstrap == 100
    assert np.all(res.lower <= res.ratings) and np.all(res.ratings <= res.upper)
    assert res.ranks.tolist() == [1, 2, 3]
    assert [row["model"] for row in res.table()] == ["a", "b", "c"]
    again = fit_bt(battles, n_bootstrap=100, seed=1)
    np.testing.assert_array_equal(res.lower, again.lower)


def test_bt_overlapping_intervals_share_a_rank():
    battles = [Battle("a", "b", 1), Battle("a", "b", 0), Battle("b", "c", 1), Battle("b", "c", 0)] * 2
    res = fit_bt(battles, n_bootstrap=100, seed=0)
    assert res.ranks.tolist() == [1, 1, 1]


def test_bt_l2_keeps_undefeated_contestant_finite():
    res = fit_bt([Battle("a", "b", 1)] * 5, n_bootstrap=0, l2=0.1)
    assert np.all(np.isfinite(res.ratings)) and res.ratings[0] > res.ratings[1]


def test_bt_input_checks():
    with pytest.raises(InputError):
        fit_bt([])
    with pytest.raises(InputError):
        fit_bt([Battle("a", "b", 1)], n_bootstrap=-1)


# ---- convergence -------------------------------------------------------------------------------------------------

def _history(rows: list[list[float]]) -> EloHistory:
    return EloHistory(models=("a", "b", "c"), rounds=tuple(range(1, len(rows))), ratings=np.array(rows, float))


def test_converged_since_returns_round_ranking_settled():
    rows = [[1000, 1000, 1000], [1032, 968, 1000], [1000, 1030, 970]] + [[1000 + i, 1040, 960] for i in range(5)]
    h = _history(rows)  # ranking b > a > c from round 2 on, unchanged over rounds 3..7
    assert ranking_of(dict(zip(h.models, h.ratings[2]))) == ("b", "a", "c")
    assert converged_since(h, window=5) == 2
    assert converged_since(h, window=6) is None


def test_converged_since_changed_last_round_or_empty():
    h = _history([[1000, 1000, 1000], [1032, 968, 1000], [968, 1032, 1000]])
    assert converged_since(h, window=1) is None
    assert converged_since(replay([], models=["a", "b"]), window=1) is None
    with pytest.raises(InputError):
        converged_since(h, window=0)


def test_converged_on_a_replayed_arena():
    rng = np.random.default_rng(0)
    strength = {"a": 2.0, "b": 1.0, "c": 0.0, "d": -1.0}
    ratings = {m: INITIAL_RATING for m in strength}
    battles = []
    for rnd in range(200):
        for x, y in pair_by_closest(ratings, rng).pairs:
            p = 1 / (1 + 10 ** (strength[y] - strength[x]))
            battles.append(Battle(x, y, float(rng.random() < p), round=rnd))
        ratings = replay(battles, models=list(strength)).final
    h = replay(battles, models=list(strength))
    assert h.ranking() == ("a", "b", "c", "d")
    start = converged_since(h, window=20)
    assert start is not None and start <= 180
    assert fit_bt(battles, n_bootstrap=0).as_dict()["a"] > fit_bt(battles, n_bootstrap=0).as_dict()["d"]
