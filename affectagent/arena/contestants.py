"""Arena contestants (SAB paper §4.2, issue #13 item 3): named emotion systems that answer a rendered task about a
stimulus, built from what the toolkit ships.

====================  ==================================================================================================
name                  system
====================  ==================================================================================================
neural-full           the neural AffectAgent (planner -> KB -> filter -> RAAF / MB-MoE -> generator)
neural-naive-rag      the same agents, one plain similarity query, no planner, no filter
neural-no-rag         the same agents without retrieval
neural-raer           the neural agents answering with RAER (reasoning steps checked against the KB)
llm:<model>           a plain zero-shot LLM answering the task prompt directly (packaged alias, folder, kind:model)
llm-agents:<model>    the LLM AffectAgent (``llm.loop.LLMAffectAgent``, variant full) on that backbone, then the
                      backbone answers the task with its own analysis injected
llm-raer:<model>      RAER with that LLM backbone (``raer.llm.LLMRAER``; only when that module is present), then the
                      backbone answers the task with its refined reasoning injected
openai:<model>@<url>  a zero-shot model behind any OpenAI-compatible endpoint
nanoemox[:<folder>]   the Nano-EmoX model (``nanoemox.predictor``) of that folder (default: $AFFECTAGENT_NANOEMOX, else
                      the shipped one when it exists)
====================  ==================================================================================================

How each answers (``Answer``: text, declined flag + reason, seconds, model calls, meta):

- **Neural agents** answer MER tasks from their label distribution and rationale: multi-choice -> the option with the
  highest probability (the label set restricted to the options); ranking -> the given emotions ordered by probability;
  recognition analysis -> label, sentiment, open-vocabulary words and the rationale; transition detection -> one
  prediction per segment when the stimulus is long (text: ≥ ``transition_min_sentences`` sentences, each read with the
  earlier ones as context; audio / video: ≥ ``transition_min_seconds``, cut into equal windows of the audio track),
  else "no transition". They **decline MERG tasks** (they classify, they do not write): recorded as declined, never
  faked.
- **Nano-EmoX** reads the stimulus itself (media streams, the transcript as its text) and answers MER tasks from its
  mer / ov / eri answers: multi-choice -> the option its mer answer names (the options are its mer question's list)
  plus the options its open-vocabulary words name; ranking -> those first, the other options in the listed order (a
  generative answer has no scores to rank by, the answer says so); recognition analysis -> emotion, sentiment (of the
  label), open-vocabulary words and its eri sentence; transition detection -> its mer answer per segment, segmented as
  for the neural agents. MERG tasks get its erg reply (the ``<think>`` steps go to ``meta``); a generation without a
  reply is declined with ``meta["error"]``. ``meta`` keeps every task's parsed answer and fallback flags.
- **LLM contestants** answer every task with the backbone. Text stimuli go in as the passage (``tasks.render``).
  LLMs here cannot take audio or video, so a media stimulus goes in as text: its stored transcript (generated speech:
  the passage it was spoken from) or, without one, the ASR transcript, plus the voice / face cues the toolkit's
  encoders read from the file (``llm.cues.render_cues``). ``Answer.meta["input"]`` says which: ``passage``,
  ``transcript+cues`` or ``asr+cues``. The neural agents encode the media file itself (with the stored transcript
  as its text when ``use_transcript``, else their ASR).

    pool = ContestantPool(ContestantConfig(checkpoint="runs/x/agents.pt"))
    systems = build_contestants(["neural-full", "llm:smollm2-135m"], pool)
    answer = systems["neural-full"].answer(task, stimulus, root=store.folder)
"""
from __future__ import annotations

import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

from ..errors import AffectAgentError, InputError
from ..registry import Registry, UnknownNameError
from ..schema import Prediction, Sample, Turn
from .judges import BackendSpec, load_backend_spec, parse_backend_spec
from .stimuli import Stimulus
from .tasks import LETTERS, MEDIUM, Task, render

MERG_DECLINE = "the neural agents classify emotions; they do not generate empathetic responses (MERG tasks)"
ANSWER_SYSTEM = ("You are an emotionally intelligent assistant taking part in an emotion-understanding evaluation. "
                 "Answer the task about the stimulus directly, in the requested format, and ground what you say in "
                 "the stimulus.")
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+[\"'”’)]*|$)")


# ---- the answer --------------------------------------------------------------------------------------------------

@dataclass
class Answer:
    """One contestant's answer to one task on one stimulus.

    text: what the judge reads ("" when declined). declined: the contestant does not do this task (or failed on the
    stimulus: ``meta["error"]``), with ``reason``. seconds: wall time. calls: model passes (neural pipeline passes
    or LLM chat calls). meta: how it was made (input kind, label, probabilities, tokens, ...).
    """

    text: str
    declined: bool = False
    reason: str | None = None
    seconds: float = 0.0
    calls: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def decline(cls, reason: str, *, seconds: float = 0.0, **meta: Any) -> "Answer":
        return cls(text="", declined=True, reason=reason, seconds=seconds, meta=meta)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        return d

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "Answer":
        return cls(text=obj.get("text", ""), declined=bool(obj.get("declined", False)), reason=obj.get("reason"),
                   seconds=float(obj.get("seconds", 0.0)), calls=int(obj.get("calls", 0)),
                   meta=dict(obj.get("meta") or {}))


