"""Real-time driver shared by ``run --text`` and the voice loop: one thread runs the coach.

Inputs (typed lines, recognised speech, "speech finished" from the speaker) arrive on a thread-safe
queue; the driver waits on it until the coach's next deadline, feeds the coach, and hands the
coach's actions to a ``Speaker`` and an observer. The coach itself stays pure.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable
from typing import Protocol

from .clock import MonotonicClock
from .coach import Coach, estimate_speech_seconds
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
from .settings import Settings

log = logging.getLogger(__name__)


def transcript_observer(show: Callable[[str], None]) -> Callable[[Action], None]:
    """An ``on_action`` that writes the session's milestones (phases, holds, the end) to ``show``;
    the lines said and heard are written by the speaker and the input side."""

    def observe(action: Action) -> None:
        if isinstance(action, PhaseChanged):
            side = f" ({action.side})" if action.side else ""
            show(f"-- {action.phase}{side} --")
        elif isinstance(action, HoldEnded):
            show(f"   [held {action.side} for {action.seconds:.0f} s]")
        elif isinstance(action, End):
            show(f"-- session ended: {action.reason} --")

    return observe


class Speaker(Protocol):
    """Says one line at a time; calls ``on_done`` when a line was spoken to the end."""

    def say(self, text: str, on_done: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...


class PrintSpeaker:
    """Prints each line and takes as long as speaking it would (``time_scale`` shortens that)."""

    def __init__(self, out: Callable[[str], None], rate_wpm: float,
                 time_scale: float = 1.0) -> None:
        self._out = out
        self._rate = rate_wpm
        self._scale = time_scale
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def say(self, text: str, on_done: Callable[[], None]) -> None:
        self._out(f"coach: {text}")
        with self._lock:
            self._timer = threading.Timer(
                estimate_speech_seconds(text, self._rate) * self._scale, on_done)
            self._timer.daemon = True
            self._timer.start()

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


class ScaledClock(MonotonicClock):
    """Real time, sped up by ``1 / time_scale`` (``time_scale`` 0.1 runs ten times faster)."""

    def __init__(self, time_scale: float = 1.0) -> None:
        super().__init__()
        self._scale = time_scale

    def now(self) -> float:
        return super().now() / self._scale


class RealtimeSession:
    """Runs one coach session in real time. ``post()`` may be called from any thread."""

    def __init__(self, settings: Settings, speaker: Speaker,
                 on_action: Callable[[Action], None] | None = None,
                 time_scale: float = 1.0, cues: CueBook | None = None) -> None:
        self.settings = settings
        self.clock = ScaledClock(time_scale)
        self._scale = time_scale
        self.coach = Coach(settings, self.clock, cues or CueBook.load(),
                           random.Random(settings.seed))
        self.speaker = speaker
        self.on_action = on_action
        self._inbox: queue.Queue[Event | None] = queue.Queue()
        self._speech_gen = 0  # tells a finished line from a cut-off one
        self._closing = threading.Event()
        self.end_reason: str | None = None
        self.listen: Listen | None = None
        self._pending_speech: threading.Event | None = None  # set when the last line ends

    @property
    def phase(self) -> str:
        return self.coach.phase

    def post(self, event: Event) -> None:
        self._inbox.put(event)

    def close(self) -> None:
        """Ask the loop to stop (Ctrl-C, end of input)."""
        self._closing.set()
        self._inbox.put(None)

    def run(self, final_speech_timeout: float = 60.0) -> str | None:
        """Run until the session ends or ``close()``; return the end reason (None if closed)."""
        self._dispatch(self.coach.start())
        while self.end_reason is None and not self._closing.is_set():
            deadline = self.coach.next_deadline()
            timeout = None if deadline is None else max(
                0.0, (deadline - self.clock.now()) * self._scale)
            try:
                event = self._inbox.get(timeout=timeout)
            except queue.Empty:
                event = Tick(self.clock.now())
            if event is None:
                break
            self._dispatch(self.coach.handle(event))
        if self.end_reason is not None:
            self._wait_for_last_line(final_speech_timeout)
        self.speaker.stop()
        return self.end_reason

    def _wait_for_last_line(self, timeout: float) -> None:
        """Let the last line (the safety advice, the goodbye) finish before returning."""
        if self._pending_speech is not None:
            self._pending_speech.wait(timeout)

    def _dispatch(self, actions: list[Action]) -> None:
        for a in actions:
            if self.on_action is not None:
                self.on_action(a)
            if isinstance(a, Say):
                self._speak(a)
            elif isinstance(a, StopSpeaking):
                self._speech_gen += 1
                self.speaker.stop()
            elif isinstance(a, Listen):
                self.listen = a
            elif isinstance(a, End):
                self.end_reason = a.reason

    def _speak(self, line: Say) -> None:
        self._speech_gen += 1
        gen = self._speech_gen
        finished = threading.Event()
        self._pending_speech = finished

        def done() -> None:
            finished.set()
            if gen == self._speech_gen:
                self.post(SpeechFinished())

        self.speaker.say(line.text, done)

    def heard(self, heard: Heard) -> None:
        self.post(heard)
