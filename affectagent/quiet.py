"""Output discipline: third-party warnings and native-library log lines stay off the terminal unless asked for.

Three levels, chosen once per process (``affectagent --verbose | --quiet``, or ``AFFECTAGENT_VERBOSITY``):
  verbose  everything, as the libraries print it;
  normal   (default) our own messages and progress bars; Python warnings of third-party packages and the start-up
           chatter that C++ libraries (MediaPipe / TFLite / absl / glog) write straight to file descriptor 2 are
           dropped;
  quiet    errors only: no progress bars, no messages (results on stdout are unaffected).

Native lines are filtered, not discarded wholesale: ``native_stderr_filtered`` captures fd 2 into a temporary file
while a block runs and re-emits every line that is not a known log-noise pattern, so a real native error still shows.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
import warnings
from typing import Iterator

LEVELS = ("quiet", "normal", "verbose")
ENV = "AFFECTAGENT_VERBOSITY"

# absl / glog lines ("W0000 00:00:179... file.cc:114] ..."), their preamble, TFLite delegate notes, and Ray's
# core-worker note that every Ray Data actor pool triggers (its constructor arguments live in the object store)
NATIVE_NOISE = re.compile(
    r"(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    r"|\[[\d\-: ,]+ E \d+ \d+\] core_worker\.cc:\d+: Actor with class name: '[^']*' and ID: '\w+' has "
    r"constructor arguments in the object store and max_restarts > 0\..*"
    r")")


_chosen: str | None = None  # set by apply(); else the environment decides


def env_level() -> str:
    value = os.environ.get(ENV, "normal").strip().lower()
    return value if value in LEVELS else "normal"


def level() -> str:
    return _chosen or env_level()


def apply(chosen: str) -> None:
    """Set this process's level (each CLI call sets it anew): environment defaults for libraries read at import
    time, Python warning filters, tqdm."""
    global _chosen
    if chosen not in LEVELS:
        raise ValueError(f"verbosity {chosen!r} not in {LEVELS}")
    _chosen = chosen
    if os.environ.get("TQDM_DISABLE") == "1" and os.environ.pop("_AFFECTAGENT_SET_TQDM", None):
        os.environ.pop("TQDM_DISABLE")  # a previous --quiet call in this process turned bars off
    if chosen == "verbose":
        return
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    for category in (FutureWarning, DeprecationWarning, UserWarning, RuntimeWarning):
        warnings.filterwarnings("ignore", category=category, module=r"(?!affectagent)")
    if chosen == "quiet" and "TQDM_DISABLE" not in os.environ:
        os.environ["TQDM_DISABLE"] = "1"
        os.environ["_AFFECTAGENT_SET_TQDM"] = "1"


def strip_native_noise(line: str) -> str:
    """``line`` without a native log line glued onto it: libraries log from their own threads, so a record often
    lands right after a progress bar's text on the same line ("timeline: 0%|   | 0/6W0000 00:00... file.cc:114]
    ..."). Returns the text before the record (no newline: the bar goes on), the line itself when it holds no
    record, or "" when it is only a record."""
    m = NATIVE_NOISE.search(line)
    if m is None:
        return line
    return line[:m.start()].rstrip("\r")


def split_segments(data: bytes) -> list[bytes]:
    """``data`` cut after every ``\n`` or ``\r`` (terminators kept); the last element is the unterminated rest
    (``b""`` when ``data`` ends with a terminator)."""
    return re.split(rb"(?<=[\r\n])", data)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Run a block with fd 2 captured; afterwards re-emit the lines worth showing (all of them when verbose)."""
    if level() == "verbose":
        yield
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by a test runner)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            kept = [k for k in (strip_native_noise(ln) for ln in text.splitlines()) if k.strip()]
            if level() == "quiet":
                kept = [ln for ln in kept if re.search(r"error|fatal", ln, re.IGNORECASE)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


@contextlib.contextmanager
def native_stderr_filtered_for_process() -> Iterator[None]:
    """Route fd 2 through a pipe for the whole block; a reader thread forwards every line that is worth showing to
    the real stderr (native libraries also log from their own threads, at any time, so a per-call capture misses
    some). Python's own stderr output goes through the same pipe, so the order of lines is kept."""
    if level() == "verbose":
        yield
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    read_end, write_end = os.pipe()
    os.dup2(write_end, fd)
    os.close(write_end)
    quiet_mode = level() == "quiet"

    def emit(raw: bytes) -> None:
        line = raw.decode("utf-8", "replace")
        kept = strip_native_noise(line)
        if not kept.strip():
            return
        if quiet_mode and not re.search(r"error|fatal|traceback", kept, re.IGNORECASE):
            return
        os.write(saved, raw if kept is line else kept.encode("utf-8"))

    def forward() -> None:
        # Segments end at "\n" or "\r": a progress bar redraws its line with "\r" and must be shown as it goes,
        # not held until the bar's last newline.
        pending = b""
        while chunk := os.read(read_end, 65536):
            *complete, pending = split_segments(pending + chunk)
            for seg in complete:
                emit(seg)
        if pending:
            emit(pending)
        os.close(read_end)

    reader = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)  # closes the pipe's last write end: the reader sees EOF after the last line
        reader.join(timeout=5)
        os.close(saved)
