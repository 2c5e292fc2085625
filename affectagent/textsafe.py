"""Text from the edges (command-line arguments, file names, JSON files, HTTP fields) made valid UTF-8.

Python hands over the undecodable bytes of arguments and file names as lone surrogates (U+DC80..U+DCFF, the
``surrogateescape`` error handler), and a JSON ``"\\ud800"`` escape decodes to a lone surrogate too. Neither can be
encoded as UTF-8, so the feature cache's keys, SQLite and stdout all fail on them. ``scrub`` turns escaped bytes back
into bytes and decodes them with replacement, and replaces any other lone surrogate, so every invalid sequence becomes
U+FFFD (the replacement character); it returns how many were replaced, so the edge can say so (``replaced_note``).
Media paths are never scrubbed: the file system needs the original bytes to open them.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Callable

REPLACEMENT = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

log = logging.getLogger("affectagent.text")


def scrub(text: str) -> tuple[str, int]:
    """(valid UTF-8 text, number of U+FFFD it gained). Text without lone surrogates comes back unchanged."""
    if not _LONE_SURROGATE.search(text):
        return text, 0
    try:  # escaped bytes (argv, file names): decode them as UTF-8, invalid sequences -> U+FFFD
        clean = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes (JSON "\ud800"): replace each
        clean = _LONE_SURROGATE.sub(REPLACEMENT, text)
    return clean, clean.count(REPLACEMENT) - text.count(REPLACEMENT)


def scrub_value(value: Any) -> tuple[Any, int]:
    """``scrub`` through a JSON-like value (str, list, tuple, dict keys and values); other types unchanged."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (list, tuple)):
        items, n = [], 0
        for v in value:
            c, k = scrub_value(v)
            items.append(c)
            n += k
        return (items if isinstance(value, list) else tuple(items)), n
    if isinstance(value, dict):
        out, n = {}, 0
        for k, v in value.items():
            ck, nk = scrub_value(k)
            cv, nv = scrub_value(v)
            out[ck] = cv
            n += nk + nv
        return out, n
    return value, 0


def scrub_attributes(obj: Any, text_fields: tuple[str, ...], value_fields: tuple[str, ...] = ()) -> int:
    """Scrub ``obj``'s string attributes ``text_fields`` and nested ``value_fields`` in place; the number replaced."""
    total = 0
    for name in text_fields:
        value = getattr(obj, name)
        if isinstance(value, str):
            clean, n = scrub(value)
            if n:
                setattr(obj, name, clean)
                total += n
    for name in value_fields:
        clean, n = scrub_value(getattr(obj, name))
        if n:
            setattr(obj, name, clean)
            total += n
    return total


def replaced_note(what: str, n: int) -> str:
    """The message an edge prints when it replaced ``n`` characters of ``what``."""
    return f"{scrub(what)[0]}: {n} invalid character(s) (not valid UTF-8) replaced by U+FFFD"


def clean_input(value: str | None, *, what: str, note: Callable[[str], Any] | None = None) -> str | None:
    """``value`` scrubbed; when something was replaced, ``note`` (default: a logged warning) is told what."""
    if value is None:
        return None
    clean, n = scrub(value)
    if n:
        (note or log.warning)(replaced_note(what, n))
    return clean


def printable_path(path: Any) -> str:
    """A path for messages and output: its undecodable bytes shown as U+FFFD (the path itself is left alone)."""
    return scrub(str(path))[0]


def edge_note(message: str) -> None:
    """What the command line says about replaced input: one line on stderr (stdout stays clean for --json)."""
    import sys

    print(f"affectagent: note: {message}", file=sys.stderr)


def read_text_file(path: Any, *, what: str, note: Callable[[str], Any] | None = None) -> str:
    """A user's text file decoded as UTF-8 (BOM tolerated) with invalid bytes replaced by U+FFFD, saying how many."""
    from pathlib import Path

    raw = Path(path).read_bytes()
    text = raw.decode("utf-8-sig", errors="replace")
    n = text.count(REPLACEMENT) - raw.decode("utf-8-sig", errors="ignore").count(REPLACEMENT)
    if n:
        (note or log.warning)(replaced_note(what, n))
    return text
