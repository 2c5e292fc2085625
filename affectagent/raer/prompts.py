"""The prompts of Algorithm 1 on an LLM backbone (raer-sab.txt §3), kept short (every token is CPU time):

  initial  Y = f(I, X)        the cues + allowed labels -> brief reasoning, then "answer: <label>"
  analyze  f_Analyze(Y)       Y -> at most T numbered steps "N. kind: text" (kind: cues, hypothesis, conclusion);
                              JSON is accepted too (``segment.py``). Instructions sit in the user turn: small models
                              follow them there, and echo the text when they sit in the system turn
  refine   f_CoT(y_t, R)      one ambiguous step + similar labelled examples [label, similarity] -> the step rewritten
  answer   final answer       the generator's own prompt (``llm.generator.generator_messages``: label / emotions /
                              sentiment / rationale lines, parsed by ``parse_generation``) with the refined steps added

``raer_role(messages)`` names which prompt a message list is (None for other prompts), e.g. for scripted tests.
"""
from __future__ import annotations

from typing import Sequence

from ..llm.backend import ChatMessage
from ..llm.cues import CueText
from ..llm.generator import generator_messages
from ..llm.prompts import Candidate, label_list, render_candidates

INITIAL_SYSTEM = "You reason step by step about the emotion of the target utterance."
ANALYZE_SYSTEM = "You split emotion reasoning into steps."
REFINE_SYSTEM = "You revise one step of emotion reasoning using labelled examples."
STEPS_HEADER = "Reasoning steps (checked against labelled examples):"

RAER_ROLES = {INITIAL_SYSTEM: "initial", ANALYZE_SYSTEM: "analyze", REFINE_SYSTEM: "refine"}


def raer_role(messages: Sequence[ChatMessage]) -> str | None:
    """initial | analyze | refine | answer for the RAER prompts, None for any other prompt."""
    system = messages[0].content if messages else ""
    for prefix, role in RAER_ROLES.items():
        if system.startswith(prefix):
            return role
    if len(messages) > 1 and STEPS_HEADER in messages[-1].content:
        return "answer"
    return None


def initial_messages(*, cues: CueText, labels: Sequence[str]) -> list[ChatMessage]:
    system = (
        f"{INITIAL_SYSTEM} Allowed labels: {label_list(labels)}.\n"
        "Reply in exactly this format:\n"
        "cues: <what the words, voice and face show>\n"
        "hypothesis: <the emotion they suggest, and why>\n"
        "answer: <one allowed label>"
    )
    return [ChatMessage("system", system),
            ChatMessage("user", f"{cues.render()}\n\nReply with the three lines cues, hypothesis, answer.")]


def analyze_messages(*, response: str, labels: Sequence[str], max_steps: int) -> list[ChatMessage]:
    steps = "\n".join(f"{i}. {kind}: ..." for i, kind in enumerate(_step_kinds(max_steps), 1))
    user = (f"Text: {' '.join(response.split())}\n\n"
            f"Rewrite the text as at most {max_steps} numbered steps, one per line, in the form:\n{steps}\n"
            f"Name the emotion each step supports ({label_list(labels)}).")
    return [ChatMessage("system", ANALYZE_SYSTEM), ChatMessage("user", user)]


def _step_kinds(max_steps: int) -> list[str]:
    """cues, hypothesis…, conclusion for ``max_steps`` lines (1: conclusion only)."""
    if max_steps == 1:
        return ["conclusion"]
    return ["cues"] + ["hypothesis"] * max(0, min(max_steps, 3) - 2) + ["conclusion"]


def refine_messages(*, cues: CueText, step: str, evidence: Sequence[Candidate],
                    labels: Sequence[str]) -> list[ChatMessage]:
    system = f"{REFINE_SYSTEM} Allowed labels: {label_list(labels)}."
    user = (f"{cues.render()}\n\n"
            "Similar labelled examples [label, similarity] (they may or may not match):\n"
            f"{render_candidates(evidence)}\n\n"
            f"Your step: {step}\n"
            "Rewrite your step as one sentence that names the emotion the cues and the examples support.")
    return [ChatMessage("system", system), ChatMessage("user", user)]


def answer_messages(*, cues: CueText, labels: Sequence[str], steps: Sequence[tuple[str, str]]) -> list[ChatMessage]:
    """The generator's prompt (same system message and answer format) with the refined ``(kind, text)`` steps."""
    system, user = generator_messages(cues=cues, labels=labels, evidence=())
    lines = "\n".join(f"{i}. {kind}: {text}" for i, (kind, text) in enumerate(steps, 1))
    return [system, ChatMessage("user", f"{user.content}\n\n{STEPS_HEADER}\n{lines}\n\n"
                                        "Now answer with the four lines label, emotions, sentiment, rationale.")]
