"""Intent parser: text in, intent and slots out, from the hassil templates in ``intents/en.yaml``.

Matching runs in three steps, safest first:

1. **Self-echo rejection.** Text that is mostly one of the coach's own lines (the microphone
   hearing the speaker) is no intent.
2. **Red-flag screen.** Nerve-type words (numb, tingling, pins and needles, shooting, zing, pain
   *down the leg*, ...) make a ``red_flag`` unless they are negated ("no tingling"), asked about
   in the second person ("down your leg"), or part of a plain "no" answer. This catches phrasings
   the templates do not spell out: missing a red flag is the one mistake the coach must not make.
3. **Templates.** hassil matches the normalised text against the templates of the intents the
   phase accepts; the most literal match wins.

Anything else is no intent (``None``), never the nearest guess.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml
from hassil import Intents, RecognizeResult, recognize_all
from hassil.sample import sample_intents

from .errors import IntentError
from .protocol import ALWAYS_ON, INTENTS, phase_intents

log = logging.getLogger(__name__)

_HESITATIONS = {"um", "umm", "uh", "uhh", "er", "erm", "hmm", "hm", "mm", "ah", "ahh", "eh", "oh"}
_LEADING_MARKERS = (
    "okay so", "ok so", "alright so", "all right so", "right so", "so", "well", "hey coach",
    "hey", "coach", "listen", "um okay", "uh okay", "and", "oh",
)
_TRAILING_POLITE = ("please", "thanks", "thank you", "coach", "for me", "now please")


@dataclass(frozen=True)
class ParseResult:
    """What the parser made of one input."""

    text: str
    intent: str | None
    slots: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.0
    #: The phrasing leaves no doubt (e.g. "stop the session" needs no confirmation).
    explicit: bool = False

    def to_json(self, input_text: str | None = None) -> dict[str, Any]:
        return {
            "input": self.text if input_text is None else input_text,
            "transcript": self.text,
            "intent": self.intent,
            "slots": dict(self.slots),
            "confidence": round(self.confidence, 3),
        }


def normalize(text: str) -> str:
    """Lower-case, plain words: punctuation, hesitations and framing words removed."""
    t = text.lower().replace("’", "'").replace("‘", "'")
    t = re.sub(r"[^a-z0-9' ]+", " ", t)
    t = re.sub(r"\s+'|'\s+", " ", t)  # stray quotes
    words = [w for w in t.split() if w not in _HESITATIONS]
    t = " ".join(words)
    changed = True
    while changed and t:
        changed = False
        for m in _LEADING_MARKERS:
            if t.startswith(m + " ") and len(t) > len(m) + 1:
                t = t[len(m) + 1 :]
                changed = True
        for m in _TRAILING_POLITE:
            if t.endswith(" " + m) and len(t) > len(m) + 1:
                t = t[: -len(m) - 1]
                changed = True
    return t.strip()


# ------------------------------------------------------------------------------ red flags
_RF_STRONG = re.compile(
    r"\b(numb\w*|tingl\w*|pins and needles|zing\w*|zap\w*|sciatic\w*|electric\w*|"
    r"shooting|shoots|shot down|stabbing|searing|nerve pain|pinched nerve|can'?t feel my)\b"
)
_RF_SHARP = re.compile(r"\bsharp\b")
_LEG = r"(leg|legs|thigh|thighs|calf|calves|shin|shins|foot|feet|toe|toes|ankle|ankles|hamstring|buttock|buttocks|bum|butt|glute|glutes|heel|heels|knee)"
_RF_DOWN_LEG = re.compile(
    r"\b(down|into|through|along|in|to)\s+(the\s+(back|side|front)\s+of\s+)?(my|the|one|both|me|his|her)?\s*"
    + _LEG + r"\b"
)
_PAIN_WORDS = re.compile(
    r"\b(hurt\w*|pain\w*|ach\w*|burn\w*|shoot\w*|goes|going|went|runs|running|travel\w*|radiat\w*|"
    r"spread\w*|throb\w*|sore|killing)\b"
)
_RF_LEG_STATE = re.compile(
    r"\b(my|the)\s+" + _LEG + r"\s+(is|are|feels|feel|went|has gone|have gone|is going|got|gone)\s+"
    r"(\w+\s+)?(numb|tingly|dead|weak|asleep|funny|floppy)\b"
)
_NEGATORS = re.compile(
    r"\b(no|not|don't|dont|doesn't|doesnt|didn't|didnt|isn't|isnt|aren't|arent|haven't|havent|"
    r"hasn't|hasnt|never|without|none|nothing|nor|neither|free of|wasn't|wasnt|won't|cannot)\b"
)
_CLAUSE_BREAK = re.compile(r"\b(but|although|though|except|however|now|yet|and now|apart from)\b")
_SECOND_PERSON = re.compile(r"\b(you|your|you're|yours)\b")


def _negated(before: str) -> bool:
    """Is the mention right after ``before`` negated within its own clause?"""
    parts = _CLAUSE_BREAK.split(before)
    clause = parts[-1] if parts else before
    return bool(_NEGATORS.search(" ".join(clause.split()[-6:])))


def red_flag_mentioned(norm: str) -> bool:
    """True when normalised text asserts radiating or nerve-type symptoms."""
    if not norm or _SECOND_PERSON.search(norm):
        return False
    hits: list[int] = []
    for rx in (_RF_STRONG, _RF_LEG_STATE):
        hits += [m.start() for m in rx.finditer(norm)]
    for m in _RF_SHARP.finditer(norm):
        hits.append(m.start())
    for m in _RF_DOWN_LEG.finditer(norm):
        # "down my leg" counts when something hurts/travels there: a pain word before it
        if _PAIN_WORDS.search(norm[: m.start()]):
            hits.append(m.start())
    return any(not _negated(norm[:pos]) for pos in hits)


# ---------------------------------------------------------------------------- echo check
def _bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:], strict=False))


class EchoFilter:
    """Recognises the coach's own lines (all cue variants) coming back through the microphone."""

    def __init__(self, lines: Iterable[str], min_words: int = 4, threshold: float = 0.75) -> None:
        self._lines = [normalize(x).split() for x in lines if x.strip()]
        self._grams = [_bigrams(w) for w in self._lines]
        self.min_words = min_words
        self.threshold = threshold

    def is_echo(self, norm: str) -> bool:
        words = norm.split()
        if len(words) < self.min_words:
            return False
        mine = _bigrams(words)
        if not mine:
            return False
        for grams in self._grams:
            if len(mine & grams) / len(mine) >= self.threshold:
                return True
        return False


