"""The Stimulus-Armed Bandit arena (SAB, issue #13; ``../shared/papers/raer-sab.txt`` §4, §5.3, Appendices A, C).

- ``elo``: the paper's online Elo (Eqs. 1–2, K = 64, M = 600), closest-score pairing, a Bradley–Terry fit with
  bootstrap intervals, a convergence check (pure functions);
- ``tasks``: the MER / MERG task pools (Tables 10–11) and the prompt each contestant receives;
- ``stimuli``: neutral keywords -> LLM-improvised scenario -> text and espeak-ng speech stimuli, real stimuli from the
  user's files, and the JSONL store that makes a match replayable.
"""
from __future__ import annotations

from .elo import (
    Battle, BTResult, EloHistory, Pairing, converged_since, expected, fit_bt, pair_by_closest, ranking_of, replay,
    update,
)
from .stimuli import (
    Prosody, Stimulus, StimulusConfig, StimulusError, StimulusStore, from_samples, generate_stimuli,
    generate_text_stimulus, neutral_words, real_stimuli, sample_keywords, sample_prosody, speech_stimulus, synthesize,
)
from .tasks import POOLS, TASK_KINDS, Task, TaskKind, make_task, pool_kinds, render, sample_tasks

__all__ = [
    "Battle", "BTResult", "EloHistory", "Pairing", "converged_since", "expected", "fit_bt", "pair_by_closest",
    "ranking_of", "replay", "update",
    "Prosody", "Stimulus", "StimulusConfig", "StimulusError", "StimulusStore", "from_samples", "generate_stimuli",
    "generate_text_stimulus", "neutral_words", "real_stimuli", "sample_keywords", "sample_prosody", "speech_stimulus",
    "synthesize",
    "POOLS", "TASK_KINDS", "Task", "TaskKind", "make_task", "pool_kinds", "render", "sample_tasks",
]
