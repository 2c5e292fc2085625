"""Score Nano-EmoX on task examples (``data.dev_examples``) with each task's metric; pure scoring is separate from
generation so it is tested on hand-made answers.

    examples = dev_examples("mer/meld", data=DataConfig(dev_limit=40))
    score = evaluate_task(model, examples, bank=FeatureBank())   # TaskScore: metrics, primary, fallback_rate
    score.metrics[score.primary]

Metrics per task (``score_answers``; every prediction is the example's own prompt answered greedily, as trained):
    mer  war, uar, weighted_f1, macro_f1 over the example's listed labels (``metrics.classification_report``; an
         unreadable answer counts as a wrong "<other>" prediction) and MER-UniBench hit_rate of the answered word
         (``metrics.hit_rate``, the paper's MER metric; gold neutral is skipped). Primary: weighted_f1.
    msa  waf and accuracy (``metrics.waf``, MER-UniBench: gold valence sign, gold-neutral items dropped, a neutral
         prediction counts as negative). Primary: waf.
    ov   emotion-wheel set F / precision / recall at level 1 (``metrics.ov_set_score``, the OV-MER metric the paper
         reports as WAF). Primary: ov_f.
    mir  accuracy and weighted_f1 over the listed intents (an unreadable answer is wrong). Primary: accuracy.
    eri  the answer sentence vs the gold "The speaker feels E because R.": BLEU-4, ROUGE-L, METEOR, BERTScore
         (``metrics.generation_scores``; each only when its package / data is installed, a note says which were
         left out) and emotion_accuracy (the emotion named vs the gold one; the paper's GPT-judged Clue / Label
         Overlap cannot run offline). Primary: rouge_l.
    erg  the reply vs the gold next turn with the same text metrics, emotion_accuracy of the think chain's Emotion
         step (AvaMERG's Acc) and Dist-1 / Dist-2 of the replies. Primary: emotion_accuracy.
Dist-n is pinned to the corpus-level ratio (distinct n-grams / all n-grams pooled over every response, Li et al.
2016): ``dist1`` / ``dist2`` are those; the per-response mean is kept as ``dist1_response_mean`` /
``dist2_response_mean``. fallback_rate: share of answers that did not follow their format (``TaskAnswer.fallback``).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..errors import DataNotFoundError, InputError, MissingDependencyError
from .tasks import TASKS, TaskAnswer, TaskExample, parse_answer

PRIMARY: Mapping[str, str] = {"mer": "weighted_f1", "msa": "waf", "ov": "ov_f", "mir": "accuracy",
                              "eri": "rouge_l", "erg": "emotion_accuracy"}
TEXT_METRICS: tuple[str, ...] = ("bleu", "dist", "rouge_l", "meteor", "bertscore")
NONE_LABEL = "<none>"  # an unreadable label answer in the confusion matrix (outside every label set)
DIST_NOTE = ("dist1 / dist2 are corpus-level (distinct n-grams / all n-grams over every response pooled, "
             "Li et al. 2016); the per-response means are dist1_response_mean / dist2_response_mean")


@dataclass(frozen=True)
class ExamplePrediction:
    """One scored example: its ids, the gold answer, the parsed generation and the seconds it took (its share of
    the batch)."""

    task: str
    source: str
    sample_id: str
    gold: TaskAnswer
    answer: TaskAnswer
    seconds: float = 0.0

    def to_record(self) -> dict[str, Any]:
        """One JSON line of ``--out``: ids, the answer (``TaskAnswer.to_dict``) and the gold answer."""
        return {"id": self.sample_id, "task": self.task, "source": self.source, **self.answer.to_dict(),
                "gold": self.gold.to_dict(), "seconds": round(self.seconds, 4)}


@dataclass(frozen=True)
class TaskScore:
    """Scores of one task on a set of examples.

    task; source (the examples' source, "a+b" when mixed); n: examples scored; metrics: name -> value (None when a
    metric could not be computed, see notes); primary: the headline metric's name; fallback_rate: share of answers
    with ``fallback``; fallback_reasons: reason -> count; seconds: generation wall time; notes: what was left out or
    how a number is defined; predictions: every example's answer (not in ``to_dict``)."""

    task: str
    source: str
    n: int
    metrics: dict[str, float | None]
    primary: str
    fallback_rate: float
    fallback_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    predictions: tuple[ExamplePrediction, ...] = field(default=(), repr=False)

    @property
    def value(self) -> float | None:
        return self.metrics.get(self.primary)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("predictions")
        d["notes"] = list(self.notes)
        return d


