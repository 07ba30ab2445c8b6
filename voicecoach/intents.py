"""Intent parser: text in, intent and slots out, from the hassil templates in ``intents/en.yaml``.

Matching runs in steps, safest first:

1. **Normalisation.** Lower case, punctuation off, "uh huh"/"mm hmm" -> yes, contractions and
   spellings unified ("gonna", "till", "ok", "gimme", "6/10"), hesitations, framing words and
   repeated words ("wait wait") dropped, non-native "I want finish" -> "I want to finish".
2. **Red-flag screen.** Nerve-type words (numb, tingling, pins and needles, shooting, zing, pain
   *down the leg*, a leg gone dead or weak, ...) make a ``red_flag`` unless they are negated
   ("no tingling"), or asked about in the second person ("down your leg"). This catches
   phrasings the templates do not spell out: missing a red flag is the one mistake the coach
   must not make.
3. **Self-echo rejection.** Text that is mostly one of the coach's own lines (the microphone
   hearing the speaker) is no intent, unless it is a short whole user command or a symptom.
   Speech for a smart speaker ("Alexa, ...", "OK Google, ...") is then no intent.
4. **Templates.** hassil matches the normalised text against the templates of the intents the
   phase accepts; the most literal match wins. Where a pain score is accepted, ranges and
   halves become one number first (``rewrite_scores``: "between five and six" and "five or
   six" -> six, the higher, as the cautious reading; "three and a half" -> four).
5. **Lenient fallbacks** (only when no template matches the whole text): framing words stripped
   at either end ("okay", "can we", "I think", "please"), clauses taken one at a time, a leading
   yes/no with an on-topic remainder, a negated symptom as "no", and keyword spotting where
   exactly one keyword intent sits among otherwise harmless words. Anything else is no intent
   (``None``), never the nearest guess.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

import yaml
from hassil import Intents, RecognizeResult, recognize_all
from hassil.sample import sample_intents

from .errors import IntentError
from .protocol import ALWAYS_ON, INTENTS, phase_intents

log = logging.getLogger(__name__)

_HESITATIONS = {"um", "umm", "uh", "uhh", "er", "erm", "hmm", "hm", "mm", "ah", "ahh", "eh", "oh",
                "ugh", "urgh", "argh", "huh", "phew"}
_LEADING_MARKERS = (
    "okay so", "alright so", "all right so", "right so", "so", "well", "hey coach",
    "hey", "coach", "listen", "look", "and", "oh", "ooh", "sorry", "excuse me", "pardon me",
    "actually", "erm", "oops", "ah", "gosh", "oh gosh", "goodness", "oh dear", "blimey",
    "crikey", "golly", "gee", "jeez", "righto", "right then", "okay then",
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


_YES_NOISES = re.compile(r"\b(uh[ -]?huh|mm[ -]?hmm+|mhm+|mm[ -]?hm|uh[ -]?hum)\b")
_CONTRACTIONS = (
    (re.compile(r"\bgonna\b"), "going to"), (re.compile(r"\bwanna\b"), "want to"),
    (re.compile(r"\bgotta\b"), "got to"), (re.compile(r"\bokey dokey\b|\bokie dokie\b"), "okay"),
    (re.compile(r"\bk\b|\bokey\b|\bkay\b"), "okay"), (re.compile(r"\bit s\b"), "it's"),
    (re.compile(r"\bthat s\b"), "that's"), (re.compile(r"\bi m\b"), "i'm"),
    (re.compile(r"\bdon t\b"), "don't"), (re.compile(r"\bcan t\b"), "can't"),
    (re.compile(r"\blet s\b"), "let's"), (re.compile(r"\bi ve\b"), "i've"),
    (re.compile(r"\bdidn t\b"), "didn't"), (re.compile(r"\bi d\b"), "i'd"),
    (re.compile(r"\bim\b"), "i'm"), (re.compile(r"\bdont\b"), "don't"),
    (re.compile(r"\blets\b"), "let's"), (re.compile(r"\bthats\b"), "that's"),
    (re.compile(r"\bcant\b"), "can't"), (re.compile(r"\bive\b"), "i've"),
    (re.compile(r"\bdidnt\b"), "didn't"), (re.compile(r"\bwhats\b"), "what's"),
    (re.compile(r"\bok\b"), "okay"), (re.compile(r"\b(till|til|'til|untill)\b"), "until"),
    (re.compile(r"\bcos\b|\bcause\b"), "because"), (re.compile(r"\bgimme\b"), "give me"),
    (re.compile(r"\blemme\b"), "let me"), (re.compile(r"\bhows\b"), "how's"),
    (re.compile(r"\bdunno\b"), "don't know"), (re.compile(r"\bkinda\b"), "kind of"),
    (re.compile(r"\bsorta\b"), "sort of"), (re.compile(r"\bdisk\b"), "disc"),
    (re.compile(r"\boutta\b"), "out of"), (re.compile(r"\bwhat'd\b"), "what did"),
    (re.compile(r"\bhow (long|much)'s\b"), r"how \1 is"), (re.compile(r"\bgive us\b"), "give me"),
    # non-native "I am finish" -> "I'm finished"
    (re.compile(r"\b(i'm|i am) finish\b"), "i'm finished"),
    # a body part or the pain with 's: "my leg's gone numb", "the pain's going into my calf"
    (re.compile(r"\b(leg|foot|calf|toe|thigh|knee|back|pain|hip|bum|buttock|shin|ankle|heel)'s "
                r"(gone|got|been|had)\b"), r"\1 has \2"),
    (re.compile(r"\b(leg|foot|calf|toe|thigh|knee|back|pain|hip|bum|buttock|shin|ankle|heel)'s "
                r"(going|getting|shooting|feeling|burning|tingling|killing|hurting|aching|numb|"
                r"tingly|weak|dead|asleep|sore|fine|okay|better|worse)\b"), r"\1 is \2"),
    # non-native "I want finish" -> "I want to finish"
    (re.compile(r"\b(want|need|would like|'d like)\s+(stop|finish|end|quit|pause|rest|continue|"
                r"resume|start|begin|skip|go|hold|do|repeat|release|let|change|switch|swap|try|"
                r"stay|keep|take|have)\b"), r"\1 to \2"),
)


def normalize(text: str) -> str:
    """Lower-case, plain words: punctuation, hesitations and framing words removed."""
    t = re.sub("[\u2018\u2019`]", "'", text.lower())
    t = _YES_NOISES.sub(" yes ", t)
    t = re.sub(r"\b(\d+)\s*/\s*10\b", r" \1 out of ten ", t)  # "6/10"
    t = re.sub(r"[^a-z0-9' ]+", " ", t)
    t = re.sub(r"\s+'|'\s+|^'|'$", " ", t)  # stray quotes
    for rx, repl in _CONTRACTIONS:
        t = rx.sub(repl, t)
    words = [w for w in t.split() if w not in _HESITATIONS]
    # repeated words ("wait wait", "stop stop stop") said once
    words = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
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
    r"\b(numb|numbness|numbed|numbing|numbish|tingl\w*|pins and needles|zing\w*|zap\w*|"
    r"sciatic\w*|electric(al)? (shock|shocks|feeling|pain|sensation|current|jolt|zap|buzz)\w*|"
    r"(feels?|felt|feeling|like|it's|is|was|an|bit|all|kind of|sort of|quite|very|really|gone) "
    r"electric\w*|electricity|"
    r"shooting|shoots|shot down|stabbing|searing|nerve pain|pinched nerve|"
    r"(like|of) (\w+ )?needles|needles (in|down|into|through|all over|on)|"
    r"(can'?t|cannot|can not|couldn'?t) (really |quite |properly |fully |even )?feel (my|me)|"
    r"((have|has|got|there's|there is|i've|i'm getting) no|lost|losing|lose) (the |all |any )?"
    r"(feeling|sensation) (in|down|into) (my|me|the|both|one) "
    r"(\w+ )?(leg|legs|foot|feet|toes|toe|calf|thigh|shin|ankle|heel))\b"
)
_RF_SHARP = re.compile(r"\bsharp\b")
_SIDE = r"(?:(?:left|right|other|bad|good|whole)\s+)?"
_LEG = (r"(leg|legs|thigh|thighs|calf|calves|shin|shins|foot|feet|toe|toes|ankle|ankles|"
        r"hamstring|hamstrings|buttock|buttocks|bum|butt|glute|glutes|heel|heels|knee|knees|"
        r"sole|soles|hip)")
#: body parts where plain pain ("my leg hurts") counts: not the knee, hip or the stretched muscles
#: (also what a free-pass red flag must name: ``voicecoach.asr_sphinx.RED_FLAG_CONTEXT``)
LEG_DISTAL = (r"(leg|legs|thigh|thighs|calf|calves|shin|shins|foot|feet|toe|toes|ankle|ankles|"
               r"heel|heels|sole|soles)")
_RF_DOWN_LEG = re.compile(
    r"\b(down|into|through|along|to|towards|toward|in|round)\s+(to\s+)?(all\s+the\s+way\s+)?"
    r"(the\s+(back|side|front|bottom|outside|inside)\s+of\s+)?(my|the|one|both|me|his|her|a)?\s*"
    + _SIDE + r"(?P<part>" + _LEG + r")\b(?P<poss>'s)?"
)
_PAIN_WORDS = re.compile(
    r"\b(hurt\w*|pain\w*|ach\w*|burn\w*|shoot\w*|shot|goes|going|gone|went|runs|running|ran|"
    r"travel\w*|radiat\w*|spread\w*|throb\w*|sore|killing|sent|sends|shock\w*|jolt\w*|"
    r"twing\w*|sensation|feeling|buzz\w*|prickl\w*|stab\w*|sharp|weird|funny|strange|"
    r"fire|fiery|hot|cramp\w*|pulse|pulses|electric\w*)\b"
)
_RF_LEG_STATE = re.compile(
    r"\b(my|the|both|one|this|that)\s+" + _SIDE + _LEG
    + r"(\s+(is|are|feels|feel|felt|went|has|have|is going|are going|got|just went|keeps|"
    r"is getting|seems)|'s|s)\s+(\w+\s+){0,3}"
    r"(?P<state>numb|tingly|dead|weak|asleep|funny|floppy|heavy and numb|useless|wobbly|giving way|"
    r"give way|giving out|gave out|give out|gives out|collaps\w*|buckl\w*|prickly|fizzy|"
    r"fizzing|buzzing|on fire|burning|zingy|electric|fuzzy|"
    r"furry|weird|strange|odd|cold and numb|sleep)\b"
)
_RF_LEG_HURTS = re.compile(
    r"\b(my|the|both|one|this|that)\s+" + _SIDE + LEG_DISTAL
    + r"(\s+(is|are|feels|feel|has been|keeps))?('s)?\s+(\w+\s+)?"
    r"(?P<state>hurts|hurting|aching|aches|painful|killing me|throbbing|burning|burns|sore)\b"
)
_RF_LEG_NOUN = re.compile(
    r"\b(pain|ache|burning|hurt|throbbing)\s+(in|down|into)\s+(my|the|both|one)\s+" + _SIDE
    + LEG_DISTAL + r"\b"
)
_NEGATORS = re.compile(
    r"\b(no|not|don't|dont|doesn't|doesnt|didn't|didnt|isn't|isnt|aren't|arent|haven't|havent|"
    r"hasn't|hasnt|never|without|none|nothing|nor|neither|free of|wasn't|wasnt|won't|cannot|"
    r"can't|nope|nah|zero)\b"
)
_CLAUSE_BREAK = re.compile(r"\b(but|although|though|except|however|now|yet|and now|apart from|"
                           r"and then|then|until|suddenly|actually)\b")
_SECOND_PERSON = re.compile(r"\b(you|your|you're|yours)\b")


def negated_before(before: str) -> bool:
    """Is the mention right after ``before`` negated within its own clause?"""
    parts = _CLAUSE_BREAK.split(before)
    clause = parts[-1] if parts else before
    return bool(_NEGATORS.search(" ".join(clause.split()[-6:])))


@dataclass(frozen=True)
class RedFlagAssessment:
    """What the red-flag screen found: an asserted symptom, and/or a negated mention of one."""

    asserted: bool
    negated: bool


def red_flag_assessment(norm: str) -> RedFlagAssessment:
    """Look for radiating or nerve-type symptoms in normalised text.

    A mention counts unless it is negated in its own clause ("no tingling", "nothing down my
    leg") or is about the listener ("anything down your leg?", the coach's own questions).
    """
    if not norm or _SECOND_PERSON.search(norm):
        return RedFlagAssessment(False, False)
    hits: list[int] = []
    for rx in (_RF_STRONG, _RF_LEG_NOUN, _RF_SHARP):
        hits += [m.start() for m in rx.finditer(norm)]
    for rx in (_RF_LEG_STATE, _RF_LEG_HURTS):
        # negation is checked right before the symptom word: "my leg is not numb"
        hits += [m.start("state") for m in rx.finditer(norm)]
    for m in _RF_DOWN_LEG.finditer(norm):
        # "down my leg" counts when something hurts/travels there: a pain word before it
        if m.group("poss"):
            continue  # "into my leg's position" and the like
        if _PAIN_WORDS.search(norm[: m.start()]) and not _knee_only(m):
            hits.append(m.start())
    asserted = any(not negated_before(norm[:pos]) for pos in hits)
    negated = any(negated_before(norm[:pos]) for pos in hits)
    return RedFlagAssessment(asserted, negated)


def _knee_only(m: re.Match[str]) -> bool:
    """'in my knee' / 'in my hip' is local; 'down to my knee' is radiating."""
    return m.group("part") in ("knee", "knees", "hip") and m.group(1) in ("in", "round", "to")


def red_flag_mentioned(norm: str) -> bool:
    """True when normalised text asserts radiating or nerve-type symptoms."""
    return red_flag_assessment(norm).asserted


# ---------------------------------------------------------------------------- echo check
def _bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(pairwise(words))


class EchoFilter:
    """Recognises the coach's own lines (all cue variants) coming back through the microphone."""

    def __init__(self, lines: Iterable[str], min_words: int = 4, threshold: float = 0.75) -> None:
        self._lines = [normalize(x).split() for x in lines if x.strip()]
        self._grams = [_bigrams(w) for w in self._lines]
        self.min_words = min_words
        self.threshold = threshold

    def overlap(self, norm: str) -> float:
        """The largest share of the text's word pairs found in one coach line (0 if short)."""
        words = norm.split()
        if len(words) < self.min_words:
            return 0.0
        mine = _bigrams(words)
        if not mine:
            return 0.0
        return max((len(mine & grams) / len(mine) for grams in self._grams), default=0.0)

    def is_echo(self, norm: str) -> bool:
        return self.overlap(norm) >= self.threshold


# --------------------------------------------------------------------------------- parser
@cache
def load_templates_dict() -> dict[str, Any]:
    """The intent templates as a dict (from the installed package, or the source tree)."""
    try:
        res = resources.files("voicecoach.resources.intents")
        text = res.joinpath("en.yaml").read_text("utf-8")
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
        """Parse one utterance; with ``phase``, only what that phase accepts is recognised.

        While the session is paused, a start ("I'm ready", "let's go") can only mean carrying
        on, and is reported as ``resume``. Outside a pause, a resume said after a yes ("yeah, go
        on then", "yes carry on"; not "okay carry on") can only be the yes, where a yes is heard."""
        result = self._parse(text, phase)
        if phase == "paused" and result.intent == "start":
            return replace(result, intent="resume")
        if phase not in (None, "paused") and result.intent == "resume" \
                and "yes" in phase_intents(phase) and _leading_yes(normalize(text)):
            return replace(result, intent="yes", slots={})
        return result

    def _parse(self, text: str, phase: str | None) -> ParseResult:
        allowed = set(phase_intents(phase))
        norm = normalize(text)
        if not norm:
            if "repeat" in allowed and _HUH.fullmatch(text.lower()):
                return ParseResult(text, "repeat", {}, 0.6)
            return ParseResult(text, None)
        flag = red_flag_assessment(norm)
        best = self._match(norm, allowed)
        overlap, needed = self._echo(norm)
        if overlap >= needed and (
                (best is None and not flag.asserted)
                or (overlap >= 0.9 and len(norm.split()) >= 6)):
            # mostly a coach line: the coach's own voice coming back. A user command or symptom
            # that shares words with a cue stays what it says ("let's pick it up again", "I want
            # to end the session") unless it is a long, near-verbatim copy of the cue.
            log.debug("echo of a coach line ignored: %r", text)
            return ParseResult(text, None)
        if (best is not None and best.intent == "red_flag") or flag.asserted:
            return ParseResult(text, "red_flag", {}, 1.0 if best is not None else 0.9, True)
        if _WAKE_WORDS.search(norm):
            log.debug("speech for a smart speaker ignored: %r", text)
            return ParseResult(text, None)
        if best is not None:
            return best.with_text(text)
        found = self._lenient(text, norm, allowed, flag)
        if found is not None:
            return ParseResult(text, found.intent, found.slots, found.confidence, found.explicit)
        return ParseResult(text, None)

    def _echo(self, norm: str) -> tuple[float, float]:
        """The text's overlap with the closest coach line, and the overlap that makes it the
        coach's voice (all of it for a short text, ``EchoFilter.threshold`` from six words)."""
        return self.echo.overlap(norm), (self.echo.threshold if len(norm.split()) >= 6 else 1.0)

    def is_coach_line(self, text: str) -> bool:
        """Whether ``text`` reads as one of the coach's own lines (what :meth:`parse` turns down
        as the coach's voice coming back, unless it is also a command or a symptom)."""
        overlap, needed = self._echo(normalize(text))
        return overlap >= needed

    # ------------------------------------------------------------------- lenient steps
    def _lenient(self, text: str, norm: str, allowed: set[str],
                 flag: RedFlagAssessment) -> _Match | None:
        """Fallbacks for utterances no template matches whole, most literal first.

        1. framing words stripped at either end ("okay", "right", "I think", "please", "now");
           the same request said twice in other words ("I'm ready, let's get going");
        2. clauses (split at commas and "but"): one clear intent among them wins;
        3. a command with an aside before or after it, unpunctuated ("hang on the doorbell's
           going", "I'm all at sea here, what do I do");
        4. a leading yes/no word whose remainder means nothing else ("no, just my back");
        5. a negated symptom where yes/no is asked ("no tingling" -> no);
        6. keyword spotting: exactly one keyword among otherwise harmless words.
        """
        m = self._stripped(norm, allowed)
        if m is not None:
            return m.scaled(0.85)
        m = self._twice(norm, allowed)
        if m is not None:
            return m.scaled(0.85)
        m = self._clauses(text, allowed)
        if m is not None:
            return m.scaled(0.8)
        m = self._split(norm, allowed)
        if m is not None:
            return m.scaled(0.75)
        m = self._yes_no_lead(norm, allowed)
        if m is not None:
            return m
        if flag.negated and not flag.asserted and "no" in allowed:
            return _Match("no", {}, False, 0, 0.7)
        for variant in (norm, *_strip_variants(norm, keep_sides="choose_side" in allowed)):
            m = self._keywords(variant, allowed)
            if m is not None:
                return m
        return None

    def _twice(self, norm: str, allowed: set[str]) -> _Match | None:
        """The same request said twice in other words, unpunctuated: both halves are whole
        commands (framing words stripped) of one intent with the same slots ("I'm a bit lost,
        what am I supposed to be doing"); the longer half's reading. Bare yes/no answers are
        left to the yes/no steps."""
        words = norm.split()
        for k in range(2, len(words) - 1):
            left, right = " ".join(words[:k]), " ".join(words[k:])
            a = self._firm(left, allowed)
            if a is None or a.intent in ("yes", "no"):
                continue
            b = self._firm(right, allowed)
            if b is not None and (b.intent, b.slots) == (a.intent, a.slots):
                return a if k >= len(words) - k else b
        return None

    def _yes_no_lead(self, norm: str, allowed: set[str]) -> _Match | None:
        """A leading yes/no word whose remainder asks for nothing else; or one before a whole
        request that needs no yes or no ("nah, skip it", "no, say that again")."""
        words = norm.split()
        rest = " ".join(words[1:])
        limit = 12 if _ON_TOPIC.search(rest) else 7
        if not (1 < len(words) <= limit and words[0] in _YES_WORDS | _NO_WORDS):
            return None
        if _elsewhere(rest) or _HOUSEHOLD.search(rest):
            return None  # "yeah I'll be there in five minutes": someone else
        request = self._match(rest, allowed)
        if request is not None and request.intent in _REQUESTS:
            return request.scaled(0.75)
        if request is not None or self._keywords(rest, allowed) is not None:
            return None
        if _STOP_WORDS.search(rest) or _keyword_intents(rest, allowed) - {"yes", "no",
                                                                           "choose_side"}:
            return None  # "okay that's enough stop": a request, if anything, not an answer
        intent = "yes" if words[0] in _YES_WORDS else "no"
        if intent in allowed and (intent == "no" or not _NEGATORS.search(rest)):
            return _Match(intent, {}, False, 0, 0.7)
        return None

    def _firm(self, norm: str, allowed: set[str]) -> _Match | None:
        """A template match of ``norm`` as it is, else with framing words stripped."""
        return self._match(norm, allowed) or self._stripped(norm, allowed)

    def _stripped(self, norm: str, allowed: set[str]) -> _Match | None:
        for variant in _strip_variants(norm, keep_sides="choose_side" in allowed):
            m = self._match(variant, allowed)
            if m is not None:
                return m
        return None

    def _clauses(self, text: str, allowed: set[str]) -> _Match | None:
        raw = [normalize(c) for c in _CLAUSE_SPLIT.split(text.lower())]
        clauses = [c for c in raw if c]
        if len(clauses) < 2:
            return None
        found: list[_Match] = []
        weak: list[_Match] = []  # yes/no, and a leading bare "right," (a discourse marker)
        for i, c in enumerate(clauses):
            if _NEGATED_CLAUSE.match(c):
                continue  # "don't skip it": not a request to skip
            if c in _AFFIRMATIONS and len(clauses) > 1:
                continue  # "right, definitely": the affirmation only stresses another clause
            m = self._firm(c, allowed) or self._keywords(c, allowed)
            if m is not None:
                found.append(m)
                if m.intent in ("yes", "no") or (i == 0 and c == "right"):
                    weak.append(m)
        if not found:
            return None
        strong = [m for m in found if not any(m is w for w in weak)]
        if not strong and any(_elsewhere(c) for c in clauses):
            return None  # "no love, it's in the kitchen": an answer to someone else
        if strong and strong[-1].intent == "stop" and any(_ERRAND.match(c) for c in clauses) \
                and all(len(c.split()) <= 2 for c in clauses if self._firm(c, allowed)):
            return None  # "stop that and go brush your teeth": to a child, not the coach
        if strong:
            return strong[-1]
        # only weak answers: "right, I'm on the mat" is a yes, "right, definitely" the right side
        plain = [m for m in found if m.intent != "choose_side"]
        return (plain or found)[-1]

    def _split(self, norm: str, allowed: set[str]) -> _Match | None:
        """A whole command (two words or more, not a bare yes/no) at the start or the end, the
        rest an aside that asks for nothing else ("hold up, kid's crying"). Where several
        splits give commands they must agree; the longest command wins."""
        words = norm.split()
        n = len(words)
        if not 3 <= n <= SPLIT_MAX_WORDS:
            return None
        found: list[tuple[int, _Match]] = []
        for k in range(1, n):
            for part, aside, size, aside_after in ((words[:k], words[k:], k, True),
                                                   (words[k:], words[:k], n - k, False)):
                if size < 2:
                    continue
                if part[-1] in _OPEN_ENDS:
                    continue  # "how long is [the film on]": the command is not finished
                m = self._match(" ".join(part), allowed)
                if m is None or m.intent in ("yes", "no", "choose_side"):
                    continue
                if self._aside(aside, allowed, m.intent, aside_after):
                    found.append((size, m))
        if not found or len({m.intent for _, m in found}) != 1:
            return None
        return max(found, key=lambda f: (f[0], f[1].rank()))[1]

    def _aside(self, words: list[str], allowed: set[str], intent: str, after: bool) -> bool:
        """Is ``words`` (said ``after`` the command, else before it) an aside that leaves the
        command as it is: no other request, no continuation of the command ("hold on to the
        rail"), no negation of it ("I don't want to stop")?"""
        text = " ".join(words)
        if text in _DISCOURSE:
            return True
        # any intent, not only the phase's: "hold it longer" is no pause with an aside where
        # "longer" is not accepted
        m = self._firm(text, _EVERY_INTENT) or self._keywords(text, _EVERY_INTENT)
        if m is not None and m.intent not in ("yes", "no"):
            # the same request twice ("I'm lost, what do I do"); "that's enough" (done) before
            # "end the session" only leads up to the stop
            return m.intent == intent or (m.intent, intent, after) == ("done", "stop", False)
        if _elsewhere(text):
            return False  # "hang on, let me call you back": said to someone else
        if after:
            if words[0] in _CONTINUATIONS:
                return False
            # "help me [find my keys]", "skip this [ad already]": the command's object, not an
            # aside; only a pause takes a bare reason ("hang on, the doorbell")
            return bool(_CLAUSE.search(text)) or (intent == "pause" and len(words) <= 3)
        return not (words[-1] in _CONTINUATIONS or _NEGATORS.search(" ".join(words[-3:]))
                    or (len(words) > 3 and not _CLAUSE.search(text)))

    def _keywords(self, norm: str, allowed: set[str]) -> _Match | None:
        """Exactly one keyword intent, every other word harmless (fillers, hedges, context)."""
        t = _OUT_OF_TEN.sub(" ", norm)
        hits: dict[tuple[str, tuple[tuple[str, Any], ...]], None] = {}
        context: set[str] = set(_FILLER_WORDS)
        for intent, slots, rx, ctx in _spottable(norm, allowed):
            new_t, n = rx.subn(" ", t)
            if n:
                hits[(intent, tuple(sorted(slots.items())))] = None
                context |= ctx
                t = new_t
        if len(hits) != 1:
            return None
        rest = [w for w in t.split() if w not in context]
        if rest:
            return None
        (intent, slot_items), = hits
        slots = dict(slot_items)
        if intent == "pain_score":
            score = _score_in(norm)
            if score is None:
                return None
            slots = {"score": score}
        return _Match(intent, slots, False, 0, 0.6)

    def _match(self, norm: str, allowed: set[str]) -> _Match | None:
        if "pain_score" in allowed:
            norm = rewrite_scores(norm)
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

    def command_at_edge(self, text: str, phase: str | None, intent: str,
                        min_words: int) -> bool:
        """Whether ``text`` starts or ends with a whole command of ``intent`` (a template match
        of at least ``min_words`` words, not the whole text): what a reading as a command with
        an aside rests on."""
        words = normalize(text).split()
        allowed = set(phase_intents(phase))
        for k in range(min_words, len(words)):
            for part in (words[:k], words[-k:]):
                m = self._match(" ".join(part), allowed)
                if m is not None and m.intent == intent:
                    return True
        return False

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
    confidence: float = 1.0

    def rank(self) -> tuple[int, int, int]:
        # Always-on intents win ties, except "resume": "keep going" while holding asks for a
        # longer hold, and resume only means something while paused (where "longer" is not heard).
        on = -1 if self.intent == "resume" else int(self.intent in ALWAYS_ON)
        return (int(self.intent == "red_flag"), self.literal_chars, on)

    def with_text(self, text: str) -> ParseResult:
        return ParseResult(text, self.intent, self.slots, self.confidence, self.explicit)

    def scaled(self, factor: float) -> _Match:
        return _Match(self.intent, self.slots, self.explicit, self.literal_chars,
                      self.confidence * factor)


# --------------------------------------------------------------------- lenient matching data
_YES_WORDS = frozenset({"yes", "yeah", "yep", "yup", "yah", "aye", "sure", "okay", "alright",
                        "correct", "ya", "yea"})
_NO_WORDS = frozenset({"no", "nope", "nah", "nay"})
#: Words that answer a question by themselves (the recogniser keeps hesitations out of phrases
#: that start with one).
ANSWER_WORDS = _YES_WORDS | _NO_WORDS
#: Words that show a remainder is talk to someone else, not an answer to the coach.
_ELSEWHERE = re.compile(r"\b(you|you're|your|i'll be|minutes|tonight|tomorrow|later|mum|dad|"
                        r"love|darling|honey|babe|hello|speaking|who's calling|ring you|"
                        r"call you)\b")
#: Household things after a yes or no: the answer is to someone in the room ("no, that's the
#: wrong remote"). Not a sign on its own: "hang on, the kettle" is a pause with its reason.
_HOUSEHOLD = re.compile(r"\b(remote|telly|tv|channel|dinner|biscuits?|homework|kettle|shoes?)\b")
#: A clause that sends someone off to do something ("go brush your teeth", "come here"): beside a
#: bare "stop that", the stop is said to them, not to the coach.
_ERRAND = re.compile(r"(go|come|get|put|sit|eat|brush|tidy|pick|give|leave|wash) (?!me\b)\w+")
#: Speech addressed to a smart speaker or phone assistant, not to the coach.
_WAKE_WORDS = re.compile(r"\b(alexa|siri|cortana|bixby|(hey|okay|hi) google)\b")
#: A lone hesitation asked as a question ("eh?", "hmm?"): the user did not catch the line.
_HUH = re.compile(r"\s*((eh|hmm+|hm|er|erm|uh)\s*\?+|huh\s*\?*)\s*")
#: Words that keep a longer yes/no answer on topic ("yeah, they said it was a herniated disc").
#: A promise ("I'll take the parcel"): said to someone else unless it is about the stretch.
_PROMISE = re.compile(r"\b(i'll|i will) \w+")
_EXERCISE = re.compile(r"\b(lie|lying|floor|mat|knee|knees|stretch|breathe|breathing|hold|try|"
                       r"side|left|right|tailbone|start|go|ready|do it|do that|relax)\b")


_PLAIN_YES = frozenset({"yes", "yeah", "yep", "yup", "ya", "yea", "aye"})  # not "okay", "alright"


def _leading_yes(norm: str) -> bool:
    """Does ``norm`` (normalised: hesitations are gone) start with a plain yes ("er yeah go on
    then")?"""
    return norm.partition(" ")[0] in _PLAIN_YES


def _elsewhere(text: str) -> bool:
    """Does this (remainder of an) answer show the user is talking to someone else?"""
    if _ELSEWHERE.search(text):
        return True
    return bool(_PROMISE.search(text)) and not (_ON_TOPIC.search(text) or _EXERCISE.search(text))


_ON_TOPIC = re.compile(r"\b(disc|discs|back|spine|leg|legs|pain|doctor|physio|gp|scan|mri|"
                       r"problem|problems|floor|ready|told|said|diagnosed|bulge|bulging)\b")
_CLAUSE_SPLIT = re.compile(r"[,;.!?]+|\s-\s|\bbut\b|\band\b|\bthen\b")
_AFFIRMATIONS = frozenset({"definitely", "absolutely", "certainly", "for sure", "surely",
                           "of course", "really", "honestly", "i think", "i reckon"})
_NEGATED_CLAUSE = re.compile(r"^(don't|do not|not|never|no need to|dont)\b")
_OUT_OF_TEN = re.compile(r"\b(out of|outta|over|on|from) (ten|10)\b|\bon the scale\b")

#: Framing words people put around a command, stripped one at a time from either end.
_STRIP_LEAD = ("okay", "alright", "all right", "right", "yeah", "yes", "yep", "so", "well", "now",
               "and", "but", "then", "oh", "sorry", "please", "just", "um", "hmm", "look",
               "listen", "hey", "erm", "ooh", "ow", "ouch", "i said", "i mean", "maybe",
               "honestly", "really", "actually", "uh", "mate", "love", "coach", "good",
               "great", "cool", "fine", "perfect", "lovely", "nice", "thanks", "can we",
               "can i", "could we", "could i", "could you", "can you", "would you", "will you",
               "i want to", "i'd like to", "i would like to", "i'd rather", "i need to",
               "let me", "let's", "i think", "i guess", "i reckon", "i'd say", "erm",
               "excuse me", "sorry but", "hey coach", "okay coach", "do you mind if i",
               "shall we", "should we", "shall i", "should i", "may i", "may we", "kindly",
               "would you kindly", "would you please", "could you please", "i'll", "i will",
               "i'm going to", "i think i'll", "we", "whenever you're ready", "when you're ready",
               "cheers", "go on then", "go on", "ugh", "dude", "give me", "i want",
               "i'd like", "i would like", "oh dear", "okay love", "right then", "alright then",
               "okay then", "i take", "that's it", "definitely", "probably")
_STRIP_TAIL = ("please", "thanks", "thank you", "i think", "i guess", "i reckon", "i suppose",
               "maybe", "then", "now", "really", "actually", "definitely", "probably", "though",
               "i'd say", "for me", "this time", "for now", "mate", "love", "coach", "okay",
               "alright", "all right", "right now", "for a bit", "if that's okay",
               "if you don't mind", "if that's alright", "if that's all right", "if it's okay",
               "if it's alright", "if it's all right", "if possible", "if i can", "at the moment",
               "anyway",
               "i believe", "to be honest", "there", "here", "yeah", "then please", "first",
               "in the session", "in this session", "in total", "altogether", "for me please",
               "again please", "if you can", "would you", "could you", "can you", "for today",
               "at once", "instead", "for a second", "for a moment", "on this one", "on this side",
               "on this", "on these", "on these ones", "on them",
               "from where we were", "from where we left off", "where we left off",
               "from where we stopped",
               "indeed", "i'm afraid", "unfortunately", "sadly", "a touch", "a tad", "a bit",
               "a little", "for me today", "if you would", "if you please", "for us",
               "whatsoever", "at all", "real quick", "quickly", "completely", "dear",
               "i should think", "shall we", "will you", "won't you", "with this", "with that",
               "only", "honestly", "today", "when you are", "sorry", "overall", "even less",
               "or less", "maybe less", "or even less", "maybe more", "or more", "or so")


#: A trailing reason ("because of my disc", "since my back's bad"): dropped as a framing variant.
_REASON = re.compile(r"\s(because|since|as my|as i|as it's|so that|for my (disc|back|bad back))\b")


#: The start of a clause with its own subject, or a "done": after it, a leading "right" is a
#: filler ("right, I'm lying down", "right, done that").
_CLAUSE_START = re.compile(
    r"(i'm|i am|i've|i have|i'll|let's|that's|it's|we're|we are|done|finished)\b")


def _strip_variants(norm: str, keep_sides: bool = False) -> list[str]:
    """``norm`` with framing words removed from the ends, shortest change first.

    With ``keep_sides``, a leading "right" is an answer (the right side), not a filler, unless
    a clause of its own follows ("right, I'm lying down now").
    """
    out: list[str] = []
    seen = {norm}
    frontier = [norm]
    for _ in range(3):
        nxt: list[str] = []
        for t in frontier:
            reason = _REASON.search(t)
            if reason and reason.start() > 0:
                nxt.append(t[: reason.start()])  # "the tailbone one because of my disc"
            before, so, after = t.partition(" so ")
            if so and before and after:
                nxt.append(after)  # "I've got a disc problem, so I'll do the gentle one"
            for w in _STRIP_LEAD:
                if t.startswith(w + " ") and not (
                        keep_sides and w == "right" and not _CLAUSE_START.match(t[len(w) + 1:])):
                    nxt.append(t[len(w) + 1:])
            for w in _STRIP_TAIL:
                if t.endswith(" " + w):
                    nxt.append(t[: -len(w) - 1])
            first, _, rest = t.partition(" ")
            for answer in (_YES_WORDS, _NO_WORDS):
                # the answer said again at the end: "no, I don't think so, no"
                if first in answer and rest.rpartition(" ")[2] in answer:
                    nxt.append(t.rpartition(" ")[0])
        frontier = []
        for v in nxt:
            v = v.strip()
            if v and v not in seen:
                seen.add(v)
                out.append(v)
                frontier.append(v)
    return out


#: Harmless words that may surround a keyword: hedges, pronouns, politeness, filler.
def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FILLER_WORDS = _word_set(
    "a an the i i'm i'd i'll i've me my it it's its is was be been that that's this so just "
    "okay alright right yeah yes yep well now then please thanks think guess reckon suppose "
    "maybe probably definitely really actually um uh oh hmm say would like about around "
    "roughly approximately pretty quite very bit little kind of sort for to at and or ooh "
    "today honestly mate love coach one again go let's can could we you do")

#: Requests a leading yes/no does not change ("nah, skip it"); yes/no answers stay with step 4.
#: Not stop: "no, stop" answering "shall we end the session?" could mean either.
_REQUESTS = frozenset({"skip", "repeat", "help", "time_left", "pause"})
#: Every intent: what an aside (``IntentParser._aside``) must not ask for, whatever the phase.
_EVERY_INTENT = set(INTENTS)  # read only
#: The longest utterance the command-and-aside split (``IntentParser._split``) tries.
SPLIT_MAX_WORDS = 14
#: An aside that is only a discourse marker ("right, what's next").
_DISCOURSE = frozenset({"right", "okay", "alright", "so", "well", "now", "right then", "okay so",
                        "that's it", "right that's it", "okay that's it"})
#: Words that carry a command on rather than start an aside ("hold on to the rail").
_CONTINUATIONS = _word_set(
    "to for with of at from by than as about until if that into onto off out over up down in "
    "on and or but is are was were be should could would will can must might may want need "
    "wants needs do does did don't doesn't didn't won't can't")
#: Words a command does not end with ("how long is ...", "skip the ...").
_OPEN_ENDS = _word_set(
    "the a an my your his her their our to of for with and or at from by than as")
#: A clause of its own: a subject or a verb ("the doorbell's going", "I'm all at sea here").
_CLAUSE = re.compile(r"\b(i|i'm|i've|i'll|i'd|we|we're|we've|they|they're|he|she|he's|she's|"
                     r"it's|there's|that's|is|are|was|were|has|have|had|wants|needs|\w+'s)\b")

_NUM = (r"(zero|one|two|three|four|five|six|seven|eight|nine|ten|nought|nil|none|"
        r"0|1|2|3|4|5|6|7|8|9|10)")
_NUM_VALUE = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])}
_NUM_VALUE.update({"nought": 0, "nil": 0, "none": 0})
_NUM_VALUE.update({str(i): i for i in range(11)})