class Contestant(Protocol):
    """A named system. ``answer`` never raises for a task it does not do: it returns a declined ``Answer``."""

    name: str

    def answer(self, task: Task, stimulus: Stimulus, *, root: str | Path | None = None) -> Answer: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ContestantConfig:
    """Shared settings of the contestants.

    max_tokens: output budget of an LLM contestant's answer (Table 7 uses 500 new tokens on GPUs; smaller on CPU).
    temperature: sampling temperature of LLM answers (Table 7, SAB: 0.7; 0 = greedy).
    seed: sampling seed of LLM answers.
    use_transcript: give every contestant the transcript a media stimulus carries (generated speech: the passage it
      was spoken from); without it the neural agents transcribe with ASR and the LLMs get the ASR transcript.
    transition_min_sentences: a text stimulus with at least this many sentences is read sentence by sentence for
      transition detection.
    transition_min_seconds: an audio / video stimulus at least this long is cut into windows for transition detection.
    transition_segment_seconds: the shortest window when cutting audio for transition detection.
    transition_max_segments: at most this many windows or sentences.
    checkpoint: the neural agents' checkpoint (None = the shipped one); its encoders also read media for the LLMs.
    kb: evidence knowledge base folder (None = the checkpoint's).
    data_root: data root used to build the default knowledge base on first use.
    """

    max_tokens: int = 160
    temperature: float = 0.7
    seed: int = 0
    use_transcript: bool = True
    transition_min_sentences: int = 2
    transition_min_seconds: float = 5.0
    transition_segment_seconds: float = 2.5
    transition_max_segments: int = 4
    checkpoint: str | None = None
    kb: str | None = None
    data_root: str | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.temperature < 0:
            raise InputError("contestant max_tokens must be >= 1 and temperature >= 0")
        if self.transition_min_sentences < 2 or self.transition_max_segments < 2:
            raise InputError("transition detection needs at least two segments (min sentences / max segments >= 2)")
        if self.transition_segment_seconds <= 0 or self.transition_min_seconds < 2 * self.transition_segment_seconds:
            raise InputError("transition_min_seconds must be at least two segments of transition_segment_seconds")


# ---- stimulus -> inputs ------------------------------------------------------------------------------------------

