"""EmoPrefer-Data (``../shared/data/emoprefer``): 574 pairs of emotion descriptions of one video each, with the
preference of expert annotators (kept only where they agreed unanimously), and the pure metrics that validate an arena
judge on it.

File: ``preference_emoprefer_with_modelnames.csv``, columns ``name, model1, a1, model2, a2, preference`` where
``preference`` is ``a1``, ``a2`` or ``same``. The videos themselves are not shipped (MER2025), so a judge sees the two
descriptions and the task only.

**The length shortcut** (DESIGN.md, "Reference facts → LLM-as-judge"): every pair is ``mercaptionplus`` vs
``merrfine``, and on the 563 decisive pairs the longer description is the human choice 79.75 % of the time by words
(79.57 % by characters). So "pick the longer answer" beats every published zero-shot judge; every judge number here
is reported beside that baseline, on the length-balanced subset (``length_balanced``: every pair where the shorter
answer won plus an equal seeded sample of pairs where the longer won, so the baseline scores exactly 50 % there), and
with the judge's own length preference (share of its decisive verdicts that go to the longer answer).

Metrics (``preference_metrics``), predictions in ``first`` (a1) / ``second`` (a2) / ``tie``:
- accuracy: on the decisive pairs (human a1 / a2), the share the judge got right (a tie is wrong);
- waf: weighted F1 on the same pairs (sklearn ``f1_score(average="weighted")`` over the two human classes; a predicted
  tie counts against recall);
- agreement_with_ties: on every pair, human ``same`` matching a judge tie (the MT-Bench "with ties" agreement);
- tie_rate, length_preference (decisive verdicts for the longer answer; NaN without a decisive verdict).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import DataNotFoundError, InputError
from ..paths import data_root as resolve_data_root

EMOPREFER_FOLDER = "emoprefer"
EMOPREFER_FILE = "preference_emoprefer_with_modelnames.csv"
PREFERENCES: tuple[str, ...] = ("a1", "a2", "same")
PREDICTIONS: tuple[str, ...] = ("first", "second", "tie")
_COLUMNS = ("name", "model1", "a1", "model2", "a2", "preference")

# What the judge is told: the descriptions were written for a video it cannot see.
EMOPREFER_STIMULUS = ("(a short video clip with speech and subtitles; the clip itself is not available, judge the two "
                      "descriptions on their own merits)")
EMOPREFER_TASK = ("Describe the emotional state of the person in the video from its visual cues, audio cues and "
                  "subtitle, and explain your reasoning.")


def word_count(text: str) -> int:
    """Whitespace-separated words."""
    return len(text.split())


@dataclass(frozen=True)
class PreferencePair:
    """One EmoPrefer pair. id: the clip name. a1 / a2: the two descriptions (by ``model1`` / ``model2``).
    preference: the annotators' choice, "a1", "a2" or "same"."""

    id: str
    model1: str
    a1: str
    model2: str
    a2: str
    preference: str

    def __post_init__(self) -> None:
        if self.preference not in PREFERENCES:
            raise InputError(f"EmoPrefer pair {self.id!r}: preference must be a1, a2 or same; got {self.preference!r}")

    @property
    def decisive(self) -> bool:
        return self.preference != "same"

    @property
    def human(self) -> str:
        """The human preference in prediction terms: first / second / tie."""
        return {"a1": "first", "a2": "second", "same": "tie"}[self.preference]

    @property
    def words(self) -> tuple[int, int]:
        return word_count(self.a1), word_count(self.a2)

    @property
    def longer(self) -> str:
        """"first" or "second": the description with more words (characters break a tie in words; "tie" if both)."""
        (w1, w2), (c1, c2) = self.words, (len(self.a1), len(self.a2))
        if (w1, c1) == (w2, c2):
            return "tie"
        return "first" if (w1, c1) > (w2, c2) else "second"

    @property
    def longer_won(self) -> bool | None:
        """Whether the humans chose the longer description (None for a "same" pair or equal lengths)."""
        if not self.decisive or self.longer == "tie":
            return None
        return self.human == self.longer


def emoprefer_path(*, data_root: str | Path | None = None, path: str | Path | None = None) -> Path:
    """The EmoPrefer CSV: ``path`` if given, else ``<data root>/emoprefer/preference_emoprefer_with_modelnames.csv``."""
    if path is not None:
        p = Path(path).expanduser()
    else:
        p = resolve_data_root(data_root) / EMOPREFER_FOLDER / EMOPREFER_FILE
    if not p.is_file():
        raise DataNotFoundError(f"EmoPrefer file not found: {p} (see ../shared/data/emoprefer/SOURCE.txt)")
    return p


