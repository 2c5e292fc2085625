"""The six Nano-EmoX tasks: identifiers, instruction templates, answer formats, robust parsing and the data builders
on the real corpora under the data root.

Task       identifier (paper, appendix D)  data here                                       answer format
  msa      [Recognition]                   CMU-MOSI transcripts (valence sign)             positive | negative | neutral
  mer      [Recognition]                   MELD text + context, EmoDB / RAVDESS speech,    one emotion word from the list
                                           FER2013 faces, paired tri-modal episodes
  ov       [Recog_OV]                      GoEmotions (multi-label -> its label words)     comma-separated emotion words
  eri      [Inference]                     RECCON emotion-cause spans                      The speaker feels E because R.
  mir      [Intent]                        MIntRec (20 intents; text only here)            one intent from the list
  erg      [Interaction]                   RECCON (DailyDialog) replies to emotional turns <think>4 steps</think> reply

The paper writes both ``[Recog_OV]`` and ``[Recogn_OV]``; ``[Recog_OV]`` is used. The paper trains no MSA (it is
evaluated zero-shot); its template is here so MSA can be asked and scored. ERG's ``<think>`` chain has the paper's four
steps (event scenario, user emotion, emotion cause, goal of the response); its training targets are built from the
RECCON annotations: the scenario quotes the dialogue's opening turn, the emotion is the turn's label, the cause its
annotated cause span, the goal a fixed phrase per emotion (``RESPONSE_GOALS``); the reply is the next turn.

Paired episodes (``mer/paired``): no corpus here labels one moment in text, voice and face together, so an episode joins
a MELD utterance, an acted speech clip (EmoDB / RAVDESS) and a FER2013 face carrying the same gold emotion (seeded,
train pools for train, held-out pools for dev). They are the only multimodal input the fusion encoder sees; every
number reported on them must say so.

Parsing (``parse_answer``) never raises: malformed generations give a ``TaskAnswer`` with ``fallback=True`` and the
reason(s) in ``fallback_reason``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..llm.parsing import first_label_in, normalise_label
from ..schema import CANONICAL_EMOTIONS, EMOTION_SENTIMENT, SENTIMENTS, Sample, Turn

TASKS: tuple[str, ...] = ("msa", "mer", "ov", "eri", "mir", "erg")
IDENTIFIERS: Mapping[str, str] = {
    "msa": "[Recognition]", "mer": "[Recognition]", "ov": "[Recog_OV]", "eri": "[Inference]", "mir": "[Intent]",
    "erg": "[Interaction]",
}
TASK_TITLES: Mapping[str, str] = {
    "msa": "multimodal sentiment analysis", "mer": "multimodal emotion recognition",
    "ov": "open-vocabulary emotion recognition", "eri": "emotion reasoning (cause)", "mir": "intent recognition",
    "erg": "empathetic response generation",
}
SYSTEM_PROMPT = "You are Nano-EmoX. You understand emotions from faces, voices and words."
THINK_STEPS: tuple[str, ...] = ("Scenario", "Emotion", "Cause", "Goal")
RESPONSE_GOALS: Mapping[str, str] = {
    "happy": "share their joy and encourage them",
    "sad": "comfort them and show understanding",
    "angry": "acknowledge the frustration and help calm things down",
    "fear": "reassure them and offer support",
    "surprise": "respond to the news with interest",
    "disgust": "acknowledge their distaste and show understanding",
    "neutral": "keep the conversation going kindly",
}
_EMOTION_WORDS: Mapping[str, str] = {  # canonical label -> the word used in ERI / ERG sentences
    "happy": "happy", "sad": "sad", "angry": "angry", "fear": "afraid", "surprise": "surprised",
    "disgust": "disgusted", "neutral": "calm",
}


# ---- typed answers --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskAnswer:
    """A parsed generation (or the gold answer of a training example).

    task: one of ``TASKS``. text: the raw text. label: mer = canonical emotion, msa = sentiment, mir = intent,
    eri / erg = the emotion named (None when none could be read). labels: ov = the emotion words (deduplicated, in
    order). reason: eri's cause. reply: erg's reply. think: erg's reasoning steps as (step, text) pairs.
    fallback: True when the text did not follow the format and something was repaired or is missing;
    fallback_reason: the reasons, "; "-joined (empty_output, no_label, label_from_prose, no_because, no_think,
    unclosed_think, missing_step:<Step>, no_reply, no_words, sentiment_from_emotion, parser_error:<type>).
    """

    task: str
    text: str
    label: str | None = None
    labels: tuple[str, ...] = ()
    reason: str | None = None
    reply: str | None = None
    think: tuple[tuple[str, str], ...] = ()
    fallback: bool = False
    fallback_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "text": self.text, "label": self.label, "labels": list(self.labels),
                "reason": self.reason, "reply": self.reply, "think": dict(self.think), "fallback": self.fallback,
                "fallback_reason": self.fallback_reason}


@dataclass(frozen=True)
class TaskExample:
    """One training / evaluation item.

    task, source ("mer/meld", "ov/goemotions", ...), sample_id; prompt: the user text after the multimodal tokens
    (identifier first); target: the answer text the loss is on; gold: the target as a ``TaskAnswer``; options: the
    answer options the prompt names (labels / intents; parsing is restricted to them); media: the samples whose audio /
    image / video give the streams (several for a paired episode)."""

    task: str
    source: str
    sample_id: str
    prompt: str
    target: str
    gold: TaskAnswer
    options: tuple[str, ...] = ()
    media: tuple[Sample, ...] = field(default=(), repr=False)


# ---- prompt pieces --------------------------------------------------------------------------------------------------
def clip_words(text: str, max_words: int) -> str:
    words = (text or "").split()
    return " ".join(words) if len(words) <= max_words else " ".join(words[:max_words]) + " ..."


def render_context(context: Sequence[Turn], *, turns: int, max_words: int) -> str:
    if turns <= 0 or not context:
        return ""
    lines = [f"{t.speaker or 'Speaker'}: {clip_words(t.text, max_words)}" for t in list(context)[-turns:]]
    return "Dialogue:\n" + "\n".join(lines) + "\n"


def canonical_options(labels: Iterable[str]) -> tuple[str, ...]:
    """Canonical labels in ``CANONICAL_EMOTIONS`` order (the order every prompt lists them in)."""
    have = set(labels)
    return tuple(e for e in CANONICAL_EMOTIONS if e in have)


def _question(task: str, options: Sequence[str]) -> str:
    if task == "mer":
        return f"Which emotion is expressed? Answer with one word from: {', '.join(options)}."
    if task == "msa":
        return "Is the sentiment positive, negative or neutral? Answer with one word."
    if task == "ov":
        return "List every emotion expressed, as comma-separated words."
    if task == "eri":
        return "What does the speaker feel, and why? Answer: The speaker feels <emotion> because <reason>."
    if task == "mir":
        return f"What is the speaker's intent? Answer with one of: {', '.join(options)}."
    if task == "erg":
        return ("Reply to the last speaker with empathy. First think inside <think></think> in four steps "
                "(Scenario, Emotion, Cause, Goal), then write the reply.")
    raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")


def render_prompt(task: str, *, text: str | None = None, context: Sequence[Turn] = (), speaker: str | None = None,
                  options: Sequence[str] = (), modalities: Sequence[str] = (), context_turns: int = 3,
                  max_turn_words: int = 30) -> str:
    """The user text of ``task`` (the multimodal tokens go in front of it). Identifier first, then which signals
    come with it, the dialogue context, the utterance and the question."""
    if task not in IDENTIFIERS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    parts = [IDENTIFIERS[task]]
    if modalities:
        parts.append(f" Signals: {', '.join(modalities)}.")
    parts.append("\n")
    parts.append(render_context(context, turns=context_turns, max_words=max_turn_words))
    if text:
        who = f" ({speaker})" if speaker else ""
        parts.append(f'Utterance{who}: "{clip_words(text, 2 * max_turn_words)}"\n')
    parts.append(_question(task, options))
    return "".join(parts)


# ---- targets --------------------------------------------------------------------------------------------------------
def _emotion_word(label: str) -> str:
    return _EMOTION_WORDS.get(label, label)


def detokenize(text: str) -> str:
    """DailyDialog's tokenised spacing undone for targets: "fun ." -> "fun.", "I 'm" -> "I'm"."""
    t = re.sub(r"\s+([,.?!;:%])", r"\1", (text or "").strip())
    t = re.sub(r"\s+('(?:s|re|m|ll|ve|d|t)\b|n't\b)", r"\1", t)
    return re.sub(r"\s+", " ", t).strip()


