"""The arena's AI judge (SAB paper §4.2, Appendix C / Table 8) on any ``LLMBackend``, and its validation on EmoPrefer.

The judge sees the stimulus (as text), the task and two anonymous answers, labelled A and B, and compares them on the
paper's criteria: emotional relevance, coherence and depth of reasoning. Following the MT-Bench protocol (DESIGN.md,
"Reference facts → LLM-as-judge") every pair is judged **twice with the positions swapped**, at temperature 0, and the
model answers with a verdict token ``[[A]]`` / ``[[B]]`` / ``[[C]]`` (tie):

    pass 1: first answer shown as A, second as B        pass 2: second answer as A, first as B
    both passes pick the same answer          -> that answer wins
    both passes say tie                       -> tie
    anything else (A then A, A then tie, ...) -> "inconsistent", scored as a draw (0.5)

Malformed output is parsed robustly (``parse_verdict``): an echo of the format instruction is ignored, then single
brackets, a verdict phrased in prose ("Response B is better"), tie words or a bare leading letter are accepted, each
recorded as a fallback (and logged); no verdict at all is a tie, recorded as ``no verdict``.

**Length control** (on by default): before judging, both answers are cut to the same number of words, the shorter
answer's (and at most ``max_words`` when set), so a judge cannot simply reward length. EmoPrefer shows why this
matters: the longer description is the human choice 79.75 % of the time (``emoprefer.py``). ``validate_on_emoprefer``
measures agreement with humans, swap consistency and the judge's own length preference, on all pairs and on the
length-balanced subset, beside the "pick the longer answer" baseline.

    judge = AIJudge(load_backend_spec("smollm2-135m"))
    j = judge.judge(stimulus="...", task="...", first=answer_a, second=answer_b)
    j.result, j.outcome                     # "first" | "second" | "tie" | "inconsistent", score of the first
"""
from __future__ import annotations

import logging
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from ..errors import InputError
from ..llm.backend import ChatMessage, LLMBackend, backend_kinds, load_backend
from ..llm.choice import can_choose
from .emoprefer import (EMOPREFER_STIMULUS, EMOPREFER_TASK, PreferencePair, fmt_rate, length_balanced,
                        longer_baseline, preference_metrics, sample_pairs)

logger = logging.getLogger(__name__)

VERDICTS: tuple[str, ...] = ("A", "B", "C")
RESULTS: tuple[str, ...] = ("first", "second", "tie", "inconsistent")
OUTCOME: Mapping[str, float] = {"first": 1.0, "second": 0.0, "tie": 0.5, "inconsistent": 0.5}
CRITERIA: tuple[str, ...] = ("emotional relevance", "coherence", "depth of reasoning")  # §4.2

JUDGE_SYSTEM = (
    "You are an impartial judge of emotion understanding. Two anonymous responses, A and B, answer the same task "
    "about the same stimulus. Compare them on three criteria: emotional relevance (the emotions they name are "
    "supported by the stimulus and they answer what the task asks), coherence (the answer is consistent and clear) "
    "and depth of reasoning (the emotions are explained from specific cues in the stimulus). The order of the "
    "responses must not influence you, and a response is not better for being longer."
)
_VERDICT_FIRST = ("Which response is better? Write [[A]] if Response A is better, [[B]] if Response B is better, or "
                  "[[C]] for a tie, then one short sentence why.")
_VERDICT_LAST = ("Which response is better? Compare them in two or three sentences, then end with your verdict: "
                 "[[A]] if Response A is better, [[B]] if Response B is better, or [[C]] for a tie.")
VERDICT_MODES: tuple[str, ...] = ("generate", "choice")
RULES: tuple[str, ...] = ("agree", "calibrated")


# ---- prompt ------------------------------------------------------------------------------------------------------

