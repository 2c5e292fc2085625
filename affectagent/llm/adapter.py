"""LoRA adapter folders as LLM backends: a base model + a trained adapter (``affectagent train dpo``, ``train
lora-mappo``), loaded by the hf backend wherever a model folder is accepted.

An adapter folder holds peft's ``adapter_config.json`` + ``adapter_model.safetensors`` and says which base it
belongs to: ``affectagent-adapter.json`` (``{"kind": "dpo", "base_model": "smollm2-135m", ...}``, written by the DPO
trainer), else a LoRA policy's ``lora_policy_config.json`` (its ``model``), else peft's ``base_model_name_or_path``.
A run folder with the adapter in ``adapter/`` (``runs/dpo/X``) is accepted too.

    HFBackend(model="runs/dpo/X")            # hf backend: base model + adapter merged (merge_and_unload)
    parse_backend_spec("dpo:runs/dpo/X")     # the explicit backend kind; also llm:runs/dpo/X in the arena

The adapter is merged into a private copy of the base weights (the base model's shared copy is never modified), so
generation costs what the base model costs.
"""
from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterator

from ..errors import DataNotFoundError, InputError, MissingDependencyError
from .backend import LLM_BACKENDS

ADAPTER_META = "affectagent-adapter.json"
PEFT_CONFIG = "adapter_config.json"
RUN_SUBFOLDER = "adapter"
_POLICY_CONFIG = "lora_policy_config.json"


def adapter_dir(path: str | os.PathLike[str]) -> Path | None:
    """The adapter folder ``path`` names (itself, or its ``adapter/`` sub-folder), or None when it is not one."""
    p = Path(path).expanduser()
    for d in (p, p / RUN_SUBFOLDER):
        if (d / PEFT_CONFIG).is_file():
            return d
    return None


def adapter_base(folder: str | os.PathLike[str]) -> str:
    """The base model an adapter folder was trained on (alias, folder or HF id)."""
    d = Path(folder)
    sources = ((ADAPTER_META, "base_model"), (_POLICY_CONFIG, "model"), (PEFT_CONFIG, "base_model_name_or_path"))
    for name, key in sources:
        f = d / name
        if f.is_file():
            try:
                base = json.loads(f.read_text(encoding="utf-8")).get(key)
            except ValueError:
                raise InputError(f"{f} is not valid JSON") from None
            if base:
                return str(base)
    raise InputError(f"{d}: the adapter names no base model ({ADAPTER_META} / {PEFT_CONFIG})")


def adapter_meta(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``affectagent-adapter.json`` of an adapter folder ({} when absent)."""
    f = Path(folder) / ADAPTER_META
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}


def merge_adapter(model: Any, folder: str | os.PathLike[str]) -> Any:
    """``model`` (a loaded base, modified in place) with the adapter of ``folder`` merged into its weights."""
    try:
        import peft
    except ImportError:
        raise MissingDependencyError("loading a LoRA adapter needs peft: pip install peft==0.21.2") from None
    try:
        with quiet_peft():
            wrapped = peft.PeftModel.from_pretrained(model, str(folder), is_trainable=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise InputError(f"cannot load the adapter in {folder} onto its base model: {str(exc).splitlines()[0]}") \
            from None
    merged = wrapped.merge_and_unload()
    merged.eval()
    return merged


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """Silence the deprecation warning peft 0.21 triggers in transformers 5 (``is_gradient_checkpointing``)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


@LLM_BACKENDS.register("dpo")
def build_adapter_backend(*, model: str | None = None, base_url: str | None = None, api_key: str | None = None,
                          **options: Any):
    """``load_backend("dpo", model=FOLDER)``: the hf backend on an adapter folder (options as for hf)."""
    from .hf import build_hf_backend

    if not model:
        raise InputError("the dpo backend needs an adapter folder (dpo:runs/dpo/X)")
    if adapter_dir(model) is None:
        if not Path(model).expanduser().exists():
            raise DataNotFoundError(f"adapter folder not found: {model}")
        raise InputError(f"{model} is not an adapter folder (no {PEFT_CONFIG} in it or in {RUN_SUBFOLDER}/)")
    return build_hf_backend(model=model, base_url=base_url, api_key=api_key, **options)


__all__ = ["ADAPTER_META", "PEFT_CONFIG", "RUN_SUBFOLDER", "adapter_base", "adapter_dir", "adapter_meta",
           "build_adapter_backend", "merge_adapter", "quiet_peft"]
