"""SAB stimuli (paper §4.1, §5.3, Appendix C / Fig. 7): neutral keywords -> an improvised scenario -> text and speech.

Generated stimuli follow the paper's pipeline with what runs offline:

1. ``sample_keywords``: 1–3 emotion-neutral words (seeded) from ``assets/arena/neutral_words.txt`` (built and checked
   against VADER and the NRC Emotion Lexicon by ``scripts/make_neutral_words.py``);
2. an LLM backend improvises a human-centred scene around one character from the words (Fig. 7's stimulus prompt,
   "Create a video centered around a single character based on my three prompt words", adapted to text), then writes
   it as a short first-person passage: the **text** stimulus;
3. ``espeak-ng`` speaks the passage with a seeded prosody (voice, rate, pitch, amplitude) into a WAV: the **audio**
   stimulus (the paper's audio-language setting).

Real stimuli are the user's own files: a folder of video / audio / ``.txt`` files or a manifest
(``affectagent.datasets`` "manifest" format), e.g. the shared ``clips/`` folder as a smoke set.

Every stimulus records its keywords, the chat messages sent, the seed and its files, and is kept in a JSONL
``StimulusStore`` (``<folder>/stimuli.jsonl``, media under ``<folder>/audio/``), so a match can be replayed.

    store = StimulusStore("runs/arena/X/stimuli")
    stims = generate_stimuli(backend, store, n=10, seed=0)          # text + audio for seeds 0..9
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import AffectAgentError, InputError, MissingDependencyError
from ..jsonlines import parse_json_lines
from ..llm.backend import ChatMessage, LLMBackend
from ..paths import PACKAGE_DIR

NEUTRAL_WORDS_PATH: Path = PACKAGE_DIR / "assets" / "arena" / "neutral_words.txt"
STIMULUS_MODALITIES: tuple[str, ...] = ("text", "audio", "video")
ORIGINS: tuple[str, ...] = ("generated", "real")
VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"})
AUDIO_SUFFIXES: frozenset[str] = frozenset({".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus"})
TEXT_SUFFIXES: frozenset[str] = frozenset({".txt"})
MANIFEST_SUFFIXES: frozenset[str] = frozenset({".jsonl", ".ndjson", ".csv", ".tsv"})
DOC_FILES: frozenset[str] = frozenset({"README", "LICENSE", "LICENCE", "SOURCE", "NOTICE", "COPYING", "CHANGELOG"})
ESPEAK_SAMPLE_RATE: int = 22050  # espeak-ng writes 16-bit mono WAV at 22.05 kHz
ESPEAK_HINT = ("install the Debian package espeak-ng (apt-get install espeak-ng, "
               "or as root: bash scripts/system-deps.sh)")
_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


class StimulusError(AffectAgentError):
    """A stimulus could not be made: an empty LLM reply, or espeak-ng failed on the given settings."""


# ---- keywords ----------------------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _read_words(path: str) -> tuple[str, ...]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"neutral word list not found: {p}")
    words = [ln.strip().lower() for ln in p.read_text(encoding="utf-8").splitlines()]
    words = list(dict.fromkeys(w for w in words if w and not w.startswith("#")))
    if not words:
        raise InputError(f"neutral word list {p} has no words")
    return tuple(words)


def neutral_words(path: str | Path | None = None) -> tuple[str, ...]:
    """The emotion-neutral keyword list (one word a line, ``#`` comments); default: the shipped list."""
    return _read_words(str(Path(path) if path is not None else NEUTRAL_WORDS_PATH))


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def sample_keywords(
    rng: np.random.Generator | int | None,
    *,
    k: int | None = None,
    min_k: int = 1,
    max_k: int = 3,
    words: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """``k`` distinct neutral words (default: k drawn uniformly from ``min_k..max_k``), seeded by ``rng``."""
    pool = tuple(words) if words is not None else neutral_words()
    if not 1 <= min_k <= max_k:
        raise InputError(f"need 1 <= min_k <= max_k; got {min_k}, {max_k}")
    gen = _rng(rng)
    k = int(gen.integers(min_k, max_k + 1)) if k is None else k
    if not 1 <= k <= len(pool):
        raise InputError(f"cannot sample {k} keywords from {len(pool)} words")
    return tuple(pool[i] for i in gen.choice(len(pool), size=k, replace=False))


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent keyword and prosody generators of one stimulus seed (so each can be redrawn alone)."""
    kw, prosody = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(kw), np.random.default_rng(prosody)


# ---- prompts -----------------------------------------------------------------------------------------------------

SCENARIO_SYSTEM = "You improvise short, everyday, human-centred scenes for an emotion-understanding benchmark."
PASSAGE_SYSTEM = "You turn a scene into the words of its character for an emotion-understanding benchmark."


def scenario_messages(keywords: Sequence[str]) -> list[ChatMessage]:
    """Fig. 7's stimulus prompt in our words, for a text scene: one character, built around the prompt words."""
    if not keywords:
        raise InputError("a scenario needs at least one keyword")
    n = len(keywords)
    words = " ".join(w.upper() for w in keywords)
    user = (f"Create a scene centred on a single character based on my {_NUMBERS.get(n, str(n))} prompt "
            f"word{'s' if n > 1 else ''}. Say who the character is, where they are and what happens to them, in two or "
            f"three sentences. Reply with the scene only.\n\nPrompt Words: {words}")
    return [ChatMessage("system", SCENARIO_SYSTEM), ChatMessage("user", user)]


def passage_messages(scenario: str) -> list[ChatMessage]:
    """Ask for the text stimulus: the character speaking, first person, short enough to be read aloud."""
    user = ("Write what the character in this scene says or thinks, as a short first-person passage of two to four "
            "sentences in plain spoken English, to be read aloud. Let their feelings show through what happens and "
            "how they react; do not name any emotion. Reply with the passage only.\n\nScene: " + scenario)
    return [ChatMessage("system", PASSAGE_SYSTEM), ChatMessage("user", user)]


_LABEL = re.compile(r"^\s*\**\s*(?:scene|scenario|passage|text|answer)\s*\**\s*:\s*\**\s*", re.IGNORECASE)


def clean_reply(text: str) -> str:
    """One paragraph of plain text: a leading "Scene:" / "Passage:" label, surrounding quotes and extra whitespace
    removed. An empty result raises StimulusError."""
    out = _LABEL.sub("", text.strip())
    out = re.sub(r"\s+", " ", out).strip()
    if len(out) >= 2 and out[0] in "\"'“" and out[-1] in "\"'”":
        out = out[1:-1].strip()
    if not out:
        raise StimulusError("the LLM returned an empty reply for a stimulus")
    return out


# ---- the stored record -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prosody:
    """espeak-ng settings. voice: an espeak-ng voice with optional variant (``en-us+f3``); rate: words per minute
    (80–450); pitch: 0–99 (default 50); amplitude: 0–200 (default 100)."""

    voice: str = "en-us"
    rate: int = 175
    pitch: int = 50
    amplitude: int = 100

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9-]+(\+[A-Za-z0-9]+)?", self.voice):
            raise InputError(f"bad espeak-ng voice name {self.voice!r}")
        for name, lo, hi in (("rate", 80, 450), ("pitch", 0, 99), ("amplitude", 0, 200)):
            value = getattr(self, name)
            if not isinstance(value, int) or not lo <= value <= hi:
                raise InputError(f"prosody {name} must be an integer in {lo}..{hi}; got {value!r}")

    def args(self) -> list[str]:
        return ["-v", self.voice, "-s", str(self.rate), "-p", str(self.pitch), "-a", str(self.amplitude)]


# English espeak-ng voices (no MBROLA) with male / female variants; the seeded draw picks one per scenario.
VOICES: tuple[str, ...] = ("en-us", "en-us+f3", "en-us+m3", "en-gb", "en-gb+f2", "en-gb-x-rp+f4", "en-gb-scotland",
                           "en-029+m2")


def sample_prosody(rng: np.random.Generator | int | None) -> Prosody:
    """A seeded, moderate prosody: voice from ``VOICES``, rate 130–200 wpm, pitch 30–70, amplitude 80–140."""
    gen = _rng(rng)
    return Prosody(voice=VOICES[int(gen.integers(len(VOICES)))], rate=int(gen.integers(130, 201)),
                   pitch=int(gen.integers(30, 71)), amplitude=int(gen.integers(80, 141)))


@dataclass
class Stimulus:
    """One arena stimulus, enough to replay a match.

    id: unique in its store. modality: "text" | "audio" | "video". origin: "generated" | "real".
    text: the passage (text), the spoken passage (generated audio) or the user's text / transcript (real), else None.
    files: media role ("audio" / "video") -> path; relative paths resolve against the store folder.
    keywords, seed, scenario: the generation inputs (empty / None for real stimuli).
    prompts: generation step ("scenario", "passage") -> the chat messages sent, as {"role", "content"} dicts.
    backend: name of the LLM backend that wrote it. prosody: espeak-ng settings of a generated audio stimulus.
    parent: id of the text stimulus an audio stimulus was spoken from. meta: anything else (e.g. durations).
    """

    id: str
    modality: str
    origin: str = "generated"
    text: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    seed: int | None = None
    scenario: str | None = None
    prompts: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    backend: str | None = None
    prosody: Prosody | None = None
    parent: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise InputError("a stimulus needs a non-empty id")
        if self.modality not in STIMULUS_MODALITIES:
            known = ", ".join(STIMULUS_MODALITIES)
            raise InputError(f"stimulus modality must be one of {known}; got {self.modality!r}")
        if self.origin not in ORIGINS:
            raise InputError(f"stimulus origin must be one of {', '.join(ORIGINS)}; got {self.origin!r}")
        if self.modality == "text" and not self.text:
            raise InputError(f"text stimulus {self.id!r} has no text")
        if self.modality in ("audio", "video") and self.modality not in self.files:
            raise InputError(f"{self.modality} stimulus {self.id!r} has no {self.modality} file")
        self.keywords = tuple(self.keywords)
        self.files = {k: str(v) for k, v in self.files.items()}
        if isinstance(self.prosody, Mapping):
            self.prosody = Prosody(**self.prosody)

    def file(self, role: str | None = None, *, root: str | Path | None = None) -> Path:
        """Path of a media file (default: the one of the stimulus's modality), resolved against ``root``."""
        role = role or self.modality
        if role not in self.files:
            raise InputError(f"stimulus {self.id!r} has no {role} file")
        path = Path(self.files[role])
        return path if path.is_absolute() or root is None else Path(root) / path

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "modality": self.modality, "origin": self.origin, "text": self.text, "files": self.files,
            "keywords": list(self.keywords), "seed": self.seed, "scenario": self.scenario, "prompts": self.prompts,
            "backend": self.backend, "prosody": None if self.prosody is None else vars(self.prosody).copy(),
            "parent": self.parent, "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "Stimulus":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(obj) - known)
        if unknown:
            raise InputError(f"unknown stimulus fields: {', '.join(unknown)}")
        return cls(**{k: v for k, v in obj.items()})


def _messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [m.to_dict() for m in messages]


# ---- generation --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StimulusConfig:
    """How generated stimuli are made.

    min_keywords / max_keywords: range of the number of neutral words per stimulus (paper: one or a few).
    temperature: LLM sampling temperature (Table 7, SAB: 0.7). max_tokens: per LLM call.
    speech: also speak every passage with espeak-ng (an audio stimulus next to each text stimulus).
    espeak: the espeak-ng executable (name on PATH or a path).
    """

    min_keywords: int = 1
    max_keywords: int = 3
    temperature: float = 0.7
    max_tokens: int = 200
    speech: bool = True
    espeak: str = "espeak-ng"

    def __post_init__(self) -> None:
        if not 1 <= self.min_keywords <= self.max_keywords:
            raise InputError(f"need 1 <= min_keywords <= max_keywords; got {self.min_keywords}, {self.max_keywords}")
        if self.temperature < 0 or self.max_tokens < 1:
            raise InputError("temperature must be >= 0 and max_tokens >= 1")


def _ask(backend: LLMBackend, messages: list[ChatMessage], *, config: StimulusConfig, seed: int) -> str:
    """One LLM call, cleaned; a reply cut off at ``max_tokens`` is trimmed back to its last full sentence."""
    reply = backend.chat(messages, max_tokens=config.max_tokens, temperature=config.temperature, seed=seed)
    text = clean_reply(reply.text)
    if reply.finish_reason == "length":
        ends = [m.end() for m in re.finditer(r"[.!?][\"'”]?(?=\s|$)", text)]
        text = text[:ends[-1]] if ends else text
    return text


def generate_text_stimulus(
    backend: LLMBackend,
    *,
    seed: int,
    config: StimulusConfig = StimulusConfig(),
    words: Sequence[str] | None = None,
) -> Stimulus:
    """Keywords from ``seed`` -> scene (LLM) -> first-person passage (LLM): a text stimulus with id ``gen-<seed>``.
    The same seed, word list and a deterministic backend give the same stimulus."""
    kw_rng, _ = _streams(seed)
    keywords = sample_keywords(kw_rng, min_k=config.min_keywords, max_k=config.max_keywords, words=words)
    scene_msgs = scenario_messages(keywords)
    scenario = _ask(backend, scene_msgs, config=config, seed=seed)
    passage_msgs = passage_messages(scenario)
    passage = _ask(backend, passage_msgs, config=config, seed=seed)
    return Stimulus(
        id=f"gen-{seed}", modality="text", origin="generated", text=passage, keywords=keywords, seed=seed,
        scenario=scenario, prompts={"scenario": _messages(scene_msgs), "passage": _messages(passage_msgs)},
        backend=getattr(backend, "name", type(backend).__name__),
        meta={"temperature": config.temperature, "max_tokens": config.max_tokens},
    )


def espeak_executable(espeak: str = "espeak-ng") -> str:
    """The full path of espeak-ng; MissingDependencyError (one line, with the install hint) when it is absent."""
    found = shutil.which(espeak)
    if found is None:
        raise MissingDependencyError(f"espeak-ng not found ({espeak!r}): {ESPEAK_HINT}")
    return found


def synthesize(text: str, path: str | Path, *, prosody: Prosody = Prosody(), espeak: str = "espeak-ng") -> Path:
    """Speak ``text`` with espeak-ng into a 16-bit mono WAV at ``path`` (22.05 kHz); returns the path.
    Missing espeak-ng -> MissingDependencyError; an espeak-ng failure -> StimulusError with its message."""
    if not text.strip():
        raise InputError("nothing to speak: empty text")
    exe = espeak_executable(espeak)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # text on stdin (never parsed as options), UTF-8 input (-b 1)
    proc = subprocess.run([exe, "-b", "1", *prosody.args(), "-w", str(path), "--stdin"], input=text.encode("utf-8"),
                          capture_output=True, timeout=120)
    if proc.returncode != 0 or not path.is_file() or path.stat().st_size <= 44:
        err = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise StimulusError(f"espeak-ng failed ({' '.join(prosody.args())}): {err}")
    return path


def speech_stimulus(
    text_stimulus: Stimulus,
    folder: str | Path,
    *,
    prosody: Prosody | None = None,
    espeak: str = "espeak-ng",
) -> Stimulus:
    """The audio stimulus of a text stimulus: its passage spoken into ``<folder>/audio/<id>.wav``.

    ``prosody`` default: drawn from the text stimulus's seed (its own stream, independent of the keywords), or
    espeak-ng's defaults when the stimulus has no seed. ``files["audio"]`` is relative to ``folder``."""
    if text_stimulus.modality != "text" or not text_stimulus.text:
        raise InputError(f"speech needs a text stimulus; {text_stimulus.id!r} is {text_stimulus.modality}")
    if prosody is None:
        prosody = sample_prosody(_streams(text_stimulus.seed)[1]) if text_stimulus.seed is not None else Prosody()
    sid = f"{text_stimulus.id}-speech"
    rel = Path("audio") / f"{sid}.wav"
    wav = synthesize(text_stimulus.text, Path(folder) / rel, prosody=prosody, espeak=espeak)
    import soundfile as sf

    info = sf.info(str(wav))
    return Stimulus(
        id=sid, modality="audio", origin="generated", text=text_stimulus.text, files={"audio": rel.as_posix()},
        keywords=text_stimulus.keywords, seed=text_stimulus.seed, scenario=text_stimulus.scenario,
        prompts=text_stimulus.prompts, backend=text_stimulus.backend, prosody=prosody, parent=text_stimulus.id,
        meta={"seconds": round(float(info.duration), 4), "sample_rate": int(info.samplerate), "tts": "espeak-ng"},
    )


def generate_stimuli(
    backend: LLMBackend,
    store: "StimulusStore",
    *,
    n: int,
    seed: int = 0,
    config: StimulusConfig = StimulusConfig(),
    progress: bool = True,
) -> list[Stimulus]:
    """``n`` text stimuli for seeds ``seed .. seed+n-1`` (plus their audio when ``config.speech``), added to ``store``.
    Seeds already in the store are skipped (so an interrupted run resumes); returns the new stimuli."""
    from tqdm.auto import tqdm

    if n < 0:
        raise InputError(f"n must be >= 0; got {n}")
    if config.speech:
        espeak_executable(config.espeak)  # fail before the first LLM call, not after it
    made: list[Stimulus] = []
    for s in tqdm(range(seed, seed + n), desc="stimuli", unit="stimulus", disable=not progress):
        text = store.get(f"gen-{s}") or generate_text_stimulus(backend, seed=s, config=config)
        if text.id not in store:
            store.add(text)
            made.append(text)
        if config.speech and f"{text.id}-speech" not in store:
            audio = speech_stimulus(text, store.folder, espeak=config.espeak)
            store.add(audio)
            made.append(audio)
    return made


# ---- real stimuli ------------------------------------------------------------------------------------------------

def from_samples(samples: Iterable[Any], *, prefix: str = "real/") -> list[Stimulus]:
    """Stimuli from ``affectagent.datasets`` Samples (any corpus or a manifest): video if the sample has one, else
    audio, else text. Paths stay where they are (absolute); the label, if any, goes to ``meta`` (never shown)."""
    out = []
    for s in samples:
        files = {}
        if s.video is not None:
            modality, files["video"] = "video", str(Path(s.video).resolve())
        elif s.audio is not None:
            modality, files["audio"] = "audio", str(Path(s.audio).resolve())
        elif s.text:
            modality = "text"
        else:
            raise InputError(f"sample {s.id!r} has no video, audio or text")
        if s.audio is not None and "audio" not in files:
            files["audio"] = str(Path(s.audio).resolve())
        meta = {"source": s.source, "sample_id": s.id, **{k: v for k, v in s.meta.items() if _jsonable(v)}}
        if s.label is not None:
            meta["label"] = s.label
        out.append(Stimulus(id=f"{prefix}{s.id}", modality=modality, origin="real", text=s.text, files=files,
                            meta=meta))
    return out


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def real_stimuli(
    source: str | Path,
    *,
    modalities: Sequence[str] = STIMULUS_MODALITIES,
    limit: int | None = None,
) -> list[Stimulus]:
    """The user's own stimuli.

    ``source`` a manifest file (.jsonl / .ndjson / .csv / .tsv in the ``affectagent.datasets`` "manifest" format), or
    a folder: every video (mp4, mov, mkv, avi, webm, m4v), audio (wav, flac, mp3, ogg, m4a, opus) and ``.txt`` file
    under it whose modality is in ``modalities``, sorted by path, id ``real/<path relative to the folder>``. Hidden
    files and folders, and documentation files (``DOC_FILES``: README, LICENSE, SOURCE, …) are skipped.
    """
    from ..datasets import load

    unknown = sorted(set(modalities) - set(STIMULUS_MODALITIES))
    if unknown:
        raise InputError(f"unknown stimulus modalities {unknown}; known: {', '.join(STIMULUS_MODALITIES)}")
    src = Path(source).expanduser()
    if src.is_file():
        if src.suffix.lower() not in MANIFEST_SUFFIXES:
            raise InputError(f"{src}: a stimulus manifest must be .jsonl, .ndjson, .csv or .tsv")
        stims = from_samples(load("manifest", "all", data_file=src))
        return [s for s in stims if s.modality in modalities][:limit]
    if not src.is_dir():
        raise InputError(f"stimulus source not found: {src}")
    out: list[Stimulus] = []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src)
        suffix = path.suffix.lower()
        if any(part.startswith(".") for part in rel.parts) or path.stem.upper() in DOC_FILES:
            continue
        sid = f"real/{rel.as_posix()}"
        if suffix in VIDEO_SUFFIXES and "video" in modalities:
            out.append(Stimulus(id=sid, modality="video", origin="real", files={"video": str(path.resolve())}))
        elif suffix in AUDIO_SUFFIXES and "audio" in modalities:
            out.append(Stimulus(id=sid, modality="audio", origin="real", files={"audio": str(path.resolve())}))
        elif suffix in TEXT_SUFFIXES and "text" in modalities:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                out.append(Stimulus(id=sid, modality="text", origin="real", text=text))
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise InputError(f"no {' / '.join(modalities)} stimulus files under {src}")
    return out