def judge_messages(*, stimulus: str, task: str, answer_a: str, answer_b: str, explain: bool = False,
                   stimulus_chars: int = 700) -> list[ChatMessage]:
    """The judge's chat: the criteria (system), then the stimulus, the task, both responses and the verdict format
    (plain "Name: text" blocks: small models copy bracketed section headers instead of judging)."""
    stim = " ".join(stimulus.split())
    if len(stim) > stimulus_chars:
        stim = stim[: stimulus_chars - 3].rstrip() + "..."
    user = (f"Stimulus: {stim}\n\nTask given to both: {task.strip()}\n\n"
            f"Response A: {answer_a.strip() or '(empty answer)'}\n\n"
            f"Response B: {answer_b.strip() or '(empty answer)'}\n\n"
            f"{_VERDICT_LAST if explain else _VERDICT_FIRST}")
    return [ChatMessage("system", JUDGE_SYSTEM), ChatMessage("user", user)]


# ---- length control ----------------------------------------------------------------------------------------------

_WORD = re.compile(r"\S+")


def truncate_words(text: str, n: int) -> str:
    """The first ``n`` whitespace-separated words of ``text``, original spacing and line breaks kept."""
    if n < 0:
        raise InputError(f"word limit must be >= 0; got {n}")
    words = list(_WORD.finditer(text))
    return text.strip() if len(words) <= n else (text[: words[n - 1].end()].strip() if n else "")


def equalize_lengths(first: str, second: str, *, max_words: int | None = None) -> tuple[str, str, int]:
    """Both answers cut to the same number of words: the shorter answer's, at most ``max_words``.
    Returns (first, second, words kept); an empty answer keeps the other whole (there is nothing to match)."""
    n1, n2 = len(first.split()), len(second.split())
    n = min(n1, n2) if min(n1, n2) > 0 else max(n1, n2)
    if max_words is not None:
        n = min(n, max_words)
    return truncate_words(first, n), truncate_words(second, n), n


# ---- parsing -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerdictParse:
    """verdict: "A", "B", "C" (tie) or None (nothing usable; scored as a tie). fallback: why the strict
    ``[[X]]`` reading did not apply (None when exactly one verdict token was given)."""

    verdict: str | None
    fallback: str | None = None


_TOKEN = re.compile(r"\[\[\s*([ABC])\s*\]\]", re.IGNORECASE)
# the format instruction copied back: "[[A]] if Response A is better", "[[C]] for a tie"
_ECHO = re.compile(r"[\"'“]?\[\[\s*[ABC]\s*\]\][\"'”]?\s*(?:if\b|for\s+a\s+tie\b|=|means\b)[^,.;\n\[\]]*",
                   re.IGNORECASE)
_SINGLE = re.compile(r"(?<![\[\w])\[\s*([ABC])\s*\](?!\])|\*\*\s*([ABC])\s*\*\*")
_L = r"(?-i:([ABC]))"  # the verdict letter itself is case-sensitive: "a" is an article, not a verdict
_PROSE = (
    re.compile(r"\b(?:verdict|winner|choice|(?:better|best) (?:response|answer)(?: here)? is)[ \t]*(?:is|:|-)?[ \t]*"
               r"(?:response[ \t]+|assistant[ \t]+)?\(?" + _L + r"\b(?![ \t]*:)", re.IGNORECASE),
    re.compile(r"\b(?:response|assistant|answer|option)\s+(?-i:([AB]))\b(?![ \t]*:)[^.\n]{0,40}?\b(?:is|was|seems|appears)\s+"
               r"(?:clearly\s+|slightly\s+|much\s+)?(?:better|stronger|superior|preferred|preferable|more\b)",
               re.IGNORECASE),
    re.compile(r"\bprefer\s+(?:response\s+|assistant\s+)?(?-i:([AB]))\b", re.IGNORECASE),
)
# "The best response is:\n\nResponse A: <a copy of A>": small models choose by quoting the response they pick
_QUOTED = re.compile(r"\b(?:best|better) (?:response|answer) is[ \t]*:?\s*(?:\*\*)?Response[ \t]+(?-i:([AB]))[ \t]*:",
                     re.IGNORECASE)
_TIE = re.compile(r"\b(?:it'?s a tie|a tie|tie\b|equally (?:good|bad|strong|weak)|both (?:are |responses are )?"
                  r"equally|neither (?:is|response is) better)", re.IGNORECASE)
_BARE = re.compile(r"^[\s\W]*([ABC])\s*(?:[.):\],\n]|$)")