def eri_target(label: str, cause: str) -> str:
    reason = detokenize(cause).rstrip(" .?!,;:")
    return f"The speaker feels {_emotion_word(label)} because {reason}."


def erg_target(*, scenario: str, emotion: str, cause: str, goal: str, reply: str) -> str:
    steps = zip(THINK_STEPS, (scenario, emotion, cause, goal))
    return "<think>\n" + "\n".join(f"{k}: {v}" for k, v in steps) + "\n</think>\n" + detokenize(reply)


# ---- parsing --------------------------------------------------------------------------------------------------------
_OV_SPLIT = re.compile(r"[,;/\n]|\band\b|\bor\b|\|")
_OV_WORD = re.compile(r"^[a-z][a-z'-]*(?: [a-z][a-z'-]*)?$")
_OV_STOP = frozenset({"the", "a", "an", "emotion", "emotions", "feeling", "feelings", "is", "are", "i", "it",
                      "none", "nothing", "n/a", "some", "very", "slightly", "maybe", "also"})
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def _answer(task: str, text: str, issues: list[str], **kw: Any) -> TaskAnswer:
    return TaskAnswer(task=task, text=text, fallback=bool(issues), fallback_reason="; ".join(issues) or None, **kw)


def _strip(text: str) -> str:
    t = (text or "").strip()
    t = re.sub(r"^(answer|assistant|response)\s*[:\-]\s*", "", t, flags=re.I)
    return t.strip().strip('"').strip()


