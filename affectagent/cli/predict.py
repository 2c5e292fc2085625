"""``affectagent predict PATH|--text "..."``: labels, sentiment, open-vocabulary set, rationale and evidence.

One input (a media file and/or ``--text``) prints a readable answer or, with ``--json``, one JSON object (the trace
only with ``--explain``, as the service). ``--model nanoemox`` (or ``--agents nanoemox``) answers with the Nano-EmoX
model of ``--nanoemox DIR`` instead, one answer per ``--task`` (default all); ``--json`` then adds a ``tasks`` object.
Several PATHs, a folder, a manifest or ``--out`` run a batch (``affectagent.batch``): the models load once, every
input becomes one row of ``--out`` (.jsonl / .csv), a failing input is a row with its error, and re-running with the
same ``--out`` resumes. Batch exit code: 0 when every input has a prediction, 1 when some failed, 2 for a usage error
(as every command).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from ..errors import InputError

AGENT_KINDS: tuple[str, ...] = ("neural", "llm", "openai", "nanoemox")
NANOEMOX = "nanoemox"
DEFAULT_MAX_TOKENS, DEFAULT_TOP_K = 48, 3
# AffectAgent.default_labels of the shipped checkpoint (its corpora: MELD, EmoryNLP, EmoDB, RAVDESS, FER2013); a test
# checks this against the checkpoint, so the help text tells the real default without loading it.
SHIPPED_DEFAULT_LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise", "calm",
                                           "boredom", "powerful")
BATCH_ONLY_FOR_ONE = ("text", "context", "speaker", "explain")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict the emotion of clips, audio files, images or a text",
                       description="Run the AffectAgent pipeline (planner -> KB -> filter -> RAAF/MB-MoE -> generator) "
                                   "with the neural agents, or with LLM agents (--agents llm|openai), or answer "
                                   "with the Nano-EmoX model (--model nanoemox --task ...). One input "
                                   "prints its answer; several PATHs, a folder, a manifest or --out run a batch with "
                                   "one row per input (exit code 0: all ok, 1: some inputs failed, 2: usage error).")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="video, audio or still-image file (jpg/png/webp/bmp: one face frame, no audio), a folder "
                        "(searched recursively by extension) or a manifest (.jsonl/.csv, labels optional)")
    p.add_argument("--text", help="the utterance (with PATH: used instead of the ASR transcript)")
    p.add_argument("--context", help="dialogue context: a text file, one previous turn per line as 'Speaker: text'")
    p.add_argument("--speaker", help="speaker of the utterance")
    p.add_argument("--labels", help="comma-separated candidate labels, at least two canonical emotions (default: the "
                                    "labels of the checkpoint's training corpora; for the shipped checkpoint these "
                                    f"{len(SHIPPED_DEFAULT_LABELS)}: {', '.join(SHIPPED_DEFAULT_LABELS)}; with "
                                    "--model nanoemox: the options of its mer question, default the seven basic "
                                    "emotions)")
    p.add_argument("--checkpoint", help="agents checkpoint (default: the shipped one)")
    p.add_argument("--kb", help="evidence knowledge base directory (default: the checkpoint's)")
    p.add_argument("--allow-foreign-kb", action="store_true",
                   help="use --kb even though its recorded encoder differs from the checkpoint's (its similarities "
                        "are then meaningless; refused by default)")
    p.add_argument("--data-root", help="data root used to build the default KB on first use")
    p.add_argument("--variant", default="full", help="pipeline variant: full, no_rag, naive_rag, no_planner, ...")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (with the trace only under --explain; a batch without --out prints "
                        "one JSON row per line, with --out a JSON summary)")
    p.add_argument("--explain", action="store_true", help="also print the three agents' trace (one input only)")
    p.add_argument("--raer", action="store_true",
                   help="answer with RAER (reasoning steps checked against retrieved evidence; prints the steps, "
                        "which were ambiguous, their evidence, the uncertainty and whether the KB would grow)")
    p.add_argument("--raer-epsilon", type=float, help="RAER growth gate: uncertainty threshold in [0, 1] "
                                                      "(default: RAERConfig's)")
    sp = p.add_argument_group("speech", "how the voice is read (README: Speech language)")
    sp.add_argument("--transcribe", action=argparse.BooleanOptionalAction, default=True,
                    help="run speech recognition when an input has audio and no --text (default: on)")
    sp.add_argument("--speaker-norm", nargs="?", const="speaker-norm", default=None, metavar="MODEL",
                    help="a batch of one speaker's files (a folder; a manifest's speaker column groups several "
                         "speakers): re-score the voice branch with each speaker's statistics over the batch, by a "
                         "speaker-normalised model (default: the shipped speaker-norm); needs >= 5 files per speaker")
    sp.add_argument("--language", default="en", metavar="CODE|auto",
                    help="the speech's language: en (the ASR and the text branch read English only), another code "
                         "such as de (no transcript feeds the text branch; the voice still counts) or auto (the "
                         "multilingual Whisper base identifies it per input) (default: en)")
    g = p.add_argument_group("LLM agents", "the three roles as prompts to a language model (docs/llm-agents.md)")
    g.add_argument("--agents", choices=AGENT_KINDS, default="neural",
                   help="neural: the checkpoint's policies (default); llm: a local model (--model qwen-0.5b | "
                        "qwen-1.5b | folder | HF id); openai: an OpenAI-compatible endpoint (--base-url, --model); "
                        "nanoemox: the Nano-EmoX model (same as --model nanoemox)")
    g.add_argument("--model", help="nanoemox: answer with the Nano-EmoX model (--nanoemox, --task); LLM: packaged "
                                    "alias, local folder or HF id (llm, default qwen-1.5b); model name (openai, "
                                    "default $AFFECTAGENT_OPENAI_MODEL)")
    g.add_argument("--llm-runtime", choices=("hf", "llamacpp"), default="hf",
                   help="runtime for --agents llm: transformers (default) or llama.cpp (optional extra)")
    g.add_argument("--base-url", help="openai: endpoint base URL, e.g. http://127.0.0.1:8000/v1 "
                                      "(default $AFFECTAGENT_OPENAI_BASE_URL or $OPENAI_BASE_URL)")
    g.add_argument("--api-key", help="openai: API key (default $AFFECTAGENT_OPENAI_API_KEY or $OPENAI_API_KEY)")
    g.add_argument("--llm-timeout", type=float, metavar="SECONDS",
                   help="openai: total deadline of each LLM call in seconds - connect, first byte, whole answer and "
                        "all retries (default $AFFECTAGENT_LLM_TIMEOUT, else 120)")
    g.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                   help="LLM: output budget of the generator in tokens (planner 32, filter ~4 per candidate)")
    g.add_argument("--constrained-label", choices=("off", "repair", "always"), default="off",
                   help="LLM agents: take the label from a constrained choice among the allowed labels when the "
                        "model's answer needed a repair (repair) or always (always); hf models score the choices, "
                        "servers get guided_choice (default off)")
    g.add_argument("--choice-param", choices=("guided_choice", "structured_outputs"), default="guided_choice",
                   help="openai: how a constrained choice is asked for (vLLM <= 0.10 and llm-serve: guided_choice; "
                        "newer vLLM: structured_outputs)")
    g.add_argument("--top-k", type=int, default=DEFAULT_TOP_K,
                   help="LLM: evidence items per query group (naive_rag: 3x plain)")
    n = p.add_argument_group("Nano-EmoX", "the compact multitask emotion LM (docs/nanoemox.md): --model nanoemox")
    n.add_argument("--nanoemox", metavar="DIR",
                   help="Nano-EmoX model folder (affectagent train nanoemox ... --out runs/nx -> runs/nx/phase3/model; "
                        "default $AFFECTAGENT_NANOEMOX, else affectagent/assets/nanoemox when it ships)")
    n.add_argument("--task", metavar="TASK",
                   help="Nano-EmoX task(s): mer (emotion), msa (sentiment), ov (open-vocabulary emotions), eri "
                        "(emotion + cause), mir (intent), erg (empathetic reply with <think> steps), a comma list, "
                        "or all (default)")
    b = p.add_argument_group("batch", "several PATHs, a folder, a manifest or --out (README: Batch prediction)")
    b.add_argument("--out", metavar="FILE",
                   help="write one row per input to FILE, .jsonl, .csv or .parquet (from the extension; a folder, "
                        "existing or ending in /, gets Parquet part files): id, path, kind, label, "
                        "probs, sentiment, ov_set, rationale, evidence_ids, seconds, error, gold, intent, reply "
                        "(the last two from --model nanoemox). Re-running with "
                        "the same FILE skips the ids already in it and retries the failed ones")
    b.add_argument("--fresh", action="store_true", help="replace --out instead of resuming from it")
    b.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bar on stderr (default: on)")
    from .timeline import add_timeline_arguments

    add_timeline_arguments(p)
    from .engine_args import add_engine_arguments

    add_engine_arguments(p)
    p.set_defaults(func=run)


def read_context(path: str, *, note=None) -> list[tuple[str | None, str]]:
    from ..textsafe import printable_path, read_text_file

    p = Path(path)
    if not p.is_file():
        raise InputError(f"context file not found: {printable_path(p)}")
    turns = []
    for line in read_text_file(p, what=f"--context {printable_path(p)}", note=note).splitlines():
        line = line.strip()
        if not line:
            continue
        speaker, sep, text = line.partition(":")
        turns.append((speaker.strip(), text.strip()) if sep and text.strip() else (None, line))
    return turns


def _print_human(pred, explain: bool) -> None:
    d = pred.to_dict(with_trace=explain)
    print(f"label:      {d['label']}")
    if (pred.trace or {}).get("agents") == "llm":
        print("probs:      (an LLM answers one label; no calibrated probabilities)")
    else:
        top = sorted(d["probs"].items(), key=lambda kv: -kv[1])[:4]
        print("probs:      " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    print(f"sentiment:  {d['sentiment']}")
    print(f"open vocab: {', '.join(d['ov_set'])}")
    print(f"rationale:  {d['rationale']}")
    if explain and d.get("trace", {}).get("agents") == "llm":
        _print_llm_trace(d["trace"])
    elif explain and "trace" in d:
        tr = d["trace"]
        print("\n-- query planner")
        if tr.get("planner"):
            probs = sorted(tr["planner"]["probs"].items(), key=lambda kv: -kv[1])[:4]
            print("   hypotheses: " + ", ".join(f"{k} {v:.2f}" for k, v in probs))
        print(f"   queries: {describe_queries(tr['queries'])}")
        print("-- evidence filter (keep/drop per candidate)")
        for c in tr["candidates"]:
            kp = "" if c["keep_prob"] is None else f" p={c['keep_prob']:.2f}"
            print(f"   [{'keep' if c['keep'] else 'drop'}{kp}] {c['kind']:<9} {c['label'] or '-':<8} "
                  f"sim {c['score']:.2f}  {c['id']}: {c['text'][:70]}")
        print("-- fusion")
        print(f"   modalities present: {', '.join(tr['modalities']) or 'none'}; filled from KB: "
              f"{', '.join(k for k, v in tr['filled'].items() if v) or 'none'}")
        # experts named E1..E4 as in the rationale
        routing = ", ".join(f"E{i + 1} {w:.2f}" for i, w in enumerate(tr["routing_weights"]))
        gates = ", ".join(f"{m} {g:.2f}" for m, g in tr["raaf_gate"].items())
        print(f"   MB-MoE routing: {routing or 'none'}; RAAF gates: {gates or 'none'}")
        per = tr["perceptual"]
        for m in ("audio", "visual"):
            if per[m]:
                print(f"   perceptual {m} neighbours: " + ", ".join(f"{e['id']} ({e['label']}, {e['score']:.2f})" for e in per[m]))
    print("\nevidence:")
    if not d["evidence"]:
        print("   (none kept)")
    for e in d["evidence"]:
        print(f"   [{e['id']}] {e['kind']} {e['label']} sim {e['score']:.2f}: {e['text'][:90]}")


def describe_queries(q: dict | None) -> str:
    """A ``QueryPlan`` record as a phrase: what the planner asked the knowledge base for."""
    if not q:
        return "none (no planner)"
    if q.get("plain"):
        return "one plain similarity query (no planner hypothesis)"
    parts = [f"support {q['support']}" if q.get("support") else "support: none"]
    parts.append(f"confusion {q['confusion']}" if q.get("confusion") else "confusion: nearest other label")
    counter = q.get("counter_sentiment")
    parts.append(f"counter {counter} evidence" if counter else "counter: positive and negative evidence")
    return "; ".join(parts)


def describe_fields(d: dict) -> str:
    """``{"label": "happy", "keep": [1, 3]}`` as ``label happy; keep 1, 3`` (lists joined, empty shown as -)."""
    def show(v: object) -> str:
        if isinstance(v, (list, tuple)):
            return ", ".join(show(x) for x in v) or "-"
        if isinstance(v, dict):
            return ", ".join(f"{k} {show(x)}" for k, x in v.items()) or "-"
        if isinstance(v, float):
            return f"{v:.2f}"
        return "-" if v is None or v == "" else str(v)

    return "; ".join(f"{k} {show(v)}" for k, v in d.items()) or "(nothing)"


def _print_llm_trace(tr: dict) -> None:
    print(f"\n-- LLM agents: {tr['backend']} ({tr['variant']}); {tr['prompt_tokens']} prompt + "
          f"{tr['completion_tokens']} generated tokens, {tr['seconds']:.1f} s")
    print("   cues: " + tr["cues"].replace("\n", "\n         "))
    titles = {"planner": "query planner", "filter": "evidence filter", "generator": "emotion generator"}
    for role in ("planner", "filter", "generator"):
        r = tr["roles"].get(role)
        print(f"-- {titles[role]}")
        if r is None:
            print("   (not used by this variant)")
        else:
            print(f"   prompt {r['prompt_chars']} chars / {r['prompt_tokens']} tokens; output {r['completion_tokens']} "
                  f"tokens in {r['seconds']:.1f} s ({r['finish_reason']})")
            print("   output: " + (r["raw"].strip().replace("\n", "\n           ") or "(empty)"))
            parsed = {k: v for k, v in r["parsed"].items() if k not in ("fallback", "truncated")}
            print(f"   parsed: {describe_fields(parsed)}")
            if r["fallback"]:
                print(f"   fallback: {r['fallback']}")
        if role == "planner" and tr["queries"]:
            print(f"   queries: {describe_queries(tr['queries'])}")
        if role == "filter":
            for c in tr["candidates"]:
                print(f"   [{'keep' if c['keep'] else 'drop'}] {c['kind']:<9} {c['label'] or '-':<8} "
                      f"sim {c['score']:.2f}  {c['id']}: {c['text'][:70]}")


def _print_raer(trace: dict) -> None:
    print(f"RAER: uncertainty {trace['uncertainty']:.3f} ({trace['uncertainty_method']}); knowledge base would "
          f"{'grow with this sample' if trace['kb_would_grow'] else 'not grow (above the gate)'}")
    for i, st in enumerate(trace["steps"], 1):
        flag = "ambiguous -> re-reasoned" if st["regenerated"] else ("ambiguous" if st["ambiguous"] else "consistent")
        det = st.get("detection") or {}
        agree = "" if det.get("agreement") is None else f", evidence agrees {det['agreement']:.2f}"
        print(f" {i}. {st['kind']}: {st['text']}  [{flag}{agree}]")
        if st.get("original"):
            print(f"    first: {st['original']}")
        for e in st["evidence"][:5]:
            print(f"    - {e['label'] or '-':<8} {e['kind']:<9} sim {e['score']:.2f}  {e['id']}")


def _llm_predictor(args: argparse.Namespace, labels, log) -> Callable:
    """--agents llm|openai: the LLM loop over the checkpoint's KB and encoders, loaded once; returns sample -> pred."""
    from ..api import AffectAgent
    from ..llm.backend import load_backend
    from ..llm.loop import LLM_VARIANTS, LLMAffectAgent, LLMAgentConfig

    if args.variant not in LLM_VARIANTS:
        raise InputError(f"--agents {args.agents} takes --variant {' | '.join(LLM_VARIANTS)}, not {args.variant!r}")
    if args.max_tokens < 1 or args.top_k < 1:
        raise InputError("--max-tokens and --top-k must be >= 1")
    if args.agents != "openai" and args.base_url:
        raise InputError("--base-url is for --agents openai")
    if args.agents != "openai" and args.choice_param != "guided_choice":
        raise InputError("--choice-param is for --agents openai (a local model scores the choices itself)")
    config = LLMAgentConfig(variant=args.variant, generator_tokens=args.max_tokens, top_k=args.top_k,
                            constrained_label=args.constrained_label)
    agent = AffectAgent.load(args.checkpoint, kb=args.kb, data_root=args.data_root, log=log,
                             no_kb=args.variant == "no_rag", allow_foreign_kb=args.allow_foreign_kb)
    agent = agent.with_speech(transcribe=args.transcribe, language=args.language)
    if args.agents == "openai":
        backend = load_backend("openai", model=args.model, base_url=args.base_url, api_key=args.api_key,
                               timeout=args.llm_timeout, choice_param=args.choice_param)
    else:
        log(f"loading {args.model or 'qwen-1.5b'} ({args.llm_runtime}; the first use of a packaged model converts it once)")
        backend = load_backend(args.llm_runtime, model=args.model or "qwen-1.5b")
    llm = LLMAffectAgent.from_agent(agent, backend=backend, config=config)
    if args.raer:  # RAER around the LLM backbone, over the same KB and encoders
        from ..raer.config import RAERConfig
        from ..raer.llm import LLMRAER

        raer = RAERConfig() if args.raer_epsilon is None else RAERConfig(epsilon=args.raer_epsilon)
        reasoner = LLMRAER.from_agent(agent, backend=backend, config=raer)

        def with_raer(sample):
            [x] = llm.encode([sample], label_set=labels)
            [outcome] = reasoner.reason([x], [sample])
            return outcome.prediction

        return with_raer
    return lambda sample: llm.predict([sample], label_set=labels)[0]


