"""Output levels: third-party noise hidden by default, everything with --verbose, errors only with --quiet."""
import os
import subprocess
import sys
import time

from affectagent.cli import split_verbosity
from affectagent.quiet import split_segments, strip_native_noise
from tests.resources import shared

NOISE = [
    "W0000 00:00:1796238209.324187   23622 inference_feedback_manager.cc:114] Feedback manager requires a model",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
]


def test_native_noise_patterns_are_dropped_and_other_lines_kept():
    assert all(strip_native_noise(line) == "" for line in NOISE)
    for kept in ("affectagent: error: media file not found: x.mp4", "Segmentation fault in libfoo"):
        assert strip_native_noise(kept) == kept


def test_a_native_record_glued_to_a_progress_bar_is_cut_off_the_bar():
    bar = "\rtimeline:   0%|          | 0/6 [00:00<?, ?segment/s]"
    assert strip_native_noise(bar + NOISE[0] + ". Disabling support.\n") == bar
    assert strip_native_noise(NOISE[2] + "\n") == ""
    line = "affectagent: error: media file not found: x.mp4\n"
    assert strip_native_noise(line) is line                         # untouched lines are the same object


def test_verbosity_flags_go_anywhere_before_a_double_dash():
    assert split_verbosity(["predict", "a.mp4", "--quiet"]) == (["predict", "a.mp4"], "quiet")
    assert split_verbosity(["--verbose", "predict", "--quiet"]) == (["predict"], "quiet")  # the last one wins
    assert split_verbosity(["predict", "--", "--quiet"]) == (["predict", "--", "--quiet"], None)


def _features(*extra):
    image = shared("clips/fer/justin.jpg") / "clips" / "fer" / "justin.jpg"
    return subprocess.run([sys.executable, "-m", "affectagent", *extra, "features", str(image)],
                          capture_output=True, text=True, timeout=300)


def test_a_face_image_prints_no_native_chatter_unless_verbose():
    quiet = _features()
    assert quiet.returncode == 0 and "with a face" in quiet.stdout
    assert not any(p.split()[0] in quiet.stderr for p in NOISE) and "W0000" not in quiet.stderr
    loud = _features("--verbose")
    assert loud.returncode == 0 and "W0000" in loud.stderr       # the libraries do print it: the filter hid it


def test_quiet_prints_only_the_error_line():
    proc = subprocess.run([sys.executable, "-m", "affectagent", "predict", "/nonexistent/clip.mp4", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == "affectagent: error: media file not found: /nonexistent/clip.mp4"


def test_segments_end_at_carriage_returns_and_newlines():
    assert split_segments(b"bar 1%\rbar 2%\rdone\nrest") == [b"bar 1%\r", b"bar 2%\r", b"done\n", b"rest"]
    assert split_segments(b"line\n") == [b"line\n", b""]


def test_a_progress_redraw_is_forwarded_before_the_bar_ends(tmp_path):
    # A child routes its stderr through the filter and redraws a bar with "\r" only, then waits; the parent must
    # see the redraw while the child still runs (the old line-based reader held it until the next newline).
    code = ("import sys, time; from affectagent import quiet; quiet.apply('normal')\n"
            "with quiet.native_stderr_filtered_for_process():\n"
            "    sys.stderr.write('epoch 1: 10%|#\\r'); sys.stderr.flush(); time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    try:
        os.set_blocking(proc.stderr.fileno(), False)
        seen = b""
        deadline = time.monotonic() + 20
        while b"10%" not in seen and time.monotonic() < deadline:
            seen += proc.stderr.read() or b""
            time.sleep(0.1)
        assert b"epoch 1: 10%|#\r" in seen
        assert proc.poll() is None  # still sleeping: the text came before the child ended
    finally:
        proc.kill()
        proc.wait()