#: "one" as a pronoun, not a number: "this one", "the tailbone one", "one knee", "one more".
_ONE_BEFORE = _word_set(
    "this that the next other last which each every no any tailbone normal regular usual basic "
    "gentle gentler safer easy easier hard harder first second left right same good bad one "
    "double single egg")
_ONE_AFTER = _word_set("knee knees leg legs side sides at more of thing bit step moment sec second "
                       "minute")


def _number_values(t: str) -> list[int]:
    """The 0..10 numbers in normalised text, "one" used as a pronoun left out."""
    out = []
    words = t.split()
    for i, w in enumerate(words):
        if w not in _NUM_VALUE:
            continue
        if w == "one" and ((i > 0 and words[i - 1] in _ONE_BEFORE)
                           or (i + 1 < len(words) and words[i + 1] in _ONE_AFTER)):
            continue
        out.append(_NUM_VALUE[w])
    return out


def _score_in(norm: str) -> int | None:
    """The single 0..10 number in the text ("out of ten" ignored); None if none or several.

    Ranges and halves are resolved first (see ``rewrite_scores``).
    """
    t = _OUT_OF_TEN.sub(" ", rewrite_scores(norm))
    values = set(_number_values(t))
    return values.pop() if len(values) == 1 else None


_HALF = re.compile(r"\b" + _NUM + r" (and a half|point five|and a bit|and a little bit)\b")
_RANGE = re.compile(r"\b(?:(?:between|from|somewhere between) )?(?:a |an )?" + _NUM
                    + r" (?:(?P<conn>or|to|and|or maybe|maybe|or even|or a|to a|and a|or an) )?"
                    r"(?:a |an )?" + _NUM + r"\b")