def _llm_flags_given(args: argparse.Namespace) -> list[str]:
    """The LLM-agent options given with a value other than their default."""
    return [flag for flag, on in (
        ("--base-url", args.base_url is not None), ("--api-key", args.api_key is not None),
        ("--llm-timeout", args.llm_timeout is not None), ("--llm-runtime", args.llm_runtime != "hf"),
        ("--max-tokens", args.max_tokens != DEFAULT_MAX_TOKENS), ("--top-k", args.top_k != DEFAULT_TOP_K),
        ("--constrained-label", args.constrained_label != "off"),
        ("--choice-param", args.choice_param != "guided_choice")) if on]


def _neural_predictor(args: argparse.Namespace, labels, log) -> Callable:
    from ..api import AffectAgent
    from ..pipeline import PipelineConfig

    llm_only = _llm_flags_given(args)
    if llm_only:
        raise InputError(f"{' / '.join(llm_only)} {'is' if len(llm_only) == 1 else 'are'} for the LLM agents "
                         "(--agents llm|openai)")
    try:
        config = PipelineConfig.variant(args.variant)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    raer = False
    if args.raer:
        from ..raer.config import RAERConfig

        raer = RAERConfig() if args.raer_epsilon is None else RAERConfig(epsilon=args.raer_epsilon)
    agent = AffectAgent.load(args.checkpoint, kb=args.kb, config=config, data_root=args.data_root, log=log,
                             allow_foreign_kb=args.allow_foreign_kb)
    agent = agent.with_speech(transcribe=args.transcribe, language=args.language)
    if args.speaker_norm:
        agent = agent.with_speaker_norm(args.speaker_norm, stats=getattr(args, "speaker_stats", None))
    return lambda sample: agent.predict([sample], label_set=labels, explain=args.explain, raer=raer)[0]


