"""The coach's own voice coming back through the microphone must never become a command."""

from __future__ import annotations

import time

import numpy as np
import pytest

from voicecoach.cues import CueBook
from voicecoach.intents import ParseResult
from voicecoach.loop import EchoGate

PHASE_CUES = {
    "screen": "screen.", "setup": "setup.", "pull": "pull.", "hold": "hold.",
    "switch_side": "switch_side.", "stabilise": "stabilise.", "paused": "any.",
    "finished": "finished.",
}
FILL = {"side": "left", "other_side": "right", "seconds": "thirty", "score": "five",
        "start_score": "five", "end_score": "three", "rep": "three", "reps": "six",
        "options": "yes or no", "minutes": "five", "variation": "both knees"}


def _lines_for(phase: str, per_phase: int = 2) -> list[str]:
    """The longest wordings spoken in ``phase`` (long lines hold the most command-like words)."""
    book = CueBook.load()
    lines = []
    for cue in book.ids():
        if cue.startswith(PHASE_CUES[phase]):
            lines += [v.format(**FILL) for v in book.variants(cue)]
    return sorted(lines, key=len, reverse=True)[:per_phase]


@pytest.mark.audio
@pytest.mark.slow
@pytest.mark.parametrize("phase", list(PHASE_CUES))
def test_recorded_cues_fed_back_trigger_nothing(phase: str) -> None:
    import soxr

    from voicecoach.asr import create_recogniser, parse_recognitions, recognise_pcm
    from voicecoach.tts import synthesise

    rec = create_recogniser("pocketsphinx", None, phase, "none")
    for line in _lines_for(phase):
        s = synthesise(line, 150.0)  # the coach's own voice, as it would be played
        pcm = soxr.resample(s.pcm.astype(np.float32) / 32768.0, s.sample_rate_hz, 16000)
        audio = (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()
        rec.reset()
        result = parse_recognitions(recognise_pcm(rec, audio), phase)
        assert result["intent"] is None, (phase, line, result)


def test_echo_gate_lets_only_the_user_cut_in() -> None:
    gate = EchoGate()
    said = "Hold this for thirty seconds. Say stop if it hurts."
    assert gate.accept(ParseResult("longer", "longer", {}, 1.0))  # the coach is quiet
    gate.speaking(said)
    assert gate.coach_audible()
    # While it talks: anything but red flag / stop / pause waits for the user to repeat it.
    assert not gate.accept(ParseResult("longer", "longer", {}, 1.0))
    # A barge-in word that is just part of the coach's line is its echo ...
    assert not gate.accept(ParseResult("stop", "stop", {}, 1.0))
    # ... words the coach is not saying are the user ...
    assert gate.accept(ParseResult("my leg is numb", "red_flag", {}, 1.0))
    # ... but not when the only words that say something are the coach's.
    gate.speaking("Do you feel anything running down a leg, or any numbness? Yes or no?")
    assert not gate.accept(ParseResult("i get numbness", "red_flag", {}, 1.0))
    assert gate.accept(ParseResult("my foot is numb", "red_flag", {}, 1.0))
    # A warning the recogniser put into words of its own is judged by the words it decoded.
    gate.speaking("Left leg down. Your right knee has gone up; hold it there.")
    made = ParseResult("my leg has gone funny", "red_flag", {}, 1.0)
    assert gate.accept(made)  # its own words are not the line's ...
    assert not gate.accept(made, "left leg down your right knee has gone up")  # ... but it was
    assert gate.accept(made, "ooh my left leg has gone all dead")
    gate.speaking(said)
    assert gate.accept(ParseResult("stop the session", "stop", {}, 1.0))
    assert gate.accept(ParseResult("pause please", "pause", {}, 1.0))
    gate.silent()
    assert gate.coach_audible()  # the tail of its voice is still in the room
    time.sleep(0.65)
    assert not gate.coach_audible()
    assert gate.accept(ParseResult("longer", "longer", {}, 1.0))


@pytest.mark.audio
@pytest.mark.slow
@pytest.mark.parametrize(("phase", "cue"), [("screen", "screen.warning_signs"),
                                            ("stabilise", "stabilise.done")])
def test_cues_fed_back_through_the_listener_give_no_event(phase: str, cue: str) -> None:
    """The live path: real recogniser, parser and echo gate, told the line is being spoken.
    The warning-signs question names the red flags it asks about; stabilise.done's first
    wording ("And rest. ...") came back as the pause "i need a rest" until it was reworded
    (scripts/echo_check.py --all-lines, November 27)."""
    import soxr
    from test_listener import Session

    from voicecoach.asr import create_recogniser
    from voicecoach.intents import default_parser
    from voicecoach.loop import Listener
    from voicecoach.tts import synthesise

    rec = create_recogniser("pocketsphinx", None, phase, "rnnoise")
    for line in (v.format(**FILL) for v in CueBook.load().variants(cue)):
        s = synthesise(line, 150.0)
        pcm = soxr.resample(s.pcm.astype(np.float32) / 32768.0, s.sample_rate_hz, 16000)
        audio = (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes() + bytes(32000)
        rec.reset()
        session = Session()
        session.phase = phase
        gate = EchoGate()
        gate.speaking(line)
        listener = Listener(None, rec, default_parser(), session, gate,  # type: ignore[arg-type]
                            lambda _: None)
        for i in range(0, len(audio), 960):
            listener.feed(audio[i: i + 960])
        listener.flush()
        assert session.posted == [], (line, session.posted)