def rewrite_scores(norm: str) -> str:
    """Pain scores said as a range or with a half, as one whole number (the documented rule).

    A range or two numbers offered together ("between five and six", "five or six", "five,
    six") -> the higher one: the cautious reading of a pain score. A half ("three and a half",
    "three point five") rounds up; "and a bit" rounds down. Out-of-range numbers are left alone.
    """
    def half(m: re.Match[str]) -> str:
        n = _NUM_VALUE[m.group(1)]
        n = n if "bit" in m.group(2) else n + 1
        return _NUM_WORDS[n] if n <= 10 else m.group(0)

    def rng(m: re.Match[str]) -> str:
        a, b = _NUM_VALUE[m.group(1)], _NUM_VALUE[m.group(3)]
        if a == b or abs(a - b) > 3 or (m.group("conn") is None and abs(a - b) > 1):
            return m.group(0)
        return _NUM_WORDS[max(a, b)]

    t = _HALF.sub(half, norm)
    return _RANGE.sub(rng, t)


def _kw(intent: str, slots: dict[str, Any], pattern: str,
        context: str = "") -> tuple[str, dict[str, Any], re.Pattern[str], frozenset[str]]:
    return intent, slots, re.compile(r"\b(" + pattern + r")\b"), _word_set(context)


_SIDE_CONTEXT = (
    "side leg knee hip one felt feels was is tighter tight stiffer stiff worse more tense "
    "first start with begin probably definitely think reckon say the my lot much way bit "
    "little a far take go want")

