"""``affectagent predict PATH|--text "..."``: labels, sentiment, open-vocabulary set, rationale and evidence."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError

AGENT_KINDS: tuple[str, ...] = ("neural", "llm", "openai")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict the emotion of a clip, an audio file or a text",
                       description="Run the AffectAgent pipeline (planner -> KB -> filter -> RAAF/MB-MoE -> generator) "
                                   "with the neural agents, or with LLM agents (--agents llm|openai).")
    p.add_argument("path", nargs="?", help="video or audio file")
    p.add_argument("--text", help="the utterance (with PATH: used instead of the ASR transcript)")
    p.add_argument("--context", help="dialogue context: a text file, one previous turn per line as 'Speaker: text'")
    p.add_argument("--speaker", help="speaker of the utterance")
    p.add_argument("--labels", help="comma-separated candidate labels, at least two canonical emotions; default: the "
                                    "checkpoint's training labels")
    p.add_argument("--checkpoint", help="agents checkpoint (default: the shipped one)")
    p.add_argument("--kb", help="evidence knowledge base directory (default: the checkpoint's)")
    p.add_argument("--allow-foreign-kb", action="store_true",
                   help="use --kb even though its recorded encoder differs from the checkpoint's (its similarities "
                        "are then meaningless; refused by default)")
    p.add_argument("--data-root", help="data root used to build the default KB on first use")
    p.add_argument("--variant", default="full", help="pipeline variant: full, no_rag, naive_rag, no_planner, ...")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--explain", action="store_true", help="also print the three agents' trace")
    p.add_argument("--raer", action="store_true",
                   help="answer with RAER (reasoning steps checked against retrieved evidence; prints the steps, "
                        "which were ambiguous, their evidence, the uncertainty and whether the KB would grow)")
    p.add_argument("--raer-epsilon", type=float, help="RAER growth gate: uncertainty threshold in [0, 1] "
                                                      "(default: RAERConfig's)")
    g = p.add_argument_group("LLM agents", "the three roles as prompts to a language model (docs/llm-agents.md)")
    g.add_argument("--agents", choices=AGENT_KINDS, default="neural",
                   help="neural: the checkpoint's policies (default); llm: a local model (--model qwen-0.5b | "
                        "qwen-1.5b | folder | HF id); openai: an OpenAI-compatible endpoint (--base-url, --model)")
    g.add_argument("--model", help="LLM: packaged alias, local folder or HF id (llm, default qwen-1.5b); model name "
                                    "(openai, default $AFFECTAGENT_OPENAI_MODEL)")
    g.add_argument("--llm-runtime", choices=("hf", "llamacpp"), default="hf",
                   help="runtime for --agents llm: transformers (default) or llama.cpp (optional extra)")
    g.add_argument("--base-url", help="openai: endpoint base URL, e.g. http://127.0.0.1:8000/v1 "
                                      "(default $AFFECTAGENT_OPENAI_BASE_URL or $OPENAI_BASE_URL)")
    g.add_argument("--api-key", help="openai: API key (default $AFFECTAGENT_OPENAI_API_KEY or $OPENAI_API_KEY)")
    g.add_argument("--llm-timeout", type=float, metavar="SECONDS",
                   help="openai: total deadline of each LLM call in seconds - connect, first byte, whole answer and "
                        "all retries (default $AFFECTAGENT_LLM_TIMEOUT, else 120)")
    g.add_argument("--max-tokens", type=int, default=48,
                   help="LLM: output budget of the generator in tokens (planner 32, filter ~4 per candidate)")
    g.add_argument("--top-k", type=int, default=3, help="LLM: evidence items per query group (naive_rag: 3x plain)")
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
        print(f"   queries: {tr['queries']}")
        print("-- evidence filter (keep/drop per candidate)")
        for c in tr["candidates"]:
            kp = "" if c["keep_prob"] is None else f" p={c['keep_prob']:.2f}"
            print(f"   [{'keep' if c['keep'] else 'drop'}{kp}] {c['kind']:<9} {c['label'] or '-':<8} "
                  f"sim {c['score']:.2f}  {c['id']}: {c['text'][:70]}")
        print("-- fusion")
        print(f"   modalities present: {', '.join(tr['modalities']) or 'none'}; filled from KB: "
              f"{', '.join(k for k, v in tr['filled'].items() if v) or 'none'}")
        print(f"   MB-MoE routing: {tr['routing_weights']}; RAAF gates: {tr['raaf_gate']}")
        per = tr["perceptual"]
        for m in ("audio", "visual"):
            if per[m]:
                print(f"   perceptual {m} neighbours: " + ", ".join(f"{e['id']} ({e['label']}, {e['score']:.2f})" for e in per[m]))
    print("\nevidence:")
    if not d["evidence"]:
        print("   (none kept)")
    for e in d["evidence"]:
        print(f"   [{e['id']}] {e['kind']} {e['label']} sim {e['score']:.2f}: {e['text'][:90]}")


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
            print(f"   parsed: {parsed}")
            if r["fallback"]:
                print(f"   fallback: {r['fallback']}")
        if role == "planner" and tr["queries"]:
            print(f"   queries: {tr['queries']}")
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


def _llm_predict(args: argparse.Namespace, sample, labels, log):
    """--agents llm|openai: the LLM loop over the checkpoint's KB and encoders."""
    from ..api import AffectAgent
    from ..llm.backend import load_backend
    from ..llm.loop import LLM_VARIANTS, LLMAffectAgent, LLMAgentConfig

    if args.variant not in LLM_VARIANTS:
        raise InputError(f"--agents {args.agents} takes --variant {' | '.join(LLM_VARIANTS)}, not {args.variant!r}")
    if args.max_tokens < 1 or args.top_k < 1:
        raise InputError("--max-tokens and --top-k must be >= 1")
    config = LLMAgentConfig(variant=args.variant, generator_tokens=args.max_tokens, top_k=args.top_k)
    agent = AffectAgent.load(args.checkpoint, kb=args.kb, data_root=args.data_root, log=log,
                             no_kb=args.variant == "no_rag", allow_foreign_kb=args.allow_foreign_kb)
    if args.agents == "openai":
        backend = load_backend("openai", model=args.model, base_url=args.base_url, api_key=args.api_key,
                               timeout=args.llm_timeout)
    else:
        if args.base_url:
            raise InputError("--base-url is for --agents openai")
        log(f"loading {args.model or 'qwen-1.5b'} ({args.llm_runtime}; the first use of a packaged model converts it once)")
        backend = load_backend(args.llm_runtime, model=args.model or "qwen-1.5b")
    llm = LLMAffectAgent.from_agent(agent, backend=backend, config=config)
    if args.raer:  # RAER around the LLM backbone, over the same KB and encoders
        from ..raer.config import RAERConfig
        from ..raer.llm import LLMRAER

        raer = RAERConfig() if args.raer_epsilon is None else RAERConfig(epsilon=args.raer_epsilon)
        [x] = llm.encode([sample], label_set=labels)
        [outcome] = LLMRAER.from_agent(agent, backend=backend, config=raer).reason([x], [sample])
        return outcome.prediction
    [pred] = llm.predict([sample], label_set=labels)
    return pred


