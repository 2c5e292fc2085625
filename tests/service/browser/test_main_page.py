"""The prediction page (/) in Debian's chromium: a typed text, then a real clip upload with the timeline on (the old
result cleared, the server's own stages listed live as they happen and all done at the end), the face box drawn on
the first sampled frame, the timeline chart with one point per segment and emotion, the explain view and the raw
JSON opened, no horizontal overflow at 1280 and 400 px wide, the filter table free of the drop zone's style;
screenshots of both widths."""
from __future__ import annotations

from ...resources import shared
from .conftest import assert_no_horizontal_overflow

CLIP = "clips/video_retalking/face1.mp4"  # 6.1 s, 700x700, a talking face with speech
TEXT = "I can't believe you did that!"
MEDIA_TIMEOUT_MS = 300_000  # a cold process loads ASR and the face model on the first clip, then 6 segments
# the service's stages in the order they run (the page lists them as the server reports them)
SERVER_ORDER = ["queue", "check", "predict", "predict/features", "predict/agents", "preview", "timeline"]

# Records every state of the stage list while a prediction runs: [[key, state], ...] per change.
WATCH_STAGES = """() => {
    window.__stageLog = [];
    const record = () => {
        const items = [...document.querySelectorAll('#stages li')].map((li) => [li.dataset.stage, li.className]);
        if (items.length) window.__stageLog.push(items);
    };
    new MutationObserver(record).observe(document.getElementById('result'), {childList: true, subtree: true});
}"""


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


def _rect(page, selector) -> dict:
    return page.evaluate(f"""() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();
                                    return {{left: r.left, top: r.top, right: r.right, bottom: r.bottom,
                                            width: r.width, height: r.height}}; }}""")


def _check_face_box(page, body) -> None:
    """#face-box lies inside the displayed frame where the server's pixel box says, scaled to the displayed size."""
    frame, [box] = body["media"]["frame"], body["media"]["face_boxes"]
    img, face = _rect(page, "#preview-frame"), _rect(page, "#face-box")
    assert img["width"] > 50 and face["width"] > 10 and face["height"] > 10
    assert img["left"] - 1 <= face["left"] < face["right"] <= img["right"] + 1
    assert img["top"] - 1 <= face["top"] < face["bottom"] <= img["bottom"] + 1
    scale = img["width"] / frame["width"]
    assert abs(face["left"] - img["left"] - box["x0"] * scale) <= 3  # the border sits on the box's edge
    assert abs(face["width"] - (box["x1"] - box["x0"]) * scale) <= 3


