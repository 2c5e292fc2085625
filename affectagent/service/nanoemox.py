"""``NanoEmoXSlot``: the Nano-EmoX model of a server process, loaded on the first request that asks for it.

The slot is called under the model lock (``runner.ModelRunner``), so the model loads once per process; until then
nothing of it is in memory. No usable checkpoint (none configured, none in ``$AFFECTAGENT_NANOEMOX``, none shipped, or
one that does not load) is a ``ModelUnavailableError`` (HTTP 503) for those requests, with the reason; the agents keep
answering the others. A failed load is not remembered: a checkpoint put in place later is picked up.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import AffectAgentError
from .errors import ModelUnavailableError


def _load(path: Path, *, feature_cache: bool) -> Any:
    from ..encoders.cache import FeatureCache
    from ..nanoemox.predictor import NanoEmoXPredictor

    return NanoEmoXPredictor.load(path, cache=None if feature_cache else FeatureCache(enabled=False))


class NanoEmoXSlot:
    """checkpoint: the model folder (None: ``nanoemox.predictor.resolve_checkpoint``'s defaults). feature_cache: keep
    request features in the on-disk cache (as ``AgentSpec.feature_cache``; off: requests leave nothing on disk).
    loader: ``path -> NanoEmoXPredictor`` (tests)."""

    def __init__(self, checkpoint: str | Path | None = None, *, feature_cache: bool = False,
                 loader: Callable[[Path], Any] | None = None) -> None:
        self.checkpoint = checkpoint
        self.feature_cache = feature_cache
        self._loader = loader or (lambda path: _load(path, feature_cache=feature_cache))
        self._predictor: Any = None

    @property
    def loaded(self) -> bool:
        return self._predictor is not None

    def get(self) -> Any:
        """The loaded ``NanoEmoXPredictor`` (loading it the first time); ``ModelUnavailableError`` when it cannot be."""
        if self._predictor is None:
            from ..nanoemox.predictor import resolve_checkpoint

            try:
                self._predictor = self._loader(resolve_checkpoint(self.checkpoint))
            except AffectAgentError as exc:
                raise ModelUnavailableError(f"model nanoemox is not available on this server "
                                            f"(affectagent serve --nanoemox DIR): {exc}") from None
        return self._predictor


__all__ = ["NanoEmoXSlot"]