def _parse_label(task: str, text: str, options: Sequence[str]) -> TaskAnswer:
    allowed = tuple(options) or CANONICAL_EMOTIONS
    issues: list[str] = []
    t = _strip(text)
    head = re.split(r"[\n.,;]", t, maxsplit=1)[0]
    label = normalise_label(head, allowed)
    if label is None:
        label = first_label_in(t, allowed)
        issues.append("label_from_prose" if label else "no_label")
    return _answer(task, text, issues, label=label)


def _parse_sentiment(text: str) -> TaskAnswer:
    issues: list[str] = []
    t = _strip(text).lower()
    words = re.findall(r"[a-z]+", t)
    label = next((w for w in words if w in SENTIMENTS), None)
    if label is None:
        label = next(({"pos": "positive", "neg": "negative"}[w] for w in words if w in ("pos", "neg")), None)
    if label is None:
        emo = first_label_in(t, CANONICAL_EMOTIONS)
        if emo is not None:
            label = EMOTION_SENTIMENT[emo]
            issues.append("sentiment_from_emotion")
        else:
            issues.append("no_label")
    elif words and words[0] != label:
        issues.append("label_from_prose")
    return _answer("msa", text, issues, label=label)


def _emotion_vocabulary() -> frozenset[str]:
    from ..datasets.goemotions import GOEMOTIONS_LABELS
    from ..llm.parsing import LABEL_SYNONYMS

    return frozenset(CANONICAL_EMOTIONS) | frozenset(LABEL_SYNONYMS) | frozenset(GOEMOTIONS_LABELS) | frozenset(
        _EMOTION_WORDS.values())


_OV_LEAD = re.compile(r"^(?:i'm|i am|they are|they're|he is|she is|he's|she's|it's|feeling|feels?|very|so|"
                      r"quite|a bit|a little|slightly|really|somewhat|mostly|also)\s+")