def parse_verdict(text: str, *, prefer: str = "first") -> VerdictParse:
    """The verdict in a judge's output. ``prefer``: which token wins when several different ones remain after
    removing echoes of the format instruction ("first" for verdict-first prompts, "last" for explain-then-verdict)."""
    if prefer not in ("first", "last"):
        raise InputError(f"prefer must be 'first' or 'last'; got {prefer!r}")
    raw = text or ""
    body = _ECHO.sub(" ", raw)
    echoed = body != raw
    tokens = [m.group(1).upper() for m in _TOKEN.finditer(body)]
    if tokens:
        kinds = list(dict.fromkeys(tokens))
        pick = tokens[0] if prefer == "first" else tokens[-1]
        if len(kinds) == 1:
            return VerdictParse(pick, "format instruction echoed; verdict token after it" if echoed else None)
        return VerdictParse(pick, f"several verdict tokens ({', '.join(kinds)}); took the {prefer}")
    single = [(m.group(1) or m.group(2)).upper() for m in _SINGLE.finditer(body)]
    if single:
        return VerdictParse(single[0] if prefer == "first" else single[-1], "verdict without double brackets")
    for pattern in _PROSE:
        m = pattern.search(body)
        if m:
            return VerdictParse(m.group(1).upper(), "verdict read from prose")
    m = _QUOTED.search(body)
    if m:
        return VerdictParse(m.group(1), "verdict read from a quoted response")
    if _TIE.search(body):
        return VerdictParse("C", "tie read from prose")
    m = _BARE.match(body)
    if m:
        return VerdictParse(m.group(1), "bare verdict letter")
    return VerdictParse(None, "no verdict (format instruction echoed)" if echoed else "no verdict")


# ---- the two passes ----------------------------------------------------------------------------------------------

@dataclass
class JudgePass:
    """One judging pass. order: "first-second" (the first answer shown as A) or "second-first" (swapped).
    verdict: the parsed token ("A" / "B" / "C" / None). winner: the verdict mapped back to "first" / "second" /
    "tie" (None verdict -> "tie"). fallback: the parser's note. raw: the model's output. probs: choice verdicts
    only, the next-token probability of A, B and C."""

    order: str
    raw: str
    verdict: str | None
    winner: str
    fallback: str | None
    seconds: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    probs: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        if self.probs is None:
            d.pop("probs")
        return d

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "JudgePass":
        return cls(**{k: obj[k] for k in cls.__dataclass_fields__ if k in obj})


def map_verdict(verdict: str | None, order: str) -> str:
    """A position verdict back to the answers: with order "first-second" A is the first answer, with
    "second-first" A is the second; C or no verdict is a tie."""
    if order not in ("first-second", "second-first"):
        raise InputError(f"order must be first-second or second-first; got {order!r}")
    if verdict in (None, "C"):
        return "tie"
    if verdict not in ("A", "B"):
        raise InputError(f"verdict must be A, B, C or None; got {verdict!r}")
    shown_first = "first" if order == "first-second" else "second"
    other = "second" if shown_first == "first" else "first"
    return shown_first if verdict == "A" else other


def combine(winner_1: str, winner_2: str) -> str:
    """Swap consistency (MT-Bench): the result of two passes' mapped winners. Equal -> that winner (or tie);
    different -> "inconsistent" (scored as a draw)."""
    for w in (winner_1, winner_2):
        if w not in ("first", "second", "tie"):
            raise InputError(f"a pass winner must be first, second or tie; got {w!r}")
    return winner_1 if winner_1 == winner_2 else "inconsistent"


