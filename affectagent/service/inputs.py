"""What one prediction request asks for, parsed and checked independently of HTTP (form fields or JSON).

``PredictInput`` is the validated request; the ``parse_*`` helpers turn raw strings into typed values and raise
``InputError`` with a message meant for the user. No I/O here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import InputError
from ..schema import Sample, Turn, parse_label_list
from ..timeline.segments import TimelineConfig, parse_seconds
from .settings import ServiceSettings

TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
FALSE_WORDS = frozenset({"0", "false", "off", "no", ""})
MAX_LABELS_CHARS = 1000  # "labels" as given: every canonical emotion, comma-separated, fits in a fraction of it
MAX_LABELS = 64
MODELS: tuple[str, ...] = ("agents", "nanoemox")  # "agents": the served AffectAgent (the default)
MAX_TASK_CHARS = 200


def short(value: object, limit: int = 40) -> str:
    """A user's value quoted in an error message, cut to ``limit`` characters (a message stays one short line)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_labels_size(value: str | Sequence[str] | None) -> None:
    """Bound the ``labels`` field before it is parsed: at most ``MAX_LABELS_CHARS`` characters / ``MAX_LABELS``
    items."""
    if value is None:
        return
    if isinstance(value, str):
        if len(value) > MAX_LABELS_CHARS:
            raise InputError(f"labels is {len(value)} characters; the limit is {MAX_LABELS_CHARS}")
        return
    items = list(value)
    if len(items) > MAX_LABELS or sum(len(str(x)) for x in items) > MAX_LABELS_CHARS:
        raise InputError(f"labels has {len(items)} items; the limit is {MAX_LABELS} items and {MAX_LABELS_CHARS} "
                         "characters")


@dataclass(frozen=True)
class PredictInput:
    """A checked prediction request. ``media`` is the path of the uploaded file (in the request's temp folder): a
    video, an audio file or a still image (jpg / png / webp / bmp; the upload keeps its extension, ``upload_suffix``,
    and ``media`` decodes it as one face frame without audio). ``model``: one of ``MODELS``; ``tasks``: the
    Nano-EmoX tasks to answer (``model == "nanoemox"`` only, else empty). ``timeline``: also predict each segment
    of the uploaded clip (``parse_timeline``; None: no timeline). ``preview``: also return the first sampled frame of
    a video / image upload with its face boxes."""

    text: str | None = None
    context: tuple[Turn, ...] = ()
    speaker: str | None = None
    labels: tuple[str, ...] | None = None
    explain: bool = False
    raer: bool = False
    media: Path | None = None
    filename: str | None = None
    model: str = "agents"
    tasks: tuple[str, ...] = ()
    timeline: TimelineConfig | None = None
    preview: bool = False

    def to_sample(self, *, has_video: bool = False) -> Sample:
        """The ``Sample`` for the pipeline; ``has_video`` (from probing the upload: a clip or a still image) picks
        video vs audio."""
        video = self.media if self.media is not None and has_video else None
        audio = self.media if self.media is not None and not has_video else None
        return Sample(id=self.filename or "text", text=self.text, context=self.context, speaker=self.speaker,
                      video=video, audio=audio, source="service")


def parse_context_lines(text: str) -> tuple[Turn, ...]:
    """Dialogue context typed as lines ``Speaker: text`` (a line without ``:`` is a turn without a speaker)."""
    turns = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        speaker, sep, said = line.partition(":")
        if sep and speaker.strip() and said.strip():
            turns.append(Turn(speaker=speaker.strip(), text=said.strip()))
        else:
            turns.append(Turn(speaker=None, text=line))
    return tuple(turns)