def _parse_ov(text: str) -> TaskAnswer:
    """Comma / "and"-separated words. An item of more than 3 words is prose: only the words of a known emotion
    vocabulary (canonical labels, their synonyms, GoEmotions' 28) are kept from it, and ``prose`` is recorded."""
    issues: list[str] = []
    t = _strip(text).lower()
    t = re.sub(r"^[^:\n]{0,40}:\s*", "", t) if ":" in t.split("\n", 1)[0] else t
    words: list[str] = []
    vocab: frozenset[str] | None = None
    for piece in _OV_SPLIT.split(t):
        w = re.sub(r"\s+", " ", re.sub(r"[^a-z' -]", " ", piece)).strip()
        while _OV_LEAD.match(w):
            w = _OV_LEAD.sub("", w, count=1)
        if not w or w in _OV_STOP:
            continue
        if len(w.split()) > 3:
            if "prose" not in issues:
                issues.append("prose")
            vocab = vocab or _emotion_vocabulary()
            found = [x for x in re.findall(r"[a-z][a-z'-]*", w) if x in vocab]
        else:
            found = [w if _OV_WORD.match(w) else w.split()[-1]]
        for x in found:
            if x not in _OV_STOP and _OV_WORD.match(x) and x not in words:
                words.append(x)
    if not words:
        issues.append("no_words")
    return _answer("ov", text, issues, labels=tuple(words[:12]))


def _intent_keys(intents: Sequence[str]) -> list[tuple[str, str]]:
    keys = []
    for intent in intents:
        low = intent.lower()
        keys.append((low, intent))
        stem = {"apologise": "apolog", "criticize": "critici", "ask for help": "help"}.get(low, low[:5])
        keys.append((stem, intent))
    return keys


def _parse_intent(text: str, options: Sequence[str]) -> TaskAnswer:
    from ..datasets.mintrec import INTENT_LABELS

    intents = tuple(options) or INTENT_LABELS
    issues: list[str] = []
    t = _strip(text).lower()
    exact = {i.lower(): i for i in intents}
    head = re.split(r"[\n.,;]", t, maxsplit=1)[0].strip()
    if head in exact:
        return _answer("mir", text, issues, label=exact[head])
    best: tuple[int, str] | None = None
    for key, intent in _intent_keys(intents):
        m = re.search(r"\b" + re.escape(key), t)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), intent)
    issues.append("label_from_prose" if best else "no_label")
    return _answer("mir", text, issues, label=best[1] if best else None)


def _emotion_in(text: str) -> str | None:
    m = re.search(r"\bfeel(?:s|ing)?\s+(?:very\s+|so\s+|really\s+)?([a-z]+)", text.lower())
    if m:
        word = m.group(1)
        lab = normalise_label(word, CANONICAL_EMOTIONS) or {"afraid": "fear", "calm": "neutral"}.get(word)
        if lab:
            return lab
    return first_label_in(text, CANONICAL_EMOTIONS)


def _parse_eri(text: str) -> TaskAnswer:
    issues: list[str] = []
    t = _strip(text)
    label = _emotion_in(t)
    if label is None:
        issues.append("no_label")
    m = re.search(r"\bbecause\b\s*(.*)", t, flags=re.I | re.S)
    if m and m.group(1).strip():
        reason = m.group(1).strip()
    else:
        issues.append("no_because")
        reason = t or None
    return _answer("eri", text, issues, label=label, reason=reason)