@dataclass
class Judgement:
    """A pair judged twice. result: "first" | "second" | "tie" | "inconsistent". outcome: the first answer's score
    (1, 0.5, 0). passes: (first-second, second-first). words: the answers' word counts as given; shown_words: the
    words each was cut to (None without length control)."""

    result: str
    passes: tuple[JudgePass, JudgePass]
    words: tuple[int, int]
    shown_words: int | None
    judge: str = ""

    @property
    def outcome(self) -> float:
        return OUTCOME[self.result]

    @property
    def consistent(self) -> bool:
        """The two passes' own verdicts name the same answer (or both a tie): swap consistency, whatever rule made
        ``result``."""
        return combine(self.passes[0].winner, self.passes[1].winner) != "inconsistent"

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.passes)

    @property
    def fallbacks(self) -> list[str]:
        return [f"{p.order}: {p.fallback}" for p in self.passes if p.fallback]

    def to_dict(self) -> dict[str, Any]:
        return {"result": self.result, "outcome": self.outcome, "judge": self.judge,
                "passes": [p.to_dict() for p in self.passes], "words": list(self.words),
                "shown_words": self.shown_words}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "Judgement":
        p1, p2 = (JudgePass.from_dict(p) for p in obj["passes"])
        return cls(result=obj["result"], passes=(p1, p2), words=tuple(obj["words"]),
                   shown_words=obj.get("shown_words"), judge=obj.get("judge", ""))


@dataclass(frozen=True)
class JudgeConfig:
    """How the AI judge reads and answers.

    verdict: how the verdict is read: generate (the model writes its answer, parsed for [[A]] / [[B]] / [[C]]
      with logged fallbacks) or choice (a local transformers backend only: the prompt is followed by "[[" and the
      next-token log-probabilities of A, B and C are compared, one forward pass, no generation; like a guided choice,
      it always yields a verdict).
    max_tokens: output budget of each generated judging pass (the verdict comes first unless explain is set).
    explain: ask for a short comparison before the verdict (MT-Bench order; slower on CPU) instead of the verdict
      first and one sentence after it (generate only).
    length_control: cut both answers to the same number of words (the shorter answer's) before judging.
    max_words: also cut both answers to at most this many words (None = no cap; applies with or without
      length control).
    stimulus_chars: characters of the stimulus text shown to the judge.
    seed: decoding seed (decoding is greedy, temperature 0, as in MT-Bench).
    rule: how the two passes make one result: agree (MT-Bench: both verdicts must name the same answer, else
      "inconsistent", a draw) or calibrated (choice only: the answer with the higher verdict probability averaged
      over both orders wins, which cancels a constant position bias; a tie when the two averages differ by less
      than tie_margin).
    tie_margin: calibrated rule: the smallest averaged-probability difference that is not a tie.
    """

    verdict: Literal["generate", "choice"] = "generate"
    max_tokens: int = 32
    explain: bool = False
    length_control: bool = True
    max_words: int | None = None
    stimulus_chars: int = 700
    seed: int = 0
    rule: Literal["agree", "calibrated"] = "agree"
    tie_margin: float = 0.01

    def __post_init__(self) -> None:
        if self.verdict not in VERDICT_MODES:
            raise InputError(f"judge verdict mode must be one of {', '.join(VERDICT_MODES)}; got {self.verdict!r}")
        if self.rule not in RULES:
            raise InputError(f"judge rule must be one of {', '.join(RULES)}; got {self.rule!r}")
        if self.rule == "calibrated" and self.verdict != "choice":
            raise InputError("the calibrated judge rule averages verdict probabilities and needs --verdict choice")
        if not 0.0 <= self.tie_margin < 1.0:
            raise InputError(f"judge tie_margin must be in [0, 1); got {self.tie_margin}")
        if self.max_tokens < 1:
            raise InputError(f"judge max_tokens must be >= 1; got {self.max_tokens}")
        if self.max_words is not None and self.max_words < 1:
            raise InputError(f"judge max_words must be >= 1 or None; got {self.max_words}")
        if self.stimulus_chars < 40:
            raise InputError(f"judge stimulus_chars must be >= 40; got {self.stimulus_chars}")


def _local_scoring(backend: Any) -> bool:
    """Whether ``backend`` is a local transformers model whose next-token probabilities can be read."""
    return all(hasattr(backend, a) for a in ("encode_chat", "model", "tokenizer"))