def load_emoprefer(
    *, data_root: str | Path | None = None, path: str | Path | None = None, limit: int | None = None,
) -> list[PreferencePair]:
    """Every pair of the EmoPrefer CSV in file order (the first ``limit`` if given; use ``sample_pairs`` for a seeded
    sample). Missing columns or an unknown preference value -> InputError naming the line."""
    p = emoprefer_path(data_root=data_root, path=path)
    out: list[PreferencePair] = []
    with p.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise InputError(f"{p}: missing EmoPrefer column(s) {', '.join(missing)}")
        for n, row in enumerate(reader, start=2):
            try:
                out.append(PreferencePair(id=row["name"], model1=row["model1"], a1=row["a1"].strip(),
                                          model2=row["model2"], a2=row["a2"].strip(),
                                          preference=row["preference"].strip().lower()))
            except InputError as exc:
                raise InputError(f"{p} line {n}: {exc}") from None
            if limit is not None and len(out) >= limit:
                break
    if not out:
        raise InputError(f"{p} holds no EmoPrefer pairs")
    return out


def sample_pairs(pairs: Sequence[PreferencePair], n: int | None, *, seed: int = 0) -> list[PreferencePair]:
    """``n`` pairs drawn without replacement (seeded), in file order; all pairs when ``n`` is None or >= len."""
    if n is None or n >= len(pairs):
        return list(pairs)
    if n < 1:
        raise InputError(f"the number of pairs must be >= 1; got {n}")
    idx = np.sort(np.random.default_rng(seed).choice(len(pairs), size=n, replace=False))
    return [pairs[i] for i in idx]


def length_balanced(pairs: Sequence[PreferencePair], *, seed: int = 0) -> list[int]:
    """Indices (into ``pairs``, sorted) of the length-balanced subset: every decisive pair where the shorter
    description won, plus an equal seeded sample of the pairs where the longer one won (if the longer one won fewer
    times, all of those and an equal seeded sample of the others)."""
    shorter = [i for i, p in enumerate(pairs) if p.longer_won is False]
    longer = [i for i, p in enumerate(pairs) if p.longer_won is True]
    gen = np.random.default_rng(seed)
    k = min(len(shorter), len(longer))

    def pick(idx: list[int]) -> list[int]:
        return [idx[j] for j in gen.choice(len(idx), size=k, replace=False)] if len(idx) > k else idx

    return sorted(pick(shorter) + pick(longer))


def longer_baseline(pairs: Sequence[PreferencePair]) -> list[str]:
    """The "pick the longer answer" judge: first / second per pair (tie for equal lengths)."""
    return [p.longer for p in pairs]


def preference_metrics(
    human: Sequence[str], predicted: Sequence[str], longer: Sequence[str],
) -> dict[str, Any]:
    """Agreement of ``predicted`` (first / second / tie) with ``human`` (first / second / tie) on pairs whose longer
    answer is ``longer`` (first / second / tie). See the module docstring for the definitions."""
    if not len(human) == len(predicted) == len(longer):
        raise InputError("human, predicted and longer must have the same length")
    bad = sorted({v for v in (*human, *predicted, *longer)} - set(PREDICTIONS))
    if bad:
        raise InputError(f"preference values must be first, second or tie; got {bad}")
    from sklearn.metrics import f1_score

    decisive = [i for i, h in enumerate(human) if h != "tie"]
    y_true = [human[i] for i in decisive]
    y_pred = [predicted[i] for i in decisive]
    verdicts = [i for i, p in enumerate(predicted) if p != "tie" and longer[i] != "tie"]
    nan = float("nan")
    return {
        "n": len(human),
        "n_decisive": len(decisive),
        "accuracy": float(np.mean([t == p for t, p in zip(y_true, y_pred)])) if decisive else nan,
        "waf": float(f1_score(y_true, y_pred, labels=["first", "second"], average="weighted", zero_division=0))
        if decisive else nan,
        "agreement_with_ties": float(np.mean([h == p for h, p in zip(human, predicted)])) if len(human) else nan,
        "tie_rate": float(np.mean([p == "tie" for p in predicted])) if len(predicted) else nan,
        "length_preference": float(np.mean([predicted[i] == longer[i] for i in verdicts])) if verdicts else nan,
    }


def fmt_rate(x: float) -> str:
    """A rate as a percentage with one decimal ("n/a" for NaN)."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


__all__ = [
    "EMOPREFER_FILE", "EMOPREFER_STIMULUS", "EMOPREFER_TASK", "PreferencePair", "emoprefer_path", "fmt_rate",
    "length_balanced", "load_emoprefer", "longer_baseline", "preference_metrics", "sample_pairs", "word_count",
]
