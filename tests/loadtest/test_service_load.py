"""A bounded load test of ``affectagent serve`` as a real process (the tiny real checkpoint): 50 concurrent text
predictions and 10 concurrent clip uploads all answered, no 5xx; past ``--max-pending`` the service answers 503 with
Retry-After (nothing lost), and clients that honour it all get their predictions. The full-size run (the shipped
checkpoint, 1,000 requests for memory, --workers) is bench/load_service.py (BENCHMARKS.md)."""
from __future__ import annotations

from affectagent.loadtest import clip_requests, free_port, interleave, run_load, summarise, text_requests

from ..llm.processes import running
from ..resources import shared

CLIP = "clips/video_retalking/face1.mp4"


def _serve(checkpoint, port: int, *extra: str) -> list[str]:
    return ["-m", "affectagent", "serve", "--checkpoint", str(checkpoint), "--port", str(port), "--log-level",
            "warning", *extra]


def test_fifty_texts_and_ten_clips_at_once_all_answered(tiny_checkpoint, tmp_path):
    clip = shared(CLIP) / CLIP
    port = free_port()
    with running(_serve(tiny_checkpoint, port, "--max-pending", "64"), port=port, timeout=180,
                 log=tmp_path / "serve.log") as base:
        reqs = interleave(text_requests(50), clip_requests(clip, 10))
        outcomes, wall = run_load(base, reqs, clients=60, timeout=600)
    s = summarise(outcomes, wall_seconds=wall)
    print(s.row())
    assert (s.requests, s.ok, s.lost, s.rejected_busy, s.server_errors) == (60, 60, 0, 0, 0)


def test_past_the_queue_limit_busy_answers_say_when_to_retry(tiny_checkpoint, tmp_path):
    clip = shared(CLIP) / CLIP
    port = free_port()
    with running(_serve(tiny_checkpoint, port, "--max-pending", "2"), port=port, timeout=180,
                 log=tmp_path / "serve.log") as base:
        reqs = interleave(clip_requests(clip, 4), text_requests(12))
        outcomes, wall = run_load(base, reqs, clients=16, timeout=600)
        s = summarise(outcomes, wall_seconds=wall)
        assert s.rejected_busy > 0 and s.busy_with_retry_after == s.rejected_busy
        assert s.ok + s.rejected_busy == 16 and (s.lost, s.server_errors) == (0, 0)
        # clients that come back after Retry-After (capped at 1 s here) all get their prediction
        outcomes, wall = run_load(base, reqs, clients=16, timeout=600, retry_busy=60, max_retry_wait=1.0)
    again = summarise(outcomes, wall_seconds=wall)
    assert (again.ok, again.lost) == (16, 0) and again.retries > 0