def stimulus_sample(stimulus: Stimulus, *, root: str | Path | None = None, use_transcript: bool = True) -> Sample:
    """The ``Sample`` a neural encoder reads: the passage of a text stimulus; the media file of an audio / video one
    (with its stored transcript as text when ``use_transcript``)."""
    if stimulus.modality == "text":
        return Sample(id=stimulus.id, text=stimulus.text)
    path = stimulus.file(root=root)
    if not path.is_file():
        raise InputError(f"stimulus {stimulus.id!r}: media file not found: {path}")
    text = stimulus.text if use_transcript and stimulus.text else None
    if stimulus.modality == "video":
        return Sample(id=stimulus.id, text=text, video=path)
    return Sample(id=stimulus.id, text=text, audio=path)


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (ending at . ! ?, closing quotes kept); blank pieces dropped."""
    return [s.strip() for s in _SENTENCE.findall(" ".join(text.split())) if s.strip(" .!?\"'”’")]


def _with_cues(prompt: str, cues: str, medium: str) -> str:
    """Insert the cue block between the stimulus note and the task of a rendered prompt."""
    block = (f"What the toolkit's encoders read from the {medium} (you cannot hear or see it yourself):\n{cues}")
    head, sep, tail = prompt.partition("\n\nTask: ")
    return f"{head}\n{block}{sep}{tail}" if sep else f"{prompt}\n\n{block}"


# ---- neural answers (pure: from predictions to text) -------------------------------------------------------------

def _top(probs: Mapping[str, float], k: int = 3) -> str:
    return ", ".join(f"{e} {p:.2f}" for e, p in sorted(probs.items(), key=lambda kv: -kv[1])[:k])


def answer_multi_choice(pred: Prediction, task: Task) -> str:
    """The option with the highest probability (probabilities over the task's options)."""
    best = max(task.options, key=lambda e: pred.probs.get(e, 0.0))
    letter = LETTERS[task.options.index(best)]
    return (f"{letter}. {best}\nThe agents give {best} the highest probability among the options "
            f"({_top({e: pred.probs.get(e, 0.0) for e in task.options})}). {pred.rationale}").strip()


def answer_ranking(pred: Prediction, task: Task) -> str:
    """The task's emotions ordered by the agents' probability (ties keep the listed order)."""
    order = sorted(task.options, key=lambda e: -pred.probs.get(e, 0.0))
    probs = ", ".join(f"{e} {pred.probs.get(e, 0.0):.2f}" for e in order)
    return f"{', '.join(order)}\nOrdered by the agents' probability for each emotion ({probs}). {pred.rationale}".strip()


def answer_recognition(pred: Prediction) -> str:
    """Label, sentiment, open-vocabulary words and the rationale."""
    also = f"; also: {', '.join(w for w in pred.ov_set if w != pred.label)}" if pred.ov_set else ""
    return (f"Emotion: {pred.label} (probability {pred.probs.get(pred.label, 0.0):.2f}); sentiment: "
            f"{pred.sentiment}{also}.\n{pred.rationale}").strip()


@dataclass(frozen=True)
class Segment:
    """One piece of a stimulus for transition detection: where it is (e.g. "sentence 2", "3.0–6.0 s") and its
    prediction (None: the piece could not be read, ``note`` says why)."""

    where: str
    prediction: Prediction | None
    note: str | None = None


def answer_transition(segments: Sequence[Segment], *, medium: str, short: str | None = None,
                      whole: Prediction | None = None) -> str:
    """Per-segment labels and the shifts between them; ``short`` (why the stimulus was not split) with the
    ``whole`` prediction -> "no transition"."""
    if short is not None:
        if whole is None:
            raise InputError("a short stimulus needs its whole prediction")
        return (f"No transition detected: the {medium} is short ({short}), so it reads as one segment: "
                f"{whole.label} throughout ({_top(whole.probs)}).\n{whole.rationale}").strip()
    lines = []
    labels: list[tuple[str, str]] = []
    for i, s in enumerate(segments, 1):
        if s.prediction is None:
            lines.append(f"{i}. {s.where}: not readable ({s.note or 'no input'})")
            continue
        lines.append(f"{i}. {s.where}: {s.prediction.label} ({_top(s.prediction.probs, 2)})")
        labels.append((s.where, s.prediction.label))
    shifts = [(prev, cur, where) for (_, prev), (where, cur) in zip(labels, labels[1:]) if prev != cur]
    if not labels:
        summary = "No segment could be read, so no transition can be detected."
    elif not shifts:
        summary = f"No transition: {labels[0][1]} throughout all {len(labels)} segments."
    else:
        summary = "; ".join(f"the emotion shifts from {a} to {b} at {w}" for a, b, w in shifts)
        summary = summary[0].upper() + summary[1:] + "."
    return f"Emotions from beginning to end of the {medium}:\n" + "\n".join(lines) + f"\n{summary}"


# ---- shared, lazily loaded resources -----------------------------------------------------------------------------

@dataclass
class Cues:
    """A media stimulus as text for an LLM: ``text`` (the ``render_cues`` block) and ``input`` (transcript+cues |
    asr+cues)."""

    text: str
    input: str


class ContestantPool:
    """What contestants share: one loaded neural checkpoint (its KB, encoders and feature cache), one backend per
    named model, the cue text of each media stimulus. ``agent`` / ``backends`` may be given ready-made (tests)."""

    def __init__(self, config: ContestantConfig = ContestantConfig(), *, agent: Any = None,
                 backends: Mapping[str, Any] | None = None, nanoemox: Mapping[str, Any] | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.config = config
        self.log = log
        self._agent = agent
        self._variants: dict[str, Any] = {}
        self._backends: dict[str, Any] = dict(backends or {})
        self._nanoemox: dict[str, Any] = dict(nanoemox or {})
        self._cues: dict[str, Cues] = {}

    def nanoemox(self, checkpoint: str | Path):
        """The ``NanoEmoXPredictor`` of a model folder, loaded once per folder (with a feature cache)."""
        key = str(checkpoint)
        if key not in self._nanoemox:
            from ..nanoemox.predictor import NanoEmoXPredictor

            self.log(f"loading Nano-EmoX from {key}")
            self._nanoemox[key] = NanoEmoXPredictor.load(key)
        return self._nanoemox[key]

    def agent(self):
        """The neural AffectAgent of ``config.checkpoint`` (loaded once, with a feature cache)."""
        if self._agent is None:
            from ..api import AffectAgent
            from ..encoders import FeatureCache

            c = self.config
            self._agent = AffectAgent.load(c.checkpoint, kb=c.kb, data_root=c.data_root, cache=FeatureCache(),
                                           log=self.log)
        return self._agent

    def neural(self, variant: str):
        """The agent with a pipeline variant (full, naive_rag, no_rag), sharing the loaded checkpoint and KB."""
        if variant not in self._variants:
            from ..pipeline import PipelineConfig

            self._variants[variant] = self.agent().with_config(PipelineConfig.variant(variant))
        return self._variants[variant]

    def backend(self, spec: BackendSpec):
        """The backend of a spec, loaded once per label."""
        if spec.label not in self._backends:
            self.log(f"loading LLM backend {spec.label} (a packaged model converts once on first use)")
            self._backends[spec.label] = load_backend_spec(spec)
        return self._backends[spec.label]

    def cues(self, stimulus: Stimulus, *, root: str | Path | None = None) -> Cues:
        """The encoders' reading of a media stimulus (transcript, voice, face), as text; cached per stimulus."""
        if stimulus.modality == "text":
            raise InputError("a text stimulus is given as its passage, not as cues")
        if stimulus.id not in self._cues:
            from ..encoders.inputs import encode_inputs
            from ..llm.cues import render_cues

            agent = self.agent()
            sample = stimulus_sample(stimulus, root=root, use_transcript=self.config.use_transcript)
            [x] = encode_inputs([sample], label_sets=[agent.default_labels], config=agent.encoding,
                                cache=agent.cache)
            text = render_cues(sample=sample, features=x.features).render()
            self._cues[stimulus.id] = Cues(text=text, input="transcript+cues" if sample.text else "asr+cues")
        return self._cues[stimulus.id]

    def task_prompt(self, task: Task, stimulus: Stimulus, *, root: str | Path | None = None) -> tuple[str, str]:
        """(prompt, input kind) for an LLM: the rendered task, with the cue block for a media stimulus."""
        if stimulus.modality == "text":
            return render(task, stimulus), "passage"
        cues = self.cues(stimulus, root=root)
        return _with_cues(render(task, stimulus, transcript=False), cues.text, MEDIUM[stimulus.modality]), cues.input


# ---- neural contestants ------------------------------------------------------------------------------------------

class SegmentedTransitions:
    """Transition detection by segments, shared by the contestants that predict one label per input (the neural
    agents, Nano-EmoX): a long text is read sentence by sentence, a long recording cut into windows of its audio
    track, each piece predicted with ``self._predict(samples, labels) -> [Prediction]``; ``self.pool`` gives the
    ``ContestantConfig``."""

    pool: ContestantPool

    def _predict(self, samples: Sequence[Sample], labels: Sequence[str] | None) -> list[Prediction]:
        raise NotImplementedError

    def _transition(self, sample: Sample, stimulus: Stimulus) -> tuple[str, int, dict[str, Any]]:
        cfg = self.pool.config
        medium = MEDIUM[stimulus.modality]
        if stimulus.modality == "text":
            sentences = split_sentences(sample.text or "")
            if len(sentences) < cfg.transition_min_sentences:
                [whole] = self._predict([sample], None)
                return (answer_transition([], medium=medium, short=f"{len(sentences)} sentence", whole=whole), 1,
                        {"segments": 1, "label": whole.label})
            sentences = _merge_to(sentences, cfg.transition_max_segments)
            samples = [Sample(id=f"{sample.id}#s{i + 1}", text=s,
                              context=tuple(Turn(speaker=None, text=t) for t in sentences[:i]))
                       for i, s in enumerate(sentences)]
            preds = self._predict(samples, None)
            segs = [Segment(f"sentence {i + 1}" if len(sentences) == len(preds) else f"part {i + 1}", p)
                    for i, p in enumerate(preds)]
            return (answer_transition(segs, medium=medium), len(preds),
                    {"segments": len(segs), "labels": [p.label for p in preds]})
        return self._media_transition(sample, stimulus, medium)

    def _media_transition(self, sample: Sample, stimulus: Stimulus, medium: str) -> tuple[str, int, dict[str, Any]]:
        from ..media import probe

        cfg = self.pool.config
        path = sample.video or sample.audio
        info = probe(path)
        seconds = info.audio_duration or info.duration or 0.0
        if not info.has_audio or seconds < cfg.transition_min_seconds:
            [whole] = self._predict([sample], None)
            why = "no audio track to cut" if not info.has_audio else f"{seconds:.1f} s"
            return answer_transition([], medium=medium, short=why, whole=whole), 1, {"segments": 1,
                                                                                     "label": whole.label}
        import soundfile as sf

        from ..media.audio import load_audio

        sr = 16000
        wave = load_audio(path, sr=sr, allow_silent=True)
        n = int(min(cfg.transition_max_segments, max(2, (len(wave) / sr) // cfg.transition_segment_seconds)))
        bounds = [round(i * len(wave) / n) for i in range(n + 1)]
        segs: list[Segment] = []
        with tempfile.TemporaryDirectory(prefix="arena-seg-") as tmp:
            for i in range(n):
                where = f"{bounds[i] / sr:.1f}–{bounds[i + 1] / sr:.1f} s"
                seg_path = Path(tmp) / f"seg{i}.wav"
                sf.write(str(seg_path), wave[bounds[i]:bounds[i + 1]], sr, subtype="PCM_16")
                try:
                    [p] = self._predict([Sample(id=f"{sample.id}#t{i}", audio=seg_path)], None)
                    segs.append(Segment(where, p))
                except AffectAgentError as exc:  # e.g. a silent window
                    segs.append(Segment(where, None, note=str(exc).split(": ")[-1]))
        text = answer_transition(segs, medium=medium)
        if stimulus.modality == "video":
            text += "\n(Segments are windows of the video's audio track.)"
        return text, n, {"segments": n, "labels": [s.prediction.label if s.prediction else None for s in segs]}


class NeuralContestant(SegmentedTransitions):
    """The neural agents (a pipeline variant, optionally with RAER). See the module docstring for the answers."""

    def __init__(self, name: str, pool: ContestantPool, *, variant: str, raer: bool = False) -> None:
        self.name = name
        self.pool = pool
        self.variant = variant
        self.raer = raer

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "neural", "variant": self.variant, "raer": self.raer,
                "checkpoint": self.pool.config.checkpoint or "(shipped)"}

    def _predict(self, samples: Sequence[Sample], labels: Sequence[str] | None) -> list[Prediction]:
        agent = self.pool.neural(self.variant)
        return agent.predict(list(samples), label_set=labels, raer=self.raer)

    def answer(self, task: Task, stimulus: Stimulus, *, root: str | Path | None = None) -> Answer:
        t0 = time.perf_counter()
        if task.pool == "merg":
            return Answer.decline(MERG_DECLINE, task=task.kind)
        try:
            sample = stimulus_sample(stimulus, root=root, use_transcript=self.pool.config.use_transcript)
            meta: dict[str, Any] = {"input": "passage" if stimulus.modality == "text" else stimulus.modality,
                                    "variant": self.variant, "raer": self.raer}
            if task.kind == "transition_detection":
                text, calls, extra = self._transition(sample, stimulus)
                meta.update(extra)
            else:
                [pred] = self._predict([sample], task.options or None)
                calls = 1
                meta.update(label=pred.label, probs={k: round(float(v), 4) for k, v in pred.probs.items()})
                if task.kind == "multi_choice":
                    text = answer_multi_choice(pred, task)
                elif task.kind == "ranking":
                    text = answer_ranking(pred, task)
                else:
                    text = answer_recognition(pred)
        except AffectAgentError as exc:
            return Answer.decline(f"failed on this stimulus: {exc}", seconds=time.perf_counter() - t0, error=True)
        return Answer(text=text, seconds=time.perf_counter() - t0, calls=calls, meta=meta)


def _merge_to(pieces: list[str], k: int) -> list[str]:
    """At most ``k`` pieces: consecutive pieces joined into ``k`` nearly equal groups."""
    if len(pieces) <= k:
        return pieces
    bounds = [round(i * len(pieces) / k) for i in range(k + 1)]
    return [" ".join(pieces[bounds[i]:bounds[i + 1]]) for i in range(k)]


# ---- Nano-EmoX ------------------------------------------------------------------------------------------------------

NANOEMOX_MER_TASKS: tuple[str, ...] = ("mer", "ov", "eri")
NO_REPLY = "Nano-EmoX's generation had no reply"


def nanoemox_choices(result: Any, options: Sequence[str]) -> list[str]:
    """The options Nano-EmoX's answers name: its mer label first, then each option one of its open-vocabulary words
    names (the word or a synonym of it), in the order of the words."""
    from ..llm.parsing import normalise_label

    chosen: list[str] = []
    mer = result.answers.get("mer")
    if mer is not None and mer.label in options:
        chosen.append(mer.label)
    ov = result.answers.get("ov")
    for word in ov.labels if ov is not None else ():
        label = normalise_label(word, options)
        if label is not None and label not in chosen:
            chosen.append(label)
    return chosen


def _nanoemox_because(result: Any) -> str:
    eri = result.answers.get("eri")
    return " ".join(eri.text.split()) if eri is not None and eri.reason else ""


def _said(result: Any, task: str) -> str:
    a = result.answers.get(task)
    return repr(" ".join(a.text.split())[:80]) if a is not None else "(not asked)"


def nanoemox_multi_choice(result: Any, task: Task) -> str:
    """Every option the answers name (``nanoemox_choices``), lettered, then why."""
    chosen = nanoemox_choices(result, task.options)
    if not chosen:
        return (f"No option: Nano-EmoX's answers name none of the options (emotion answer {_said(result, 'mer')}, "
                f"open-vocabulary answer {_said(result, 'ov')}).")
    picks = ", ".join(f"{LETTERS[task.options.index(e)]}. {e}" for e in chosen)
    mer = result.answers.get("mer")
    if mer is not None and mer.label == chosen[0]:
        why = f"Nano-EmoX's emotion answer is {chosen[0]}"
        words = chosen[1:]
    else:
        why = "Nano-EmoX's emotion answer names none of the options"
        words = chosen
    also = f"; its open-vocabulary words name {', '.join(words)}" if words else ""
    return f"{picks}\n{why}{also}. {_nanoemox_because(result)}".strip()


def nanoemox_ranking(result: Any, task: Task) -> str:
    """The named options first (``nanoemox_choices``), the others in the listed order."""
    chosen = nanoemox_choices(result, task.options)
    order = chosen + [e for e in task.options if e not in chosen]
    head = (f"Nano-EmoX's answers name {', '.join(chosen)}, ranked first" if chosen
            else "Nano-EmoX's answers name none of the emotions")
    return (f"{', '.join(order)}\n{head}; the others keep the listed order (a generative answer gives no scores "
            f"to rank them by). {_nanoemox_because(result)}").strip()


def nanoemox_recognition(pred: Prediction, result: Any) -> str:
    """Emotion, sentiment, open-vocabulary words and the eri sentence."""
    also = [w for w in pred.ov_set if w != pred.label]
    source = pred.trace["label_source"] if pred.trace else "default"
    emotion = f"{pred.label} (from its {source} answer)" if source != "default" else "none named (neutral by default)"
    return (f"Emotion: {emotion}; sentiment: {pred.sentiment}{'; also: ' + ', '.join(also) if also else ''}.\n"
            f"{_nanoemox_because(result)}").strip()


class NanoEmoXContestant(SegmentedTransitions):
    """Nano-EmoX on the stimulus. See the module docstring for the answers."""

    def __init__(self, name: str, pool: ContestantPool, *, checkpoint: str | None = None) -> None:
        from ..nanoemox.predictor import resolve_checkpoint

        self.name = name
        self.pool = pool
        self.checkpoint = resolve_checkpoint(checkpoint)  # a missing folder fails here, before the run starts

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "nanoemox", "checkpoint": str(self.checkpoint)}

    def _answer(self, samples: Sequence[Sample], tasks: Sequence[str], labels: Sequence[str] | None) -> list[Any]:
        predictor = self.pool.nanoemox(self.checkpoint)
        return [predictor.answer(s, tasks, labels=labels) for s in samples]

    def _predict(self, samples: Sequence[Sample], labels: Sequence[str] | None) -> list[Prediction]:
        return [r.to_prediction() for r in self._answer(samples, ("mer",), labels)]

    def answer(self, task: Task, stimulus: Stimulus, *, root: str | Path | None = None) -> Answer:
        t0 = time.perf_counter()
        try:
            sample = stimulus_sample(stimulus, root=root, use_transcript=self.pool.config.use_transcript)
            meta: dict[str, Any] = {"input": "passage" if stimulus.modality == "text" else stimulus.modality,
                                    "checkpoint": str(self.checkpoint)}
            if task.kind == "transition_detection":
                text, calls, extra = self._transition(sample, stimulus)
                meta.update(extra)
                return Answer(text=text, seconds=time.perf_counter() - t0, calls=calls, meta=meta)
            asked = ("erg",) if task.pool == "merg" else NANOEMOX_MER_TASKS
            [result] = self._answer([sample], asked, task.options or None)
        except AffectAgentError as exc:
            return Answer.decline(f"failed on this stimulus: {exc}", seconds=time.perf_counter() - t0, error=True)
        meta.update(tasks=result.tasks_dict(), fallbacks=result.fallbacks)
        calls = len(result.answers)
        if task.pool == "merg":
            erg = result.answers["erg"]
            if not erg.reply:
                return Answer.decline(f"{NO_REPLY} ({erg.fallback_reason})", seconds=time.perf_counter() - t0,
                                      error=True, **meta)
            return Answer(text=erg.reply, seconds=time.perf_counter() - t0, calls=calls, meta=meta)
        pred = result.to_prediction()
        meta["label"] = pred.label
        if task.kind == "multi_choice":
            text = nanoemox_multi_choice(result, task)
        elif task.kind == "ranking":
            text = nanoemox_ranking(result, task)
        else:
            text = nanoemox_recognition(pred, result)
        return Answer(text=text, seconds=time.perf_counter() - t0, calls=calls, meta=meta)


# ---- LLM contestants ---------------------------------------------------------------------------------------------

class LLMContestant:
    """A zero-shot LLM answering the rendered task directly (one chat call)."""

    def __init__(self, name: str, pool: ContestantPool, spec: BackendSpec) -> None:
        self.name = name
        self.pool = pool
        self.spec = spec

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "llm", "backend": self.spec.label}

    def _chat(self, prompt: str) -> tuple[str, dict[str, Any]]:
        from ..llm.backend import ChatMessage

        cfg = self.pool.config
        out = self.pool.backend(self.spec).chat([ChatMessage("system", ANSWER_SYSTEM), ChatMessage("user", prompt)],
                                                max_tokens=cfg.max_tokens, temperature=cfg.temperature,
                                                seed=cfg.seed)
        text = (out.text or "").strip()
        meta = {"prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
                "finish_reason": out.finish_reason}
        if not text:
            meta["empty"] = True
        return text or "(no answer)", meta

    def answer(self, task: Task, stimulus: Stimulus, *, root: str | Path | None = None) -> Answer:
        t0 = time.perf_counter()
        try:
            prompt, kind = self.pool.task_prompt(task, stimulus, root=root)
        except AffectAgentError as exc:
            return Answer.decline(f"failed on this stimulus: {exc}", seconds=time.perf_counter() - t0, error=True)
        text, meta = self._chat(prompt)
        return Answer(text=text, seconds=time.perf_counter() - t0, calls=1,
                      meta={"input": kind, "backend": self.spec.label, **meta})


class LLMAgentContestant(LLMContestant):
    """The LLM AffectAgent (or LLM RAER) on a backbone analyses the stimulus; the backbone then answers the task with
    that analysis in its prompt (the paper's "injecting relevant reasoning content")."""

    def __init__(self, name: str, pool: ContestantPool, spec: BackendSpec, *, raer: bool = False) -> None:
        super().__init__(name, pool, spec)
        self.raer = raer
        if raer:
            _llm_raer()  # fail at build time, with the reason, when the module is missing

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "llm-raer" if self.raer else "llm-agents", "backend": self.spec.label,
                "checkpoint": self.pool.config.checkpoint or "(shipped)"}

    def _analyse(self, sample: Sample, labels: Sequence[str] | None) -> tuple[Prediction, int, str]:
        from ..llm.cues import render_cues
        from ..llm.loop import LLMAffectAgent, LLMAgentConfig

        cfg = self.pool.config
        agent = self.pool.agent()
        backend = self.pool.backend(self.spec)
        llm = LLMAffectAgent.from_agent(agent, backend=backend, config=LLMAgentConfig(variant="full", seed=cfg.seed))
        if not self.raer:
            [pred] = llm.predict([sample], label_set=labels)
            return pred, len(pred.trace["roles"]), pred.trace["cues"]
        LLMRAER, LLMRAERConfig = _llm_raer()
        inputs = llm.encode([sample], label_set=labels)
        reasoner = LLMRAER.from_agent(agent, backend=backend, llm_config=LLMRAERConfig(seed=cfg.seed, progress=False))
        [outcome] = reasoner.reason(inputs, [sample])
        return outcome.prediction, outcome.llm_calls, render_cues(sample=sample, features=inputs[0].features).render()

    def answer(self, task: Task, stimulus: Stimulus, *, root: str | Path | None = None) -> Answer:
        t0 = time.perf_counter()
        try:
            sample = stimulus_sample(stimulus, root=root, use_transcript=self.pool.config.use_transcript)
            pred, calls, cues = self._analyse(sample, task.options or None)
        except AffectAgentError as exc:
            return Answer.decline(f"failed on this stimulus: {exc}", seconds=time.perf_counter() - t0, error=True)
        medium = MEDIUM[stimulus.modality]
        if stimulus.modality == "text":
            prompt, kind = render(task, stimulus), "passage"
        else:
            prompt = _with_cues(render(task, stimulus, transcript=False), cues, medium)
            kind = "transcript+cues" if sample.text else "asr+cues"
        words = f"; also {', '.join(pred.ov_set)}" if pred.ov_set else ""
        reasoning = " ".join(pred.rationale.split())[:700]
        prompt += (f"\n\nYour own analysis of the {medium}, from an emotion-recognition pass "
                   f"{'that checked each reasoning step against retrieved examples' if self.raer else 'with retrieved examples'}"
                   f": emotion {pred.label} (sentiment {pred.sentiment}{words}). Reasoning: {reasoning}\n"
                   "Use this analysis where it helps, and answer the task.")
        text, meta = self._chat(prompt)
        return Answer(text=text, seconds=time.perf_counter() - t0, calls=calls + 1,
                      meta={"input": kind, "backend": self.spec.label, "analysis_label": pred.label, **meta})


def _llm_raer():
    """(LLMRAER, LLMRAERConfig), imported lazily; InputError when the module is not in this checkout."""
    try:
        from ..raer.llm import LLMRAER, LLMRAERConfig
    except ImportError as exc:
        raise InputError(f"llm-raer contestants need affectagent.raer.llm.LLMRAER, which cannot be imported here "
                         f"({exc}); leave them out of --contestants") from None
    return LLMRAER, LLMRAERConfig


# ---- the registry ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ContestantKind:
    """One kind of contestant. takes_arg: the name carries a model after a colon (``llm:<model>``); optional_arg: it
    may be left out (``nanoemox`` or ``nanoemox:<folder>``); check_arg: validates the argument without loading
    anything. build(arg, pool, name) makes the contestant."""

    name: str
    summary: str
    build: Callable[[str | None, ContestantPool, str], Contestant]
    takes_arg: bool = False
    arg_help: str = ""
    optional_arg: bool = False
    check_arg: Callable[[str], Any] | None = None


CONTESTANTS: Registry[ContestantKind] = Registry("arena contestant")


def _register(kind: ContestantKind) -> None:
    CONTESTANTS.register(kind.name)(kind)


for _name, _variant, _raer, _summary in (
    ("neural-full", "full", False, "the neural AffectAgent (planner, KB, filter, RAAF / MB-MoE, generator)"),
    ("neural-naive-rag", "naive_rag", False, "the neural agents with one plain KB query, no planner or filter"),
    ("neural-no-rag", "no_rag", False, "the neural agents without retrieval"),
    ("neural-raer", "full", True, "the neural agents answering with RAER"),
):
    _register(ContestantKind(_name, _summary, (lambda v, r: lambda arg, pool, name: NeuralContestant(
        name, pool, variant=v, raer=r))(_variant, _raer)))
_register(ContestantKind("llm", "a plain zero-shot LLM", lambda arg, pool, name: LLMContestant(
    name, pool, parse_backend_spec(arg)), takes_arg=True, arg_help="<alias|folder|kind:model>",
    check_arg=parse_backend_spec))
_register(ContestantKind("llm-agents", "the LLM AffectAgent (full) on a backbone, then the backbone answers",
                         lambda arg, pool, name: LLMAgentContestant(name, pool, parse_backend_spec(arg)),
                         takes_arg=True, arg_help="<alias|folder|kind:model>", check_arg=parse_backend_spec))
_register(ContestantKind("llm-raer", "RAER on an LLM backbone, then the backbone answers",
                         lambda arg, pool, name: LLMAgentContestant(name, pool, parse_backend_spec(arg), raer=True),
                         takes_arg=True, arg_help="<alias|folder|kind:model>", check_arg=parse_backend_spec))
_register(ContestantKind("openai", "a zero-shot model behind an OpenAI-compatible endpoint",
                         lambda arg, pool, name: LLMContestant(name, pool, parse_backend_spec(f"openai:{arg}")),
                         takes_arg=True, arg_help="<model>@<base_url>",
                         check_arg=lambda arg: parse_backend_spec(f"openai:{arg}")))
_register(ContestantKind("nanoemox", "the Nano-EmoX model (mer / ov / eri answers; erg replies for MERG)",
                         lambda arg, pool, name: NanoEmoXContestant(name, pool, checkpoint=arg),
                         takes_arg=True, optional_arg=True, arg_help="<model folder>"))


def _form(kind: ContestantKind) -> str:
    if not kind.takes_arg:
        return kind.name
    return f"{kind.name}[:{kind.arg_help}]" if kind.optional_arg else f"{kind.name}:{kind.arg_help}"


def contestant_forms() -> str:
    """Every accepted name form, for error messages and help."""
    return ", ".join(_form(CONTESTANTS.get(k)) for k in CONTESTANTS.names())


def parse_contestant(spec: str) -> tuple[ContestantKind, str | None]:
    """(kind, model argument) of a contestant name, checked without loading anything; InputError otherwise."""
    spec = (spec or "").strip()
    head, sep, arg = spec.partition(":")
    try:
        kind = CONTESTANTS.get(head)
    except UnknownNameError:
        raise InputError(f"unknown contestant {spec!r}; known forms: {contestant_forms()}") from None
    if kind.takes_arg and not kind.optional_arg and not arg.strip():
        raise InputError(f"contestant {spec!r} needs a model: {kind.name}:{kind.arg_help}")
    if not kind.takes_arg and sep:
        raise InputError(f"contestant {kind.name!r} takes no model (got {spec!r})")
    if kind.takes_arg and arg.strip() and kind.check_arg is not None:
        kind.check_arg(arg.strip())
    return kind, (arg.strip() or None if kind.takes_arg else None)


def check_contestants(specs: Sequence[str]) -> list[str]:
    """Validated, stripped contestant names: at least two, no duplicates, every one parseable."""
    names = [s.strip() for s in specs if s and s.strip()]
    if len(names) < 2:
        raise InputError(f"an arena needs at least two contestants; got {len(names)}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"contestant(s) named twice: {', '.join(dupes)}")
    for n in names:
        parse_contestant(n)
    return names


def build_contestants(specs: Sequence[str], pool: ContestantPool) -> dict[str, Contestant]:
    """Contestants by name, in the given order (models load lazily on first answer)."""
    out: dict[str, Contestant] = {}
    for name in check_contestants(specs):
        kind, arg = parse_contestant(name)
        out[name] = kind.build(arg, pool, name)
    return out


__all__ = [
    "ANSWER_SYSTEM", "Answer", "CONTESTANTS", "Contestant", "ContestantConfig", "ContestantKind", "ContestantPool",
    "Cues", "LLMAgentContestant", "LLMContestant", "MERG_DECLINE", "NanoEmoXContestant", "NeuralContestant",
    "SegmentedTransitions", "Segment", "nanoemox_choices", "nanoemox_multi_choice", "nanoemox_ranking",
    "nanoemox_recognition",
    "answer_multi_choice", "answer_ranking", "answer_recognition", "answer_transition", "build_contestants",
    "check_contestants", "contestant_forms", "parse_contestant", "split_sentences", "stimulus_sample",
]