#: Keyword spotting for short utterances: (intent, slots, keyword pattern, extra harmless words).
#: Only used when no template matches and exactly one of these intents is spotted.
_KEYWORDS = (
    _kw("pain_score", {}, r"(a |an )?" + _NUM,
        "pain back back's score is it's feels feel feeling felt like solid still down up at "
        "now better worse easier hurts hurting level number scale out of ten give call i'd "
        "would rate rated rating it'd probably or ish today tonight currently maybe "
        "honestly comfortable stiff stiffer go with put mark down as so more less going gone "
        "went dropped come came back's bad terrible awful horrible killing me not great doesn't "
        "hurt at all should"),
    _kw("time_left", {}, r"(how long|how much longer|how much (more )?time|how much more|"
        r"how many (more )?(seconds|minutes|secs|mins))( is)?( left| to go| remaining)?|"
        r"(nearly|almost) (there|done|finished|over)|(time|seconds|minutes) left|"
        r"when (is|does|will) (it|this|the session|the hold) "
        r"(finish|end|be over|be done)|when is finish",
        "is left of the whole thing this session hold stretch on do i we have got to more still "
        "are there yet be it one side go remaining for keep holding hold it's in"),
    _kw("variation", {"variation": "double_knee"},
        r"both (my |of my |the )?knees|both (my |of my |the )?legs|double knee|two knees|"
        r"both (of them )?(together|at once|at the same time)",
        "do try pull bring hug in up together version variation want to instead let's at once "
        "rather time this with same switch back change"),
    _kw("variation", {"variation": "single_knee"},
        r"one (knee|leg) at a time|single (knee|leg)|one knee|one leg",
        "do try go back to switch change version variation want instead let's rather time a at "
        "the just with again only"),
    _kw("variation", {"variation": "tailbone_heavy"},
        r"tailbone|tail bone|tailbone heavy|tail bone heavy",
        "heavy down on floor the keep version variation one want to do try instead let's with "
        "pinned rather switch back change gentle gentler easy easier safer where stays stay my "
        "can could we i"),
    _kw("choose_side", {"side": "left"}, r"left|left hand", _SIDE_CONTEXT),
    _kw("choose_side", {"side": "right"}, r"right hand|right", _SIDE_CONTEXT),
    _kw("no", {}, r"neither|neither side|no difference|same|even|equal",
        "felt feel were was they both sides side about pretty much the really much not of "
        "them honestly to hard tell say"),
    _kw("skip", {}, r"skip|skip it|skip this|skip that",
        "this that part bit step one the breathing breaths breathe settling stuff stretch "
        "stretching to straight ahead it"),
    _kw("pause", {}, r"pause", "this that it the session for a moment second sec minute bit"),
    _kw("resume", {}, r"resume|unpause|carry on|continue",
        "back we're i'm ready where were we it the session from"),
    _kw("repeat", {}, r"repeat|say that again|say it again|come again|what did you (just )?say",
        "that it the last bit part instruction instructions what you said question line step "
        "sentence about floor knee knees leg shin thigh hands breathing side back position "
        "arms"),
    _kw("longer", {}, r"longer|more seconds|more time|extra time|extra seconds|few more|"
        r"another (\w+ )?(seconds|secs)|another (bit|minute|round|one|few)|extend|"
        r"a (bit|little) more",
        "hold stay keep it a bit little more give me can have another few some here there going "
        "staying holding this in while the let like i'd feels good lovely nice with not yet "
        "that's reps for seconds"),
    _kw("done", {}, r"let go|letting go|release|releasing|finished|done|i finish|did it",
        "i'm going to now okay that's it i've all those these them with this one side that "
        "am we're we've have me the hold stretch got settled"),
    _kw("too_much", {}, r"too much|too far|too hard|too tight|too intense|too strong|too deep|"
        r"intense|painful|uncomfortable|sore|(pulling|pulls|stretching|straining) (a lot|hard)|"
        r"a bit much|overdoing it|ease off|back (it )?off|killing me",
        "it's that's this is it that getting feels feeling bit quite really very pulling "
        "stretching pushing way much ow ouch ooh ah for back knee hip neck me my old on stretch "
        "can i i'm hurts"),
    _kw("switch_side", {}, r"other side|other leg|other knee|other one|switch sides|swap sides|"
        r"swap legs|switch legs|switch side|change (legs|leg|sides|side|over)|flip( over)?",
        "the to now do switch swap change over try let's i'd like want it up i"),
)


#: After a yes or no word, words that ask to end something: the utterance is then a request, if
#: anything, not an answer ("okay that's enough stop", "okay that's enough of the session").
_STOP_WORDS = re.compile(r"\b(stop|quit|end|finish|session)\b")


def _spottable(norm: str, allowed: set[str]) -> Iterator[
        tuple[str, dict[str, Any], re.Pattern[str], frozenset[str]]]:
    """The ``_KEYWORDS`` entries that may be spotted in ``norm``: of ``allowed`` intents, and a
    pain score only where ``norm`` holds one (not the "one" of "the tailbone one")."""
    for entry in _KEYWORDS:
        intent = entry[0]
        if intent in allowed and (intent != "pain_score" or _score_in(norm) is not None):
            yield entry


def _keyword_intents(norm: str, allowed: set[str]) -> set[str]:
    """Every keyword intent of ``allowed`` spotted in ``norm``, whatever the other words."""
    t = _OUT_OF_TEN.sub(" ", norm)
    return {intent for intent, _slots, rx, _ctx in _spottable(norm, allowed) if rx.search(t)}


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
