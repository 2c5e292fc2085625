"""The requests of a service load test: text predictions (JSON) and clip uploads (multipart) for
``affectagent serve``'s ``POST /v1/predict``, each checked to be a prediction (a label among its probabilities)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from .client import LoadRequest

TEXTS: tuple[str, ...] = (
    "I can't believe you sold my car!", "Thank you so much, this is wonderful.", "You did WHAT?",
    "I'm so scared of what the doctor will say.", "Oh no, I missed the last train home.", "Fine. Whatever you want.",
    "That smell is disgusting.", "We won the match!", "I miss her every single day.", "Wait, you're here already?",
)
MEDIA_TYPES = {".mp4": "video/mp4", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".jpg": "image/jpeg",
               ".png": "image/png"}


def prediction_check(resp: Any) -> str | None:
    """None when the answer is a prediction: a label that is one of its probabilities' keys."""
    try:
        body = resp.json()
        ok = isinstance(body.get("label"), str) and body["label"] in body.get("probs", {})
    except (ValueError, AttributeError, TypeError):
        return "malformed: not JSON"
    return None if ok else "malformed: no label among the probabilities"


def text_requests(n: int, *, headers: Mapping[str, str] | None = None,
                  texts: Sequence[str] = TEXTS) -> list[LoadRequest]:
    """``n`` JSON text predictions cycling through ``texts`` (numbered, so no two bodies are identical)."""
    return [LoadRequest("POST", "/v1/predict", json={"text": f"{texts[i % len(texts)]} ({i})"},
                        headers=dict(headers or {}), check=prediction_check) for i in range(n)]


def clip_requests(clip: Path, n: int, *, headers: Mapping[str, str] | None = None) -> list[LoadRequest]:
    """``n`` multipart uploads of ``clip`` (read once)."""
    data = Path(clip).read_bytes()
    ctype = MEDIA_TYPES.get(Path(clip).suffix.lower(), "application/octet-stream")
    return [LoadRequest("POST", "/v1/predict", files={"file": (Path(clip).name, data, ctype)},
                        headers=dict(headers or {}), check=prediction_check) for _ in range(n)]


def interleave(*groups: Sequence[LoadRequest]) -> list[LoadRequest]:
    """One list taking the groups' requests in turn (so clips and texts are in flight together)."""
    out: list[LoadRequest] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out += [g[i] for g in groups if i < len(g)]
    return out
