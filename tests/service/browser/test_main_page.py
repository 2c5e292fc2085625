"""The prediction page (/) in Debian's chromium: a typed text, then a real clip upload (the old result cleared and
the stages shown while it runs), the explain view and the raw JSON opened, no horizontal overflow at 1280 and 400 px
wide, the filter table free of the drop zone's style; screenshots of both widths."""
from __future__ import annotations

from ...resources import shared
from .conftest import assert_no_horizontal_overflow

CLIP = "clips/video_retalking/face3.mp4"  # 5 s, 393 KB, a talking face with speech
TEXT = "I can't believe you did that!"
MEDIA_TIMEOUT_MS = 240_000  # a cold process loads ASR and the face model on the first clip


def _predict_text(page, base):
    page.goto(base + "/")
    page.wait_for_selector("#labels input[type=checkbox]")
    page.fill("#text", TEXT)
    page.click("#submit")
    page.wait_for_selector("#result-label")
    return page.inner_text("#result-label")


def _body(page) -> dict:
    """The prediction JSON the page shows under "Raw JSON"."""
    return page.evaluate("() => JSON.parse(document.querySelector('#raw-json pre').textContent)")


def test_text_then_clip_explain_raw_json_and_no_overflow(page, live_server, screenshots):
    clip = shared(CLIP) / CLIP
    label = _predict_text(page, live_server.url)
    assert label.strip()
    assert page.inner_text("#input-text") == TEXT  # the text it read
    body = _body(page)
    assert page.locator("#filter-table tbody tr").count() == len(body["trace"]["candidates"]) > 0
    assert page.locator("#evidence .ev-card").count() == len(body["evidence"])  # kept evidence as cards

    # a clip: the old result goes away at once and the stage indicator takes its place
    page.fill("#text", "")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#preview video")
    page.click("#submit")
    assert page.locator("#result-label").count() == 0
    page.wait_for_selector("#stages li", timeout=MEDIA_TIMEOUT_MS)
    # one atomic read: the list is re-rendered on every upload progress event
    keys = page.eval_on_selector_all("#stages li", "els => els.map(e => e.dataset.stage)")
    assert keys == ["upload", "processing", "done"]
    page.wait_for_selector("#stages li[data-stage=processing].active", timeout=MEDIA_TIMEOUT_MS)
    page.wait_for_selector("#result-label", timeout=MEDIA_TIMEOUT_MS)
    body = _body(page)
    assert body["media"]["kind"] == "video" and body["id"] == "face3.mp4"
    assert "trace" in body and "transcript" in body["trace"]
    if body["trace"]["transcript"]:
        assert page.inner_text("#transcript") == body["trace"]["transcript"]
    assert page.locator(".stages.compact li").count() == 4  # upload, queued, model, total

    # explain view: the filter table's "drop" decisions do not wear the drop zone's dashed border
    drop_cells = page.locator("td.decision-drop, td.decision-keep")
    assert drop_cells.count() >= 1
    styles = page.evaluate("""() => [...document.querySelectorAll('#filter-table td')].map(
        (td) => getComputedStyle(td).borderTopStyle + '/' + getComputedStyle(td).borderLeftStyle)""")
    assert not any("dashed" in s for s in styles)
    assert page.evaluate("() => getComputedStyle(document.getElementById('drop')).borderTopStyle") == "dashed"

    # the raw JSON opens inside its card: no page-wide scroll at 1280 px ...
    page.click("#raw-json summary")
    assert page.locator("#raw-json pre").is_visible()
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(screenshots / "web_page_1280.png"), full_page=True)

    # ... nor at 400 px (one column; the result card stays inside the viewport)
    page.set_viewport_size({"width": 400, "height": 900})
    page.wait_for_timeout(200)
    assert_no_horizontal_overflow(page)
    right = page.evaluate("() => document.getElementById('result').getBoundingClientRect().right")
    assert right <= 400
    page.screenshot(path=str(screenshots / "web_page_400.png"), full_page=True)
    assert page.js_errors == []


def test_text_result_at_400px_has_no_overflow(page, live_server):
    page.set_viewport_size({"width": 400, "height": 800})
    _predict_text(page, live_server.url)
    page.click("#raw-json summary")
    assert_no_horizontal_overflow(page)
    assert page.js_errors == []


def _stress_body() -> dict:
    """A prediction answer with everything long: unbroken ids and words, many evidence items and candidates."""
    long_word = "x" * 400
    ev = [{"id": f"meld/train/dia{i}_utt{i}_{long_word[:80]}", "kind": kind, "label": "angry", "score": 0.8 - i / 20,
           "text": f"Ross: {long_word} and then some ordinary words to wrap " * 2, "source": "meld", "modality": "text"}
          for i, kind in enumerate(("support", "confusion", "counter", "plain", "support"))]
    cands = [{**e, "keep": i % 2 == 0, "keep_prob": 0.5} for i, e in enumerate(ev * 3)]
    return {"id": "a-very-long-upload-name-" + long_word[:120] + ".mp4", "label": "surprise", "sentiment": "positive",
            "probs": {"surprise": 0.5, "happy": 0.3, "angry": 0.2}, "ov_set": ["surprised", "amazed", long_word[:60]],
            "rationale": "Predicted surprise. " + long_word, "evidence": ev,
            "trace": {"transcript": "a transcript " + long_word, "queries": {"support": "surprise", "confusion": "happy",
                      "counter_sentiment": "negative", "plain": False}, "planner": {"probs": {"surprise": 0.6}},
                      "candidates": cands, "perceptual": {"audio": [{"id": long_word[:90], "label": "happy",
                                                                      "score": 0.3}], "visual": []},
                      "routing_weights": [0.5, 0.5, 0, 0], "raaf_gate": {"audio": 0.5, "visual": 0.5},
                      "filled": {"audio": False, "visual": False}, "modalities": ["text", "audio", "visual"]},
            "timing": {"seconds": 1.0, "queued_seconds": 0.0, "model_seconds": 1.0},
            "media": {"filename": "x.mp4", "kind": "video", "duration": 5.0, "size": 1000}}


def test_long_content_stays_inside_the_page(page, live_server):
    """Evidence cards, the filter table and the raw JSON hold long unbroken content without widening the page (the
    answer is a fabricated one, routed by the browser, so the layout sees the worst case)."""
    import json

    body = _stress_body()
    page.route("**/v1/predict", lambda route: route.fulfill(status=200, content_type="application/json",
                                                            body=json.dumps(body)))
    _predict_text(page, live_server.url)
    assert page.locator("#evidence .ev-card").count() == 5
    assert page.locator("#filter-table tbody tr").count() == 15
    page.click("#raw-json summary")
    for width in (1280, 400):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(100)
        assert_no_horizontal_overflow(page)
    assert page.js_errors == []