def _select_model(args: argparse.Namespace) -> None:
    """``--model nanoemox`` is the Nano-EmoX path, the same as ``--agents nanoemox``."""
    if (args.model or "").strip().lower() != NANOEMOX:
        return
    if args.agents not in ("neural", NANOEMOX):
        raise InputError(f"--model nanoemox answers with Nano-EmoX; it does not go with --agents {args.agents}")
    args.agents, args.model = NANOEMOX, None


def _check_nanoemox_options(args: argparse.Namespace) -> None:
    """--task / --nanoemox need Nano-EmoX; Nano-EmoX has no KB, agents checkpoint, pipeline variant or LLM options."""
    if args.agents != NANOEMOX:
        for flag, value in (("--task", args.task), ("--nanoemox", args.nanoemox)):
            if value is not None:
                raise InputError(f"{flag} is for --model nanoemox (the Nano-EmoX model)")
        return
    given = [flag for flag, on in (
        ("--raer", args.raer), ("--raer-epsilon", args.raer_epsilon is not None),
        (f"--variant {args.variant}", args.variant != "full"), ("--kb", args.kb is not None),
        ("--allow-foreign-kb", args.allow_foreign_kb), ("--checkpoint", args.checkpoint is not None),
        ("--data-root", args.data_root is not None), ("--model", args.model is not None)) if on]
    given += _llm_flags_given(args)
    if given:
        raise InputError(f"{' / '.join(given)} {'does' if len(given) == 1 else 'do'} not go with --model nanoemox "
                         "(it has no knowledge base, agents checkpoint, pipeline variant or LLM backend; its model "
                         "folder is --nanoemox DIR)")
    from ..nanoemox.predictor import parse_tasks

    parse_tasks(args.task)