def choice_logprobs(backend: Any, messages: Sequence[ChatMessage], *, prefix: str,
                    choices: Sequence[str]) -> dict[str, float]:
    """Next-token log-probability of each choice's first token after the chat prompt followed by ``prefix`` (the
    assistant turn is opened and begins with ``prefix``); also ``"_prompt_tokens"``. Needs a local transformers
    backend (``encode_chat``, ``model``, ``tokenizer``: ``llm.hf.HFBackend``), InputError otherwise."""
    if not _local_scoring(backend):
        raise InputError(f"choice verdicts score next-token probabilities and need a local transformers backend "
                         f"(hf) or a server with constrained choice (guided_choice); "
                         f"{getattr(backend, 'name', type(backend).__name__)} has neither (use --verdict generate)")
    import torch

    tok = backend.tokenizer
    ids = list(backend.encode_chat(messages)) + list(tok(prefix, add_special_tokens=False)["input_ids"])
    first = {}
    for c in choices:
        cid = tok(c, add_special_tokens=False)["input_ids"]
        if not cid:
            raise InputError(f"choice {c!r} has no token")
        first[c] = cid[0]
    if len(set(first.values())) != len(first):
        raise InputError(f"the choices {list(choices)} share a first token")
    model = backend.model
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids], dtype=torch.long, device=model.device)).logits[0, -1]
    logp = torch.log_softmax(logits.float(), dim=-1)
    out = {c: float(logp[t]) for c, t in first.items()}
    out["_prompt_tokens"] = float(len(ids))
    return out


class AIJudge:
    """An LLM judge over ``backend`` (see the module docstring). ``name``: "judge:<backend name>"."""

    def __init__(self, backend: LLMBackend, config: JudgeConfig = JudgeConfig()) -> None:
        if config.verdict == "choice" and config.rule == "calibrated" and not _local_scoring(backend) \
                and can_choose(backend):
            raise InputError("the calibrated rule needs the verdict probabilities of a local model (hf); a "
                             "server's constrained choice gives the verdict only: use --judge-rule agree")
        self.backend = backend
        self.config = config
        self.name = f"judge:{getattr(backend, 'name', type(backend).__name__)}"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "config": asdict(self.config), "criteria": list(CRITERIA)}

    def _pass(self, order: str, *, stimulus: str, task: str, a: str, b: str) -> JudgePass:
        cfg = self.config
        msgs = judge_messages(stimulus=stimulus, task=task, answer_a=a, answer_b=b,
                              explain=cfg.explain and cfg.verdict == "generate", stimulus_chars=cfg.stimulus_chars)
        if cfg.verdict == "choice":
            return self._choice(order, msgs)
        t0 = time.perf_counter()
        out = self.backend.chat(msgs, max_tokens=cfg.max_tokens, temperature=0.0, seed=cfg.seed)
        seconds = time.perf_counter() - t0
        parsed = parse_verdict(out.text, prefer="last" if cfg.explain else "first")
        if parsed.fallback:
            logger.info("%s (%s): %s; output %r", self.name, order, parsed.fallback, (out.text or "")[:120])
        return JudgePass(order=order, raw=out.text or "", verdict=parsed.verdict,
                         winner=map_verdict(parsed.verdict, order), fallback=parsed.fallback, seconds=seconds,
                         prompt_tokens=out.prompt_tokens, completion_tokens=out.completion_tokens,
                         finish_reason=out.finish_reason)

    def _choice(self, order: str, msgs: list[ChatMessage]) -> JudgePass:
        """The verdict letter with the highest next-token log-probability after the prompt and "[["."""
        t0 = time.perf_counter()
        if not _local_scoring(self.backend) and can_choose(self.backend):  # a server: constrained decoding
            picked = self.backend.choose(msgs, [f"[[{v}]]" for v in VERDICTS])
            verdict = picked.choice.strip("[]")
            return JudgePass(order=order, raw=picked.choice, verdict=verdict, winner=map_verdict(verdict, order),
                             fallback=None, seconds=time.perf_counter() - t0, prompt_tokens=0, completion_tokens=0,
                             finish_reason="choice")
        scores = choice_logprobs(self.backend, msgs, prefix="[[", choices=VERDICTS)
        verdict = max(VERDICTS, key=lambda v: scores[v])
        shown = ", ".join(f"{v} {math.exp(scores[v]):.3f}" for v in VERDICTS)
        return JudgePass(order=order, raw=f"[[{verdict}]] (next-token probabilities {shown})", verdict=verdict,
                         winner=map_verdict(verdict, order), fallback=None, seconds=time.perf_counter() - t0,
                         prompt_tokens=int(scores["_prompt_tokens"]), completion_tokens=0, finish_reason="choice",
                         probs={v: round(math.exp(scores[v]), 5) for v in VERDICTS})

    def judge(self, *, stimulus: str, task: str, first: str, second: str) -> Judgement:
        """Judge ``first`` against ``second`` in both orders and combine (see ``combine``)."""
        cfg = self.config
        words = (len(first.split()), len(second.split()))
        shown = None
        if cfg.length_control:
            first, second, shown = equalize_lengths(first, second, max_words=cfg.max_words)
        elif cfg.max_words is not None:
            first, second = truncate_words(first, cfg.max_words), truncate_words(second, cfg.max_words)
            shown = cfg.max_words
        one = partial(self._pass, "first-second", stimulus=stimulus, task=task, a=first, b=second)
        two = partial(self._pass, "second-first", stimulus=stimulus, task=task, a=second, b=first)
        if getattr(self.backend, "concurrent", False):  # a server backend: both passes in flight at once
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="judge") as pool:
                f1, f2 = pool.submit(one), pool.submit(two)
                p1, p2 = f1.result(), f2.result()
        else:
            p1, p2 = one(), two()
        if cfg.rule == "calibrated":
            result = calibrated_winner(p1, p2, margin=cfg.tie_margin) or "inconsistent"
        else:
            result = combine(p1.winner, p2.winner)
        return Judgement(result=result, passes=(p1, p2), words=words, shown_words=shown, judge=self.name)


