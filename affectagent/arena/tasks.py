"""SAB task pools (paper §4.1 "Task Formulation", Appendix C, Tables 10–11) and the prompt each contestant receives.

Task kinds (each a ``TaskKind`` in the ``TASK_KINDS`` registry; ``description`` is the paper's table text):

====================== ===== ==========================================================================================
kind                   pool  paper (Table 10: MER, Table 11: MERG)
====================== ===== ==========================================================================================
multi_choice           mer   Select the most appropriate emotions from a predefined list based on multimodal inputs.
ranking                mer   Rank emotions from a predefined list based on multimodal inputs.
recognition_analysis   mer   Analyze and identify emotions in the multimodal input.
transition_detection   mer   Detect emotional shifts over time and identify when and how emotions change in a
                             sequence.
merg_in_their_shoes    merg  How would you feel if you were in the person's shoes in this video?
merg_their_experience  merg  How does the person's experience in the video make you feel?
merg_reflect           merg  How does the video make you reflect on your own emotions or experiences?
merg_feeling_now       merg  What would you be feeling right now?
====================== ===== ==========================================================================================

Pools: ``mer`` (the four MER kinds), ``merg`` (the four MERG prompts), ``mixed`` (all eight). Sampling picks a kind
uniformly from the pool; multi-choice and ranking tasks draw their emotions (6 by default) from the canonical emotions
(without "other") with the same seeded generator, so ``sample_tasks(pool, n, seed=s)`` is reproducible.

The paper's wording says "video"; an instruction holds ``{medium}``, which ``render`` replaces by the stimulus's medium
("passage", "recording" or "video").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..registry import Registry, UnknownNameError
from ..schema import CANONICAL_EMOTIONS
from .stimuli import Stimulus

TASK_FAMILIES: tuple[str, ...] = ("mer", "merg")
OPTION_EMOTIONS: tuple[str, ...] = tuple(e for e in CANONICAL_EMOTIONS if e != "other")
DEFAULT_OPTIONS: int = 6  # Fig. 7 ranks six emotions
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MEDIUM: Mapping[str, str] = {"text": "passage", "audio": "recording", "video": "video"}


@dataclass(frozen=True)
class TaskKind:
    """One task type. pool: "mer" | "merg". title: the paper's task name. description: the paper's table text.
    instruction: what the contestant is asked (``{medium}`` placeholder). answer: the requested answer format.
    needs_options: True when the task lists emotions (multi-choice, ranking)."""

    name: str
    pool: str
    title: str
    description: str
    instruction: str
    answer: str
    needs_options: bool = False


TASK_KINDS: Registry[TaskKind] = Registry("arena task kind")

_MERG_ANSWER = "Answer in a few sentences, in the first person, as an empathetic listener."
for _kind in (
    TaskKind("multi_choice", "mer", "Multi-choice",
             "Select the most appropriate emotions from a predefined list based on multimodal inputs.",
             "Select the most appropriate emotions of the person in the {medium} from the list below.",
             "Answer with the letters and names of every option that applies, then explain your choice briefly.",
             needs_options=True),
    TaskKind("ranking", "mer", "Ranking",
             "Rank emotions from a predefined list based on multimodal inputs.",
             "Rank the emotions below by how well they describe the person in the {medium}.",
             "Answer with all the emotions in order, most fitting first, separated by commas, then explain briefly.",
             needs_options=True),
    TaskKind("recognition_analysis", "mer", "Recognition Analysis",
             "Analyze and identify emotions in the multimodal input.",
             "Analyze the emotions of the person in the {medium} and identify them.",
             "Name the emotions and explain which cues in the {medium} reveal them."),
    TaskKind("transition_detection", "mer", "Transition Detection",
             "Detect emotional shifts over time and identify when and how emotions change in a sequence.",
             "Detect the emotional shifts of the person over the course of the {medium}: identify when and how their "
             "emotions change.",
             "Describe the emotions in order, from the beginning to the end, and say what triggers each change "
             "(or that there is none)."),
    TaskKind("merg_in_their_shoes", "merg", "Emotion-based Response Generation",
             "How would you feel if you were in the person's shoes in this video?",
             "How would you feel if you were in the person's shoes in this {medium}?", _MERG_ANSWER),
    TaskKind("merg_their_experience", "merg", "Emotion-based Response Generation",
             "How does the person's experience in the video make you feel?",
             "How does the person's experience in the {medium} make you feel?", _MERG_ANSWER),
    TaskKind("merg_reflect", "merg", "Emotion-based Response Generation",
             "How does the video make you reflect on your own emotions or experiences?",
             "How does the {medium} make you reflect on your own emotions or experiences?", _MERG_ANSWER),
    TaskKind("merg_feeling_now", "merg", "Emotion-based Response Generation",
             "What would you be feeling right now?",
             "What would you be feeling right now, after this {medium}?", _MERG_ANSWER),
):
    TASK_KINDS.register(_kind.name)(_kind)

POOLS: Mapping[str, tuple[str, ...]] = {
    "mer": ("multi_choice", "ranking", "recognition_analysis", "transition_detection"),
    "merg": ("merg_in_their_shoes", "merg_their_experience", "merg_reflect", "merg_feeling_now"),
}
POOLS = {**POOLS, "mixed": POOLS["mer"] + POOLS["merg"]}


def task_kind(name: str) -> TaskKind:
    """The registered kind (InputError listing the known kinds otherwise)."""
    try:
        return TASK_KINDS.get(name)
    except UnknownNameError as exc:
        raise InputError(str(exc)) from None


def pool_kinds(pool: str) -> tuple[str, ...]:
    """Task kinds of a pool: "mixed", "mer" or "merg"."""
    if pool not in POOLS:
        raise InputError(f"unknown task pool {pool!r}; known: {', '.join(POOLS)}")
    return POOLS[pool]


@dataclass(frozen=True)
class Task:
    """One drawn task. id: unique in a run. pool: the task's family, "mer" or "merg" ("mixed" is a union, not a family).
    kind: a ``TASK_KINDS`` name. instruction: the contestant's instruction, ``{medium}`` filled in by ``render``.
    options: the emotions listed by multi-choice (labelled A, B, … in this order) and ranking tasks, else empty."""

    id: str
    pool: str
    kind: str
    instruction: str
    options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        spec = task_kind(self.kind)
        if self.pool != spec.pool:
            raise InputError(f"task {self.id!r}: kind {self.kind!r} belongs to pool {spec.pool!r}, not {self.pool!r}")
        object.__setattr__(self, "options", tuple(self.options))
        if spec.needs_options and len(self.options) < 2:
            raise InputError(f"task {self.id!r}: a {self.kind} task needs at least two options")
        if not spec.needs_options and self.options:
            raise InputError(f"task {self.id!r}: a {self.kind} task takes no options")
        if len(set(self.options)) != len(self.options) or len(self.options) > len(LETTERS):
            raise InputError(f"task {self.id!r}: options must be distinct and at most {len(LETTERS)}")

    @property
    def spec(self) -> TaskKind:
        return task_kind(self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "pool": self.pool, "kind": self.kind, "instruction": self.instruction,
                "options": list(self.options)}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "Task":
        return cls(id=obj["id"], pool=obj["pool"], kind=obj["kind"], instruction=obj["instruction"],
                   options=tuple(obj.get("options") or ()))


def make_task(
    kind: str,
    rng: np.random.Generator | int | None,
    *,
    id: str | None = None,
    n_options: int = DEFAULT_OPTIONS,
    emotions: Sequence[str] = OPTION_EMOTIONS,
) -> Task:
    """A task of ``kind``; multi-choice / ranking draw ``n_options`` distinct emotions (random order) with ``rng``."""
    spec = task_kind(kind)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    options: tuple[str, ...] = ()
    if spec.needs_options:
        if not 2 <= n_options <= len(emotions):
            raise InputError(f"n_options must be in 2..{len(emotions)}; got {n_options}")
        options = tuple(emotions[i] for i in gen.choice(len(emotions), size=n_options, replace=False))
    return Task(id=id or kind, pool=spec.pool, kind=kind, instruction=spec.instruction, options=options)


def sample_tasks(pool: str, n: int, *, seed: int, n_options: int = DEFAULT_OPTIONS) -> list[Task]:
    """``n`` tasks drawn from ``pool`` (kind uniform over the pool), ids ``task-<seed>-<i>``; reproducible per seed."""
    kinds = pool_kinds(pool)
    if n < 0:
        raise InputError(f"n must be >= 0; got {n}")
    gen = np.random.default_rng(seed)
    return [make_task(kinds[int(gen.integers(len(kinds)))], gen, id=f"task-{seed}-{i}", n_options=n_options)
            for i in range(n)]


def _stimulus_block(stimulus: Stimulus | str, *, transcript: bool) -> tuple[str, str]:
    if isinstance(stimulus, str):
        stimulus = Stimulus(id="inline", modality="text", origin="real", text=stimulus)
    medium = MEDIUM[stimulus.modality]
    if stimulus.modality == "text":
        return medium, f"Stimulus (a short passage):\n\"{stimulus.text}\""
    block = f"Stimulus: the attached {'audio recording' if stimulus.modality == 'audio' else 'video'}."
    if transcript and stimulus.text:
        block += f"\nTranscript: \"{stimulus.text}\""
    return medium, block


def render(task: Task, stimulus: Stimulus | str, *, transcript: bool = False) -> str:
    """The prompt a contestant receives: the stimulus (the passage itself, or a note that the audio / video is attached,
    with its transcript when ``transcript`` and one exists), the instruction, the options and the answer format. A plain
    string is taken as a text passage."""
    medium, block = _stimulus_block(stimulus, transcript=transcript)
    spec = task.spec
    lines = [block, "", "Task: " + task.instruction.format(medium=medium)]
    if task.kind == "multi_choice":
        lines += ["Options:"] + [f"{LETTERS[i]}. {e}" for i, e in enumerate(task.options)]
    elif task.options:
        lines += ["Emotions: " + ", ".join(task.options)]
    lines += [spec.answer.format(medium=medium)]
    return "\n".join(lines)