# ---- pure scoring ---------------------------------------------------------------------------------------------------
def _labels_in_order(golds: Sequence[str], options: Sequence[Sequence[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for opts in options:
        for o in opts:
            seen.setdefault(o, None)
    for g in golds:
        seen.setdefault(g, None)
    return list(seen)


def _classification(golds: Sequence[TaskAnswer], answers: Sequence[TaskAnswer],
                    options: Sequence[Sequence[str]]) -> dict[str, float]:
    from ..metrics.classification import classification_report

    y_true = [g.label for g in golds]
    if any(y is None for y in y_true):
        raise InputError("a gold answer has no label")
    y_pred = [a.label if a.label is not None else NONE_LABEL for a in answers]
    rep = classification_report(y_true, y_pred, _labels_in_order(y_true, options))
    return {"war": rep.war, "accuracy": rep.war, "uar": rep.uar, "weighted_f1": rep.weighted_f1,
            "macro_f1": rep.macro_f1}


def _text_scores(hyps: Sequence[str], refs: Sequence[str], *, metrics: Sequence[str], bertscore_model: str,
                 progress: bool) -> tuple[dict[str, float | None], list[str]]:
    """Each requested text metric on its own, so a missing optional package drops that metric only (a note)."""
    from ..metrics.generation import generation_scores

    out: dict[str, float | None] = {}
    notes: list[str] = []
    for name in metrics:
        try:
            s = generation_scores(hyps, refs, metrics=[name], bertscore_model=bertscore_model, progress=progress)
        except MissingDependencyError as exc:
            notes.append(f"{name} left out: {exc}")
            continue
        if name == "dist":
            out.update(dist1=s.dist1_corpus, dist2=s.dist2_corpus, dist1_response_mean=s.dist1,
                       dist2_response_mean=s.dist2)
            notes.append(DIST_NOTE)
        elif name == "bertscore":
            out.update(bertscore_precision=s.bertscore_precision, bertscore_recall=s.bertscore_recall,
                       bertscore_f1=s.bertscore_f1)
            notes.append(f"BERTScore model {s.bertscore_model}; not comparable with published RoBERTa-large values")
        else:
            out[name] = getattr(s, name)
    return out, notes


def _emotion_accuracy(golds: Sequence[TaskAnswer], answers: Sequence[TaskAnswer]) -> float:
    return sum(a.label is not None and a.label == g.label for g, a in zip(golds, answers)) / len(golds)


def score_answers(task: str, golds: Sequence[TaskAnswer], answers: Sequence[TaskAnswer], *,
                  options: Sequence[Sequence[str]] = (), text_metrics: Sequence[str] = TEXT_METRICS,
                  bertscore_model: str = "minilm", mapper: Any = None,
                  progress: bool = False) -> tuple[dict[str, float | None], tuple[str, ...]]:
    """(metrics, notes) of ``answers`` against ``golds`` for ``task`` (see the module docstring). ``options``: the
    listed labels of each example (mer / mir); ``mapper``: emotion-wheel mapper (default: the data root's tables)."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    if not golds or len(golds) != len(answers):
        raise InputError(f"score_answers: {len(answers)} answers for {len(golds)} gold answers")
    opts = list(options) if options else [() for _ in golds]
    metrics: dict[str, float | None] = {}
    notes: list[str] = []
    if task in ("mer", "mir"):
        metrics.update(_classification(golds, answers, opts))
        metrics.pop("accuracy" if task == "mer" else "war")
        if task == "mer":
            from ..metrics.hit_rate import hit_rate

            try:
                hr = hit_rate([[a.label] if a.label else [] for a in answers], [g.label for g in golds],
                              mapper=mapper)
                metrics["hit_rate"] = hr.hit_rate
            except (InputError, DataNotFoundError) as exc:  # the wheel tables are not in the data root
                metrics["hit_rate"] = None
                notes.append(f"hit_rate left out: {exc}")
    elif task == "msa":
        from ..metrics.waf import sentiment_value, waf

        res = waf([sentiment_value(g.label) for g in golds], [a.label or "" for a in answers])
        metrics.update(waf=res.waf, accuracy=res.accuracy)
        notes.append(f"WAF over {res.n_scored} items with a non-neutral gold; {res.n_dropped} gold-neutral dropped")
    elif task == "ov":
        from ..metrics.ov_set import ov_set_score

        res = ov_set_score([list(a.labels) for a in answers], [list(g.labels) for g in golds], level=1,
                           mapper=mapper)
        metrics.update(ov_f=res.fscore, ov_precision=res.precision, ov_recall=res.recall)
    else:  # eri / erg
        if task == "eri":
            hyps = [" ".join(a.text.split()) for a in answers]
            refs = [g.text for g in golds]
        else:
            hyps = [a.reply or "" for a in answers]
            refs = [g.reply or "" for g in golds]
        text, text_notes = _text_scores(hyps, refs, metrics=text_metrics, bertscore_model=bertscore_model,
                                        progress=progress)
        metrics.update(text)
        notes += text_notes
        metrics["emotion_accuracy"] = _emotion_accuracy(golds, answers)
    return metrics, tuple(notes)


def fallback_summary(answers: Sequence[TaskAnswer]) -> tuple[float, dict[str, int]]:
    """(share of answers with ``fallback``, reason -> count; a reason like ``missing_step:Goal`` counts as is)."""
    reasons: Counter[str] = Counter()
    for a in answers:
        if a.fallback:
            for r in (a.fallback_reason or "fallback").split("; "):
                reasons[r] += 1
    return (sum(a.fallback for a in answers) / len(answers) if answers else 0.0), dict(reasons.most_common())


# ---- generation + scoring -------------------------------------------------------------------------------------------
def generate_answers(model: Any, examples: Sequence[TaskExample], *, bank: Any = None, batch_size: int = 4,
                     progress: bool = True,
                     on_batch: Callable[[Sequence[ExamplePrediction]], None] | None = None) -> list[ExamplePrediction]:
    """Greedy answers of ``model`` (a ``NanoEmoX``) to each example's own prompt and streams, ``batch_size`` at a
    time (left-padded); ``bank``: the ``data.FeatureBank`` giving media examples their streams (made when needed).
    ``on_batch`` sees each batch's predictions as they are made (e.g. to write them)."""
    from tqdm.auto import tqdm

    from .inputs import NO_STREAMS

    if batch_size < 1:
        raise InputError("batch_size must be >= 1")
    if bank is None and any(ex.media for ex in examples):
        from .data import FeatureBank

        bank = FeatureBank()
    if bank is not None:
        bank.prepare(examples, progress=progress)
    out: list[ExamplePrediction] = []
    batches = [examples[i:i + batch_size] for i in range(0, len(examples), batch_size)]
    bar = tqdm(total=len(examples), desc=f"nanoemox {examples[0].source if examples else ''}", unit="item",
               disable=not progress or not examples, leave=False)
    try:
        for batch in batches:
            t0 = time.perf_counter()
            encoded = [model.encode_example(prompt=ex.prompt, streams=bank.streams(ex) if ex.media else NO_STREAMS)
                       for ex in batch]
            budget = max(model.task_budget(ex.task) for ex in batch)
            texts = model.generate(encoded, max_new_tokens=budget)
            share = (time.perf_counter() - t0) / len(batch)
            made = [ExamplePrediction(task=ex.task, source=ex.source, sample_id=ex.sample_id, gold=ex.gold,
                                      answer=parse_answer(ex.task, text, options=ex.options), seconds=share)
                    for ex, text in zip(batch, texts)]
            out += made
            if on_batch is not None:
                on_batch(made)
            bar.update(len(batch))
    finally:
        bar.close()
    return out


def score_predictions(predictions: Sequence[ExamplePrediction], *, options: Sequence[Sequence[str]] = (),
                      text_metrics: Sequence[str] = TEXT_METRICS, bertscore_model: str = "minilm", mapper: Any = None,
                      progress: bool = False) -> TaskScore:
    """The ``TaskScore`` of predictions of one task."""
    if not predictions:
        raise InputError("no predictions to score")
    tasks = {p.task for p in predictions}
    if len(tasks) != 1:
        raise InputError(f"predictions of one task at a time; got {', '.join(sorted(tasks))}")
    task = tasks.pop()
    answers = [p.answer for p in predictions]
    metrics, notes = score_answers(task, [p.gold for p in predictions], answers, options=options,
                                   text_metrics=text_metrics, bertscore_model=bertscore_model, mapper=mapper,
                                   progress=progress)
    rate, reasons = fallback_summary(answers)
    source = "+".join(dict.fromkeys(p.source for p in predictions))
    return TaskScore(task=task, source=source, n=len(predictions), metrics=metrics, primary=PRIMARY[task],
                     fallback_rate=rate, fallback_reasons=reasons, seconds=sum(p.seconds for p in predictions),
                     notes=notes, predictions=tuple(predictions))


def evaluate_task(model: Any, examples: Sequence[TaskExample], *, bank: Any = None, progress: bool = True,
                  batch_size: int = 4, text_metrics: Sequence[str] = TEXT_METRICS, bertscore_model: str = "minilm",
                  mapper: Any = None,
                  on_batch: Callable[[Sequence[ExamplePrediction]], None] | None = None) -> TaskScore:
    """Answer ``examples`` (all of one task) with ``model`` and score them (``generate_answers`` +
    ``score_predictions``)."""
    if not examples:
        raise InputError("no examples to evaluate")
    tasks = {ex.task for ex in examples}
    if len(tasks) != 1:
        raise InputError(f"evaluate_task scores one task at a time; got {', '.join(sorted(tasks))}")
    preds = generate_answers(model, examples, bank=bank, batch_size=batch_size, progress=progress,
                             on_batch=on_batch)
    return score_predictions(preds, options=[ex.options for ex in examples], text_metrics=text_metrics,
                             bertscore_model=bertscore_model, mapper=mapper, progress=progress)


def task_sources(task: str) -> tuple[str, ...]:
    """The dev sources (``data.SOURCES``) of ``task``: mer has four (meld, speech, face, paired), the others one."""
    from .data import SOURCES

    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    return tuple(s for s in SOURCES if s.split("/", 1)[0] == task)


__all__ = ["DIST_NOTE", "ExamplePrediction", "PRIMARY", "TEXT_METRICS", "TaskScore", "evaluate_task",
           "fallback_summary", "generate_answers", "score_answers", "score_predictions", "task_sources"]