# ---- naming a backend on the command line ------------------------------------------------------------------------

@dataclass(frozen=True)
class BackendSpec:
    """A backend named on the command line. kind: an ``LLM_BACKENDS`` kind; model / base_url as ``load_backend``
    takes them."""

    kind: str
    model: str | None = None
    base_url: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.model or ''}" + (f"@{self.base_url}" if self.base_url else "")


BACKEND_SPEC_FORMS = ("a packaged alias (smollm2-135m, qwen-0.5b, qwen-1.5b), a local transformers folder, "
                      "hf:<alias|folder|id>, llamacpp:<alias|file.gguf>, openai:<model>@<base_url>, "
                      "dpo:<adapter folder> (or the adapter folder itself)")


def parse_backend_spec(spec: str) -> BackendSpec:
    """Parse a backend name without loading anything: a packaged alias or a local model folder (transformers),
    ``<kind>:<model>`` for any backend kind, ``openai:<model>@<base_url>``. Unknown -> InputError (one line)."""
    from ..llm.packaged import is_packaged_alias

    spec = (spec or "").strip()
    if not spec:
        raise InputError(f"empty backend name; use {BACKEND_SPEC_FORMS}")
    if is_packaged_alias(spec):
        return BackendSpec("hf", spec)
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in backend_kinds():
        if Path(spec).expanduser().is_dir():
            return BackendSpec("hf", spec)
        raise InputError(f"unknown LLM backend {spec!r}; use {BACKEND_SPEC_FORMS}")
    if kind == "openai":
        model, at, url = rest.partition("@")
        if not model.strip() and not at:
            return BackendSpec("openai")  # everything from the environment
        return BackendSpec("openai", model.strip() or None, url.strip() or None)
    if not rest.strip():
        raise InputError(f"backend {spec!r} names no model; use {BACKEND_SPEC_FORMS}")
    if kind == "hf" and not is_packaged_alias(rest) and rest.startswith((".", "/", "~")) \
            and not Path(rest).expanduser().is_dir():
        raise InputError(f"model folder not found: {rest}")
    if kind == "dpo" and not Path(rest.strip()).expanduser().is_dir():
        raise InputError(f"adapter folder not found: {rest.strip()}")
    return BackendSpec(kind, rest.strip())


def load_backend_spec(spec: str | BackendSpec, **options: Any) -> LLMBackend:
    """The backend a spec names (``parse_backend_spec``), loaded."""
    s = parse_backend_spec(spec) if isinstance(spec, str) else spec
    return load_backend(s.kind, model=s.model, base_url=s.base_url, **options)


