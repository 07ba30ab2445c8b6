"""The live voice loop: microphone -> recogniser -> parser -> coach -> speech, hands-free.

Threads: PortAudio's callback only queues audio (audio.Microphone); one *listener* thread reads
the queue, runs the noise filter and the recogniser, parses what was heard and posts it to the
session; the main thread runs the coach (runner.RealtimeSession); the speaker plays on its own.

While the coach talks, the microphone stays open. Only a red flag, stop or pause said over the
coach cuts in (a red flag already on a *partial* result, so it acts before the sentence ends, once
the partial is a whole phrase that has held for PARTIAL_STABLE_S of audio);
anything else heard while the coach talks is dropped, and so is speech that is just the coach's
own line coming back through the microphone. Speech the recogniser turned down, said while the
coach was quiet, is reported as not understood (UNCLEAR_MIN_S, UNCLEAR_MIN_VOICED_S), so that a
question gets asked again at once.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .asr import BYTES_PER_SECOND
from .coach import BARGE_IN
from .errors import VoiceCoachError
from .events import Heard, Listen
from .intents import IntentParser, ParseResult, default_parser, normalize
from .runner import RealtimeSession, transcript_observer
from .settings import Settings

log = logging.getLogger(__name__)

#: After the coach stops talking, its voice may still be in the room (and in the mic buffer).
ECHO_TAIL_SECONDS = 0.6
#: Words that say little on their own. A barge-in heard while the coach talks whose other words
#: are all words of the coach's line is its echo too: the warning-signs question ("... any
#: numbness or pins and needles? ...") coming back through scripts/echo_check.py's simulated
#: room was heard as the red flag "i get numbness", which would have ended the session.
LITTLE_WORDS = frozenset((
    "a", "an", "the", "i", "i'm", "i've", "i'd", "me", "my", "it", "it's", "is", "are", "was",
    "be", "to", "of", "in", "on", "at", "for", "and", "or", "but", "so", "do", "does", "this",
    "that", "there", "there's", "got", "get", "getting", "have", "has", "some", "any", "bit",
    "feel", "feels", "feeling"))
#: A rejected utterance at least this long (from its start, with the recogniser's half-second
#: lead-in, to the end of speech) counts as speech the coach did not understand: the coach is told
#: (``Heard(None)`` with no text), and if it was waiting for an answer it says it did not get the
#: words and asks again (``Coach._not_understood``) rather than leaving the user in silence until
#: the reprompt timer. Shorter ones count only when voiced (below): through PocketSphinx with
#: RNNoise, 9 synthetic coughs and knocks (``bench.noise.nonspeech``) made utterances of 0.66 to
#: 1.26 s, one- and two-word answers 0.75 to 1.17 s, and unrelated sentences 1.5 s and more
#: (November 27).
UNCLEAR_MIN_S = 1.3
#: A shorter rejected utterance is reported when this many seconds of it were voiced: a one-word
#: answer the recogniser turned down ("five" from a real speaker) gets "I heard you, but not the
#: words" at once instead of the silence reprompt 12 s later. PocketSphinx with RNNoise, pain
#: question grammar: 114 synthetic coughs, knocks and clicks at three levels were 0 to 0.30 s
#: voiced (coughs 0, knocks up to 0.30); of 39 one-word digits it rejected (synthetic voices and
#: real FSDD speakers), 15 were 0.35 s voiced or more.
UNCLEAR_MIN_VOICED_S = 0.35
#: How much earlier than the audio says an utterance may have begun in wall-clock time (the
#: audio waits in the microphone's queue before it is recognised). A rejected utterance counts as
#: the user's only when the coach was silent, its echo tail included, all that time.
UNCLEAR_LAG_S = 1.0
#: Partial results that may act before the sentence is finished.
PARTIAL_INTENTS = ("red_flag",)
#: Seconds of further audio a red-flag partial must survive before it acts. Early partials are
#: revised as more audio arrives ("start" passes through "sharp"); measured on synthetic commands,
#: real red-flag phrases become a complete partial about half a second before the speech ends, so
#: this wait still acts before the final result would.
PARTIAL_STABLE_S = 0.2


@dataclass(frozen=True)
class _Talking:
    """What the coach is saying now (for echo rejection)."""

    words: frozenset[str] = frozenset()
    #: monotonic time until which its voice or echo is in the room (infinite while it talks)
    until: float = 0.0


class EchoGate:
    """Decides whether a recognition heard while the coach talks is the user or the coach."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = _Talking()

    def speaking(self, text: str) -> None:
        with self._lock:
            self._now = _Talking(frozenset(normalize(text).split()), float("inf"))

    def silent(self) -> None:
        with self._lock:
            self._now = _Talking(self._now.words, time.monotonic() + ECHO_TAIL_SECONDS)

    def coach_audible(self) -> bool:
        return self.audible_since(time.monotonic())

    def audible_since(self, t: float) -> bool:
        """Whether the coach (or its echo) has been in the room at any time since ``t``
        (``time.monotonic()``)."""
        with self._lock:
            return self._now.until > t

    def accept(self, result: ParseResult, heard: str = "") -> bool:
        """Keep ``result``? While the coach is audible only barge-in intents that are not
        simply words of the coach's own line (bar :data:`LITTLE_WORDS`) get through. ``heard``:
        for a result the recogniser put into words of its own (``Recognition.heard``), the
        words it decoded, which are what is compared with the line."""
        with self._lock:
            now = self._now
        if now.until <= time.monotonic():
            return True
        if result.intent not in BARGE_IN:
            return False
        said = set(normalize(heard or result.text).split())
        telling = (said - LITTLE_WORDS) or said
        return not (telling and telling <= now.words)