def _check_agent_options(args: argparse.Namespace) -> None:
    """Option combinations, checked before anything loads."""
    from ..encoders.speech_language import check_language

    args.language = check_language(args.language)
    _select_model(args)
    _check_nanoemox_options(args)
    if args.speaker_norm and args.timeline:
        raise InputError("--speaker-norm is for a batch of files, not --timeline")
    if args.speaker_norm and args.agents != "neural":
        raise InputError("--speaker-norm is for the neural agents (--agents neural)")
    if args.speaker_norm and not is_batch(args):
        raise InputError("--speaker-norm needs a batch of the speaker's files (a folder or a manifest), not one input")
    if args.agents == NANOEMOX and (args.language != "en" or not args.transcribe):
        raise InputError("--language / --no-transcribe are for the AffectAgent agents; Nano-EmoX reads speech with "
                         "its own Whisper encoder")
    if args.agents == NANOEMOX:
        return
    if args.llm_timeout is not None:
        if args.agents != "openai":
            raise InputError("--llm-timeout is for --agents openai (local models have no network to wait for)")
        from ..llm.openai_backend import parse_timeout

        parse_timeout(args.llm_timeout, what="--llm-timeout")
    if args.agents == "neural":
        if args.model or args.base_url or args.api_key:
            raise InputError("--model / --base-url / --api-key need --agents llm or --agents openai")
        from ..pipeline import PipelineConfig

        try:
            PipelineConfig.variant(args.variant)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    elif args.raer and args.variant == "no_rag":
        raise InputError("--raer retrieves from the knowledge base; it cannot run with --variant no_rag")
    if args.raer_epsilon is not None and not args.raer:
        raise InputError("--raer-epsilon needs --raer")