# ---- validation on EmoPrefer -------------------------------------------------------------------------------------

@dataclass
class JudgeValidation:
    """A judge on EmoPrefer. metrics: see ``validate_on_emoprefer``. rows: one record per pair."""

    judge: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, *, with_rows: bool = True) -> dict[str, Any]:
        """JSON-ready (NaN -> None)."""
        out = {"judge": self.judge, "config": self.config, "metrics": self.metrics}
        if with_rows:
            out["rows"] = self.rows
        return _no_nan(out)

    def lines(self) -> list[str]:
        """A readable table of the numbers, the judge beside the length baseline."""
        m = self.metrics
        out = [f"{self.judge} on EmoPrefer: {m['n']} pairs ({m['all']['n_decisive']} decisive), length-balanced "
               f"subset {m['n_balanced']}; length control {'on' if self.config.get('length_control') else 'off'}",
               f"{'':24}{'WAF':>8}{'acc':>8}{'w/ ties':>9}{'ties':>8}{'longer%':>9}"]
        for label, key in (("judge, all", "all"), ("pick-longer, all", "baseline_all"),
                           ("judge, balanced", "balanced"), ("pick-longer, balanced", "baseline_balanced"),
                           ("judge pass 1 only, all", "first_pass"), ("calibrated choice, all", "calibrated")):
            r = m.get(key)
            if r is None:
                continue
            out.append(f"{label:24}{fmt_rate(r['waf']):>8}{fmt_rate(r['accuracy']):>8}"
                       f"{fmt_rate(r['agreement_with_ties']):>9}{fmt_rate(r['tie_rate']):>8}"
                       f"{fmt_rate(r['length_preference']):>9}")
        out.append(f"swap consistency {fmt_rate(m['swap_consistency'])} (balanced {fmt_rate(m['swap_consistency_balanced'])})"
                   f"; verdicts for position A {fmt_rate(m['position_a_rate'])}; passes with a parse fallback "
                   f"{fmt_rate(m['fallback_rate'])}, without any verdict {fmt_rate(m['no_verdict_rate'])}; "
                   f"{m['seconds_per_pair']:.2f} s per pair (two passes)")
        return out


def calibrated_winner(p1: JudgePass, p2: JudgePass, *, margin: float = 0.0) -> str | None:
    """Choice verdicts: the answer with the higher probability averaged over both orders (first: P(A) in pass 1 and
    P(B) in pass 2; a position-bias correction in the spirit of balanced position calibration); "tie" when the
    averages differ by ``margin`` or less. None when a pass has no probabilities."""
    if p1.probs is None or p2.probs is None:
        return None
    first = (p1.probs["A"] + p2.probs["B"]) / 2
    second = (p1.probs["B"] + p2.probs["A"]) / 2
    if abs(first - second) <= margin:
        return "tie"
    return "first" if first > second else "second"


def position_calibrated(j: Judgement) -> str | None:
    """``calibrated_winner`` of a judgement's two passes with no tie margin (the validation's diagnostic row)."""
    return calibrated_winner(*j.passes)