class GatedSpeaker:
    """Wraps a speaker to tell the echo gate when the coach's voice is in the room."""

    def __init__(self, inner: Any, gate: EchoGate, on_line: Callable[[str], None]) -> None:
        self._inner = inner
        self._gate = gate
        self._on_line = on_line

    def say(self, text: str, on_done: Callable[[], None]) -> None:
        self._on_line(text)
        self._gate.speaking(text)

        def done() -> None:
            self._gate.silent()
            on_done()

        self._inner.say(text, done)

    def stop(self) -> None:
        self._inner.stop()
        self._gate.silent()


class Listener(threading.Thread):
    """Reads the microphone, recognises, parses, posts ``Heard`` events to the session."""

    def __init__(self, mic: Any, recogniser: Any, parser: IntentParser, session: RealtimeSession,
                 gate: EchoGate, show: Callable[[str], None]) -> None:
        super().__init__(name="listener", daemon=True)
        self.mic = mic
        self.rec = recogniser
        self.parser = parser
        self.session = session
        self.gate = gate
        self.show = show
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._listen: Listen | None = None
        self._acted_on_partial: str | None = None
        self._fed_s = 0.0  # seconds of audio given to the recogniser
        self._candidate: tuple[ParseResult, float] | None = None  # a partial waiting to act

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                listen = self.session.listen
                if listen is not None and listen != self._listen:
                    # The grammar follows the coach: the phase, narrowed to a question's answers.
                    self.rec.set_phase(listen.phase, listen.intents)
                    self._listen = listen
                block = self.mic.read(timeout=0.2)
                if block is not None:
                    self.feed(block)
        except BaseException as exc:
            self.error = exc
            log.exception("listener failed")
            self.session.close()

    def feed(self, block: bytes) -> None:
        """Recognise one block of microphone audio and act on what it completes."""
        self._fed_s += len(block) / BYTES_PER_SECOND
        for r in self.rec.accept(block):
            self._handle(r)
        self._act_on_stable_partial()

    def flush(self) -> None:
        """Act on what the recogniser still holds at the end of the audio (a file, a test)."""
        for r in self.rec.flush():
            self._handle(r)

    def _handle(self, r: Any) -> None:
        if r.guess and self.gate.coach_audible():
            # a red flag pieced together from garbled words (a warning word by a leg part): the
            # coach's own line names leg parts, so while it is in the room this is not the user
            log.debug("guess ignored while the coach talks: %r", r.text)
            r = replace(r, text="", rejected=True)
        if r.rejected or not r.text.strip():
            if r.final:
                acted = self._acted_on_partial is not None
                self._acted_on_partial = None
                self._candidate = None
                if not acted:
                    self._unclear(r)
            return
        result = self.parser.parse(r.text, self.session.phase)
        if not r.final:
            # A red flag on a partial result may act before the sentence ends, once per
            # utterance, but only a whole phrase (not the beginning of one) that then holds for
            # PARTIAL_STABLE_S: see _act_on_stable_partial.
            if result.intent in PARTIAL_INTENTS and r.complete:
                if self._candidate is None or self._candidate[0].intent != result.intent:
                    self._candidate = (result, self._fed_s)
            else:
                self._candidate = None
            return
        self._candidate = None
        already = self._acted_on_partial
        self._acted_on_partial = None
        if already is not None and (result.intent == already or already == "red_flag"):
            return
        if not self.gate.accept(result, r.heard):
            log.debug("dropped while the coach talks: %r", r.text)
            return
        self._post(result)

    def _act_on_stable_partial(self) -> None:
        if self._candidate is None or self._acted_on_partial is not None:
            return
        result, since = self._candidate
        if self._fed_s - since + 1e-9 < PARTIAL_STABLE_S:
            return
        self._candidate = None
        if self.gate.accept(result):
            self._acted_on_partial = result.intent
            self._post(result, partial=True)

    def _unclear(self, r: Any) -> None:
        """Tell the session about a rejected utterance that was the user speaking: long enough
        (``UNCLEAR_MIN_S``) or voiced enough (``UNCLEAR_MIN_VOICED_S``), and begun after the
        coach and its echo had gone quiet (``UNCLEAR_LAG_S``), so that neither the coach's own
        voice nor a cough counts."""
        if r.end_s - r.start_s < UNCLEAR_MIN_S and r.voiced_s < UNCLEAR_MIN_VOICED_S:
            return
        began = time.monotonic() - (self._fed_s - r.start_s) - UNCLEAR_LAG_S
        if self.gate.audible_since(began):
            log.debug("rejected utterance while the coach was audible: not reported")
            return
        self.show("  you: (not understood)")
        self.session.post(Heard(None, {}, "", 0.0))

    def _post(self, result: ParseResult, partial: bool = False) -> None:
        slots = f" {dict(result.slots)}" if result.slots else ""
        tag = " (partial)" if partial else ""
        self.show(f"  you: {result.text}   -> {result.intent or 'no command'}{slots}{tag}")
        self.session.post(Heard(result.intent, result.slots, result.text, result.confidence,
                                result.explicit))


