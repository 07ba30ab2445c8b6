"""Clocks: the coach reads time only through one of these, never from the wall clock itself."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time in seconds (a float that never goes backwards)."""

    def now(self) -> float: ...


class MonotonicClock:
    """Real time, in seconds since this clock was created."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0


class VirtualClock:
    """A clock that only moves when told to: a whole session runs in milliseconds under test."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance_to(self, t: float) -> None:
        """Move to time ``t`` (seconds); moving backwards is ignored."""
        if t > self._now:
            self._now = t

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + max(0.0, seconds))