def _no_nan(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _no_nan(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_no_nan(v) for v in obj]
    return obj


def validation_metrics(chosen: Sequence[PreferencePair], judgements: Sequence[Judgement], *, seconds: float,
                       seed: int = 0) -> dict[str, Any]:
    """The numbers of ``validate_on_emoprefer`` from pairs and their judgements (e.g. to re-score stored verdicts
    after a parser change: ``Judgement.from_dict`` the rows, re-parse each pass's ``raw``)."""
    human = [p.human for p in chosen]
    longer = longer_baseline(chosen)
    predicted = ["tie" if j.result == "inconsistent" else j.result for j in judgements]
    first_pass = [j.passes[0].winner for j in judgements]
    balanced = length_balanced(chosen, seed=seed)

    def sub(values: Sequence[str]) -> list[str]:
        return [values[i] for i in balanced]

    calibrated = [position_calibrated(j) for j in judgements]
    passes = [q for j in judgements for q in j.passes]
    decisive_passes = [q for q in passes if q.verdict in ("A", "B")]
    nan = float("nan")
    metrics = {
        "n": len(chosen),
        "n_balanced": len(balanced),
        "all": preference_metrics(human, predicted, longer),
        "balanced": preference_metrics(sub(human), sub(predicted), sub(longer)),
        "baseline_all": preference_metrics(human, longer, longer),
        "baseline_balanced": preference_metrics(sub(human), sub(longer), sub(longer)),
        "first_pass": preference_metrics(human, first_pass, longer),
        # choice verdicts only: the preference averaged over both orders (diagnostic; the arena uses the MT-Bench rule)
        "calibrated": (preference_metrics(human, calibrated, longer) if all(c is not None for c in calibrated)
                       and calibrated else None),
        "calibrated_balanced": (preference_metrics(sub(human), sub(calibrated), sub(longer))
                                if all(c is not None for c in calibrated) and balanced else None),
        "swap_consistency": sum(j.consistent for j in judgements) / len(judgements) if judgements else nan,
        "swap_consistency_balanced": (sum(judgements[i].consistent for i in balanced) / len(balanced)
                                      if balanced else nan),
        "position_a_rate": (sum(q.verdict == "A" for q in decisive_passes) / len(decisive_passes)
                            if decisive_passes else nan),
        "fallback_rate": sum(q.fallback is not None for q in passes) / len(passes) if passes else nan,
        "no_verdict_rate": sum(q.verdict is None for q in passes) / len(passes) if passes else nan,
        "results": {r: sum(j.result == r for j in judgements) for r in RESULTS},
        "seconds_per_pair": seconds / len(chosen) if chosen else nan,
        "seed": seed,
    }
    return metrics


def validate_on_emoprefer(
    judge: AIJudge,
    pairs: Sequence[PreferencePair],
    *,
    n: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> JudgeValidation:
    """Judge EmoPrefer pairs (a seeded sample of ``n``, default all) and compare with the human preference.

    Each pair is judged as (a1 first, a2 second) in both orders. metrics: ``all`` / ``balanced``
    (``preference_metrics`` of the combined verdicts on every judged pair / on the length-balanced subset of them),
    ``baseline_all`` / ``baseline_balanced`` (the "pick the longer answer" judge on the same pairs), ``first_pass``
    (the unswapped pass alone), ``swap_consistency`` (share of pairs whose two passes agree, overall and balanced),
    ``position_a_rate`` (share of decisive pass verdicts for position A: 50 % is unbiased), ``fallback_rate`` /
    ``no_verdict_rate`` (share of passes), ``seconds_per_pair``, ``n``, ``n_balanced``.
    """
    from tqdm.auto import tqdm

    chosen = sample_pairs(list(pairs), n, seed=seed)
    rows: list[dict[str, Any]] = []
    judgements: list[Judgement] = []
    t0 = time.perf_counter()
    for p in tqdm(chosen, desc=f"EmoPrefer ({judge.name})", unit="pair", disable=not progress):
        j = judge.judge(stimulus=EMOPREFER_STIMULUS, task=EMOPREFER_TASK, first=p.a1, second=p.a2)
        judgements.append(j)
        rows.append({"id": p.id, "human": p.human, "longer": p.longer, "result": j.result,
                     "passes": [q.to_dict() for q in j.passes], "words": list(j.words), "shown_words": j.shown_words})
    seconds = time.perf_counter() - t0
    metrics = validation_metrics(chosen, judgements, seconds=seconds, seed=seed)
    return JudgeValidation(judge=judge.name, config=asdict(judge.config), metrics=metrics, rows=rows)


__all__ = [
    "AIJudge", "BackendSpec", "CRITERIA", "JUDGE_SYSTEM", "JudgeConfig", "JudgePass", "JudgeValidation", "Judgement",
    "OUTCOME", "RESULTS", "RULES", "VERDICT_MODES", "VerdictParse", "calibrated_winner", "choice_logprobs", "combine",
    "equalize_lengths",
    "judge_messages", "load_backend_spec", "map_verdict", "parse_backend_spec", "parse_verdict", "position_calibrated",
    "truncate_words", "validate_on_emoprefer", "validation_metrics",
]