def _nanoemox(args: argparse.Namespace, log):
    """--model nanoemox: the ``NanoEmoXPredictor`` of --nanoemox (or $AFFECTAGENT_NANOEMOX / the shipped folder)."""
    from ..nanoemox.predictor import NanoEmoXPredictor, resolve_checkpoint

    path = resolve_checkpoint(args.nanoemox)
    log(f"loading Nano-EmoX from {path}")
    return NanoEmoXPredictor.load(path)


def _predictor(args: argparse.Namespace, labels, log) -> Callable:
    if args.agents == NANOEMOX:
        from ..nanoemox.predictor import parse_tasks

        predictor, tasks = _nanoemox(args, log), parse_tasks(args.task)
        return lambda sample: predictor.predict(sample, tasks, labels=labels)
    return _neural_predictor(args, labels, log) if args.agents == "neural" else _llm_predictor(args, labels, log)


def is_batch(args: argparse.Namespace) -> bool:
    """Several PATHs, a folder, a manifest or --out: a batch with one row per input."""
    from ..batch.discover import MANIFEST_EXTENSIONS

    if args.out or len(args.paths) > 1:
        return True
    return len(args.paths) == 1 and (Path(args.paths[0]).is_dir()
                                     or Path(args.paths[0]).suffix.lower() in MANIFEST_EXTENSIONS)


