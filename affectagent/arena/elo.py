"""Arena ratings, pure functions: the SAB paper's online Elo, closest-score pairing, a Bradley–Terry fit with bootstrap
intervals, and a convergence check.

Source: ``../shared/papers/raer-sab.txt`` §4.2 (Eqs. 1–2) and Appendix A, Table 7 (K = 64, M = 600); the Bradley–Terry
fit follows the public chatbot-arena code (DESIGN.md, "Reference facts for wave 2 → Arena ratings").

A battle's ``outcome`` is the score of contestant ``a``: 1 (a preferred), 0.5 (draw) or 0 (b preferred).

Online Elo is order dependent (the paper's ranking, replayed round by round); the Bradley–Terry fit is order independent
(one maximum-likelihood fit over all battles) and comes with 95 % bootstrap intervals. Ratings of the fit are reported
as ``400·r + 1000`` with the latent strengths ``r`` centred on zero, so the mean rating is exactly 1000.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import InputError

K_FACTOR: float = 64.0  # Table 7, SAB K
SCALE_M: float = 600.0  # Table 7, SAB M
INITIAL_RATING: float = 1000.0  # S0, the same for every contestant (§4.2 "Initialization")
OUTCOMES: tuple[float, ...] = (1.0, 0.5, 0.0)
BT_SCALE: float = 400.0
BT_BASE_RATING: float = 1000.0


@dataclass(frozen=True)
class Battle:
    """One judged match. ``outcome``: score of ``a`` (1 win, 0.5 draw, 0 loss); ``round``: the arena round it belongs to
    (rounds must not decrease along a replayed sequence)."""

    a: str
    b: str
    outcome: float
    round: int = 0

    def __post_init__(self) -> None:
        if not self.a or not self.b or self.a == self.b:
            raise InputError(f"a battle needs two different named contestants; got {self.a!r} vs {self.b!r}")
        if self.outcome not in OUTCOMES:
            raise InputError(f"battle outcome must be 1 (a wins), 0.5 (draw) or 0 (b wins); got {self.outcome!r}")
        object.__setattr__(self, "outcome", float(self.outcome))


def expected(s_i: float, s_j: float, *, scale: float = SCALE_M) -> float:
    """Expected score of i against j."""
    return 1.0 / (1.0 + 10.0 ** ((s_j - s_i) / scale))  # Eq. 2: E = 1 / (1 + 10^((S_j − S_i)/M))


def update(
    s_i: float, s_j: float, outcome: float, *, k: float = K_FACTOR, scale: float = SCALE_M
) -> tuple[float, float]:
    """New (S_i, S_j) after one battle in which i scored ``outcome`` (1 / 0.5 / 0); zero-sum."""
    if outcome not in OUTCOMES:
        raise InputError(f"outcome must be 1, 0.5 or 0; got {outcome!r}")
    delta = k * (outcome - expected(s_i, s_j, scale=scale))  # Eq. 1: S_i^new = S_i^old + K·(R − E)
    return s_i + delta, s_j - delta  # j's R and E are 1 − R and 1 − E, so it moves by −delta


@dataclass(frozen=True)
class EloHistory:
    """Online Elo ratings after every round.

    models: contestant names (column order). rounds: the round id of each row after the first.
    ratings: (len(rounds) + 1, len(models)); row 0 is the start S0, row t the ratings after ``rounds[t-1]``.
    """

    models: tuple[str, ...]
    rounds: tuple[int, ...]
    ratings: np.ndarray

    @property
    def final(self) -> dict[str, float]:
        """Ratings after the last round."""
        return {m: float(r) for m, r in zip(self.models, self.ratings[-1])}

    def curve(self, model: str) -> np.ndarray:
        """One contestant's rating per row (start first), for plotting."""
        try:
            return self.ratings[:, self.models.index(model)]
        except ValueError:
            raise InputError(f"unknown contestant {model!r}; known: {', '.join(self.models)}") from None

    def ranking(self, row: int = -1) -> tuple[str, ...]:
        """Contestants from best to worst at a row (ties: by name)."""
        return ranking_of(dict(zip(self.models, self.ratings[row])))


def ranking_of(ratings: Mapping[str, float]) -> tuple[str, ...]:
    """Names from the highest to the lowest rating; equal ratings are ordered by name."""
    return tuple(sorted(ratings, key=lambda m: (-ratings[m], m)))


def _models_of(battles: Sequence[Battle], models: Iterable[str] | None) -> tuple[str, ...]:
    seen = list(dict.fromkeys(n for b in battles for n in (b.a, b.b)))
    if models is None:
        return tuple(seen)
    given = tuple(dict.fromkeys(models))
    unknown = sorted(set(seen) - set(given))
    if unknown:
        raise InputError(f"battles name contestants not in the model list: {', '.join(unknown)}")
    return given


