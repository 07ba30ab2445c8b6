"""The listener thread's decisions on partial and final results (loop.Listener).

The recogniser here replays a scripted list of results per audio block, so the timing rules can be
checked exactly; the parser, the echo gate and the Listener are the real ones. What a real
recogniser produces is covered in test_asr_sphinx.py and, end to end, in test_voice_e2e.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from voicecoach.asr import BYTES_PER_SECOND, Recognition
from voicecoach.events import Heard
from voicecoach.intents import default_parser
from voicecoach.loop import PARTIAL_STABLE_S, EchoGate, Listener

BLOCK_S = 0.1
BLOCK = b"\0\0" * int(BLOCK_S * BYTES_PER_SECOND / 2)


class ScriptedRecogniser:
    """Returns the scripted results for each block fed, in order."""

    name = "scripted"

    def __init__(self, per_block: Sequence[Sequence[Recognition]]) -> None:
        self.per_block = list(per_block)
        self.phases: list[Any] = []

    def set_phase(self, phase: str | None, intents: Sequence[str] | None = None) -> None:
        self.phases.append((phase, intents))

    def accept(self, pcm: bytes) -> list[Recognition]:
        return list(self.per_block.pop(0)) if self.per_block else []

    def flush(self) -> list[Recognition]:
        return []

    def reset(self) -> None:
        pass


class Session:
    phase = "hold"
    listen = None

    def __init__(self) -> None:
        self.posted: list[Heard] = []

    def post(self, event: Heard) -> None:
        self.posted.append(event)

    def close(self) -> None:
        pass


def run(per_block: Sequence[Sequence[Recognition]], phase: str = "hold",
        coach_says: str | None = None, coach_done: bool = False) -> tuple[list[Heard], list[str]]:
    """Feed one block per entry of ``per_block``; ``coach_says``: the line the coach is saying
    meanwhile (the echo gate is told), or has just finished saying with ``coach_done``."""
    session = Session()
    session.phase = phase
    gate = EchoGate()
    if coach_says is not None:
        gate.speaking(coach_says)
        if coach_done:
            gate.silent()
    shown: list[str] = []
    listener = Listener(None, ScriptedRecogniser(per_block), default_parser(), session,  # type: ignore[arg-type]
                        gate, shown.append)
    for _ in range(len(per_block)):
        listener.feed(BLOCK)
    return session.posted, shown


def partial(text: str, complete: bool = True) -> Recognition:
    return Recognition(text, 0.5, False, complete=complete)


def final(text: str) -> Recognition:
    return Recognition(text, 0.9, True)


QUIET: list[Recognition] = []
HOLD_BLOCKS = round(PARTIAL_STABLE_S / BLOCK_S)


def test_stable_complete_red_flag_partial_acts_before_the_final() -> None:
    script = [[partial("it hurts")], [partial("it hurts down my leg")]]
    script += [QUIET] * HOLD_BLOCKS + [[final("it hurts down my leg")]]
    posted, shown = run(script)
    assert [h.intent for h in posted] == ["red_flag"]  # once: the final does not repeat it
    assert "(partial)" in shown[0]


def test_prefix_partial_does_not_act() -> None:
    # "start" passes through "sharp" (the beginning of "sharp pain") and is then revised
    script = [[partial("sharp", complete=False)]] + [QUIET] * (HOLD_BLOCKS + 2)
    script += [[final("start")]]
    posted, _ = run(script, phase="screen")
    assert [h.intent for h in posted] == ["start"]


def test_revised_red_flag_partial_does_not_act() -> None:
    # a complete red-flag phrase that the decoder revises before it has held long enough
    script = [[partial("numbness")], [partial("no")], QUIET, QUIET, [final("no")]]
    posted, _ = run(script, phase="screen")
    assert [h.intent for h in posted] == ["no"]


@pytest.mark.parametrize("blocks", [0, HOLD_BLOCKS - 1])
def test_red_flag_final_acts_when_the_partial_had_no_time(blocks: int) -> None:
    script = [[partial("pins and needles")]] + [QUIET] * blocks + [[final("pins and needles")]]
    posted, shown = run(script)
    assert [h.intent for h in posted] == ["red_flag"]
    assert "(partial)" not in shown[0]


def test_only_red_flags_act_on_partials() -> None:
    script = [[partial("pause")]] + [QUIET] * (HOLD_BLOCKS + 1) + [[final("pause")]]
    posted, shown = run(script)
    assert [h.intent for h in posted] == ["pause"]
    assert "(partial)" not in shown[0]


def test_rejected_final_clears_a_pending_partial() -> None:
    script = [[partial("nerve pain")], [Recognition("", 0.0, True, rejected=True)]]
    script += [QUIET] * (HOLD_BLOCKS + 1)
    posted, _ = run(script)
    assert posted == []


def rejected(start_s: float, end_s: float, voiced_s: float = 0.0) -> Recognition:
    return Recognition("", 0.0, True, start_s, end_s, rejected=True, voiced_s=voiced_s)


def test_rejected_speech_is_reported_as_not_understood() -> None:
    """A rejected utterance long enough to be speech, begun with the coach quiet, reaches the
    session as Heard(None) with no text; the coach decides whether to ask again."""
    posted, shown = run([QUIET] * 20 + [[rejected(0.5, 1.9)]], phase="screen")
    assert posted == [Heard(None, {}, "", 0.0)]
    assert shown == ["  you: (not understood)"]


@pytest.mark.parametrize("start_s, end_s, voiced_s", [(1.0, 2.2, 0.0), (0.0, 0.0, 0.0),
                                                       (1.0, 1.9, 0.3)])
def test_short_rejected_sound_is_not_reported(start_s: float, end_s: float,
                                              voiced_s: float) -> None:
    """A cough, a knock: short, and with little or no voice in it."""
    posted, shown = run([QUIET] * 20 + [[rejected(start_s, end_s, voiced_s)]], phase="screen")
    assert posted == [] and shown == []


def test_short_rejected_voice_is_reported() -> None:
    """A one-word answer the recogniser turned down ("five") is short but voiced: it gets its
    answer at once rather than the silence reprompt."""
    posted, _ = run([QUIET] * 20 + [[rejected(1.0, 1.9, 0.4)]], phase="screen")
    assert posted == [Heard(None, {}, "", 0.0)]


def test_rejected_speech_over_the_coach_or_its_echo_is_not_reported() -> None:
    """The coach's own voice coming back is most of what is rejected while it talks: neither
    during its line nor when the utterance began before its echo had died away (the audio's
    time mapped to the clock, with UNCLEAR_LAG_S to spare) is it taken for the user's."""
    script = [QUIET] * 20 + [[rejected(0.5, 1.9)]]
    posted, _ = run(script, phase="screen", coach_says="any numbness or tingling")
    assert posted == []
    # just finished: its echo tail is still in the room
    posted, _ = run(script, phase="screen", coach_says="any numbness or tingling",
                    coach_done=True)
    assert posted == []