def run(args: argparse.Namespace) -> int:
    from ..api import AffectAgent
    from ..pipeline import PipelineConfig
    from ..schema import Sample, Turn, parse_label_list
    from ..textsafe import clean_input, edge_note, scrub

    if not args.path and not args.text:
        raise InputError('give a media PATH and/or --text "..."')
    args.text = clean_input(args.text, what="--text", note=edge_note)
    args.speaker = clean_input(args.speaker, what="--speaker", note=edge_note)
    if args.text is not None and not args.text.strip():
        raise InputError("--text is empty")
    if args.llm_timeout is not None:
        if args.agents != "openai":
            raise InputError("--llm-timeout is for --agents openai (local models have no network to wait for)")
        from ..llm.openai_backend import parse_timeout

        parse_timeout(args.llm_timeout, what="--llm-timeout")
    if args.agents == "neural":
        if args.model or args.base_url or args.api_key:
            raise InputError("--model / --base-url / --api-key need --agents llm or --agents openai")
        try:
            config = PipelineConfig.variant(args.variant)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    labels = parse_label_list(args.labels, what="--labels") if args.labels is not None else None
    ctx = tuple(Turn(speaker=s, text=t) for s, t in read_context(args.context, note=edge_note)) if args.context \
        else ()
    video = audio = None
    if args.path:
        from ..media import probe

        info = probe(args.path)
        video, audio = (args.path, None) if info.has_video else (None, args.path)
    sample_id = clean_input(Path(args.path).name, what="the file name", note=edge_note) if args.path else "text"
    sample = Sample(id=sample_id, text=args.text, context=ctx,
                    speaker=args.speaker, video=video, audio=audio)
    log = (lambda m: None) if args.json else (lambda m: print(m))
    if args.agents == "neural":
        agent = AffectAgent.load(args.checkpoint, kb=args.kb, config=config, data_root=args.data_root, log=log,
                                 allow_foreign_kb=args.allow_foreign_kb)
        raer = False
        if args.raer:
            from ..raer.config import RAERConfig

            raer = RAERConfig() if args.raer_epsilon is None else RAERConfig(epsilon=args.raer_epsilon)
        elif args.raer_epsilon is not None:
            raise InputError("--raer-epsilon needs --raer")
        [pred] = agent.predict([sample], label_set=labels, explain=args.explain or args.json, raer=raer)
    else:
        if args.raer and args.variant == "no_rag":
            raise InputError("--raer retrieves from the knowledge base; it cannot run with --variant no_rag")
        if args.raer_epsilon is not None and not args.raer:
            raise InputError("--raer-epsilon needs --raer")
        pred = _llm_predict(args, sample, labels, log)
    if args.json:
        d = pred.to_dict(with_trace=True)
        print(scrub(json.dumps(d, indent=2, ensure_ascii=False))[0])  # nothing unprintable reaches stdout
    else:
        _print_human(pred, args.explain)
        if args.raer and pred.trace and "raer" in pred.trace:
            _print_raer(pred.trace["raer"])
    return 0