# --------------------------------------------------------------------------------- parser
@cache
def load_templates_dict() -> dict[str, Any]:
    """The intent templates as a dict (from the installed package, or the source tree)."""
    try:
        text = resources.files("voicecoach.resources.intents").joinpath("en.yaml").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        from pathlib import Path

        src = Path(__file__).resolve().parent.parent / "intents" / "en.yaml"
        try:
            text = src.read_text("utf-8")
        except OSError as exc:
            raise IntentError(f"intent templates not found ({src}): {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise IntentError(f"intent templates are not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or "intents" not in data:
        raise IntentError("intent templates must have an 'intents' section")
    return data


class IntentParser:
    """Text to intent for one phase (or all phases), built from hassil templates."""

    def __init__(self, templates: dict[str, Any] | None = None,
                 echo_lines: Iterable[str] = ()) -> None:
        data = templates if templates is not None else load_templates_dict()
        try:
            self.intents = Intents.from_dict(data)
        except Exception as exc:  # hassil raises plain exceptions on bad templates
            raise IntentError(f"cannot build intent templates: {exc}") from exc
        missing = set(INTENTS) - set(self.intents.intents)
        if missing:
            raise IntentError(f"intent templates lack: {', '.join(sorted(missing))}")
        self.echo = EchoFilter(echo_lines)

    def parse(self, text: str, phase: str | None = None) -> ParseResult:
        """Parse one utterance; with ``phase``, only what that phase accepts is recognised."""
        allowed = set(phase_intents(phase))
        norm = normalize(text)
        if not norm:
            return ParseResult(text, None)
        if self.echo.is_echo(norm):
            log.debug("echo of a coach line ignored: %r", text)
            return ParseResult(text, None)
        best = self._match(norm, allowed)
        if best is not None and best.intent == "red_flag":
            return best.with_text(text)
        if red_flag_mentioned(norm):
            return ParseResult(text, "red_flag", {}, 0.9)
        if best is not None:
            return best.with_text(text)
        return ParseResult(text, None)

    def _match(self, norm: str, allowed: set[str]) -> _Match | None:
        results: list[RecognizeResult] = []
        try:
            results = list(recognize_all(norm, self.intents, language="en"))
        except Exception as exc:  # pragma: no cover - a hassil bug must not end a session
            log.warning("intent matching failed for %r: %s", norm, exc)
            return None
        best: _Match | None = None
        for r in results:
            name = r.intent.name
            if name not in allowed:
                continue
            slots = {k: _slot_value(k, v.value) for k, v in r.entities.items()}
            if name == "pain_score" and not _valid_score(slots):
                continue
            meta = r.intent_metadata or {}
            cand = _Match(name, slots, bool(meta.get("explicit")), r.text_chunks_matched or 0)
            if best is None or cand.rank() > best.rank():
                best = cand
        return best

    def phrases(self, phase: str | None = None, max_per_intent: int | None = None) -> list[str]:
        """Lower-case phrases (numbers as words) the phase accepts: the recogniser's phrase list."""
        return [p for p, _ in self.phrase_intents(phase, max_per_intent)]

    def phrase_intents(self, phase: str | None = None,
                       max_per_intent: int | None = None) -> list[tuple[str, str]]:
        """(phrase, intent) pairs for ``phase``, sampled from the templates, deduplicated."""
        return list(_sampled(self, tuple(phase_intents(phase)), max_per_intent))


@dataclass(frozen=True)
class _Match:
    intent: str
    slots: dict[str, Any]
    explicit: bool
    literal_chars: int

    def rank(self) -> tuple[int, int, int]:
        return (int(self.intent == "red_flag"), self.literal_chars, int(self.intent in ALWAYS_ON))

    def with_text(self, text: str) -> ParseResult:
        return ParseResult(text, self.intent, self.slots, 1.0, self.explicit)


def _slot_value(name: str, value: Any) -> Any:
    if name == "score" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _valid_score(slots: dict[str, Any]) -> bool:
    s = slots.get("score")
    return isinstance(s, int) and 0 <= s <= 10


_NUM_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _words_for_numbers(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        n = int(m.group(0))
        return _NUM_WORDS[n] if 0 <= n <= 10 else m.group(0)

    return re.sub(r"\b\d+\b", sub, text)


def _sampled(parser: IntentParser, names: tuple[str, ...],
             max_per_intent: int | None) -> Iterable[tuple[str, str]]:
    seen: set[str] = set()
    for intent, sentence in sample_intents(
        parser.intents, intent_names=set(names), max_sentences_per_intent=max_per_intent,
        language="en",
    ):
        phrase = " ".join(_words_for_numbers(normalize(sentence)).split())
        if phrase and phrase not in seen:
            seen.add(phrase)
            yield phrase, intent


@cache
def default_parser() -> IntentParser:
    """The parser with the packaged templates and the packaged cue lines as echo filter."""
    from .cues import CueBook

    return IntentParser(echo_lines=CueBook.load().all_texts())