def replay(
    battles: Sequence[Battle],
    *,
    models: Iterable[str] | None = None,
    k: float = K_FACTOR,
    scale: float = SCALE_M,
    initial: float = INITIAL_RATING,
) -> EloHistory:
    """Apply Eq. 1 battle by battle in the given order, recording the ratings after each round.

    ``models`` fixes the column order and may add contestants that never played (default: order of first appearance).
    Battles of one round are applied one after the other (with closest-score pairing each contestant plays at most
    once per round, so the order inside a round does not matter). Rounds must not decrease.
    """
    names = _models_of(battles, models)
    index = {m: i for i, m in enumerate(names)}
    current = np.full(len(names), float(initial))
    rows, rounds = [current.copy()], []
    for n, battle in enumerate(battles):
        if rounds and battle.round < rounds[-1]:
            raise InputError(f"battle {n}: round {battle.round} comes after round {rounds[-1]}; "
                             "rounds must not decrease")
        if not rounds or battle.round > rounds[-1]:  # a new round: keep the ratings the previous one ended with
            if rounds:
                rows.append(current.copy())
            rounds.append(battle.round)
        i, j = index[battle.a], index[battle.b]
        current[i], current[j] = update(current[i], current[j], battle.outcome, k=k, scale=scale)
    if rounds:
        rows.append(current.copy())
    return EloHistory(models=names, rounds=tuple(rounds), ratings=np.vstack(rows))


class Pairing(NamedTuple):
    """One round's matches: ``pairs`` (a, b) with a the lower-rated of the two, and who sits the round out."""

    pairs: tuple[tuple[str, str], ...]
    sitting_out: str | None


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def pair_by_closest(
    ratings: Mapping[str, float],
    rng: np.random.Generator | int | None,
    *,
    sat_out: Mapping[str, int] | None = None,
) -> Pairing:
    """Pair contestants with the closest scores (§4.2: |S_i − S_j| minimised for each match).

    Sort by score and pair neighbours (1–2, 3–4, …), which minimises the summed score gaps. Equal scores are ordered
    by a random key from ``rng`` (a seed or a Generator), so ties break deterministically per seed and differently per
    round when a Generator is passed along. With an odd number of contestants one sits out: a contestant with the
    fewest earlier sit-outs (``sat_out``: name -> count, default none), chosen with ``rng`` among those tied, so the
    bye rotates.
    """
    names = sorted(ratings)
    if len(names) < 2:
        raise InputError(f"pairing needs at least two contestants; got {len(names)}")
    gen = _rng(rng)
    sitting_out = None
    if len(names) % 2:
        counts = {m: (sat_out or {}).get(m, 0) for m in names}
        fewest = [m for m in names if counts[m] == min(counts.values())]
        sitting_out = fewest[int(gen.integers(len(fewest)))]
        names.remove(sitting_out)
    tiebreak = dict(zip(names, gen.random(len(names))))
    order = sorted(names, key=lambda m: (float(ratings[m]), tiebreak[m]))
    pairs = tuple((order[i], order[i + 1]) for i in range(0, len(order), 2))
    return Pairing(pairs=pairs, sitting_out=sitting_out)


@dataclass(frozen=True)
class BTResult:
    """A Bradley–Terry fit over all battles.

    models: names. ratings: (n,) ``400·r + 1000`` with mean exactly 1000. lower / upper: (n,) 95 % bootstrap percentile
    bounds (NaN when ``n_bootstrap`` is 0). ranks: (n,) 1 + the number of models whose lower bound exceeds this model's
    upper bound (from the point estimates when there is no bootstrap). converged: the point fit's L-BFGS success flag
    (False typically means a contestant won or lost every battle, where the maximum-likelihood rating is unbounded).
    """

    models: tuple[str, ...]
    ratings: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    ranks: np.ndarray
    n_battles: int
    n_bootstrap: int
    converged: bool

    def as_dict(self) -> dict[str, float]:
        return {m: float(r) for m, r in zip(self.models, self.ratings)}

    def table(self) -> list[dict[str, float | int | str]]:
        """One row per model, best first: model, rating, lower, upper, rank."""
        order = np.lexsort((np.array(self.models), -self.ratings))
        return [{"model": self.models[i], "rating": float(self.ratings[i]), "lower": float(self.lower[i]),
                 "upper": float(self.upper[i]), "rank": int(self.ranks[i])} for i in order]


class _Rows(NamedTuple):
    """Battles collapsed into unique rows: pairs (u, 2) model indices, outcomes (u,) score of the first, counts (u,)."""

    pairs: np.ndarray
    outcomes: np.ndarray
    counts: np.ndarray


def _collapse(battles: Sequence[Battle], index: Mapping[str, int]) -> _Rows:
    keys: dict[tuple[int, int, float], int] = {}
    for b in battles:
        key = (index[b.a], index[b.b], b.outcome)
        keys[key] = keys.get(key, 0) + 1
    rows = sorted(keys)
    return _Rows(pairs=np.array([[a, b] for a, b, _ in rows], dtype=np.int64).reshape(-1, 2),
                 outcomes=np.array([o for _, _, o in rows], dtype=np.float64),
                 counts=np.array([keys[r] for r in rows], dtype=np.float64))