def test_ignore_interrupts_when_the_session_ends() -> None:
    """After the voice session a second Ctrl-C is ignored (in the main thread only)."""
    import os
    import signal
    import threading

    from voicecoach.loop import ignore_interrupts

    before = signal.getsignal(signal.SIGINT)
    try:
        t = threading.Thread(target=ignore_interrupts)
        t.start()
        t.join()
        assert signal.getsignal(signal.SIGINT) is before
        ignore_interrupts()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)  # would raise KeyboardInterrupt otherwise
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_guess_acts_only_while_the_coach_is_quiet() -> None:
    """A red flag pieced together from garbled words (``Recognition.guess``: a warning word by a
    leg part) acts like any red flag while the coach is quiet, on the partial result; while the
    coach talks it is dropped, partial and final, since the coach's own lines name leg parts."""
    guess = Recognition("my calves feel tingly", 0.5, False, complete=True, guess=True)
    guess_final = Recognition("my calves feel tingly", 0.6, True, guess=True)
    script = [[guess], QUIET, QUIET, QUIET, [guess_final]]
    posted, shown = run(script)
    assert [h.intent for h in posted] == ["red_flag"]
    assert "(partial)" in shown[0]

    def while_the_coach_talks(per_block: Sequence[Sequence[Recognition]]) -> list[Heard]:
        line = "Bring your left knee up and hold your shin, or behind the thigh."
        return run(per_block, coach_says=line)[0]

    assert while_the_coach_talks(script) == []
    assert while_the_coach_talks([[guess_final]]) == []
    # words the recogniser heard as such still cut through the coach
    posted = while_the_coach_talks([[final("my calf is tingling")]])
    assert [h.intent for h in posted] == ["red_flag"]


def test_a_made_up_warning_is_judged_by_the_words_decoded() -> None:
    """A red flag the free pass put into words of its own (``Recognition.heard``) reaches the
    echo gate with what was decoded: the coach's own line coming back is dropped, the user's
    words over it are not."""
    line = "It's gone quiet, so I've paused. Say resume whenever you want to go on."

    def while_the_coach_says(r: Recognition) -> list[Heard]:
        return run([[r]], "paused", coach_says=line)[0]

    echo = Recognition("my leg has gone funny", 0.6, True, heard="it's gone quiet so i've paused")
    assert while_the_coach_says(echo) == []
    user = Recognition("my leg has gone funny", 0.6, True, heard="ooh my leg has gone all weird")
    assert [h.intent for h in while_the_coach_says(user)] == ["red_flag"]
