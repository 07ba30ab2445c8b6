"""The coach: a pure state machine over the session's phases (``transitions``).

Events in (``Heard``, ``Tick``, ``SpeechFinished``), actions out (``Say``, ``StopSpeaking``,
``Listen``, ``PhaseChanged``, ``HoldEnded``, ``End``). It reads time only from the injected
clock and never touches audio or threads, so a whole session runs in milliseconds with a
virtual clock.

Speech is serialised here: the coach hands out one ``Say`` at a time and the next only after
``SpeechFinished``. While it is talking, only a red flag, stop or pause act at once (they cut the
speech off); anything else heard waits until the line is finished.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from .clock import Clock
from .cues import CueBook
from .events import (
    Action,
    End,
    Event,
    Heard,
    HoldEnded,
    Listen,
    PhaseChanged,
    Say,
    SpeechFinished,
    StopSpeaking,
    Tick,
)
from .protocol import ALWAYS_ON, Phase, phase_intents
from .settings import Settings

log = logging.getLogger(__name__)

#: Intents that act even while the coach is talking (they cut the speech off).
BARGE_IN = ("red_flag", "stop", "pause")

ACTIVE = [Phase.SCREEN, Phase.SETUP, Phase.PULL, Phase.HOLD, Phase.SWITCH_SIDE, Phase.STABILISE]

#: The session's phase graph. ``voicecoach diagram`` draws this same table.
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "screened", "source": Phase.SCREEN, "dest": Phase.SETUP},
    {"trigger": "settled", "source": Phase.SETUP, "dest": Phase.PULL},
    {"trigger": "pulled", "source": Phase.PULL, "dest": Phase.HOLD},
    {"trigger": "released", "source": Phase.HOLD, "dest": Phase.SWITCH_SIDE,
     "conditions": "other_side_pending"},
    {"trigger": "released", "source": Phase.HOLD, "dest": Phase.PULL,
     "conditions": "next_pull_pending"},
    {"trigger": "released", "source": Phase.HOLD, "dest": Phase.STABILISE},
    {"trigger": "switched", "source": Phase.SWITCH_SIDE, "dest": Phase.PULL},
    {"trigger": "stabilised", "source": Phase.STABILISE, "dest": Phase.FINISHED},
    {"trigger": "suspend", "source": ACTIVE, "dest": Phase.PAUSED},
    *[
        {"trigger": "unsuspend", "source": Phase.PAUSED, "dest": p,
         "conditions": f"resumes_to_{p.value}"}
        for p in ACTIVE
    ],
    {"trigger": "finish", "source": [*ACTIVE, Phase.PAUSED], "dest": Phase.FINISHED},
]

#: Questions: the cue that asks, and the intents that answer it.
QUESTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "greet": ("screen.greet", ("start",)),
    "warning": ("screen.warning_signs", ("yes", "no")),
    "disc": ("screen.disc", ("yes", "no")),
    "pain": ("screen.pain_score", ("pain_score",)),
    "tighter": ("hold.tighter", ("choose_side", "no")),
    "final_pain": ("finished.pain_score", ("pain_score",)),
    "stop_confirm": ("any.stop_confirm", ("yes", "no")),
    "paused": ("any.paused", ("resume",)),
}

_SPOKEN = {
    "single_knee": "one knee at a time",
    "double_knee": "both knees together",
    "tailbone_heavy": "the tailbone heavy version",
}

HELP_OPTIONS: dict[str, str] = {
    "greet": "start",
    "warning": "yes or no",
    "disc": "yes or no",
    "pain": "a number from zero to ten",
    "tighter": "left, right, or neither",
    "final_pain": "a number from zero to ten",
    "stop_confirm": "yes to stop, or no to carry on",
    "paused": "resume",
    "floor": "ready, when you're lying down",
    "settle": "skip, to move on",
    "pull": "ready, or both knees, or tailbone heavy",
    "hold": "longer, too much, done",
    "switch": "ready",
    "stabilise": "done, or too much",
}


def estimate_speech_seconds(text: str, rate_wpm: float) -> float:
    """How long ``text`` takes to say at ``rate_wpm`` words per minute (plus pauses at stops)."""
    words = len(text.split())
    stops = sum(text.count(c) for c in ".?!")
    return round(words * 60.0 / rate_wpm + 0.25 * stops + 0.2, 2)


@dataclass
class _Hold:
    side: str
    target: float  # seconds of holding wanted
    held: float = 0.0  # seconds already held before the current run
    run_started: float | None = None  # clock time the current run began (None while suspended)
    cues: list[str] = field(default_factory=list)  # mid-hold cues still to say
    counted: set[int] = field(default_factory=set)
    extra: bool = False

    def elapsed(self, now: float) -> float:
        run = now - self.run_started if self.run_started is not None else 0.0
        return self.held + run

    def remaining(self, now: float) -> float:
        return max(0.0, self.target - self.elapsed(now))


class Coach:
    """One session. Drive it with ``start()``, then ``handle(event)``; read ``next_deadline()``."""

    state: Phase  # set by transitions
    # Triggers that transitions adds to the model (declared for type checkers).
    screened: Callable[[], bool]
    settled: Callable[[], bool]
    pulled: Callable[[], bool]
    released: Callable[[], bool]
    switched: Callable[[], bool]
    stabilised: Callable[[], bool]
    suspend: Callable[[], bool]
    unsuspend: Callable[[], bool]
    finish: Callable[[], bool]

    def __init__(self, settings: Settings, clock: Clock, cues: CueBook | None = None,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.cues = cues if cues is not None else CueBook.load()
        self.rng = rng if rng is not None else random.Random(settings.seed)
        self.machine = Machine(
            model=self, states=Phase, transitions=TRANSITIONS, initial=Phase.SCREEN,
            auto_transitions=False, after_state_change="_announce_phase",
        )
        self.side: str | None = None
        self.variation = settings.variation
        self.sides_done: set[str] = set()
        self.tighter_asked = False
        self.extra_side: str | None = None
        self.extra_done = False
        self.start_score: int | None = None
        self.end_score: int | None = None
        self.step = "greet"
        self.question: str | None = None
        self.reprompts = 0
        self.hold: _Hold | None = None
        self.timers: dict[str, float] = {}
        self.rep = 0
        self.reps_total = settings.stabilise_reps
        self.resume_phase: Phase | None = None
        self.resume_step: str | None = None
        self.ended: str | None = None
        self._speaking: Say | None = None
        self._queue: deque[Say] = deque()
        self._deferred: deque[Heard] = deque()
        self._out: list[Action] = []
        self._last_main: Say | None = None
        self._listen: Listen | None = None
        self._first_side: str | None = None  # chosen by voice ("start with the right")
        self._timer_handlers: dict[str, Callable[[], None]] = {
            "silence": self._on_silence,
            "floor": self._settle_begin,
            "settle_breath": self._settle_breath,
            "settle_end": self._settle_end,
            "pull_wait": self._pull_done,
            "hold_end": self._hold_end,
            "hold_cue": self._hold_cue,
            "count": self._hold_count,
            "rep": self._next_rep,
            "paused_reminder": self._paused_reminder,
            "paused_timeout": self._paused_timeout,
        }

    # ------------------------------------------------------------------ public interface
    @property
    def phase(self) -> str:
        return self.state.value

    @property
    def speaking(self) -> bool:
        return self._speaking is not None

    @property
    def waiting_for_answer(self) -> bool:
        """Silent and waiting for the answer to a question."""
        return self.ended is None and not self.speaking and self.question is not None

    @property
    def listening_intents(self) -> tuple[str, ...]:
        """What is worth listening for now: the always-on intents plus the answers to the
        question asked, or, with no question pending, everything the phase accepts."""
        if self.ended is not None:
            return ()
        if self.question is not None:
            answers = QUESTIONS[self.question][1]
            # A resume means something only while paused; elsewhere a question ignores it, and
            # its short phrases ("go on", "carry on") take real speakers' numbers ("two").
            always = ALWAYS_ON if self.state == Phase.PAUSED else tuple(
                i for i in ALWAYS_ON if i != "resume")
            return always + tuple(i for i in answers if i not in always)
        return phase_intents(self.phase)

    def start(self) -> list[Action]:
        self._emit(PhaseChanged(self.phase, None))
        self._ask("greet")
        return self._flush()

    def next_deadline(self) -> float | None:
        return min(self.timers.values()) if self.timers and self.ended is None else None

    def handle(self, event: Event) -> list[Action]:
        if self.ended is not None:
            return []
        if isinstance(event, Tick):
            self._fire_timers()
        elif isinstance(event, SpeechFinished):
            self._speech_finished()
        elif isinstance(event, Heard):
            self._fire_timers()
            self._heard(event)
        return self._flush()

    # ------------------------------------------------------------- transitions conditions
    def other_side_pending(self) -> bool:
        return self.variation != "double_knee" and self.hold is not None and not self.hold.extra \
            and len(self.sides_done) == 1

    def next_pull_pending(self) -> bool:
        if self.variation == "double_knee" and len(self.sides_done) == 1 and "both" not in \
                self.sides_done:
            return True
        return self.extra_side is not None and not self.extra_done

    def _resumes_to(self, phase: Phase) -> bool:
        return self.resume_phase == phase

    def resumes_to_screen(self) -> bool:
        return self._resumes_to(Phase.SCREEN)

    def resumes_to_setup(self) -> bool:
        return self._resumes_to(Phase.SETUP)

    def resumes_to_pull(self) -> bool:
        return self._resumes_to(Phase.PULL)

    def resumes_to_hold(self) -> bool:
        return self._resumes_to(Phase.HOLD)

    def resumes_to_switch_side(self) -> bool:
        return self._resumes_to(Phase.SWITCH_SIDE)

    def resumes_to_stabilise(self) -> bool:
        return self._resumes_to(Phase.STABILISE)

    # ------------------------------------------------------------------------- plumbing
    def _now(self) -> float:
        return self.clock.now()

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _flush(self) -> list[Action]:
        listen = Listen(self.phase, self.listening_intents)
        if listen != self._listen and self.ended is None:
            self._listen = listen
            self._out.append(listen)
        out, self._out = self._out, []
        return out

    def _announce_phase(self) -> None:
        self._emit(PhaseChanged(self.phase, self.side if self.state in (
            Phase.PULL, Phase.HOLD, Phase.SWITCH_SIDE) else None))

    def _say(self, cue: str, expects: tuple[str, ...] = (), main: bool = True, **fmt: Any) -> None:
        self._say_text(cue, self.cues.text(cue, self.rng, **fmt), expects, main)

    def _say_text(self, cue: str, text: str, expects: tuple[str, ...] = (),
                  main: bool = False) -> None:
        line = Say(cue, text[:1].upper() + text[1:], expects)
        if main:
            self._last_main = line
        if self._speaking is None:
            self._speaking = line
            self._emit(line)
        else:
            self._queue.append(line)

    def _shut_up(self) -> None:
        if self._speaking is not None:
            self._emit(StopSpeaking())
        self._speaking = None
        self._queue.clear()

    def _speech_finished(self) -> None:
        finished = self._speaking
        self._speaking = None
        if self._queue:
            self._speaking = self._queue.popleft()
            self._emit(self._speaking)
            return
        if finished is None:
            return
        # All quiet now: start whatever waits for the end of speech.
        if self.question is not None:
            self.timers["silence"] = self._now() + self.settings.reprompt_seconds
        if self.step == "floor_talk":
            self.step = "floor"
            self.timers["floor"] = self._now() + self.settings.floor_wait_seconds
        elif self.step == "pull_talk":
            self.step = "pull"
            self.timers["pull_wait"] = self._now() + self.settings.pull_wait_seconds
        elif self.step == "switch_talk":
            self.step = "switch"
            self.switched()
            self._pull_begin()
        elif self.step == "stabilise_talk":
            self.step = "stabilise"
            self.timers["rep"] = self._now() + 1.0
        elif self.step == "closing":
            self._end("completed")
            return
        while self._deferred and self._speaking is None and self.ended is None:
            self._heard(self._deferred.popleft())

    def _fire_timers(self) -> None:
        now = self._now()
        while self.ended is None:
            due = [(t, n) for n, t in self.timers.items() if t <= now + 1e-9]
            if not due:
                return
            _, name = min(due)
            del self.timers[name]
            self._timer_handlers[name]()

    def _clear_timers(self, *keep: str) -> None:
        self.timers = {k: v for k, v in self.timers.items() if k in keep}

    def _end(self, reason: str) -> None:
        self._clear_timers()
        self.question = None
        if self.state != Phase.FINISHED:
            self.finish()
        self.ended = reason
        self._emit(End(reason))

    # ------------------------------------------------------------------------ questions
    def _ask(self, name: str, reprompt: bool = False) -> None:
        cue, expects = QUESTIONS[name]
        self.step = name
        self.question = name
        if not reprompt:
            self.reprompts = 0
        self.timers.pop("silence", None)
        self._say(cue, expects)

    def _reprompt(self, q: str, cue: str) -> bool:
        """Say ``cue`` and ask question ``q`` again, unless it has been asked again
        ``max_reprompts`` times already (after silence and answers not understood alike);
        whether it was."""
        if self.reprompts >= self.settings.max_reprompts:
            return False
        self.reprompts += 1
        self._say(cue, main=False)
        self._ask(q, reprompt=True)
        return True

    def _not_understood(self, q: str, text: str) -> None:
        """An answer to question ``q`` that is not one it expects: say so and ask again
        (``_reprompt``). After that the coach waits quietly, so talk in the room (a television)
        cannot keep it asking; the silence timer runs on and its fallback follows. ``text`` is ""
        for speech the recogniser heard but could not make into words (a rejected utterance)."""
        cue = "any.not_understood" if text.strip() else "any.not_caught"
        if not self._reprompt(q, cue):
            log.debug("not understood again, waiting quietly: %r", text)

    def _on_silence(self) -> None:
        q = self.question
        if q is None:
            return
        if q != "paused" and self._reprompt(q, "any.reprompt"):
            return
        if q == "final_pain":
            self._closing()
        elif q == "tighter":
            self.question = None
            self._say("hold.tighter_neither")
            self._release()
        elif q == "stop_confirm":
            # Nobody answered "do you want to stop?": stay paused.
            self._ask("paused")
            self.timers["paused_timeout"] = self._now() + self.settings.paused_timeout_seconds
        elif q != "paused":
            self._pause(silence=True)

    # --------------------------------------------------------------------------- hearing
    def _heard(self, h: Heard) -> None:
        intent = h.intent
        log.debug("heard %r -> %s %s", h.text, intent, dict(h.slots))
        if intent == "red_flag":
            self._red_flag()
            return
        if self.speaking and intent not in BARGE_IN:
            if intent is not None:
                self._deferred.append(h)
            return
        if intent == "stop":
            self._stop(h.explicit)
            return
        if intent == "pause":
            if self.state not in (Phase.PAUSED, Phase.FINISHED):
                self._pause()
            return
        if intent in ("repeat", "help", "time_left"):
            getattr(self, f"_on_{intent}")()
            return
        if self.state == Phase.PAUSED:
            self._heard_paused(h)
            return
        if intent == "resume":
            if self.question is None:
                self._say("any.not_paused", main=False)
            return
        if self.question is not None:
            self._answer(h)
            return
        if intent is None:
            return  # background talk while nothing was asked: not for us
        handler = getattr(self, f"_during_{self.phase}", None)
        if handler is not None:
            handler(h)

    def _red_flag(self) -> None:
        self._shut_up()
        self._say("any.red_flag")
        self._end("red_flag")

    def _stop(self, explicit: bool) -> None:
        if explicit or self.question == "stop_confirm" or self.state in (
                Phase.PAUSED, Phase.FINISHED):
            self._shut_up()
            self._say("any.stopped")
            self._end("user_stop")
            return
        self._pause(confirm_stop=True)

    def _on_repeat(self) -> None:
        if self._last_main is not None:
            self._resay(self._last_main)

    def _resay(self, line: Say) -> None:
        if self._speaking is None:
            self._speaking = line
            self._emit(line)
        else:
            self._queue.append(line)
        if self.question is not None:
            self.timers.pop("silence", None)

    def _on_help(self) -> None:
        key = self.question or self.step.removesuffix("_talk")
        if self.state == Phase.HOLD and self.question is None:
            key = "hold"
        options = HELP_OPTIONS.get(key, "ready")
        self._say("any.help", main=False, options=options)
        if self.question is not None:
            self.timers.pop("silence", None)

    def _on_time_left(self) -> None:
        now = self._now()
        if self.hold is not None and self.state in (Phase.HOLD, Phase.PAUSED):
            secs = math.ceil(self.hold.remaining(now))
            self._say("hold.time_left", main=False, seconds=number_words(secs))
        elif self.state == Phase.SETUP and "settle_end" in self.timers:
            secs = math.ceil(self.timers["settle_end"] - now)
            self._say("hold.time_left", main=False, seconds=number_words(secs))
        elif self.state == Phase.STABILISE:
            left = max(0, self.reps_total - self.rep)
            self._say("stabilise.time_left", main=False, reps=number_words(left))
        else:
            minutes = number_words(self._minutes_left())
            self._say("any.time_left_session", main=False, minutes=minutes)
        if self.question is not None:
            self.timers.pop("silence", None)

    def _minutes_left(self) -> int:
        s = self.settings
        order = [Phase.SCREEN, Phase.SETUP, Phase.PULL, Phase.HOLD, Phase.SWITCH_SIDE,
                 Phase.STABILISE, Phase.FINISHED]
        phase = self.state
        if phase == Phase.PAUSED and self.resume_phase is not None:
            phase = self.resume_phase
        holds_left = 3 - len(self.sides_done) - (1 if self.extra_done else 0)
        secs = max(0, holds_left) * (s.hold_seconds + 25)
        if order.index(phase) <= order.index(Phase.SETUP):
            secs += s.settle_seconds + 30
        secs += s.stabilise_reps * s.rep_seconds + 40
        return max(1, round(secs / 60))

    # --------------------------------------------------------------------------- answers
    def _answer(self, h: Heard) -> None:
        q = self.question
        intent = h.intent
        _, expects = QUESTIONS[q] if q else ("", ())
        if intent not in expects:
            if intent is None or intent not in ALWAYS_ON:
                self._not_understood(q or "greet", h.text)
            return
        self.timers.pop("silence", None)
        self.question = None
        if q == "greet":
            self._ask("warning")
        elif q == "warning":
            if intent == "yes":
                self._shut_up()
                self._say("screen.warning_yes")
                self._end("red_flag")
            else:
                self._ask("disc")
        elif q == "disc":
            if intent == "yes":
                self.variation = "tailbone_heavy"
                self._say("screen.disc_yes")
            else:
                self._say("screen.disc_no", main=False)
            self._ask("pain")
        elif q == "pain":
            self.start_score = int(h.slots["score"])
            self._say("screen.pain_noted", main=False, score=number_words(self.start_score))
            if self.start_score >= 7:
                self._say("screen.pain_high")
            self.screened()
            self._setup_begin()
        elif q == "tighter":
            if intent == "choose_side":
                self.extra_side = str(h.slots["side"])
                self._say("hold.tighter_noted", main=False, side=self.extra_side)
            else:
                self._say("hold.tighter_neither", main=False)
            self._release()
        elif q == "final_pain":
            self.end_score = int(h.slots["score"])
            self._closing()
        elif q == "stop_confirm":
            if intent == "yes":
                self._stop(True)
            else:
                self._resume()

    def _heard_paused(self, h: Heard) -> None:
        if self.question == "stop_confirm":
            if h.intent == "resume":
                # "keep going", "carry on": what the question itself offers as the no
                self._resume()
            else:
                self._answer(h)
        elif h.intent in ("resume", "yes", "start"):
            self._resume()

    # --------------------------------------------------------------------- pause/resume
    def _pause(self, silence: bool = False, confirm_stop: bool = False) -> None:
        self._shut_up()
        self.resume_phase = self.state
        self.resume_step = self.question or self.step
        if self.hold is not None and self.hold.run_started is not None:
            self.hold.held = self.hold.elapsed(self._now())
            self.hold.run_started = None
        self._clear_timers()
        self._deferred.clear()
        self.question = None
        self.suspend()
        if confirm_stop:
            self._ask("stop_confirm")
        else:
            self.step = "paused"
            self.question = "paused"
            self.reprompts = 0
            self._say("any.paused_silence" if silence else "any.paused", ("resume",))
            self.timers["paused_reminder"] = self._now() + min(
                120.0, self.settings.paused_timeout_seconds / 2)
        self.timers["paused_timeout"] = self._now() + self.settings.paused_timeout_seconds

    def _paused_reminder(self) -> None:
        self._say("any.paused_reminder", ("resume",))

    def _paused_timeout(self) -> None:
        self._shut_up()
        self._say("any.no_response")
        self._end("no_response")

    def _resume(self) -> None:
        self._shut_up()
        self._clear_timers()
        self.question = None
        step = self.resume_step or "greet"
        self.unsuspend()
        self.resume_phase = None
        if self.state == Phase.HOLD and self.hold is not None and step not in QUESTIONS:
            left = self.hold.remaining(self._now())
            self._say("hold.resume", seconds=number_words(math.ceil(left)))
            self._hold_run()
            return
        self._say("any.resumed", main=False)
        if step in QUESTIONS:
            self._ask(step)
        elif step.startswith("floor"):
            self._setup_begin()
        elif step.startswith("settle"):
            self._settle_begin()
        elif step.startswith("pull"):
            self._pull_begin()
        elif step.startswith("switch"):
            self._switch_begin()
        elif step.startswith("stabilise"):
            self.step = "stabilise"
            self.timers["rep"] = self._now() + 2.0
        else:
            self._pull_begin()

    # ------------------------------------------------------------------------------ setup
    def _setup_begin(self) -> None:
        self.step = "floor_talk"
        self._say("setup.floor")

    def _during_setup(self, h: Heard) -> None:
        if h.intent in ("yes", "next", "done", "skip"):
            if self.step == "floor":
                self.timers.pop("floor", None)
                self._settle_begin() if h.intent != "skip" else self._settle_end()
            elif self.step == "settle":
                self._settle_end()
        elif h.intent == "variation":
            self._set_variation(str(h.slots["variation"]))
        elif h.intent == "choose_side":
            self._first_side = str(h.slots["side"])
            self._say("any.side_chosen", main=False, side=self._first_side)

    def _settle_begin(self) -> None:
        if self.settings.settle_seconds <= 0:
            self._settle_end()
            return
        self.step = "settle"
        self._say("setup.settle")
        now = self._now()
        self.timers["settle_end"] = now + self.settings.settle_seconds
        if self.settings.settle_seconds >= 25:
            self.timers["settle_breath"] = now + 15.0

    def _settle_breath(self) -> None:
        self._say("setup.breathe", main=False)
        nxt = self._now() + 15.0
        if nxt < self.timers.get("settle_end", 0) - 8:
            self.timers["settle_breath"] = nxt

    def _settle_end(self) -> None:
        self._clear_timers()
        self._say("setup.settled", main=False)
        self.side = self._next_side()
        self.settled()
        self._pull_begin()

    # ------------------------------------------------------------------------------- pull
    @property
    def _first(self) -> str:
        return self._first_side or self.settings.first_side

    def _next_side(self) -> str:
        if self.variation == "double_knee":
            return "both"
        if self.extra_side is not None and len(self.sides_done) >= 2:
            return self.extra_side
        if not self.sides_done:
            return self._first
        return "right" if "left" in self.sides_done else "left"

    def _pull_begin(self) -> None:
        extra = self.extra_side is not None and len(self.sides_done) >= 2 and \
            self.variation != "double_knee"
        side = self._next_side()
        if side != self.side:
            self.side = side
            self._emit(PhaseChanged(self.phase, self.side))
        self.step = "pull_talk"
        if extra:
            self._say("pull.extra", side=self.side)
        elif self.variation == "double_knee":
            self._say("pull.double")
        elif self.variation == "tailbone_heavy":
            self._say("pull.tailbone_heavy", side=self.side)
        else:
            self._say("pull.single", side=self.side)
        self._say("pull.exhale", main=False)

    def _during_pull(self, h: Heard) -> None:
        if h.intent in ("yes", "next", "done", "skip"):
            if self.step == "pull":
                self._pull_done()
        elif h.intent == "too_much":
            self._say("hold.too_much", main=False)
        elif h.intent == "variation":
            self._set_variation(str(h.slots["variation"]))
            self.timers.pop("pull_wait", None)
            self._pull_begin()
        elif h.intent in ("choose_side", "switch_side") and self.variation != "double_knee" \
                and not self.sides_done:
            side = str(h.slots.get("side", "right" if self.side == "left" else "left"))
            self._first_side = side
            self.timers.pop("pull_wait", None)
            self._pull_begin()

    def _pull_done(self) -> None:
        self.timers.pop("pull_wait", None)
        self.pulled()
        self._hold_begin()

    # ------------------------------------------------------------------------------- hold
    def _hold_begin(self) -> None:
        side = self.side or self._first
        extra = side == self.extra_side and len(self.sides_done) >= 2
        target = self.settings.tighter_hold_seconds if extra else self.settings.hold_seconds
        cues = ["hold.breathe", "hold.head", "hold.ache", "hold.still"]
        if self.variation == "tailbone_heavy":
            cues.insert(1, "hold.tailbone")
        self.hold = _Hold(side=side, target=target, cues=cues, extra=extra)
        self.step = "hold"
        self._say("hold.start", seconds=number_words(target))
        self._hold_run()

    def _hold_run(self) -> None:
        """(Re)start the running part of the hold: timers from the time still to hold."""
        assert self.hold is not None
        now = self._now()
        self.step = "hold"
        self.hold.run_started = now
        left = self.hold.remaining(now)
        self.timers["hold_end"] = now + left
        self._schedule_count()
        self._schedule_hold_cue()

    def _schedule_count(self) -> None:
        assert self.hold is not None
        n = self.settings.countdown_seconds
        left = self.hold.remaining(self._now())
        self.timers.pop("count", None)
        if n > 0:
            nxt = min(n, math.ceil(left - 1e-9))
            if nxt >= 1 and nxt not in self.hold.counted:
                self.timers["count"] = self._now() + max(0.0, left - nxt)

    def _schedule_hold_cue(self) -> None:
        assert self.hold is not None
        self.timers.pop("hold_cue", None)
        if not self.hold.cues:
            return
        left = self.hold.remaining(self._now())
        # Leave the countdown window (and a little before it) free.
        room = left - self.settings.countdown_seconds - 5.0
        if room <= 0:
            return
        gap = max(5.0, min(9.0, room / (len(self.hold.cues) + 0.5)))
        if gap <= room:
            self.timers["hold_cue"] = self._now() + gap

    def _hold_cue(self) -> None:
        if self.hold is None or not self.hold.cues:
            return
        if self.speaking:
            self.timers["hold_cue"] = self._now() + 2.0
            return
        cue = self.hold.cues.pop(0)
        text = self.cues.text(cue, self.rng)
        # Only if it is over before the countdown starts; a late cue would bury the count.
        room = self.hold.remaining(self._now()) - self.settings.countdown_seconds - 0.5
        if estimate_speech_seconds(text, self.settings.speech_rate_wpm) <= room:
            self._say_text(cue, text)
        self._schedule_hold_cue()

    def _hold_count(self) -> None:
        if self.hold is None:
            return
        left = self.hold.remaining(self._now())
        n = math.ceil(left - 1e-6)
        if n >= 1 and n not in self.hold.counted:
            self.hold.counted.add(n)
            if not self.speaking:  # a late count is worse than a missing one
                self._say("hold.count", main=False, seconds=number_words(n).capitalize())
        nxt = n - 1
        if nxt >= 1:
            self.timers["count"] = self._now() + max(0.0, left - nxt)

    def _during_hold(self, h: Heard) -> None:
        if self.hold is None:
            return
        now = self._now()
        if h.intent == "longer":
            new_target = min(self.settings.max_hold_seconds,
                             self.hold.target + self.settings.longer_seconds)
            added = new_target - self.hold.target
            if added <= 0:
                self._say("hold.longer_max", main=False)
                return
            self.hold.target = new_target
            self.hold.counted.clear()
            self.timers["hold_end"] = now + self.hold.remaining(now)
            self._say("hold.longer", main=False, seconds=number_words(added))
            self._schedule_count()
        elif h.intent == "too_much":
            self._say("hold.too_much", main=False)
        elif h.intent in ("done", "next", "skip", "switch_side"):
            self._hold_end()
        elif h.intent == "variation":
            self._set_variation(str(h.slots["variation"]), later=True)

    def _hold_end(self) -> None:
        hold = self.hold
        if hold is None:
            return
        now = self._now()
        held = hold.elapsed(now)
        for t in ("hold_end", "hold_cue", "count"):
            self.timers.pop(t, None)
        hold.run_started = None
        self._emit(HoldEnded(hold.side, round(held, 2)))
        if hold.extra:
            self.extra_done = True
        else:
            self.sides_done.add(hold.side)
        if hold.side == "both":
            self._say("hold.release_double")
        else:
            self._say("hold.release_single", side=hold.side)
        if len(self.sides_done) >= 2 and not self.tighter_asked and not hold.extra \
                and hold.side != "both":
            self.tighter_asked = True
            self._ask("tighter")
            return
        self._release()

    def _release(self) -> None:
        """Leave the hold for whatever comes next (the other side, an extra pull, stabilise)."""
        self.question = None
        self.side = self._next_side()
        self.released()
        self.hold = None
        if self.state == Phase.SWITCH_SIDE:
            self._switch_begin()
        elif self.state == Phase.PULL:
            self._pull_begin()
        elif self.state == Phase.STABILISE:
            self._stabilise_begin()

    # ------------------------------------------------------------------------ switch side
    def _switch_begin(self) -> None:
        self.step = "switch_talk"
        self._say("switch_side.intro")

    def _during_switch_side(self, h: Heard) -> None:
        if h.intent == "variation":
            self._set_variation(str(h.slots["variation"]), later=True)

    # -------------------------------------------------------------------------- stabilise
    def _stabilise_begin(self) -> None:
        self.rep = 0
        self.reps_total = self.settings.stabilise_reps
        self.step = "stabilise_talk"
        self._say("stabilise.intro", reps=number_words(self.reps_total))

    def _next_rep(self) -> None:
        if self.rep >= self.reps_total:
            self._stabilise_end()
            return
        self.rep += 1
        cue = "stabilise.rep_first" if self.rep == 1 else "stabilise.rep"
        self._say(cue, main=False, rep=number_words(self.rep))
        self.timers["rep"] = self._now() + self.settings.rep_seconds

    def _during_stabilise(self, h: Heard) -> None:
        if h.intent in ("done", "next", "skip"):
            self._stabilise_end()
        elif h.intent == "too_much":
            self._say("stabilise.easier", main=False)
        elif h.intent == "longer":
            self.reps_total += 2

    def _stabilise_end(self) -> None:
        self.timers.pop("rep", None)
        self._say("stabilise.done")
        self.stabilised()
        self._ask("final_pain")

    # --------------------------------------------------------------------------- finished
    def _closing(self) -> None:
        self.question = None
        self.timers.pop("silence", None)
        a, b = self.start_score, self.end_score
        if a is not None and b is not None:
            if b < a:
                self._say("finished.better", main=False, start_score=number_words(a),
                          end_score=number_words(b))
            elif b == a:
                self._say("finished.same", main=False, end_score=number_words(b))
            else:
                self._say("finished.worse", main=False, start_score=number_words(a),
                          end_score=number_words(b))
        self._say("finished.closing")
        self.step = "closing"

    # ---------------------------------------------------------------------------- shared
    def _set_variation(self, variation: str, later: bool = False) -> None:
        self.variation = variation
        cue = "any.variation_next" if later else "any.variation"
        self._say(cue, main=False, variation=_SPOKEN[variation])


_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int | float) -> str:
    """0..99 as spoken English words (others as digits): cues are written to be read out."""
    n = round(n)
    if 0 <= n < 20:
        return _ONES[n]
    if 20 <= n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    return str(n)