def prediction_json(pred, *, explain: bool, raer: bool) -> dict:
    """``--json`` of one input: the service's body without timing/media (trace only with explain, the RAER record
    with raer)."""
    d = pred.to_dict(with_trace=explain)
    if raer:
        d["raer"] = (pred.trace or {}).get("raer")
    return d


def run_timeline(args: argparse.Namespace) -> int:
    """--timeline: one video / long audio predicted per segment (``affectagent.timeline``; docs/timeline.md)."""
    from ..batch import LazyPredict
    from ..schema import parse_label_list
    from .timeline import run_timeline_cli

    labels = parse_label_list(args.labels, what="--labels") if args.labels is not None else None
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731 - stdout carries the rows or the summary
    args.explain = True  # the neural trace carries each segment's transcript
    return run_timeline_cli(args, LazyPredict(lambda: _predictor(args, labels, log)), log)


def run(args: argparse.Namespace) -> int:
    from ..schema import parse_label_list

    if not args.paths and not args.text:
        raise InputError('give a media PATH and/or --text "..."')
    _check_agent_options(args)
    from .engine_args import check_local_engine

    if args.timeline:  # before is_batch: --out names the timeline's rows file here
        check_local_engine(args, "--timeline")
        return run_timeline(args)
    from .timeline import check_timeline_arguments

    check_timeline_arguments(args)
    if is_batch(args):
        return run_batch(args)
    if args.fresh:
        raise InputError("--fresh is for a batch with --out")
    check_local_engine(args, "one input")
    return run_one(args, labels=parse_label_list(args.labels, what="--labels") if args.labels is not None else None)


