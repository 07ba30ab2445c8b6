"""The exercise protocol's fixed vocabulary: phase, intent and end-reason names (DESIGN.md)."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    SCREEN = "screen"
    SETUP = "setup"
    PULL = "pull"
    HOLD = "hold"
    SWITCH_SIDE = "switch_side"
    STABILISE = "stabilise"
    PAUSED = "paused"
    FINISHED = "finished"


PHASES: tuple[str, ...] = tuple(p.value for p in Phase)

END_REASONS = ("completed", "red_flag", "user_stop", "no_response")

INTENTS: tuple[str, ...] = (
    "start", "yes", "no", "stop", "pause", "resume", "repeat", "help", "next", "skip",
    "time_left", "red_flag", "pain_score", "too_much", "longer", "done", "switch_side",
    "choose_side", "variation",
)

#: Heard in every phase, whatever the coach is doing.
ALWAYS_ON: tuple[str, ...] = ("red_flag", "stop", "pause", "resume", "repeat", "help", "time_left")

#: What each phase accepts besides the always-on intents.
PHASE_INTENTS: dict[str, tuple[str, ...]] = {
    "screen": ("start", "yes", "no", "pain_score", "variation"),
    "setup": ("yes", "no", "next", "skip", "done", "variation", "choose_side"),
    "pull": ("yes", "next", "done", "skip", "too_much", "variation", "switch_side",
             "choose_side"),
    "hold": ("yes", "no", "next", "done", "skip", "longer", "too_much", "choose_side",
             "switch_side", "variation"),
    "switch_side": ("yes", "next", "done", "skip", "too_much", "variation", "choose_side"),
    "stabilise": ("yes", "next", "done", "skip", "too_much", "longer"),
    "paused": ("yes", "no", "start"),
    "finished": ("pain_score", "yes", "no", "done"),
}


def phase_intents(phase: str | None) -> tuple[str, ...]:
    """The intents recognised in ``phase`` (always-on ones first); all intents when None."""
    if phase is None:
        return INTENTS
    if phase not in PHASE_INTENTS:
        raise ValueError(f"unknown phase '{phase}' (known: {', '.join(PHASES)})")
    return ALWAYS_ON + tuple(i for i in PHASE_INTENTS[phase] if i not in ALWAYS_ON)
