"""JSON-lines parsing shared by the dataset loaders and the metrics file readers."""
from __future__ import annotations

import json
from typing import Any, Callable

from .errors import InputError
from .textsafe import log as text_log
from .textsafe import replaced_note, scrub_value


def parse_json_lines(text: str, *, where: Callable[[int], str]) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; ``where(n)`` names line n in error messages.
    A line that is not valid JSON or not a JSON object raises InputError. Strings are made valid UTF-8 (a lone
    surrogate such as ``"\\ud800"`` becomes U+FFFD, ``textsafe``), with one warning per file saying where."""
    out: list[tuple[int, dict[str, Any]]] = []
    replaced: list[tuple[int, int]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where(n)}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{where(n)}: expected a JSON object, got {type(obj).__name__}")
        obj, k = scrub_value(obj)
        if k:
            replaced.append((n, k))
        out.append((n, obj))
    if replaced:
        more = f" and {len(replaced) - 1} more line(s)" if len(replaced) > 1 else ""
        text_log.warning(replaced_note(where(replaced[0][0]) + more, sum(k for _, k in replaced)))
    return out
