"""SAB task pools (Tables 10–11): kinds per pool, seeded sampling, rendering for every kind and stimulus medium."""
from __future__ import annotations

import pytest

from affectagent.arena.stimuli import Stimulus
from affectagent.arena.tasks import (
    OPTION_EMOTIONS, POOLS, TASK_KINDS, Task, make_task, pool_kinds, render, sample_tasks,
)
from affectagent.errors import InputError

TEXT = Stimulus(id="gen-0", modality="text", text="I set the kettle on the stove and the cat jumped onto the table.")
AUDIO = Stimulus(id="gen-0-speech", modality="audio", text=TEXT.text, files={"audio": "audio/gen-0-speech.wav"})
VIDEO = Stimulus(id="real/face1.mp4", modality="video", origin="real", files={"video": "/data/face1.mp4"})


def test_pools_hold_the_paper_tasks():
    assert set(POOLS) == {"mixed", "mer", "merg"}
    assert pool_kinds("mer") == ("multi_choice", "ranking", "recognition_analysis", "transition_detection")
    assert len(pool_kinds("merg")) == 4
    assert set(pool_kinds("mixed")) == set(pool_kinds("mer")) | set(pool_kinds("merg"))
    assert all(TASK_KINDS.get(k).pool == "mer" for k in pool_kinds("mer"))
    assert all(TASK_KINDS.get(k).pool == "merg" for k in pool_kinds("merg"))
    # Table 11's four prompts, verbatim
    assert {TASK_KINDS.get(k).description for k in pool_kinds("merg")} == {
        "How would you feel if you were in the person's shoes in this video?",
        "How does the person's experience in the video make you feel?",
        "How does the video make you reflect on your own emotions or experiences?",
        "What would you be feeling right now?",
    }
    assert TASK_KINDS.get("ranking").description == "Rank emotions from a predefined list based on multimodal inputs."
    with pytest.raises(InputError):
        pool_kinds("vision")


@pytest.mark.parametrize("kind", sorted(POOLS["mixed"]))
@pytest.mark.parametrize("stimulus", [TEXT, AUDIO, VIDEO], ids=["text", "audio", "video"])
def test_every_task_renders(kind, stimulus):
    task = make_task(kind, 0, id="t")
    prompt = render(task, stimulus)
    assert "{medium}" not in prompt and "Task: " in prompt
    medium = {"text": "passage", "audio": "recording", "video": "video"}[stimulus.modality]
    assert medium in prompt
    if stimulus.modality == "text":
        assert TEXT.text in prompt
    else:
        assert "attached" in prompt and TEXT.text not in prompt
    for emotion in task.options:
        assert emotion in prompt


def test_multi_choice_lists_labelled_options():
    task = make_task("multi_choice", 3)
    assert len(task.options) == 6 and set(task.options) <= set(OPTION_EMOTIONS) and "other" not in task.options
    prompt = render(task, TEXT)
    for letter, emotion in zip("ABCDEF", task.options):
        assert f"\n{letter}. {emotion}" in prompt


def test_ranking_lists_the_emotions_to_order():
    task = make_task("ranking", 3, n_options=4)
    prompt = render(task, "A plain string is a text passage.")
    assert "Emotions: " + ", ".join(task.options) in prompt and "most fitting first" in prompt
    assert "A plain string is a text passage." in prompt


def test_open_tasks_take_no_options_and_transcript_is_opt_in():
    task = make_task("merg_reflect", 0)
    assert task.options == () and task.pool == "merg"
    assert TEXT.text in render(task, AUDIO, transcript=True)
    assert TEXT.text not in render(task, AUDIO)


def test_sampling_is_seeded():
    a = sample_tasks("mixed", 30, seed=5)
    assert a == sample_tasks("mixed", 30, seed=5)
    assert a != sample_tasks("mixed", 30, seed=6)
    assert len({t.id for t in a}) == 30
    assert {t.kind for t in sample_tasks("mixed", 80, seed=5)} == set(POOLS["mixed"])
    assert {t.pool for t in sample_tasks("merg", 10, seed=0)} == {"merg"}
    assert {t.pool for t in sample_tasks("mer", 10, seed=0)} == {"mer"}
    assert make_task("ranking", 9).options == make_task("ranking", 9).options


def test_task_validation_and_round_trip():
    t = make_task("multi_choice", 1, id="x")
    assert Task.from_dict(t.to_dict()) == t
    with pytest.raises(InputError):
        Task(id="x", pool="merg", kind="ranking", instruction="i", options=("happy", "sad"))
    with pytest.raises(InputError):
        Task(id="x", pool="mer", kind="ranking", instruction="i")
    with pytest.raises(InputError):
        Task(id="x", pool="mer", kind="recognition_analysis", instruction="i", options=("happy", "sad"))
    with pytest.raises(InputError):
        make_task("nope", 0)
    with pytest.raises(InputError):
        make_task("ranking", 0, n_options=1)
