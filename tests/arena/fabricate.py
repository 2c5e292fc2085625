"""A small real arena run folder for the vote store, the /arena API and the browser tests: scripted contestants and a
scripted judge backend, played by the arena's own runner (``run_arena``) into the run's own storage (``run.json``,
``matches.jsonl``, ``answers.jsonl``, ``stimuli/stimuli.jsonl`` with a real WAV speech stimulus)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from affectagent.arena.contestants import Answer
from affectagent.arena.judges import AIJudge, JudgeConfig
from affectagent.arena.runner import ArenaConfig, run_arena
from affectagent.arena.stimuli import Stimulus, StimulusStore
from affectagent.llm.backend import Completion

from ..resources import shared

TEXTS = (
    "I waited two hours at the station and nobody came.",
    "The doctor called back: the scan is clear.",
)
SPEECH = "emodb/audio/08a01Ab.flac"  # a real EmoDB utterance, stored in the run as a WAV stimulus


@dataclass
class Scripted:
    """A contestant whose answer carries ``quality`` times the word "good"; it answers every task."""

    name: str
    quality: int

    def answer(self, task, stimulus, *, root=None) -> Answer:
        return Answer(text=ANSWERS[self.quality].format(task=task.kind.replace("_", " ")), calls=1, seconds=0.01)

    def describe(self):
        return {"name": self.name}


@dataclass
class GoodCounter:
    """A consistent judge backend: prefers the response with more "good"s as shown (tie when equal)."""

    name: str = "good-counter"

    def chat(self, messages, *, max_tokens=256, temperature=0.0, seed=None, stop=None):
        user = messages[-1].content
        a = user.split("Response A: ")[1].split("\n\nResponse B: ")[0].split().count("good")
        b = user.split("Response B: ")[1].split("\n\nWhich response")[0].split().count("good")
        text = "[[A]]" if a > b else "[[B]]" if b > a else "[[C]]"
        return Completion(text=text, prompt_tokens=1, completion_tokens=1, seconds=0.0)


CONTESTANTS = {"alpha": 3, "beta": 2, "gamma": 1, "delta": 0}
# Anonymous answers (no contestant name in them); the judge counts the standalone word "good".
ANSWERS = {
    3: "({task}) The speaker sounds tense at first and then relieved; a good sign is the falling pitch at the end, "
       "and the words carry a good deal of worry that turns into a good feeling of release.",
    2: "({task}) Mostly calm with some tension; a good guess is mild anxiety that fades, with good reason.",
    1: "({task}) Calm. The speaker seems to be having a good enough day.",
    0: "({task}) Neutral.",
}


def make_arena_run(out: Path, *, rounds: int = 3, audio: bool = True) -> Path:
    """Play ``rounds`` rounds of four scripted contestants over two text stimuli and (``audio``) one WAV speech
    stimulus into ``out``; returns ``out``."""
    import soundfile as sf

    out = Path(out)
    store = StimulusStore(out / "stimuli")
    stimuli = [Stimulus(id=f"text-{i}", modality="text", origin="real", text=t) for i, t in enumerate(TEXTS)]
    if audio:
        wav = out / "stimuli" / "audio" / "speech-0.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        data, rate = sf.read(shared(SPEECH) / SPEECH)
        sf.write(wav, data, rate, subtype="PCM_16")
        stimuli.append(Stimulus(id="speech-0", modality="audio", origin="real", text="Der Lappen liegt auf dem "
                                "Eisschrank.", files={"audio": "audio/speech-0.wav"}))
    for s in stimuli:
        if s.id not in store:
            store.add(s)
    contestants = {n: Scripted(n, q) for n, q in CONTESTANTS.items()}
    config = ArenaConfig(contestants=tuple(contestants), pool="mixed", rounds=rounds, seed=0,
                         modalities=("text", "audio") if audio else ("text",))
    run_arena(config, contestants=contestants, judge=AIJudge(GoodCounter(), JudgeConfig()), stimuli=list(store),
              out=out, stimulus_root=store.folder, progress=False, log=lambda m: None)
    return out