def run_one(args: argparse.Namespace, *, labels) -> int:
    from ..schema import Sample, Turn
    from ..textsafe import clean_input, edge_note, scrub

    path = args.paths[0] if args.paths else None
    args.text = clean_input(args.text, what="--text", note=edge_note)
    args.speaker = clean_input(args.speaker, what="--speaker", note=edge_note)
    if args.text is not None and not args.text.strip():
        raise InputError("--text is empty")
    ctx = tuple(Turn(speaker=s, text=t) for s, t in read_context(args.context, note=edge_note)) if args.context \
        else ()
    video = audio = None
    if path:
        from ..media import probe

        info = probe(path)
        video, audio = (path, None) if info.has_video else (None, path)
    sample_id = clean_input(Path(path).name, what="the file name", note=edge_note) if path else "text"
    sample = Sample(id=sample_id, text=args.text, context=ctx, speaker=args.speaker, video=video, audio=audio)
    log = (lambda m: None) if args.json else (lambda m: print(m))
    if args.agents == NANOEMOX:
        return _run_one_nanoemox(args, sample, labels=labels, log=log)
    pred = _predictor(args, labels, log)(sample)
    if args.json:
        d = prediction_json(pred, explain=args.explain, raer=args.raer)
        print(scrub(json.dumps(d, indent=2, ensure_ascii=False))[0])  # nothing unprintable reaches stdout
    else:
        _print_human(pred, args.explain)
        if args.raer and pred.trace and "raer" in pred.trace:
            _print_raer(pred.trace["raer"])
    return 0


def _run_one_nanoemox(args: argparse.Namespace, sample, *, labels, log) -> int:
    """One input through Nano-EmoX: every asked task's answer, readable or as JSON (the Prediction + ``tasks``)."""
    from ..nanoemox.predictor import parse_tasks
    from ..textsafe import scrub

    result = _nanoemox(args, log).answer(sample, parse_tasks(args.task), labels=labels)
    pred = result.to_prediction()
    if args.json:
        d = pred.to_dict(with_trace=args.explain)
        d["tasks"] = result.tasks_dict()
        print(scrub(json.dumps(d, indent=2, ensure_ascii=False))[0])
    else:
        print(scrub(format_nanoemox(result, pred, explain=args.explain))[0])
    return 0


def _one_line(text: str | None, limit: int = 300) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= limit else t[: limit - 3] + "..."


def format_nanoemox(result, pred, *, explain: bool = False) -> str:
    """A Nano-EmoX result as readable lines: one per asked task (emotion, sentiment, open-vocabulary words, reason,
    intent, reply + think steps), each answer that broke its format flagged with its reason and raw text."""
    a = result.answers
    streams = ", ".join(result.streams) or "none (text only)"
    lines = [f"model:      Nano-EmoX ({result.checkpoint}); streams: {streams}"]
    if result.text:
        lines.append(f"text:       {_one_line(result.text)}")

    def row(title: str, task: str, value: str | None) -> None:
        ans = a[task]
        shown = value if value else "(none read)"
        note = f"  [{task}: fallback {ans.fallback_reason}; raw: {_one_line(ans.text, 80)!r}]" if ans.fallback \
            else f"  [{task}]"
        lines.append(f"{title + ':':<12}{shown}{note}")

    source = pred.trace["label_source"]
    if "mer" in a:
        row("emotion", "mer", a["mer"].label)
    if "msa" in a:
        row("sentiment", "msa", a["msa"].label)
    if "ov" in a:
        row("open vocab", "ov", ", ".join(a["ov"].labels))
    if "eri" in a:
        row("reason", "eri", _one_line(a["eri"].text) if a["eri"].reason else None)
    if "mir" in a:
        row("intent", "mir", a["mir"].label)
    if "erg" in a:
        row("reply", "erg", _one_line(a["erg"].reply))
        for i, (step, text) in enumerate(a["erg"].think):
            lines.append(f"{'  think:' if i == 0 else '':<12}{step}: {_one_line(text, 200)}")
    if source == "default":
        lines.append("label:      neutral (no asked task named an emotion: a default, not an answer)")
    else:
        lines.append(f"label:      {pred.label} (from {source}); sentiment {pred.sentiment}"
                     f"{'' if 'msa' in a and a['msa'].label else ' (from the label)'}")
    lines.append("probs:      (a generative model answers one label; no calibrated probabilities)")
    if result.fallbacks:
        lines.append(f"fallbacks:  {len(result.fallbacks)} of {len(a)} answers did not follow their format: "
                     + "; ".join(f"{t} {r}" for t, r in result.fallbacks.items()))
    if explain:
        lines.append("\n-- raw generations")
        for task, ans in a.items():
            lines.append(f"   {task} ({result.seconds.get(task, 0.0):.2f} s): {_one_line(ans.text, 400)!r}")
        lines.append(f"   reading the input: {result.encode_seconds:.2f} s")
    return "\n".join(lines)