def test_text_then_clip_timeline_stages_face_box_and_no_overflow(page, live_server, screenshots):
    clip = shared(CLIP) / CLIP
    label = _predict_text(page, live_server.url)
    assert label.strip()
    assert page.inner_text("#input-text") == TEXT  # the text it read
    body = _body(page)
    assert page.locator("#filter-table tbody tr").count() == len(body["trace"]["candidates"]) > 0
    assert page.locator("#evidence .ev-card").count() == len(body["evidence"])  # kept evidence as cards
    assert [s["name"] for s in body["progress"]["stages"]][:3] == ["receive", "queue", "check"]

    # a clip with the timeline: the old result goes away at once and the stage list takes its place
    page.fill("#text", "")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#preview video")
    assert page.is_disabled("#window")
    page.check("#timeline")
    page.fill("#window", "2")
    page.fill("#hop", "1")
    page.evaluate(WATCH_STAGES)
    page.click("#submit")
    assert page.locator("#result-label").count() == 0
    page.wait_for_selector("#stages li", timeout=MEDIA_TIMEOUT_MS)
    keys = page.eval_on_selector_all("#stages li", "els => els.map(e => e.dataset.stage)")  # one atomic read
    assert keys[0] == "upload" and keys[-1] == "done"
    # the server's stages appear while it works: the encoders, then each timeline segment counted
    page.wait_for_selector("#stages li[data-stage='predict/features'].active", timeout=MEDIA_TIMEOUT_MS)
    page.wait_for_selector("#stages li[data-stage=timeline].active progress", timeout=MEDIA_TIMEOUT_MS)
    page.wait_for_selector("#result-label", timeout=MEDIA_TIMEOUT_MS)
    log = page.evaluate("() => window.__stageLog")
    first_seen = list(dict.fromkeys(key for items in log for key, _ in items))
    assert [k for k in first_seen if k in SERVER_ORDER] == SERVER_ORDER  # listed in the order they ran
    assert first_seen.index("predict/features") < first_seen.index("predict/agents")
    extract = [k.split("/")[-1] for k in first_seen if k.startswith("predict/features/")]  # when features are done
    assert {"probe", "decode_audio", "audio", "vad", "asr", "text", "decode_video", "face"} <= set(extract)
    assert extract.index("decode_audio") < extract.index("asr") < extract.index("decode_video") < extract.index("face")

    body = _body(page)
    assert body["media"]["kind"] == "video" and body["id"] == "face1.mp4"
    assert "trace" in body and "transcript" in body["trace"]
    if body["trace"]["transcript"]:
        assert page.inner_text("#transcript") == body["trace"]["transcript"]
    # at the end: every server stage done (or served by the feature cache), in the same order, then the total
    final = page.eval_on_selector_all(".stages.compact li", "els => els.map(e => [e.dataset.stage, e.className])")
    final_keys = [k for k, _ in final]
    assert final_keys[0] == "upload" and final_keys[-1] == "total"
    assert [k for k in final_keys if k in SERVER_ORDER] == [k for k in SERVER_ORDER if k in final_keys]
    assert {"queue", "check", "predict/agents", "preview", "timeline"} <= set(final_keys)
    assert all(state in ("done", "cached") for _, state in final)

    # the face box on the first sampled frame
    _check_face_box(page, body)
    assert "face" in page.inner_text("#frame-caption")

    # the timeline chart: one hover band per segment, one point per segment and emotion, the face strip, a legend
    tl = body["timeline"]
    n = len(tl["rows"])
    assert n == 6 and all(r["error"] is None for r in tl["rows"])  # 2 s windows every 1 s over 6.13 s
    assert page.locator("#timeline-svg .tl-seg").count() == n
    for lab in tl["labels"]:
        assert page.locator(f"#timeline-svg circle.tl-point[data-label='{lab}']").count() == n
    assert page.locator("#timeline-svg rect.tl-face").count() == len(tl["faces"]["times"])
    assert page.locator("#timeline-legend [data-label]").count() == len(tl["labels"])
    assert "probability" in page.inner_text("#timeline-chart") and "time (s)" in page.inner_text("#timeline-chart")
    top = tl["rows"][0]["label"]
    dot = page.locator(f"#timeline-svg circle.tl-point[data-label='{top}'][data-index='0']")
    assert dot.locator("title").text_content().startswith(f"{top} ")
    dot.hover()
    assert page.inner_text("#timeline-readout").startswith(f"{top} ")
    assert page.locator("#timeline-table tbody tr").count() == n

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

    # ... nor at 400 px (one column; the result card, the chart and the frame stay inside the viewport)
    page.set_viewport_size({"width": 400, "height": 900})
    page.wait_for_timeout(300)
    assert_no_horizontal_overflow(page)
    right = page.evaluate("() => document.getElementById('result').getBoundingClientRect().right")
    assert right <= 400
    assert _rect(page, "#timeline-svg")["right"] <= 400
    assert int(page.get_attribute("#timeline-svg", "width")) < 400  # redrawn at the narrower width
    assert page.locator("#timeline-svg .tl-seg").count() == n
    _check_face_box(page, body)
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
            "media": {"filename": "x.mp4", "kind": "video", "duration": 120.0, "size": 1000,
                      "frame": {"time": 0.25, "width": 1920, "height": 1080, "image": _png(64, 36), "note": None},
                      "face_boxes": [{"x0": 1700, "y0": 10, "x1": 1920, "y1": 300, "via": "mesh"}]},
            "timeline": _stress_timeline(long_word),
            "progress": {"job": "stress", "state": "done", "error": None, "seconds": 1.0, "active": None,
                         "stages": [{"key": f"predict/features/{long_word[:70]}{i}", "name": f"{long_word[:70]}{i}",
                                     "title": long_word[:90], "depth": 2, "state": "done", "started": 0.0,
                                     "seconds": 0.1, "done": None, "total": None} for i in range(3)]}}


def _png(width: int, height: int) -> str:
    """A grey PNG of that size as a data: URL."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _stress_timeline(long_word: str) -> dict:
    """120 segments over every canonical emotion, long transcripts, one failed segment, a face track."""
    from affectagent.schema import CANONICAL_EMOTIONS

    rows = []
    for i in range(120):
        probs = {lab: (1 + (i + j) % 7) / 100 for j, lab in enumerate(CANONICAL_EMOTIONS)}
        failed = i == 40
        rows.append({"index": i, "start": float(i), "end": float(i + 2), "label": None if failed else "neutral",
                     "probs": {} if failed else probs, "sentiment": None if failed else "neutral", "ov_set": [],
                     "face_present": i % 3 != 0, "face_ratio": 0.5, "transcript": "words " + long_word,
                     "seconds": 0.5, "error": "cannot decode " + long_word if failed else None})
    times = [k / 2 + 0.25 for k in range(242)]
    return {"window": 2.0, "hop": 1.0, "duration": 121.0, "kind": "video", "labels": list(CANONICAL_EMOTIONS),
            "colours": {lab: "#336699" for lab in CANONICAL_EMOTIONS}, "rows": rows,
            "faces": {"times": times, "found": [k % 5 != 0 for k in range(242)], "detector": "test"},
            "notes": ["a note " + long_word], "seconds": 60.0}


def test_long_content_stays_inside_the_page(page, live_server):
    """Evidence cards, the filter table and the raw JSON hold long unbroken content without widening the page (the
    answer is a fabricated one, routed by the browser, so the layout sees the worst case)."""
    import json

    body = _stress_body()
    page.route("**/v1/predict*", lambda route: route.fulfill(status=200, content_type="application/json",
                                                            body=json.dumps(body)))
    _predict_text(page, live_server.url)
    assert page.locator("#evidence .ev-card").count() == 5
    assert page.locator("#filter-table tbody tr").count() == 15
    assert page.locator("#timeline-svg .tl-seg").count() == 120
    assert page.locator("#timeline-svg .tl-failed").count() == 1
    assert page.locator("#face-box").count() == 1
    page.click("#raw-json summary")
    page.click("#timeline-rows summary")
    for width in (1280, 400):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(200)
        assert_no_horizontal_overflow(page)
        img, face = (page.locator(sel).bounding_box() for sel in ("#preview-frame", "#face-box"))
        assert face["x"] + face["width"] <= img["x"] + img["width"] + 1  # a box at the frame's edge stays inside
    assert page.js_errors == []
