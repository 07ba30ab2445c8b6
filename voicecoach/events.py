"""Messages between the shell and the coach: events in, actions out. All frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


# ----------------------------------------------------------------------------- events (in)
@dataclass(frozen=True)
class Heard:
    """The user said something; ``intent`` is None when it was not a command."""

    intent: str | None
    slots: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    confidence: float = 1.0
    #: True when the phrasing leaves no doubt (for ``stop``: "stop the session" needs no confirm).
    explicit: bool = False


@dataclass(frozen=True)
class Tick:
    """Time has passed; ``now`` is in seconds on the coach's clock."""

    now: float


@dataclass(frozen=True)
class SpeechFinished:
    """The line the coach asked to say has been spoken to the end."""


Event = Heard | Tick | SpeechFinished


# ---------------------------------------------------------------------------- actions (out)
@dataclass(frozen=True)
class Say:
    """Speak ``text`` (cue id ``cue``); ``expects`` lists the intents the coach then waits for."""

    cue: str
    text: str
    expects: tuple[str, ...] = ()


@dataclass(frozen=True)
class StopSpeaking:
    """Cut off whatever is being spoken now (a red flag, stop or pause was heard)."""


@dataclass(frozen=True)
class Listen:
    """Listen for these intents now (the always-on ones are included) in ``phase``."""

    phase: str
    intents: tuple[str, ...]


@dataclass(frozen=True)
class PhaseChanged:
    phase: str
    side: str | None


@dataclass(frozen=True)
class HoldEnded:
    """A hold finished; ``seconds`` is how long it was actually held (pauses excluded)."""

    side: str
    seconds: float


@dataclass(frozen=True)
class End:
    """The session is over; ``reason`` is completed, red_flag, user_stop or no_response."""

    reason: str


Action = Say | StopSpeaking | Listen | PhaseChanged | HoldEnded | End
