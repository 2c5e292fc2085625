"""Request parsing, limits, upload helpers and status codes of the service (pure parts, no model)."""
import anyio
import pytest

from affectagent.errors import AffectAgentError, InputError, MissingDependencyError
from affectagent.media.errors import CorruptMediaError, EmptyMediaError, MediaTooLargeError, UnsupportedFormatError
from affectagent.schema import LabelError, Turn
from affectagent.service.errors import (
    HostNotAllowedError,
    OriginNotAllowedError,
    PayloadTooLargeError,
    RequestSchemaError,
    RequestTimeoutError,
    ServerBusyError,
    UnsupportedContentTypeError,
    one_line,
    status_of,
)
from affectagent.service.inputs import (
    check_input,
    disk_name,
    parse_context_lines,
    parse_flag,
    parse_labels,
    safe_filename,
)
from affectagent.service.settings import MIB, ServiceSettings
from affectagent.service.uploads import RequestFolder, limit_receive, save_upload


def test_context_lines_speaker_colon_text():
    turns = parse_context_lines("Ann: I sold the car.\n\n  Bob:  You did what?  \nno speaker here\nAnn:\n")
    assert turns == (Turn("Ann", "I sold the car."), Turn("Bob", "You did what?"), Turn(None, "no speaker here"),
                     Turn(None, "Ann:"))
    assert parse_context_lines("") == ()


def test_labels_from_comma_string_or_list():
    assert parse_labels(" Happy, sad ,happy,, ") == ("happy", "sad")
    assert parse_labels(["angry", "neutral"]) == ("angry", "neutral")
    assert parse_labels(None) is None and parse_labels(" , ") is None and parse_labels([]) is None
    with pytest.raises(LabelError, match="joyish"):
        parse_labels("happy,joyish")
    with pytest.raises(InputError, match="at least two"):
        parse_labels("happy")
    with pytest.raises(InputError, match="strings"):
        parse_labels(["happy", 3])


def test_flags():
    assert [parse_flag(v, name="explain") for v in ("on", "TRUE", "1", "yes", True)] == [True] * 5
    assert [parse_flag(v, name="explain") for v in ("off", "false", "0", "", None, False)] == [False] * 6
    with pytest.raises(InputError, match="explain must be true or false"):
        parse_flag("maybe", name="explain")


@pytest.mark.parametrize("name, disk", [
    ("face1.mp4", "face1.mp4"), ("../../etc/passwd", "passwd"), ("..", "upload"), (".bashrc", "bashrc"),
    ("C:\\clips\\My Clip.MP4", "My_Clip.mp4"), ("é ü.wav", "upload.wav"), ("", "upload"), (None, "upload"),
    ("x" * 300 + ".mkv", "x" * 70 + ".mkv"), ("clip.tar.weird-ext!", "clip.tar.weird-ext"),
])
def test_temp_copy_names_stay_inside_the_request_folder(name, disk):
    assert disk_name(name) == disk
    assert "/" not in disk_name(name) and not disk_name(name).startswith(".")


def test_safe_filename_keeps_the_base_name():
    assert safe_filename("/home/u/clips/face1.mp4") == "face1.mp4"
    assert safe_filename("a\x00b.wav") == "ab.wav"
    assert safe_filename("") is None and safe_filename(None) is None


def test_check_input_rules_and_limits():
    s = ServiceSettings(max_text_chars=20, max_context_turns=2)
    ok = check_input(text="  hi there ", context=[Turn("A", "x")], speaker="  ", labels=None, explain=True,
                     media=None, filename=None, settings=s)
    assert ok.text == "hi there" and ok.speaker is None and ok.explain and ok.to_sample().text == "hi there"
    kw = dict(context=(), speaker=None, labels=None, explain=False, media=None, filename=None, settings=s)
    with pytest.raises(InputError, match="empty request"):
        check_input(text=None, **kw)
    with pytest.raises(InputError, match="text is empty"):
        check_input(text=" \n ", **kw)
    with pytest.raises(InputError, match="21 characters; the limit is 20"):
        check_input(text="x" * 21, **kw)
    with pytest.raises(InputError, match="3 turns; the limit is 2"):
        check_input(text="hi", **{**kw, "context": [Turn("A", "a")] * 3})
    with pytest.raises(InputError, match="turn 1 is longer"):
        check_input(text="hi", **{**kw, "context": [Turn("A", "a" * 21)]})


