"""``Held``: a real agent whose ``predict`` waits until the test releases it (to see a prediction in flight)."""
from __future__ import annotations

import threading

from affectagent.api import AffectAgent


class Held:
    """The real agent whose ``predict`` waits until the test releases it (``gate.set()``); ``entered`` is set once a
    prediction is waiting."""

    def __init__(self, agent: AffectAgent) -> None:
        self.agent, self.entered, self.gate = agent, threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.agent, name)

    def predict(self, samples, **kw):
        self.entered.set()
        if not self.gate.wait(timeout=60):
            raise RuntimeError("the test never released the held prediction")
        return self.agent.predict(samples, **kw)