# ---- the store ---------------------------------------------------------------------------------------------------

class StimulusStore:
    """Stimuli of one arena run: ``<folder>/stimuli.jsonl`` (one JSON object a line, appended as they are made) and
    generated media under ``<folder>/audio/``. Ids are unique; file paths inside the folder are stored relative to
    it."""

    FILE = "stimuli.jsonl"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / self.FILE
        self._items: dict[str, Stimulus] = {}
        if self.path.is_file():
            text = self.path.read_text(encoding="utf-8")
            for n, obj in parse_json_lines(text, where=lambda n: f"{self.path} line {n}"):
                try:
                    stim = Stimulus.from_dict(obj)
                except (InputError, TypeError) as exc:
                    raise InputError(f"{self.path} line {n}: {exc}") from None
                if stim.id in self._items:
                    raise InputError(f"{self.path} line {n}: duplicate stimulus id {stim.id!r}")
                self._items[stim.id] = stim

    def _relative(self, stim: Stimulus) -> Stimulus:
        files = {}
        root = self.folder.resolve()
        for role, p in stim.files.items():
            path = Path(p)
            absolute = (path if path.is_absolute() else self.folder / path).resolve()
            files[role] = absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else str(absolute)
        return Stimulus.from_dict({**stim.to_dict(), "files": files})

    def add(self, stim: Stimulus) -> Stimulus:
        """Append one stimulus (duplicate id -> InputError); returns it as stored."""
        if stim.id in self._items:
            raise InputError(f"stimulus id {stim.id!r} is already in {self.path}")
        stored = self._relative(stim)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(stored.to_dict(), ensure_ascii=False) + "\n")
        self._items[stored.id] = stored
        return stored

    def extend(self, stims: Iterable[Stimulus]) -> list[Stimulus]:
        return [self.add(s) for s in stims]

    def get(self, sid: str) -> Stimulus | None:
        return self._items.get(sid)

    def file(self, stim: Stimulus, role: str | None = None) -> Path:
        """A stimulus's media file, resolved against this store's folder."""
        return stim.file(role, root=self.folder)

    def __contains__(self, sid: object) -> bool:
        return sid in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items.values()))

    def ids(self) -> list[str]:
        return list(self._items)