def parse_labels(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Candidate labels from ``"happy, sad"`` or ``["happy", "sad"]`` (``schema.parse_label_list``); ``None`` (the
    model's default set) when absent or empty (browsers send every form field, blank ones too)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    if all(isinstance(x, str) and not x.strip() for x in items):
        return None
    return parse_label_list(value)


def parse_flag(value: str | bool | None, *, name: str) -> bool:
    """A form checkbox / query flag: 1/true/on/yes or 0/false/off/no/empty."""
    if value is None or isinstance(value, bool):
        return bool(value)
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InputError(f"{name} must be true or false; got {short(value)!r}")


def safe_filename(name: str | None) -> str | None:
    """The base name of an uploaded file, printable and at most 100 characters (used as the sample id)."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[-100:] or None


def upload_suffix(name: str | None) -> str:
    """The file extension to keep on the temp copy (the decoder uses it to tell corrupt media from other files)."""
    suffix = Path(safe_filename(name) or "").suffix.lower()
    return suffix if 1 < len(suffix) <= 10 and suffix[1:].isalnum() else ""


def disk_name(name: str | None) -> str:
    """Name of the temp copy: the upload's name in ``[A-Za-z0-9._-]`` (so decoder messages name the user's file),
    never hidden or a path, at most 80 characters, keeping the extension."""
    suffix = upload_suffix(name)
    stem = (safe_filename(name) or "")[: -len(suffix) or None]
    stem = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in stem).strip("._")
    return (stem[:70] or "upload") + suffix


def parse_model(model: str | None, task: str | Sequence[str] | None, *, raer: bool) -> tuple[str, tuple[str, ...]]:
    """(model, Nano-EmoX tasks) of a request: ``model`` one of ``MODELS`` (default "agents"); ``task`` (a name, a
    comma list, a list or "all"; default all) only with model nanoemox, which has no RAER."""
    name = (model or "").strip().lower() or "agents"
    if name not in MODELS:
        raise InputError(f"unknown model {short(model)!r}; models: agents (default), nanoemox")
    given = task is not None and (task.strip() if isinstance(task, str) else list(task))
    if name != "nanoemox":
        if given:
            raise InputError('task is for model "nanoemox" (the agents answer one emotion prediction)')
        return name, ()
    if raer:
        raise InputError('raer is for the agents; model "nanoemox" has no knowledge base to check steps against')
    if not given:
        task = None
    elif len(task if isinstance(task, str) else ",".join(str(t) for t in task)) > MAX_TASK_CHARS:
        raise InputError(f"task is longer than {MAX_TASK_CHARS} characters")
    from ..nanoemox.predictor import parse_tasks

    return name, parse_tasks(task)


def parse_timeline(timeline: bool, *, window: str | float | None, hop: str | float | None,
                   max_segments: int) -> TimelineConfig | None:
    """The ``TimelineConfig`` of a request with ``timeline`` (``window`` / ``hop``: seconds as a number or "2", "2s",
    "1.5 sec", "500ms"; default 2 s / 1 s), None without it; ``window`` / ``hop`` without ``timeline`` are refused,
    not ignored. Bad values are a ``TimelineError`` (an ``InputError``)."""
    given = [name for name, value in (("window", window), ("hop", hop)) if value is not None]
    if not timeline:
        if given:
            what = "is a timeline option" if len(given) == 1 else "are timeline options"
            raise InputError(f"{' and '.join(given)} {what}; send timeline: true as well")
        return None
    default = TimelineConfig()
    return TimelineConfig(window=default.window if window is None else parse_seconds(window, what="window"),
                          hop=default.hop if hop is None else parse_seconds(hop, what="hop"),
                          max_segments=max_segments)


def check_timeline(config: TimelineConfig | None, *, media: Path | None, text: str | None, context: Sequence[Turn],
                   speaker: str | None, model: str, raer: bool) -> None:
    """A timeline needs an uploaded clip and predicts each segment from the clip alone, with the agents."""
    if config is None:
        return
    if media is None:
        raise InputError("timeline needs an uploaded video or audio file (it predicts each segment of the clip); "
                         "this request has no file")
    given = [name for name, value in (("text", text), ("context", context), ("speaker", speaker)) if value]
    if given:
        raise InputError(f"timeline does not take {', '.join(given)}: each segment is predicted from its own audio "
                         "and frames (ASR transcribes it)")
    if model != "agents":
        raise InputError(f'timeline is for the agents (model "agents"), not model {model!r}')
    if raer:
        raise InputError("raer does not go with timeline (RAER answers one prediction per request)")


def check_input(*, text: str | None, context: Sequence[Turn], speaker: str | None, labels: tuple[str, ...] | None,
                explain: bool, media: Path | None, filename: str | None,
                settings: ServiceSettings, raer: bool = False, model: str | None = None,
                task: str | Sequence[str] | None = None, timeline: bool = False, window: str | float | None = None,
                hop: str | float | None = None, preview: bool = False) -> PredictInput:
    """Apply the service's limits and the "something to predict" rule; returns the ``PredictInput``."""
    model, tasks = parse_model(model, task, raer=raer)
    segments = parse_timeline(timeline, window=window, hop=hop, max_segments=settings.max_timeline_segments)
    check_timeline(segments, media=media, text=text, context=context, speaker=speaker, model=model, raer=raer)
    if text is not None and not text.strip():
        raise InputError("text is empty")
    if text is None and media is None:
        raise InputError("empty request: upload a video/audio file and/or send a non-empty text")
    if text is not None and len(text) > settings.max_text_chars:
        raise InputError(f"text is {len(text)} characters; the limit is {settings.max_text_chars}")
    if len(context) > settings.max_context_turns:
        raise InputError(f"context has {len(context)} turns; the limit is {settings.max_context_turns}")
    for i, turn in enumerate(context):
        if not turn.text.strip():
            raise InputError(f"context turn {i + 1} has no text")
        if len(turn.text) > settings.max_text_chars:
            raise InputError(f"context turn {i + 1} is longer than {settings.max_text_chars} characters")
        if turn.speaker is not None and len(turn.speaker) > settings.max_speaker_chars:
            raise InputError(f"the speaker of context turn {i + 1} is {len(turn.speaker)} characters; the limit is "
                             f"{settings.max_speaker_chars}")
    speaker = speaker.strip() if speaker and speaker.strip() else None
    if speaker is not None and len(speaker) > settings.max_speaker_chars:
        raise InputError(f"speaker is {len(speaker)} characters; the limit is {settings.max_speaker_chars}")
    return PredictInput(text=text.strip() if text else None, context=tuple(context), speaker=speaker, labels=labels,
                        explain=explain, raer=raer, media=media, filename=filename, model=model, tasks=tasks,
                        timeline=segments, preview=preview)
