"""Timeline errors. ``TimelineError`` is an ``InputError`` (the CLI prints one line, exit 2) and a ``ValueError``
(what a bad config value is to library code)."""
from __future__ import annotations

from ..errors import InputError


class TimelineError(InputError, ValueError):
    """A timeline that cannot be planned or run: bad window/hop, too many segments, no speech, a still image."""