def _parse_erg(text: str) -> TaskAnswer:
    issues: list[str] = []
    t = (text or "").strip()
    open_at, close_at = t.find(_THINK_OPEN), t.find(_THINK_CLOSE)
    if close_at >= 0:
        think_text = t[open_at + len(_THINK_OPEN) if 0 <= open_at < close_at else 0:close_at]
        reply = t[close_at + len(_THINK_CLOSE):].strip()
        if open_at < 0:
            issues.append("no_think_open")
    elif open_at >= 0:
        issues.append("unclosed_think")
        body = t[open_at + len(_THINK_OPEN):]
        lines = [ln for ln in body.split("\n") if ln.strip()]
        step_lines = [ln for ln in lines if re.match(r"\s*(%s)\s*:" % "|".join(THINK_STEPS), ln, flags=re.I)]
        think_text = "\n".join(step_lines)
        rest = [ln for ln in lines if ln not in step_lines]
        reply = rest[-1].strip() if rest else ""
    else:
        issues.append("no_think")
        think_text, reply = "", t
    steps: list[tuple[str, str]] = []
    for step in THINK_STEPS:
        m = re.search(r"%s\s*:\s*(.*)" % step, think_text, flags=re.I)
        if m and m.group(1).strip():
            steps.append((step, m.group(1).strip()))
        elif close_at >= 0 or open_at >= 0:
            issues.append(f"missing_step:{step}")
    if not reply:
        issues.append("no_reply")
    label = None
    emotion = dict(steps).get("Emotion")
    if emotion:
        label = _emotion_in("feels " + emotion)
    return _answer("erg", text, issues, label=label, reply=reply or None, think=tuple(steps))


def parse_answer(task: str, text: str | None, *, options: Sequence[str] = ()) -> TaskAnswer:
    """The typed answer of a generation for ``task``; never raises (see ``TaskAnswer.fallback_reason``)."""
    raw = text if isinstance(text, str) else ("" if text is None else str(text))
    try:
        if not raw.strip():
            return TaskAnswer(task=task, text=raw, fallback=True, fallback_reason="empty_output")
        if task == "mer":
            return _parse_label("mer", raw, options)
        if task == "msa":
            return _parse_sentiment(raw)
        if task == "ov":
            return _parse_ov(raw)
        if task == "mir":
            return _parse_intent(raw, options)
        if task == "eri":
            return _parse_eri(raw)
        if task == "erg":
            return _parse_erg(raw)
        return TaskAnswer(task=task, text=raw, fallback=True, fallback_reason=f"unknown_task:{task}")
    except Exception as exc:  # a parser bug must not take a prediction run down
        return TaskAnswer(task=task, text=raw, fallback=True, fallback_reason=f"parser_error:{type(exc).__name__}")


# ---- example builders (pure: Samples in, TaskExamples out) -------------------------------------------------------------
@dataclass(frozen=True)
class PromptStyle:
    """context_turns: previous turns shown; max_turn_words: words kept per turn (the utterance keeps twice as many)."""

    context_turns: int = 3
    max_turn_words: int = 30


def _example(task: str, source: str, sid: str, prompt: str, target: str, gold: TaskAnswer,
             options: Sequence[str] = (), media: Sequence[Sample] = ()) -> TaskExample:
    return TaskExample(task=task, source=source, sample_id=sid, prompt=prompt, target=target, gold=gold,
                       options=tuple(options), media=tuple(media))


_MEDIA_MODALITIES = {"speech": ("voice",), "face": ("scene", "face"), "paired": ("scene", "face", "voice")}


def mer_text_examples(samples: Sequence[Sample], *, options: Sequence[str], source: str,
                      style: PromptStyle = PromptStyle()) -> list[TaskExample]:
    """Utterances (with dialogue context) labelled with a canonical emotion -> [Recognition] examples."""
    out = []
    for s in samples:
        if s.label is None or s.label not in options or not s.text:
            continue
        prompt = render_prompt("mer", text=s.text, context=s.context, speaker=s.speaker, options=options,
                               context_turns=style.context_turns, max_turn_words=style.max_turn_words)
        out.append(_example("mer", source, s.id, prompt, s.label, TaskAnswer("mer", s.label, label=s.label),
                            options))
    return out


def mer_media_examples(samples: Sequence[Sample], *, options: Sequence[str], source: str,
                       kind: str) -> list[TaskExample]:
    """Speech clips (``kind="speech"``) or face images (``kind="face"``) -> [Recognition] examples whose only input
    is the media (no text: EmoDB's German and RAVDESS's two statements carry no emotion)."""
    out = []
    for s in samples:
        if s.label is None or s.label not in options:
            continue
        prompt = render_prompt("mer", options=options, modalities=_MEDIA_MODALITIES[kind])
        out.append(_example("mer", source, s.id, prompt, s.label, TaskAnswer("mer", s.label, label=s.label),
                            options, media=(s,)))
    return out