def _print_row(row) -> None:
    if row.ok:
        extra = "".join(f"\t{name}: {_one_line(value, 80)}" for name, value in (("intent", row.intent),
                                                                                ("reply", row.reply)) if value)
        print(f"{row.id}\t{row.label}\t{row.sentiment}\t{', '.join(row.ov_set)}\t{row.seconds:.2f} s{extra}")
    else:
        print(f"{row.id}\terror: {row.error}")


def _speaker_stats(args: argparse.Namespace, items, log) -> dict:
    """--speaker-norm: each speaker's view statistics over the batch's audio / video files (folder files: one
    speaker; manifest rows: their speaker column)."""
    from ..encoders.speaker_norm import MIN_UTTERANCES, speaker_statistics
    from ..schema import Sample

    samples = [it.sample if it.sample is not None else
               Sample(id=it.id, audio=it.media if it.kind == "audio" else None,
                      video=it.media if it.kind == "video" else None)
               for it in items if it.sample is not None or it.kind in ("audio", "video")]
    stats = speaker_statistics(samples, model_name=args.speaker_norm, progress=args.progress)
    if not stats:
        raise InputError(f"--speaker-norm: no speaker has {MIN_UTTERANCES} or more readable audio files in this batch")
    log(f"speaker normalisation: statistics of {len(stats)} speaker(s) over the batch ("
        + ", ".join(sorted(stats)[:5]) + (" ..." if len(stats) > 5 else "") + ")")
    return stats


def run_batch(args: argparse.Namespace) -> int:
    """PATH... [--out FILE]: every input one row (see ``affectagent.batch``); exit 1 when some inputs failed."""
    from ..batch import LazyPredict, discover
    from ..batch import run_batch as run_rows
    from ..batch.outputs import output_path
    from ..schema import parse_label_list
    from ..textsafe import scrub
    from .engine_args import engine_from_args

    given = [f"--{name}" for name in BATCH_ONLY_FOR_ONE if getattr(args, name)]
    if given:
        raise InputError(f"{' / '.join(given)} {'is' if len(given) == 1 else 'are'} for one input; in a batch give "
                         "texts, context and speakers per row in a manifest (README: Batch prediction)")
    engine = engine_from_args(args, log=lambda m: print(m, file=sys.stderr))
    out = output_path(args.out) if args.out else None  # .jsonl / .csv / .parquet / a folder (Parquet parts)
    labels = parse_label_list(args.labels, what="--labels") if args.labels is not None else None
    found = discover(args.paths)
    if found.ignored:
        print(f"{found.ignored} file(s) in the folders are not video, audio or image files and were left out",
              file=sys.stderr)
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731 - stdout carries rows or the summary
    if args.speaker_norm:
        args.speaker_stats = _speaker_stats(args, found.items, log)
    predict = LazyPredict(lambda: _predictor(args, labels, log))
    if out is None:
        on_row = (lambda r: print(scrub(json.dumps(r.to_record(), ensure_ascii=False))[0], flush=True)) \
            if args.json else _print_row
    else:
        on_row = None
    summary = run_rows(found.items, predict=predict, out=out, resume=not args.fresh, progress=args.progress,
                       on_row=on_row, engine=engine)
    stream = sys.stdout if out is not None else sys.stderr
    if args.json and out is not None:
        print(json.dumps(summary.to_dict(), indent=2), file=stream)
    else:
        print(scrub(summary.format())[0], file=stream)
        for rid in summary.failed_ids[:10]:
            print(f"  failed: {rid}", file=stream)
        if len(summary.failed_ids) > 10:
            print(f"  ... and {len(summary.failed_ids) - 10} more (the error column says why)", file=stream)
    return summary.exit_code