def test_sample_takes_video_or_audio_from_the_probe(tmp_path):
    f = tmp_path / "clip.mp4"
    inp = check_input(text=None, context=(), speaker="Ann", labels=None, explain=False, media=f, filename="clip.mp4",
                      settings=ServiceSettings())
    v, a = inp.to_sample(has_video=True), inp.to_sample(has_video=False)
    assert (v.video, v.audio, v.id, v.speaker) == (f, None, "clip.mp4", "Ann")
    assert (a.video, a.audio) == (None, f)


def test_settings_validate_and_derive_byte_limits(tmp_path):
    s = ServiceSettings(max_upload_mb=2, max_json_kb=3, upload_dir=tmp_path)
    assert s.max_upload_bytes == 2 * MIB and s.max_json_bytes == 3 * 1024 and s.max_form_bytes > s.max_upload_bytes
    for bad in ({"max_upload_mb": 0}, {"max_pending": 0}, {"max_text_chars": -1}):
        with pytest.raises(InputError, match="must be > 0"):
            ServiceSettings(**bad)
    with pytest.raises(InputError, match="upload folder not found"):
        ServiceSettings(upload_dir=tmp_path / "missing")


def test_status_codes():
    expected = {
        PayloadTooLargeError("x"): 413, MediaTooLargeError("x"): 413, UnsupportedContentTypeError("x"): 415,
        CorruptMediaError("x"): 422, UnsupportedFormatError("x"): 422, EmptyMediaError("x"): 422,
        RequestSchemaError("x"): 422, InputError("x"): 400, LabelError("x"): 400, ServerBusyError("x"): 503,
        MissingDependencyError("x"): 503, AffectAgentError("x"): 500, RequestTimeoutError("x"): 408,
        OriginNotAllowedError("x"): 403, HostNotAllowedError("x"): 400,
    }
    assert {type(e).__name__: status_of(e) for e in expected} == {type(e).__name__: s for e, s in expected.items()}
    assert status_of(RuntimeError("bug")) is None and status_of(KeyError("k")) is None
    assert one_line("a\n  b\tc") == "a b c"


def test_receive_budget_counts_streamed_body():
    chunks = [{"type": "http.request", "body": b"x" * 40, "more_body": True}] * 3

    async def run(limit):
        it = iter(chunks)

        async def receive():
            return next(it)

        wrapped = limit_receive(receive, max_bytes=limit, what="the upload")
        return [len((await wrapped())["body"]) for _ in chunks]

    assert anyio.run(run, 120) == [40, 40, 40]
    with pytest.raises(PayloadTooLargeError, match="the upload is over"):
        anyio.run(run, 119)


def test_save_upload_copies_and_folder_cleans_up(tmp_path):
    import io

    folder = RequestFolder(parent=tmp_path)
    path, size = save_upload(io.BytesIO(b"abc" * 1000), filename="../x/clip.wav", folder=folder, max_bytes=3000)
    assert size == 3000 and path.read_bytes() == b"abc" * 1000 and path.name == "clip.wav"
    assert path.parent.parent == tmp_path
    folder.cleanup()
    assert list(tmp_path.iterdir()) == []
    with RequestFolder(parent=tmp_path) as f2, pytest.raises(PayloadTooLargeError):
        save_upload(io.BytesIO(b"a" * 3001), filename="big.mp4", folder=f2, max_bytes=3000)
    assert list(tmp_path.iterdir()) == []
