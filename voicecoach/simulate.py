"""``voicecoach simulate``: a whole session on a virtual clock with scripted user speech, no audio.

The script's turns are delivered as DESIGN.md says: a turn with ``after`` arrives that many virtual
seconds after the previous turn, whatever the coach is doing (it may cut into the coach's speech);
a turn without ``after`` arrives when the coach has finished speaking and waits for an answer.
Speaking takes virtual time, estimated from the text and the speech rate. An empty ``say`` is
speech the recogniser heard but could not make out: the live loop reports a rejected utterance
the same way (``Heard(None)`` with no text; ``loop.UNCLEAR_MIN_S``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .clock import VirtualClock
from .coach import Coach, estimate_speech_seconds
from .cues import CueBook
from .errors import ConfigError
from .events import (
    Action,
    End,
    Heard,
    HoldEnded,
    PhaseChanged,
    Say,
    SpeechFinished,
    StopSpeaking,
    Tick,
)
from .intents import IntentParser, default_parser
from .settings import Settings

#: Seconds a scripted user takes to answer once the coach has stopped talking.
REACTION_SECONDS = 0.8
#: Hard limit on loop steps: a bug must never turn into an endless run.
MAX_STEPS = 200_000


@dataclass(frozen=True)
class Turn:
    say: str
    after: float | None = None


@dataclass(frozen=True)
class Script:
    turns: tuple[Turn, ...]
    settings: Settings
    seed: int | None = None
    max_seconds: float = 3600.0


def load_script(path: str | Path, base: Settings | None = None) -> Script:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read script {p}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"script {p} is not valid YAML: {exc}") from exc
    return script_from_dict(data if data is not None else {}, base, source=str(p))


def script_from_dict(data: Any, base: Settings | None = None, source: str = "script") -> Script:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a script must be a mapping with 'turns'")
    raw_turns = data.get("turns", [])
    if not isinstance(raw_turns, list):
        raise ConfigError(f"{source}: 'turns' must be a list")
    turns = []
    for i, t in enumerate(raw_turns, 1):
        if isinstance(t, str):
            t = {"say": t}
        if not isinstance(t, Mapping) or "say" not in t:
            raise ConfigError(f"{source}: turn {i} needs a 'say'")
        unknown = set(t) - {"say", "after"}
        if unknown:
            raise ConfigError(f"{source}: turn {i} has unknown keys: {', '.join(sorted(unknown))}")
        after = t.get("after")
        if after is not None and (not isinstance(after, int | float) or after < 0):
            raise ConfigError(f"{source}: turn {i}: 'after' must be a number of seconds >= 0")
        turns.append(Turn(str(t["say"]), None if after is None else float(after)))
    seed = data.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise ConfigError(f"{source}: 'seed' must be an integer")
    max_seconds = data.get("max_seconds", 3600)
    if not isinstance(max_seconds, int | float) or max_seconds <= 0:
        raise ConfigError(f"{source}: 'max_seconds' must be a positive number")
    overrides = {k: v for k, v in data.items() if k not in ("turns", "seed", "max_seconds")}
    if seed is not None:
        overrides["seed"] = seed
    settings = (base or Settings()).replace(overrides)
    return Script(tuple(turns), settings, seed, float(max_seconds))


def run_script(script: Script, parser: IntentParser | None = None,
               cues: CueBook | None = None) -> Iterator[dict[str, Any]]:
    """Run the session; yield one JSON-able event dict at a time, in time order."""
    parser = parser or default_parser()
    clock = VirtualClock()
    coach = Coach(script.settings, clock, cues or CueBook.load(), random.Random(script.seed))
    rate = script.settings.speech_rate_wpm
    speech_end: float | None = None
    last_turn_at = 0.0
    idx = 0

    def convert(actions: list[Action]) -> Iterator[dict[str, Any]]:
        nonlocal speech_end
        t = round(clock.now(), 2)
        for a in actions:
            if isinstance(a, Say):
                secs = estimate_speech_seconds(a.text, rate)
                speech_end = clock.now() + secs
                yield {"t": t, "event": "say", "cue": a.cue, "text": a.text, "seconds": secs,
                       "expects": list(a.expects)}
            elif isinstance(a, StopSpeaking):
                speech_end = None
                yield {"t": t, "event": "interrupted"}
            elif isinstance(a, PhaseChanged):
                yield {"t": t, "event": "phase", "phase": a.phase, "side": a.side}
            elif isinstance(a, HoldEnded):
                yield {"t": t, "event": "hold", "side": a.side, "seconds": round(a.seconds, 1)}
            elif isinstance(a, End):
                yield {"t": t, "event": "end", "reason": a.reason}

    yield from convert(coach.start())
    for _ in range(MAX_STEPS):
        if coach.ended is not None:
            return
        now = clock.now()
        options: list[tuple[float, int, str]] = []
        if speech_end is not None:
            options.append((speech_end, 0, "speech"))
        deadline = coach.next_deadline()
        if deadline is not None:
            options.append((deadline, 1, "tick"))
        if idx < len(script.turns):
            turn = script.turns[idx]
            if turn.after is not None:
                options.append((max(now, last_turn_at + turn.after), 2, "turn"))
            elif coach.waiting_for_answer:
                options.append((now + REACTION_SECONDS, 2, "turn"))
        if not options:
            yield {"t": round(now, 2), "event": "stalled"}
            return
        t, _, kind = min(options)
        if t > script.max_seconds:
            clock.advance_to(script.max_seconds)
            yield {"t": round(script.max_seconds, 2), "event": "stopped", "reason": "max_seconds"}
            return
        clock.advance_to(t)
        if kind == "speech":
            speech_end = None
            yield from convert(coach.handle(SpeechFinished()))
        elif kind == "tick":
            yield from convert(coach.handle(Tick(clock.now())))
        else:
            turn = script.turns[idx]
            idx += 1
            last_turn_at = clock.now()
            result = parser.parse(turn.say, coach.phase)
            yield {"t": round(clock.now(), 2), "event": "heard", "text": turn.say,
                   "intent": result.intent, "slots": dict(result.slots)}
            yield from convert(coach.handle(Heard(result.intent, result.slots, turn.say,
                                                  result.confidence, result.explicit)))
    raise RuntimeError("simulation did not finish within its step limit")  # pragma: no cover