def pair_episodes(text: Sequence[Sample], audio: Sequence[Sample], faces: Sequence[Sample], *, seed: int,
                  limit: int | None = None) -> list[tuple[Sample, Sample, Sample]]:
    """(utterance, speech clip, face) triples with the same gold emotion, partners drawn uniformly within the label
    (seeded); ``limit`` keeps a seeded random subset. Labels missing from a pool are skipped."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, tuple[list[Sample], list[Sample]]] = {}
    for lab in CANONICAL_EMOTIONS:
        a = [s for s in audio if s.label == lab]
        f = [s for s in faces if s.label == lab]
        if a and f:
            by_label[lab] = (a, f)
    usable = [s for s in text if s.label in by_label and s.text]
    if limit is not None and limit < len(usable):
        keep = np.sort(rng.choice(len(usable), limit, replace=False))
        usable = [usable[i] for i in keep]
    triples = []
    for s in usable:
        a, f = by_label[s.label]
        triples.append((s, a[int(rng.integers(len(a)))], f[int(rng.integers(len(f)))]))
    return triples


def mer_paired_examples(triples: Sequence[tuple[Sample, Sample, Sample]], *, options: Sequence[str],
                        source: str = "mer/paired", style: PromptStyle = PromptStyle()) -> list[TaskExample]:
    out = []
    for t, a, f in triples:
        if t.label not in options:
            continue
        prompt = render_prompt("mer", text=t.text, context=t.context, speaker=t.speaker, options=options,
                               modalities=_MEDIA_MODALITIES["paired"], context_turns=style.context_turns,
                               max_turn_words=style.max_turn_words)
        sid = f"pair/{t.id}+{a.id}+{f.id}"
        out.append(_example("mer", source, sid, prompt, t.label, TaskAnswer("mer", t.label, label=t.label),
                            options, media=(a, f)))
    return out


def msa_examples(samples: Sequence[Sample], *, source: str = "msa/cmumosi",
                 style: PromptStyle = PromptStyle()) -> list[TaskExample]:
    out = []
    for s in samples:
        if s.sentiment is None or not s.text:
            continue
        prompt = render_prompt("msa", text=s.text, max_turn_words=style.max_turn_words)
        out.append(_example("msa", source, s.id, prompt, s.sentiment, TaskAnswer("msa", s.sentiment,
                                                                                  label=s.sentiment)))
    return out


def ov_examples(samples: Sequence[Sample], *, source: str = "ov/goemotions",
                style: PromptStyle = PromptStyle()) -> list[TaskExample]:
    """Multi-label comments -> [Recog_OV]; target = the raw label words (GoEmotions' names), neutral only alone."""
    out = []
    for s in samples:
        words = [w for w in s.labels if w != "neutral"] or (["neutral"] if "neutral" in s.labels else [])
        if not words or not s.text:
            continue
        target = ", ".join(words)
        prompt = render_prompt("ov", text=s.text, max_turn_words=style.max_turn_words)
        out.append(_example("ov", source, s.id, prompt, target, TaskAnswer("ov", target, labels=tuple(words))))
    return out


def mir_examples(samples: Sequence[Sample], *, intents: Sequence[str], source: str = "mir/mintrec",
                 style: PromptStyle = PromptStyle()) -> list[TaskExample]:
    out = []
    for s in samples:
        intent = s.meta.get("intent")
        if intent not in intents or not s.text:
            continue
        prompt = render_prompt("mir", text=s.text, options=intents, max_turn_words=style.max_turn_words)
        out.append(_example("mir", source, s.id, prompt, intent, TaskAnswer("mir", intent, label=intent), intents))
    return out


def _cause_text(s: Sample) -> str | None:
    spans = [str(x).strip() for x in s.meta.get("cause_spans", []) if str(x).strip() and str(x).strip() != "b"]
    return max(spans, key=len) if spans else None


def eri_examples(samples: Sequence[Sample], *, source: str = "eri/reccon",
                 style: PromptStyle = PromptStyle()) -> list[TaskExample]:
    """Non-neutral RECCON utterances with an annotated cause span -> [Inference] (emotion + reason)."""
    out = []
    for s in samples:
        cause = _cause_text(s)
        if s.label in (None, "neutral") or cause is None or not s.text:
            continue
        target = eri_target(s.label, cause)
        prompt = render_prompt("eri", text=s.text, context=s.context, speaker=s.speaker,
                               context_turns=style.context_turns, max_turn_words=style.max_turn_words)
        out.append(_example("eri", source, s.id, prompt, target,
                            TaskAnswer("eri", target, label=s.label, reason=detokenize(cause))))
    return out


def erg_examples(samples: Sequence[Sample], *, source: str = "erg/reccon",
                 style: PromptStyle = PromptStyle()) -> list[TaskExample]:
    """An emotional RECCON turn followed by the other speaker's turn -> [Interaction]: context up to the turn, target
    = <think> chain (scenario, emotion, cause, goal) + the actual next turn as the reply."""
    by_dialogue: dict[str, list[Sample]] = {}
    for s in samples:
        by_dialogue.setdefault(str(s.meta.get("dialogue_id", s.id)), []).append(s)
    out = []
    for turns in by_dialogue.values():
        turns = sorted(turns, key=lambda x: int(x.meta.get("turn", 0)))
        for cur, nxt in zip(turns, turns[1:]):
            if cur.label in (None, "neutral") or not cur.text or not nxt.text or nxt.speaker == cur.speaker:
                continue
            opening = turns[0].text or ""
            scenario = f'an everyday conversation that opens with "{clip_words(opening, 10)}"'
            cause = detokenize(_cause_text(cur) or clip_words(cur.text, 12))
            emotion = f"{cur.speaker or 'the user'} feels {_emotion_word(cur.label)}"
            goal = RESPONSE_GOALS.get(cur.label, RESPONSE_GOALS["neutral"])
            target = erg_target(scenario=scenario, emotion=emotion, cause=cause, goal=goal, reply=nxt.text)
            prompt = render_prompt("erg", text=cur.text, context=cur.context, speaker=cur.speaker,
                                   context_turns=style.context_turns, max_turn_words=style.max_turn_words)
            gold = TaskAnswer("erg", target, label=cur.label, reply=detokenize(nxt.text),
                              think=tuple(zip(THINK_STEPS, (scenario, emotion, cause, goal))))
            out.append(_example("erg", source, cur.id, prompt, target, gold))
    return out


def inference_prompt(task: str, *, text: str | None, context: Sequence[Turn], speaker: str | None,
                     modalities: Sequence[str], options: Sequence[str] = (), style: PromptStyle = PromptStyle()
                     ) -> tuple[str, tuple[str, ...]]:
    """(prompt, options) for answering ``task`` on a user's input; default options: MER = the 7 basic emotions,
    MIR = MIntRec's 20 intents."""
    if not options:
        if task == "mer":
            options = canonical_options(("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"))
        elif task == "mir":
            from ..datasets.mintrec import INTENT_LABELS

            options = INTENT_LABELS
    prompt = render_prompt(task, text=text, context=context, speaker=speaker, options=options,
                           modalities=modalities, context_turns=style.context_turns,
                           max_turn_words=style.max_turn_words)
    return prompt, tuple(options)


__all__ = ["IDENTIFIERS", "PromptStyle", "RESPONSE_GOALS", "SYSTEM_PROMPT", "TASKS", "TASK_TITLES", "THINK_STEPS",
           "TaskAnswer", "TaskExample", "canonical_options", "detokenize", "eri_examples", "eri_target", "erg_examples",
           "erg_target", "inference_prompt", "mer_media_examples", "mer_paired_examples", "mer_text_examples",
           "mir_examples", "msa_examples", "ov_examples", "pair_episodes", "parse_answer", "render_prompt"]
