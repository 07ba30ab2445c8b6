"""Intent parser tests, driven by the hand-written utterances in tests/data/intents.yaml.

Every case runs through ``IntentParser.parse(text, phase)`` for each of its phases. Red-flag
phrasings are checked in all eight phases; the coach's own lines must not come back as commands.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from voicecoach.cues import CueBook
from voicecoach.intents import IntentParser, default_parser, normalize, rewrite_scores
from voicecoach.protocol import PHASE_INTENTS, PHASES, phase_intents

DATA = Path(__file__).parent / "data"


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DATA / name).read_text("utf-8"))
    assert isinstance(data, dict)
    return data


_SET = _load("intents.yaml")
#: Held-out sets, written after the parser was frozen (see each file's header for its history).
_HELDOUT_FILES = ("intents_heldout.yaml", "intents_heldout2.yaml", "intents_heldout3.yaml",
                  "intents_heldout4.yaml", "intents_heldout5.yaml")


def _cases(data: dict[str, Any]) -> list[tuple[str, tuple[str, ...], Any, dict[str, Any]]]:
    """(text, phases, expected intent or list of intents, slots), one per utterance group item."""
    out = []
    for group in data.get("cases", []):
        phases = PHASES if group["phases"] == "all" else tuple(group["phases"])
        for item in group["texts"]:
            if isinstance(item, str):
                text, slots = item, group.get("slots")
            else:
                text, slots = item["text"], item.get("slots", group.get("slots"))
            out.append((text, phases, group["intent"], dict(slots or {})))
    return out


CASES = _cases(_SET)


@pytest.fixture(scope="module")
def parser() -> IntentParser:
    return default_parser()


def _ok(result_intent: str | None, expected: Any) -> bool:
    if isinstance(expected, list):
        return result_intent in expected
    return bool(result_intent == expected)


# ---------------------------------------------------------------------------------- the data
def test_data_set_is_big_and_well_formed() -> None:
    texts = {c[0] for c in CASES} | set(_SET["red_flags"]) | set(_SET["not_red_flags"])
    assert len(texts) >= 300
    assert len(set(_SET["red_flags"])) >= 50
    unrelated = [c for c in CASES if c[2] is None and c[1] == PHASES]
    assert len(unrelated) >= 40
    for text, phases, intent, _ in CASES:
        for ph in phases:
            assert ph in PHASES, (text, ph)
            for name in intent if isinstance(intent, list) else [intent]:
                assert name is None or name in phase_intents(ph), (text, ph, name)


def test_every_intent_is_covered_in_every_phase_that_accepts_it() -> None:
    covered = {(ph, i) for _, phases, intent, _ in CASES for ph in phases
               for i in (intent if isinstance(intent, list) else [intent])}
    covered |= {(ph, "red_flag") for ph in PHASES}
    covered |= {("paused", "start")}  # reported as resume (test_a_start_while_paused_is_a_resume)
    missing = [(ph, i) for ph in PHASES for i in phase_intents(ph) if (ph, i) not in covered]
    assert missing == []


def test_a_start_while_paused_is_a_resume(parser: IntentParser) -> None:
    """The paused phase accepts start phrasings ("let's go", "I'm ready"), which can only mean
    carrying on there: the parser says resume, as the coach does."""
    for text in ("let's go", "i'm ready", "start", "okay let's begin"):
        assert parser.parse(text, "screen").intent == "start"
        assert parser.parse(text, "paused").intent == "resume"
        assert parser.parse(text, "paused").confidence == parser.parse(text, "screen").confidence


@pytest.mark.parametrize(("text", "phases", "intent", "slots"), CASES,
                         ids=[f"{c[2]}:{c[0]}" for c in CASES])
def test_utterance(parser: IntentParser, text: str, phases: tuple[str, ...], intent: Any,
                   slots: dict[str, Any]) -> None:
    wrong = []
    for ph in phases:
        r = parser.parse(text, ph)
        if not _ok(r.intent, intent) or (r.intent is not None and r.slots != slots):
            wrong.append((ph, r.intent, r.slots))
    assert wrong == [], f"{text!r}: expected {intent} {slots}"


# ------------------------------------------------------------------------------- red flags
@pytest.mark.parametrize("text", _SET["red_flags"])
def test_red_flag_is_never_missed_in_any_phase(parser: IntentParser, text: str) -> None:
    missed = [ph for ph in PHASES if parser.parse(text, ph).intent != "red_flag"]
    assert missed == []
    assert parser.parse(text, None).intent == "red_flag"


@pytest.mark.parametrize("text", _SET["not_red_flags"])
def test_negated_symptoms_are_not_red_flags(parser: IntentParser, text: str) -> None:
    flagged = [ph for ph in PHASES if parser.parse(text, ph).intent == "red_flag"]
    assert flagged == []


def test_negated_symptom_answers_no_to_the_warning_question(parser: IntentParser) -> None:
    for text in ("no tingling", "no, nothing down my leg", "no pins and needles"):
        assert parser.parse(text, "screen").intent == "no", text


def test_red_flag_result_is_explicit_and_confident(parser: IntentParser) -> None:
    r = parser.parse("it's shooting down my leg", "hold")
    assert (r.intent, r.explicit) == ("red_flag", True)
    assert r.confidence >= 0.9


# ------------------------------------------------------------------------ the coach's lines
#: Coach lines that are also something a user would naturally say; heard as the user's words.
SHARED_WITH_USERS = {"i didn't get that"}


def test_whole_coach_lines_are_no_intent_in_every_phase(parser: IntentParser) -> None:
    wrong = []
    for line in CueBook.load().all_texts():
        norm = normalize(line)
        if len(norm.split()) < 4 or norm in SHARED_WITH_USERS:
            continue
        for ph in PHASES:
            r = parser.parse(line, ph)
            if r.intent is not None:
                wrong.append((line, ph, r.intent))
    assert wrong == []


def test_short_coach_lines_never_end_the_session(parser: IntentParser) -> None:
    for line in CueBook.load().all_texts():
        for ph in PHASES:
            assert parser.parse(line, ph).intent not in ("red_flag", "stop"), (line, ph)


def test_is_coach_line(parser: IntentParser) -> None:
    """The coach's own words (a sentence of a cue, or four words and more of one) read as the
    coach; a user's command and short or unrelated text do not. The free pass leaves the N-best
    list alone when its best transcript is the coach."""
    assert parser.is_coach_line("ease off an inch")
    assert parser.is_coach_line("Ease off an inch. You should still be able to take a full belly "
                                "breath. Keep holding gently.")
    assert not parser.is_coach_line("ease off a bit")
    assert not parser.is_coach_line("ease off")
    assert not parser.is_coach_line("the cat is sleeping on the sofa")
    assert not parser.is_coach_line("it hurts down my leg")


@pytest.mark.parametrize("text", _SET["coach_fragments"])
def test_coach_fragments_are_no_intent(parser: IntentParser, text: str) -> None:
    assert [ph for ph in PHASES if parser.parse(text, ph).intent is not None] == []


# -------------------------------------------------------------------------- phase filtering
def test_phase_filter_drops_what_the_phase_does_not_accept(parser: IntentParser) -> None:
    assert parser.parse("longer", "screen").intent is None
    assert parser.parse("longer", "hold").intent == "longer"
    assert parser.parse("a six", "hold").intent is None
    assert parser.parse("a six", "finished").slots == {"score": 6}
    assert parser.parse("left", "stabilise").intent is None
    assert parser.parse("left", "hold").slots == {"side": "left"}


def test_results_only_ever_name_intents_the_phase_accepts(parser: IntentParser) -> None:
    texts = [c[0] for c in CASES][::3]
    for ph in PHASE_INTENTS:
        allowed = set(phase_intents(ph))
        for text in texts:
            r = parser.parse(text, ph)
            assert r.intent is None or r.intent in allowed, (text, ph, r.intent)


def test_json_shape(parser: IntentParser) -> None:
    out = parser.parse("um, like a seven I guess", "screen").to_json("x")
    assert out == {"input": "x", "transcript": "um, like a seven I guess", "intent": "pain_score",
                   "slots": {"score": 7}, "confidence": out["confidence"]}
    assert 0.0 < out["confidence"] <= 1.0


def test_normalize() -> None:
    assert normalize("Um, okay so... I'M ready!") == "i'm ready"
    assert normalize("uh-huh") == "yes"
    assert normalize("I'm gonna stop") == "i'm going to stop"


def test_normalize_spoken_forms() -> None:
    assert normalize("6/10") == "6 out of ten"
    assert normalize("wait wait wait") == "wait"
    assert normalize("gimme a sec") == "give me a sec"
    assert normalize("I want finish") == "i want to finish"


def test_pain_score_number_rule() -> None:
    """A range or two numbers -> the higher one; a half rounds up; "and a bit" rounds down."""
    assert rewrite_scores("between five and six") == "six"
    assert rewrite_scores("5 or 6") == "six"
    assert rewrite_scores("three and a half") == "four"
    assert rewrite_scores("four and a bit") == "four"
    assert rewrite_scores("one or two more seconds") == "two more seconds"
    assert rewrite_scores("two and eight") == "two and eight"  # not a range: left alone


def test_speech_for_someone_else(parser: IntentParser) -> None:
    for ph in PHASES:
        for text in ("Alexa, stop", "OK Google, what time is it", "hey Siri, pause the music",
                     "hello? yes, speaking", "the dog has gone to sleep"):
            assert parser.parse(text, ph).intent is None, (text, ph)
        # a symptom is never ignored, whoever it is addressed to
        assert parser.parse("Alexa, my leg is numb", ph).intent == "red_flag"


def test_a_promise_to_someone_else_is_not_an_answer(parser: IntentParser) -> None:
    assert parser.parse("yes, I'll take the parcel", "paused").intent is None
    assert parser.parse("yeah I'll get the door", "screen").intent is None
    assert parser.parse("okay I'll lie down", "setup").intent == "yes"
    assert parser.parse("yeah I will", "screen").intent == "yes"


def test_lone_hesitation_question_asks_to_repeat(parser: IntentParser) -> None:
    assert parser.parse("eh?", "pull").intent == "repeat"
    assert parser.parse("eh", "pull").intent is None
    assert parser.parse("um", "hold").intent is None


def test_leading_right_is_a_side_only_when_nothing_else_is_said(parser: IntentParser) -> None:
    assert parser.parse("right, I'm on the mat", "setup").intent == "yes"
    assert parser.parse("right, I'm done", "hold").intent == "done"
    assert parser.parse("right, definitely", "hold").slots == {"side": "right"}
    assert parser.parse("right", "hold").slots == {"side": "right"}


# --------------------------------------------------------------------------------- latency
def test_parse_latency(parser: IntentParser) -> None:
    texts = [c[0] for c in CASES] + list(_SET["red_flags"])
    parser.parse("warm up", "hold")
    times = []
    for text in texts:
        for ph in ("screen", "hold", "paused"):
            t0 = time.perf_counter()
            parser.parse(text, ph)
            times.append(time.perf_counter() - t0)
    times.sort()
    median_ms = statistics.median(times) * 1000
    p95_ms = times[int(len(times) * 0.95)] * 1000
    print(f"parse latency: median {median_ms:.2f} ms, p95 {p95_ms:.2f} ms, n={len(times)}")
    assert median_ms < 10
    assert p95_ms < 50


# -------------------------------------------------------------------------------- held out
def _heldout_rows(name: str) -> list[tuple[str, str, Any, dict[str, Any]]]:
    rows = []
    for text, phases, intent, slots in _cases(_load(name)):
        rows += [(text, ph, intent, slots) for ph in phases]
    return rows


@pytest.mark.parametrize("name", _HELDOUT_FILES)
def test_heldout_accuracy(parser: IntentParser, name: str) -> None:
    """The held-out sets stay at >= 95% intent+slot accuracy, and their red flags are caught."""
    rows = _heldout_rows(name)
    assert len(rows) >= 50
    misses = [(text, ph, intent, r.intent, r.slots) for text, ph, intent, slots in rows
              if not _ok((r := parser.parse(text, ph)).intent, intent)
              or (r.intent is not None and r.slots != slots)]
    accuracy = 1 - len(misses) / len(rows)
    print(f"{name}: {accuracy:.1%} of {len(rows)}; misses: {misses}")
    assert accuracy >= 0.95, misses
    flags = [row for row in rows if row[2] == "red_flag"]
    assert flags and all(parser.parse(t, ph).intent == "red_flag" for t, ph, _, _ in flags)


# ------------------------------------------------------------------------- blind paraphrases
_PARAPHRASES = _load("intents_paraphrases.yaml")


@pytest.mark.parametrize("persona", sorted(_PARAPHRASES))
def test_blind_paraphrases(parser: IntentParser, persona: str) -> None:
    """Each persona's phrasings (written blind, then used to improve the parser: see the file's
    header) stay at >= 94% (their first measurement was 68-71%), every red flag among them is
    caught, and at most 2 of 40 unrelated sentences give an intent in some phase."""
    data = _PARAPHRASES[persona]
    commands = data["commands"]
    misses = [(text, phase, intent, parser.parse(text, phase).intent)
              for text, phase, intent in commands if parser.parse(text, phase).intent != intent]
    accuracy = 1 - len(misses) / len(commands)
    print(f"{persona}: {accuracy:.1%} of {len(commands)}; misses: {misses}")
    assert accuracy >= 0.94, misses
    flags = [text for text, phase, intent in commands if intent == "red_flag"]
    assert len(flags) >= 15
    assert all(parser.parse(t, ph).intent == "red_flag" for t, ph, i in commands if i == "red_flag")
    accepted = [t for t in data["unrelated"]
                if any(parser.parse(t, ph).intent is not None
                       for ph in ("screen", "setup", "pull", "hold"))]
    assert len(accepted) <= 2, accepted


def test_a_command_with_an_aside(parser: IntentParser) -> None:
    """A whole command with an unpunctuated aside before or after it keeps its intent; the rest
    of the sentence must be an aside, not the command's object or someone else's business."""
    heard = {
        ("hang on the doorbell's going", "hold"): "pause",
        ("hold up the kids are shouting", "pull"): "pause",
        ("can you repeat that my hearing's not what it was", "switch_side"): "repeat",
        ("oh i've had enough let's call it a day", "hold"): "stop",
        ("right what's next", "hold"): "next",
    }
    for (text, phase), intent in heard.items():
        result = parser.parse(text, phase)
        assert result.intent == intent, (text, phase, result)
        assert result.confidence < 0.85  # below what a free-pass transcript needs (asr_sphinx)
    for text, phase in (("help me find my keys", "pull"), ("skip this ad already", "hold"),
                        ("hang on let me call you back", "hold"), ("hold on to the rail", "pull"),
                        ("how much longer is the drive", "hold"),
                        ("that's too much salt in the soup", "hold"),
                        ("the left shoe is under the sofa", "hold"),
                        ("i've finished the crossword except for seven down", "hold"),
                        ("stop it you two stop fighting", "hold"),
                        ("i don't want to take a break", "hold")):
        assert parser.parse(text, phase).intent is None, (text, phase)


def test_a_no_before_a_request(parser: IntentParser) -> None:
    assert parser.parse("nah skip it", "setup").intent == "skip"
    assert parser.parse("no say that again", "hold").intent == "repeat"
    assert parser.parse("no i don't think so", "screen").intent == "no"
    assert parser.parse("no not really", "screen").intent == "no"


def test_the_same_request_twice_and_a_leading_reason(parser: IntentParser) -> None:
    """Two halves that each make the same request whole ("I'm ready, let's get going"), and a
    command after a reason ("... so I'll do the gentle one"), or after "that's it", read as
    firmly as a template with framing words (0.85); halves that ask for different things, or
    a request and a bare answer, do not."""
    firm = {
        ("okay i'm ready let's get going", "screen"): "start",
        ("i'm a bit lost what am i supposed to be doing", "setup"): "help",
        ("right where were we let's continue", "paused"): "resume",
        ("turn it off i've had enough for today", "stabilise"): "stop",
        ("i've got a disc problem so i'll do the gentle one", "screen"): "variation",
        ("that's it i quit", "hold"): "stop",
        ("hold on a minute the phone's ringing", "pull"): "pause",
        ("i'm all at sea here what do i do", "pull"): "help",
    }
    for (text, phase), intent in firm.items():
        result = parser.parse(text, phase)
        assert (result.intent, result.confidence) == (intent, 0.85), (text, phase, result)
    assert parser.parse("that's it", "hold").intent == "done"  # alone it is no framing
    assert parser.parse("stop skip this", "setup").confidence < 0.85  # two different requests
    assert parser.parse("the left one the right one", "switch_side").confidence < 0.85


def test_an_answer_said_again_at_the_end(parser: IntentParser) -> None:
    """"no, I don't think so, no": the closing "no" repeats the answer; stripped like a framing
    word, the rest is a template (0.85, enough for the free pass)."""
    for text, intent in (("no i don't think so no", "no"), ("nope not really nope", "no"),
                         ("yes i think so yes", "yes"), ("yeah i'm ready yes", "yes")):
        found = parser.parse(text, "screen")
        assert (found.intent, found.confidence) == (intent, 0.85), text


def test_yes_with_go_on_is_a_yes_outside_a_pause(parser: IntentParser) -> None:
    """"yeah, go on then" while the coach waits to go on is the yes: a resume means nothing
    outside a pause (the coach would only say it is not paused). In a pause it stays a resume,
    and "okay carry on" (no plain yes) keeps its reading."""
    assert parser.parse("er yeah go on then", "pull").intent == "yes"
    assert parser.parse("yes carry on", "setup").intent == "yes"
    assert parser.parse("yeah go on then", "paused").intent == "resume"
    assert parser.parse("okay carry on", "pull").intent == "resume"
    assert parser.parse("go on then", "pull").intent == "resume"
    assert parser.parse("yeah carry on", "stabilise").intent == "yes"


def test_command_at_edge(parser: IntentParser) -> None:
    """A whole command of at least ``min_words`` words at the start or the end, not the whole
    text: what the free pass's reading of a command with an aside rests on."""
    assert parser.command_at_edge("feels good let me hold it for longer", "hold", "longer", 3)
    assert parser.command_at_edge("i don't get it what are my it's to do", "setup", "help", 3)
    assert not parser.command_at_edge("who's pulling too tight", "hold", "too_much", 3)
    assert parser.command_at_edge("who's pulling too tight", "hold", "too_much", 2)
    # the intent must be the one asked about, and the phase must accept it
    assert not parser.command_at_edge("feels good let me hold it for longer", "hold", "done", 3)
    assert not parser.command_at_edge("feels good let me hold it for longer", "screen", "longer",
                                      3)
    assert not parser.command_at_edge("let me hold it for longer", "hold", "longer", 5)