def _bt_loss(r: np.ndarray, rows: _Rows, weights: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    alpha = math.log(10.0)
    logits = alpha * (r[rows.pairs[:, 0]] - r[rows.pairs[:, 1]])  # P(a beats b) = σ(ln10·(r_a − r_b)), base-10 logistic
    # tie (outcome 0.5) = half a win + half a loss: −[y·log σ(z) + (1 − y)·log σ(−z)], weighted by row counts
    loss = float(np.sum(weights * (np.logaddexp(0.0, -logits) * rows.outcomes
                                   + np.logaddexp(0.0, logits) * (1.0 - rows.outcomes))))
    g_rows = -alpha * weights * (rows.outcomes - 1.0 / (1.0 + np.exp(-logits)))
    grad = np.zeros_like(r)
    np.add.at(grad, rows.pairs[:, 0], g_rows)
    np.add.at(grad, rows.pairs[:, 1], -g_rows)
    if l2:
        loss += 0.5 * l2 * float(r @ r)
        grad += l2 * r
    return loss, grad


def _bt_point(rows: _Rows, weights: np.ndarray, n: int, l2: float, tol: float) -> tuple[np.ndarray, bool]:
    from scipy.optimize import minimize

    res = minimize(_bt_loss, np.zeros(n), args=(rows, weights, l2), jac=True, method="L-BFGS-B",
                   options={"maxiter": 100, "gtol": tol})
    r = res.x - res.x.mean()  # identifiable only up to a constant: anchor the mean strength at 0 (mean rating 1000)
    return r, bool(res.success)


def fit_bt(
    battles: Sequence[Battle],
    *,
    models: Iterable[str] | None = None,
    n_bootstrap: int = 100,
    seed: int = 0,
    confidence: float = 0.95,
    scale: float = BT_SCALE,
    base: float = BT_BASE_RATING,
    l2: float = 0.0,
    tol: float = 1e-6,
) -> BTResult:
    """Bradley–Terry maximum likelihood over all battles (order independent), with bootstrap intervals.

    Battles collapse into unique (a, b, outcome) rows weighted by their counts; the weighted logistic loss on
    ``ln(10)·(r_a − r_b)`` (a draw counts as half a win and half a loss) is minimised with L-BFGS (scipy, 100
    iterations, gtol ``tol``) from r = 0. Ratings are ``scale·r + base`` with r centred (mean rating = ``base``).
    ``l2`` adds ``l2/2·|r|²`` (default 0, as in the public arena code) to keep an all-wins contestant finite.

    Bootstrap (``n_bootstrap`` refits, 0 = none, else ≥ 100 recommended): each refit draws ``len(battles)`` battles with
    replacement as multinomial counts over the unique rows (seeded by ``seed``); bounds are the
    ``(1 ± confidence)/2`` percentiles of the refit ratings.
    """
    battles = list(battles)
    if not battles:
        raise InputError("a Bradley–Terry fit needs at least one battle")
    if n_bootstrap < 0:
        raise InputError(f"n_bootstrap must be >= 0; got {n_bootstrap}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1); got {confidence}")
    names = _models_of(battles, models)
    rows = _collapse(battles, {m: i for i, m in enumerate(names)})
    n = len(names)
    r, converged = _bt_point(rows, rows.counts, n, l2, tol)
    ratings = scale * r + base
    if n_bootstrap:
        gen = np.random.default_rng(seed)
        draws = gen.multinomial(len(battles), rows.counts / rows.counts.sum(), size=n_bootstrap).astype(np.float64)
        boot = np.vstack([scale * _bt_point(rows, w, n, l2, tol)[0] + base for w in draws])
        tail = 100.0 * (1.0 - confidence) / 2.0
        lower, upper = np.percentile(boot, tail, axis=0), np.percentile(boot, 100.0 - tail, axis=0)
        ranks = np.array([1 + int(np.sum(lower > upper[i])) for i in range(n)])  # 1 + #models surely better
    else:
        lower = upper = np.full(n, np.nan)
        ranks = np.array([1 + int(np.sum(ratings > ratings[i])) for i in range(n)])
    return BTResult(models=names, ratings=ratings, lower=lower, upper=upper, ranks=ranks, n_battles=len(battles),
                    n_bootstrap=n_bootstrap, converged=converged)


def converged_since(history: EloHistory, *, window: int = 20) -> int | None:
    """The round from which the ranking (best to worst, ties by name) no longer changed, provided at least ``window``
    further rounds were played after it without a change; None otherwise (or when no round was played).

    The paper sees most SAB pools converge within ~100 rounds (§5.3)."""
    if window < 1:
        raise InputError(f"window must be >= 1; got {window}")
    if not history.rounds:
        return None
    rankings = [history.ranking(row) for row in range(1, len(history.rounds) + 1)]
    first = len(rankings) - 1
    while first > 0 and rankings[first - 1] == rankings[-1]:
        first -= 1
    return history.rounds[first] if len(rankings) - 1 - first >= window else None