def ignore_interrupts() -> None:
    """Ignore Ctrl-C (SIGINT) from now on, in the main thread; elsewhere do nothing.

    Called when the voice session ends, since the process then only closes the devices and
    exits. A second Ctrl-C during that (an impatient user, or ``timeout``, which signals its
    process group as well) would cut the clean-up or the interpreter's final clean-up short,
    with tracebacks from ``__del__`` methods and warnings about leaked resampler streams.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_voice(settings: Settings, out: Callable[[str], None] | None = None) -> int:
    """Run a session by voice on the configured devices. Returns the exit status."""
    from . import asr
    from .audio import Microphone
    from .tts import Speaker

    show = out or _printer()
    parser = default_parser()
    recogniser = asr.create_recogniser(settings.engine, settings.model_dir, "screen",
                                       settings.noise_filter, settings.second_pass)
    gate = EchoGate()
    tts = Speaker(output_device=_device(settings.output_device), rate_wpm=settings.speech_rate_wpm,
                  volume=settings.volume)
    speaker = GatedSpeaker(tts, gate, lambda text: show(f"coach: {text}"))

    session = RealtimeSession(settings, speaker, transcript_observer(show))
    mic = Microphone(_device(settings.input_device))
    listener: Listener | None = None
    try:
        mic.start()
        show(f"voicecoach: listening with {recogniser.name}; Ctrl-C to quit.")
        listener = Listener(mic, recogniser, parser, session, gate, show)
        listener.start()
        reason = session.run()
    except KeyboardInterrupt:
        show("\nstopped.")
        return 130
    finally:
        ignore_interrupts()
        if listener is not None:
            listener.stop_event.set()
            listener.join(timeout=2)
        mic.close()
        tts.stop()
        tts.close()
    if listener is not None and listener.error is not None:
        err = listener.error
        if isinstance(err, VoiceCoachError):
            raise err
        raise VoiceCoachError(f"listening failed: {err}") from err
    return 0 if reason is not None else 1


def _device(spec: str | None) -> int | str | None:
    if spec is None:
        return None
    return int(spec) if re.fullmatch(r"\d+", spec.strip()) else spec


def _printer() -> Callable[[str], None]:
    lock = threading.Lock()

    def show(line: str) -> None:
        with lock:
            print(line, file=sys.stdout, flush=True)

    return show
