"""Whole sessions on a virtual clock: the protocol, safety, pause/resume, silence, timing."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from voicecoach.clock import VirtualClock
from voicecoach.coach import BARGE_IN, Coach
from voicecoach.cues import CueBook
from voicecoach.events import (
    End,
    Heard,
    Listen,
    PhaseChanged,
    Say,
    SpeechFinished,
    StopSpeaking,
)
from voicecoach.settings import Settings
from voicecoach.simulate import load_script, run_script, script_from_dict

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["screen", "setup", "pull", "hold", "switch_side", "stabilise", "finished"]
COMPLETE = ["start", "no", "no", "five", "left", "three"]


def simulate(turns: list[Any], **extra: Any) -> list[dict[str, Any]]:
    return list(run_script(script_from_dict({"seed": 11, "turns": turns, **extra})))


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def first_occurrences(events: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for e in of(events, "phase"):
        if e["phase"] not in seen and e["phase"] != "paused":
            seen.append(e["phase"])
    return seen


def test_complete_session_follows_the_protocol() -> None:
    ev = simulate(COMPLETE)
    assert ev[-1] == {"t": ev[-1]["t"], "event": "end", "reason": "completed"}
    assert first_occurrences(ev) == ORDER
    holds = of(ev, "hold")
    assert [(h["side"], h["seconds"]) for h in holds] == [
        ("left", 30.0), ("right", 30.0), ("left", 30.0)]
    # The screening questions come in the contract's order, each waiting for its answer.
    asked = [e["cue"] for e in of(ev, "say") if e["expects"]]
    assert asked[:4] == ["screen.greet", "screen.warning_signs", "screen.disc", "screen.pain_score"]
    assert of(ev, "say")[1]["expects"] == ["yes", "no"]
    assert "hold.tighter" in asked and asked[-1] == "finished.pain_score"
    # Times never go backwards, and the session is a sensible length (a few minutes).
    ts = [e["t"] for e in ev]
    assert ts == sorted(ts)
    assert 240 < ts[-1] < 900


@pytest.mark.parametrize("hold", [20, 45, 60])
def test_configured_hold_length_on_both_sides(hold: int) -> None:
    ev = simulate(COMPLETE, hold_seconds=hold)
    assert {h["side"]: h["seconds"] for h in of(ev, "hold")[:2]} == {"left": hold, "right": hold}
    assert ev[-1]["reason"] == "completed"


def test_tighter_side_gets_more_hold_time() -> None:
    for side in ("left", "right"):
        ev = simulate(["start", "no", "no", "4", f"the {side} side was tighter", "2"])
        total = {"left": 0.0, "right": 0.0}
        for h in of(ev, "hold"):
            total[h["side"]] += h["seconds"]
        other = "right" if side == "left" else "left"
        assert total[side] > total[other]
    ev = simulate(["start", "no", "no", "4", "neither", "2"])
    assert len(of(ev, "hold")) == 2 and ev[-1]["reason"] == "completed"


@pytest.mark.parametrize("after", [0.5, 3, 20, 60, 110, 150, 175, 200, 260, 330, 380])
def test_red_flag_at_any_moment_ends_at_once(after: float) -> None:
    ev = simulate(["start", "no", "no", "3", {"after": after, "say": "it's shooting down my leg"},
                   "left", "2"])
    heard = [e for e in of(ev, "heard") if e["intent"] == "red_flag"]
    assert heard, "the red flag was not heard"
    end = ev[-1]
    assert end["event"] == "end" and end["reason"] == "red_flag"
    assert end["t"] == heard[0]["t"]
    after_flag = ev[ev.index(heard[0]) + 1:]
    assert [e["event"] for e in after_flag if e["event"] not in ("interrupted", "phase")] == [
        "say", "end"]
    assert after_flag[[e["event"] for e in after_flag].index("say")]["cue"] == "any.red_flag"


def test_warning_signs_yes_stops_with_advice() -> None:
    ev = simulate(["start", "yes, a bit of tingling in my foot"])
    assert ev[-1]["reason"] == "red_flag"
    ev = simulate(["start", "yes"])
    assert ev[-1]["reason"] == "red_flag"
    assert of(ev, "say")[-1]["cue"] == "screen.warning_yes"
    assert "doctor" in of(ev, "say")[-1]["text"]


def test_red_flag_cuts_the_coach_off_mid_sentence() -> None:
    ev = simulate(["start", {"after": 2.0, "say": "my leg's gone numb"}])
    kinds = [e["event"] for e in ev]
    assert "interrupted" in kinds
    assert ev[-1]["reason"] == "red_flag"


def test_pause_and_resume_keep_the_remaining_hold_time() -> None:
    ev = list(run_script(load_script(ROOT / "examples" / "pause-in-hold.yaml")))
    paused = [e for e in of(ev, "phase") if e["phase"] == "paused"]
    assert len(paused) == 1
    first_hold = of(ev, "hold")[0]
    assert first_hold["seconds"] == 30.0
    hold_start = next(e["t"] for e in of(ev, "phase") if e["phase"] == "hold")
    resumed = next(e["t"] for e in of(ev, "heard") if e["intent"] == "resume")
    pause_t = next(e["t"] for e in of(ev, "heard") if e["intent"] == "pause")
    # Held before the pause + held after it = 30 s; the five minutes away don't count.
    assert first_hold["t"] - resumed == pytest.approx(30.0 - (pause_t - hold_start), abs=0.05)
    assert resumed - pause_t == pytest.approx(300.0)
    resume_line = next(e for e in of(ev, "say") if e["t"] >= resumed)
    assert resume_line["cue"] == "hold.resume"
    assert ev[-1]["reason"] == "completed"


def test_longer_adds_time_and_done_ends_early() -> None:
    ev = simulate(["start", "no", "no", "3", {"after": 135, "say": "can I hold it a bit longer"},
                   "right", "1"])
    assert of(ev, "hold")[0]["seconds"] == 40.0
    ev = simulate(["start", "no", "no", "3", {"after": 135, "say": "I'm done"}, "neither", "1"])
    first = of(ev, "hold")[0]["seconds"]
    assert 5 < first < 30


def test_too_much_eases_off_and_carries_on() -> None:
    ev = simulate(["start", "no", "no", "3", {"after": 135, "say": "that's too much"},
                   "neither", "1"])
    assert any(e["cue"] == "hold.too_much" for e in of(ev, "say"))
    assert of(ev, "hold")[0]["seconds"] == 30.0


def test_time_left_answers_with_the_remaining_seconds() -> None:
    ev = simulate(["start", "no", "no", "3", {"after": 125, "say": "how long left"}, "no", "1"])
    asked = next(e for e in of(ev, "heard") if e["intent"] == "time_left")
    answer = next(e for e in of(ev, "say") if e["cue"] == "hold.time_left")
    hold_end = of(ev, "hold")[0]["t"]
    words = {"five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "twenty five": 25, "thirty": 30}
    spoken = [n for w, n in words.items() if w in answer["text"].lower()]
    assert spoken, answer["text"]
    assert abs((hold_end - asked["t"]) - max(spoken)) <= 4


def test_silence_reprompts_then_pauses_then_ends_without_looping() -> None:
    ev = simulate(["start"], max_seconds=7200)
    assert ev[-1]["event"] == "end" and ev[-1]["reason"] == "no_response"
    asks = [e for e in of(ev, "say") if e["cue"] == "screen.warning_signs"]
    assert len(asks) == 3  # asked once, re-asked twice: never taken as a "no"
    assert any(e["phase"] == "paused" for e in of(ev, "phase"))
    assert len(ev) < 40
    assert not any(e["cue"] == "screen.disc" for e in of(ev, "say"))


def test_speech_not_understood_is_met_at_once_but_not_forever() -> None:
    """An answer the recogniser could not make out (a script's empty "say") or a sentence that
    is not an answer gets "I heard you, but not the words" and the question again right away,
    not after the reprompt timer; a third one in a row gets quiet waiting, so talk in the room
    cannot keep the coach asking, and the silence's fallback (a pause) follows."""
    ev = simulate(["start", "", "no", "no", "4", "neither", "3"])
    says = [e["cue"] for e in of(ev, "say")]
    i = says.index("any.not_caught")
    assert says[i - 1:i + 2] == ["screen.warning_signs", "any.not_caught",
                                 "screen.warning_signs"]
    heard = next(e for e in of(ev, "heard") if e["text"] == "")
    caught = next(e for e in of(ev, "say") if e["cue"] == "any.not_caught")
    assert caught["t"] - heard["t"] < 1.0
    assert ev[-1]["reason"] == "completed"
    ev = simulate(["start", "", "what a lovely day", ""], max_seconds=300)
    says = [e["cue"] for e in of(ev, "say")]
    assert says.count("any.not_caught") + says.count("any.not_understood") == 2
    assert "any.not_understood" in says
    assert says.count("screen.warning_signs") == 3
    assert not any(e["cue"] == "any.reprompt" for e in of(ev, "say"))
    # the third one, heard once the question had been asked again, gets no answer
    third = [e for e in of(ev, "heard")][-1]
    assert third["text"] == "" and not any(
        third["t"] <= e["t"] < third["t"] + 5 for e in of(ev, "say"))
    assert [e["phase"] for e in of(ev, "phase")][-1] == "paused"


def test_silence_at_the_very_start_ends_with_no_response() -> None:
    ev = simulate([], max_seconds=7200)
    assert ev[-1]["reason"] == "no_response"


def test_stop_asks_first_unless_clear() -> None:
    ev = simulate(["start", "no", "no", "3", {"after": 60, "say": "stop"}, "yes"])
    assert any(e["cue"] == "any.stop_confirm" for e in of(ev, "say"))
    assert ev[-1]["reason"] == "user_stop"
    ev = simulate(["start", "no", "no", "3", {"after": 60, "say": "stop"}, "no", "neither", "2"])
    assert ev[-1]["reason"] == "completed"
    ev = simulate(["start", "no", "no", "3", {"after": 60, "say": "stop the session"}])
    assert ev[-1]["reason"] == "user_stop"
    assert not any(e["cue"] == "any.stop_confirm" for e in of(ev, "say"))


def test_disc_problem_defaults_to_tailbone_heavy() -> None:
    ev = simulate(["start", "no", "yes I have a bulging disc", "4", "neither", "3"])
    cues = [e["cue"] for e in of(ev, "say")]
    assert "screen.disc_yes" in cues and "pull.tailbone_heavy" in cues
    assert "pull.single" not in cues


def test_double_knee_by_voice_with_feet_down_one_at_a_time() -> None:
    ev = simulate(["start", "no", "no", "4", {"after": 60, "say": "let's do both knees"}, "2"])
    holds = of(ev, "hold")
    assert [h["side"] for h in holds] == ["both"]
    release = [e for e in of(ev, "say") if e["cue"] == "hold.release_double"]
    assert release and "the other" in release[0]["text"]
    assert ev[-1]["reason"] == "completed"


def test_same_seed_same_events_other_seed_other_words() -> None:
    a = simulate(COMPLETE)
    b = simulate(COMPLETE)
    assert a == b
    c = list(run_script(script_from_dict({"seed": 99, "turns": COMPLETE})))
    assert [e.get("text") for e in of(a, "say")] != [e.get("text") for e in of(c, "say")]


def test_full_simulation_is_fast() -> None:
    simulate(COMPLETE)  # warm the parser cache
    start = time.perf_counter()
    for _ in range(5):
        simulate(COMPLETE)
    assert (time.perf_counter() - start) / 5 < 1.0


def test_help_and_repeat() -> None:
    ev = simulate(["start", "what can I say", "say that again", "no", "no", "3", "neither", "1"])
    helps = [e for e in of(ev, "say") if e["cue"] == "any.help"]
    assert helps and "yes or no" in helps[0]["text"]
    warnings = [e for e in of(ev, "say") if e["cue"] == "screen.warning_signs"]
    assert len(warnings) >= 2  # repeated on request
    assert ev[-1]["reason"] == "completed"


# ----------------------------------------------------------------- the coach directly
def _coach(**kw: Any) -> tuple[Coach, VirtualClock]:
    clock = VirtualClock()
    return Coach(Settings(**kw), clock, CueBook.load(), random.Random(1)), clock


def test_only_safety_stop_and_pause_barge_in() -> None:
    coach, _ = _coach()
    out = coach.start()
    assert any(isinstance(a, Say) for a in out) and coach.speaking
    # The recogniser is told to listen for the greeting's answer (plus the always-on intents).
    listen = [a for a in out if isinstance(a, Listen)]
    assert listen and listen[-1].intents[-1] == "start" and "red_flag" in listen[-1].intents
    # "start" while the greeting is being spoken waits for the end of the line.
    assert coach.handle(Heard("start", {}, "start")) == []
    out = coach.handle(SpeechFinished())
    assert any(isinstance(a, Say) and a.cue == "screen.warning_signs" for a in out)
    last = [a for a in out if isinstance(a, Listen)][-1]
    assert set(last.intents) - {"red_flag", "stop", "pause", "resume", "repeat", "help",
                                  "time_left"} == {"yes", "no"}
    assert set(BARGE_IN) == {"red_flag", "stop", "pause"}
    out = coach.handle(Heard("pause", {}, "pause"))
    assert isinstance(out[0], StopSpeaking)
    assert any(isinstance(a, PhaseChanged) and a.phase == "paused" for a in out)


def test_a_question_listens_for_resume_only_while_paused() -> None:
    """A resume means nothing to a question outside a pause (the coach ignores it), so the
    recogniser is not asked for one there: its short phrases ("go on") take numbers ("two")."""
    coach, _ = _coach()
    coach.start()
    coach.handle(SpeechFinished())
    assert coach.question == "greet" and "resume" not in coach.listening_intents
    coach.handle(Heard("pause", {}, "pause"))
    assert coach.question == "paused" and "resume" in coach.listening_intents
    coach.handle(Heard("resume", {}, "carry on"))
    coach.handle(SpeechFinished())
    coach.handle(SpeechFinished())
    assert coach.question == "greet" and "resume" not in coach.listening_intents
    coach.handle(Heard("stop", {}, "stop"))
    assert coach.question == "stop_confirm" and "resume" in coach.listening_intents


def test_keep_going_answers_do_you_want_to_stop() -> None:
    """The stop question offers "no to keep going"; saying "keep going" (a resume) is that no."""
    ev = simulate(["start", "no", "no", "3", {"after": 60, "say": "stop"}, "keep going",
                   "neither", "2"])
    heard = [e for e in of(ev, "heard") if e["text"] == "keep going"]
    assert heard and heard[0]["intent"] == "resume"
    said = [e["cue"] for e in of(ev, "say") if e["t"] >= heard[0]["t"]]
    assert said[0] == "any.resumed" and "any.reprompt" not in said[:3]
    assert ev[-1]["reason"] == "completed"


def test_nothing_happens_after_the_end() -> None:
    coach, _ = _coach()
    coach.start()
    out = coach.handle(Heard("red_flag", {}, "numb"))
    assert any(isinstance(a, End) and a.reason == "red_flag" for a in out)
    assert coach.handle(Heard("start", {}, "start")) == []
    assert coach.next_deadline() is None


def test_every_cue_the_coach_uses_exists_and_most_have_variants() -> None:
    import re

    src = (ROOT / "voicecoach" / "coach.py").read_text()
    used = set(re.findall(r'"((?:screen|setup|pull|hold|switch_side|stabilise|finished|any)'
                          r'\.[a-z_]+)"', src))
    book = CueBook.load()
    assert used and used <= set(book.ids())
    varied = [c for c in book.ids() if len(book.variants(c)) >= 2]
    assert len(varied) >= 0.7 * len(list(book.ids()))


def test_cues_are_written_not_copied_from_the_article() -> None:
    article = ROOT.parent / "shared" / "source" / "knee-to-chest-article.txt"
    if not article.exists():
        pytest.skip("the source article is not beside this checkout")
    import re

    def grams(text: str, n: int = 6) -> set[tuple[str, ...]]:
        w = re.findall(r"[a-z']+", text.lower())
        return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}

    source = grams(article.read_text())
    copied = [t for t in CueBook.load().all_texts() if grams(t) & source]
    assert copied == []


def test_pain_check_listens_as_the_pain_question_does() -> None:
    """scripts/pain_check.py drives a real coach to its pain question and listens for what it
    listens for there."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pain_check", ROOT / "scripts" / "pain_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    intents = module.pain_question_intents()
    assert "pain_score" in intents and "red_flag" in intents and "stop" in intents
    assert not {"resume", "yes", "no", "start"} & set(intents)
