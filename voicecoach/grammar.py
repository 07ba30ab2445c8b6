"""Per-phase recogniser grammars built from the hassil intent templates (``intents/en.yaml``).

Two products, both from the same templates as the text parser:

* a **word graph** per phase (:func:`phase_graph`): a finite-state grammar over words, built by
  converting hassil's expression tree (sequences, alternatives, optionals, ``<rule>`` references,
  ``{score}``/``{side}`` lists) into a character automaton and reading words off it. Nothing is
  enumerated, so the combinatorial ``red_flag`` templates stay small (a few thousand arcs). Template
  pieces glued inside a word (``i('m| am)``) come out right because words are cut at spaces only.
  :meth:`WordGraph.to_jsgf` writes it as a JSGF grammar and :meth:`WordGraph.transitions` feeds
  PocketSphinx's ``Decoder.create_fsg`` directly (JSGF rule references are copied on every use
  when PocketSphinx compiles them, so the transitions are the compact form).
* a **phrase list** per phase for Vosk (:func:`phase_phrases`): a bounded sample of phrases,
  lower case, numbers as words.

Words that a pronunciation dictionary lacks can be dropped (:meth:`WordGraph.restrict`), which
removes just the arcs that need them; every drop is logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .protocol import phase_intents

log = logging.getLogger(__name__)

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten")

_MAX_RULE_DEPTH = 16


def _number_word(tok: str) -> str:
    if tok.isdigit() and 0 <= int(tok) <= 10:
        return NUMBER_WORDS[int(tok)]
    return {"20": "twenty", "30": "thirty", "15": "fifteen"}.get(tok, tok)


def _clean_char(c: str) -> str:
    """Template text to recogniser text: lower case, '-' and punctuation other than ' to space."""
    c = c.lower()
    if c.isalnum() or c == "'":
        return c
    return " "


class _CharNfa:
    """A character-level automaton built from hassil expressions (epsilon arcs carry None)."""

    def __init__(self, intents: Any) -> None:
        self.intents = intents
        self.arcs: list[list[tuple[str | None, int]]] = []

    def new(self) -> int:
        self.arcs.append([])
        return len(self.arcs) - 1

    def text(self, src: int, text: str) -> int:
        cur = src
        for ch in text:
            nxt = self.new()
            self.arcs[cur].append((_clean_char(ch), nxt))
            cur = nxt
        return cur

    def build(self, expr: Any, src: int, depth: int = 0) -> int:
        from hassil.expression import (
            Alternative,
            ListReference,
            Permutation,
            RuleReference,
            Sequence,
            TextChunk,
        )

        if isinstance(expr, TextChunk):
            return self.text(src, expr.text)
        if isinstance(expr, (Alternative, Permutation)):
            items = list(expr.items)
            if isinstance(expr, Permutation):  # all orders, space separated
                from itertools import permutations

                items = [Sequence(items=[x for it in p for x in (it, TextChunk(" "))])
                         for p in permutations(expr.items)]
            end = self.new()
            for item in items:
                e = self.build(item, src, depth)
                self.arcs[e].append((None, end))
            if isinstance(expr, Alternative) and expr.is_optional:
                self.arcs[src].append((None, end))
            return end
        if isinstance(expr, Sequence):
            cur = src
            for item in expr.items:
                cur = self.build(item, cur, depth)
            return cur
        if isinstance(expr, RuleReference):
            rule = self.intents.expansion_rules.get(expr.rule_name)
            if rule is None or depth > _MAX_RULE_DEPTH:
                log.warning("grammar: expansion rule <%s> missing or too deep; skipped",
                            expr.rule_name)
                return src
            # rule text is its own word(s): surround with spaces
            a = self.text(src, " ")
            b = self.build(rule.expression, a, depth + 1)
            return self.text(b, " ")
        if isinstance(expr, ListReference):
            return self._list(expr, src, depth)
        log.warning("grammar: unsupported template piece %s skipped", type(expr).__name__)
        return src

    def _list(self, ref: Any, src: int, depth: int) -> int:
        from hassil.intents import RangeSlotList, TextSlotList

        slot = self.intents.slot_lists.get(ref.list_name)
        end = self.new()
        a = self.text(src, " ")
        if isinstance(slot, RangeSlotList):
            for n in slot.get_numbers():
                if float(n).is_integer() and 0 <= int(n) <= 10:
                    e = self.text(a, NUMBER_WORDS[int(n)])
                    self.arcs[e].append((None, end))
        elif isinstance(slot, TextSlotList):
            for value in slot.values:
                e = self.build(value.text_in, a, depth + 1)
                self.arcs[e].append((None, end))
        else:
            log.warning("grammar: list {%s} has no usable values; skipped", ref.list_name)
            return src
        return self.text(end, " ")


@dataclass
class WordGraph:
    """A word-level finite-state grammar: state 0 starts, ``final`` ends; arcs (src, dst, word).

    ``word`` None is an epsilon arc.
    """

    n_states: int
    final: int
    arcs: list[tuple[int, int, str | None]] = field(default_factory=list)

    @property
    def words(self) -> set[str]:
        return {w for _, _, w in self.arcs if w is not None}

    def transitions(self) -> list[tuple[int, int, float] | tuple[int, int, float, str]]:
        """Arcs in PocketSphinx ``create_fsg`` form, probabilities uniform per source state."""
        out_deg: dict[int, int] = {}
        for s, _, _ in self.arcs:
            out_deg[s] = out_deg.get(s, 0) + 1
        out: list[tuple[int, int, float] | tuple[int, int, float, str]] = []
        for s, d, w in self.arcs:
            p = 1.0 / out_deg[s]
            out.append((s, d, p) if w is None else (s, d, p, w))
        return out

    def accepts(self, sentence: str) -> bool:
        """Whether the word sequence is in the grammar (for tests)."""
        words = sentence.split()
        by_src: dict[int, list[tuple[int, str | None]]] = {}
        for s, d, w in self.arcs:
            by_src.setdefault(s, []).append((d, w))

        def closure(states: set[int]) -> set[int]:
            todo, seen = list(states), set(states)
            while todo:
                s = todo.pop()
                for d, w in by_src.get(s, []):
                    if w is None and d not in seen:
                        seen.add(d)
                        todo.append(d)
            return seen

        cur = closure({0})
        for word in words:
            cur = closure({d for s in cur for d, w in by_src.get(s, []) if w == word})
            if not cur:
                return False
        return self.final in cur

    def restrict(self, known: Callable[[str], bool]) -> WordGraph:
        """Drop arcs whose word ``known`` rejects (logged), then unreachable/dead states."""
        dropped = sorted({w for _, _, w in self.arcs if w is not None and not known(w)})
        if dropped:
            log.info("grammar: %d words not in the dictionary dropped: %s", len(dropped),
                     " ".join(dropped))
        arcs = [a for a in self.arcs if a[2] is None or known(a[2])]
        return WordGraph(self.n_states, self.final, arcs).pruned()

    def pruned(self) -> WordGraph:
        """Keep only states on some path from 0 to ``final``; renumber densely."""
        fwd: dict[int, list[int]] = {}
        bwd: dict[int, list[int]] = {}
        for s, d, _ in self.arcs:
            fwd.setdefault(s, []).append(d)
            bwd.setdefault(d, []).append(s)

        def reach(start: int, adj: dict[int, list[int]]) -> set[int]:
            seen, todo = {start}, [start]
            while todo:
                for n in adj.get(todo.pop(), []):
                    if n not in seen:
                        seen.add(n)
                        todo.append(n)
            return seen

        live = reach(0, fwd) & reach(self.final, bwd)
        if 0 not in live:
            return WordGraph(2, 1, [])
        order = sorted(live - {0, self.final})
        num = {0: 0, **{s: i + 1 for i, s in enumerate(order)}}
        num[self.final] = len(order) + 1
        arcs = sorted({(num[s], num[d], w) for s, d, w in self.arcs if s in live and d in live},
                      key=lambda a: (a[0], a[1], a[2] or ""))
        return WordGraph(len(order) + 2, len(order) + 1, arcs)

    def without_epsilons(self) -> WordGraph:
        """An equivalent graph whose only epsilon arcs lead straight into ``final``.

        PocketSphinx's FSG search follows one null transition at a time unless the closure was
        computed, so chains of epsilons (which the template structure produces) must go.
        """
        eps: dict[int, list[int]] = {}
        words: dict[int, list[tuple[int, str]]] = {}
        for s, d, w in self.arcs:
            if w is None:
                eps.setdefault(s, []).append(d)
            else:
                words.setdefault(s, []).append((d, w))
        arcs: set[tuple[int, int, str | None]] = set()
        for s in range(self.n_states):
            closure, todo = {s}, [s]
            while todo:
                for n in eps.get(todo.pop(), []):
                    if n not in closure:
                        closure.add(n)
                        todo.append(n)
            for t in closure:
                for d, w in words.get(t, []):
                    arcs.add((s, d, w))
            if self.final in closure and s != self.final:
                arcs.add((s, self.final, None))
        return WordGraph(self.n_states, self.final,
                         sorted(arcs, key=lambda a: (a[0], a[1], a[2] or ""))).pruned()

    def union(self, others: Iterable[WordGraph]) -> WordGraph:
        """This graph or any of ``others`` (shared start and final)."""
        graphs = [self, *others]
        n = 2  # 0 start, 1 final
        arcs: list[tuple[int, int, str | None]] = []
        for g in graphs:
            off = n
            arcs.append((0, off, None))
            arcs.extend((s + off, d + off, w) for s, d, w in g.arcs)
            arcs.append((g.final + off, 1, None))
            n += g.n_states
        return WordGraph(n, 1, arcs).pruned()

    def to_jsgf(self, name: str = "voicecoach") -> str:
        """The graph as a JSGF grammar: one rule per state (right-linear), ``<s0>`` public."""
        by_src: dict[int, list[tuple[int, str | None]]] = {}
        for s, d, w in self.arcs:
            by_src.setdefault(s, []).append((d, w))
        lines = ["#JSGF V1.0;", f"grammar {name};"]
        for s in range(self.n_states):
            if s == self.final:
                continue
            alts = []
            for d, w in by_src.get(s, []):
                tail = "" if d == self.final else f" <s{d}>"
                head = w if w is not None else "<NULL>"
                alts.append((head + tail).strip())
            if not alts:
                continue
            prefix = "public " if s == 0 else ""
            lines.append(f"{prefix}<s{s}> = " + " | ".join(sorted(set(alts))) + ";")
        return "\n".join(lines) + "\n"


def _word_graph_from_nfa(nfa: _CharNfa, start: int, end: int) -> WordGraph:
    """Cut the character automaton at spaces into a word graph."""
    # boundary states: the start and every state entered by a space arc
    boundary_ids: dict[int, int] = {start: 0}
    final_id = 1
    arcs: set[tuple[int, int, str | None]] = set()
    todo = [start]

    def bid(state: int) -> int:
        if state not in boundary_ids:
            boundary_ids[state] = len(boundary_ids) + 1  # 1 is reserved for final
            todo.append(state)
        return boundary_ids[state]

    while todo:
        b = todo.pop()
        src = boundary_ids[b]
        stack: list[tuple[int, str]] = [(b, "")]
        seen: set[tuple[int, str]] = set()
        while stack:
            state, word = stack.pop()
            if (state, word) in seen:
                continue
            seen.add((state, word))
            if state == end:
                arcs.add((src, final_id, _number_word(word) if word else None))
            for ch, dst in nfa.arcs[state]:
                if ch is None:
                    stack.append((dst, word))
                elif ch == " ":
                    if word:
                        arcs.add((src, bid(dst), _number_word(word)))
                    else:
                        # a space right after a boundary: the same boundary
                        stack.append((dst, word))
                else:
                    stack.append((dst, word + ch))
    n = len(boundary_ids) + 1
    return WordGraph(n, final_id, sorted(arcs, key=lambda a: (a[0], a[1], a[2] or ""))).pruned()


def _intents_obj() -> Any:
    from .intents import IntentParser

    return IntentParser().intents


@cache
def intent_graph(intent: str) -> WordGraph:
    """The word graph of every template sentence of one intent."""
    intents = _intents_obj()
    if intent not in intents.intents:
        raise KeyError(f"no templates for intent '{intent}'")
    nfa = _CharNfa(intents)
    start = nfa.new()
    end = nfa.new()
    for data in intents.intents[intent].data:
        for sentence in data.sentences:
            s = nfa.text(start, " ")
            e = nfa.build(sentence.expression, s)
            e = nfa.text(e, " ")
            nfa.arcs[e].append((None, end))
    return _word_graph_from_nfa(nfa, start, end)


@cache
def phase_graph(phase: str | None) -> WordGraph:
    """The word graph of everything ``phase`` accepts (always-on intents included)."""
    graphs = [intent_graph(i) for i in phase_intents(phase)]
    return graphs[0].union(graphs[1:])


def phase_jsgf(phase: str | None, known: Callable[[str], bool] | None = None) -> str:
    """The phase grammar as JSGF text (optionally restricted to ``known`` words)."""
    g = phase_graph(phase)
    if known is not None:
        g = g.restrict(known)
    return g.to_jsgf(f"voicecoach_{phase or 'all'}")


_WORD_RX = re.compile(r"[a-z0-9']+")


def phase_phrases(phase: str | None, max_per_intent: int = 40) -> list[str]:
    """A bounded, representative phrase list for ``phase`` (for Vosk): lower case, numbers as
    words, every intent represented, deduplicated, in a stable order."""
    from .intents import default_parser

    parser = default_parser()
    out: list[str] = []
    seen: set[str] = set()
    for phrase in parser.phrases(phase, max_per_intent=max_per_intent):
        words = [_number_word(w) for w in _WORD_RX.findall(phrase.lower())]
        p = " ".join(words)
        if p and p not in seen:
            seen.add(p)
            out.append(p)
    # the bare score words, so that a plain number is always in reach where scores are asked
    if "pain_score" in phase_intents(phase):
        for w in NUMBER_WORDS:
            if w not in seen:
                seen.add(w)
                out.append(w)
    return out


def cue_words() -> set[str]:
    """Every word the coach itself says (for the garbage model that absorbs its echo)."""
    from .cues import CueBook

    words: set[str] = set()
    for text in CueBook.load().all_texts():
        t = re.sub(r"\{[^}]*\}", " ", text.lower()).replace("\u2019", "'")
        words.update(_number_word(w.strip("'")) for w in _WORD_RX.findall(t) if w.strip("'"))
    return words


# --------------------------------------------------------------------------- command phrases
#: A compact, curated list of the commonest phrasings per intent, for the PocketSphinx grammar.
#: A small flat phrase grammar decodes far better than the full template graph (issue 3: 93% on
#: clean audio for 84 phrases), and the lenient parser only needs *some* phrase of the right intent.
#: ``(a|b)`` groups and ``[optional]`` parts are expanded (no nesting); numbers are words.
#: Every expanded phrase must parse back to its intent (tests/test_grammar.py checks it).
COMMAND_PHRASES: dict[str, tuple[str, ...]] = {
    "start": (
        "start", "begin", "let's go", "let's start", "let's begin", "let's do it",
        "(start|begin) the (session|stretch|exercise)", "i'm ready", "ready when you are",
        "let's get started", "let's get going", "can we start", "i want to start", "good to go",
        "okay (start|let's start|let's go|let's begin)", "start please",
    ),
    "yes": (
        "yes", "yeah", "yep", "sure", "correct", "okay", "all right", "yes i do", "yes please",
        "that's right", "i think so", "i do", "i have", "of course", "definitely",
        "i'm in position", "i'm lying down", "yes i have a (bulging|slipped) disc",
        "yes i (have|am|did)", "yeah i (do|have)", "okay yes",
    ),
    "no": (
        "no", "nope", "nah", "no no", "not really", "none", "nothing", "no i don't",
        "i don't", "i don't think so", "no problems", "not at all", "neither", "no difference",
        "they felt the same", "both the same", "no i'm fine", "i don't know",
        "no thanks", "no i (haven't|didn't)", "no i'm not",
    ),
    "stop": (
        "stop", "stop it", "stop now", "stop that", "quit", "end", "cancel",
        "stop the session", "end the session", "i want to stop", "let's stop",
        "i'm done for today", "that's enough for today", "let's call it a day", "goodbye",
        "stop please", "please stop", "okay stop",
    ),
    "pause": (
        "pause", "hold on", "hang on", "wait", "one moment", "one second", "just a moment",
        "wait a minute", "give me a minute", "pause please", "pause the session",
        "can we pause", "i need a break", "take a break", "let's take a break",
        "someone's at the door", "my phone's ringing", "please pause", "okay pause",
        "hold on a (second|minute)",
    ),
    "resume": (
        "resume", "continue", "carry on", "go on", "go ahead", "unpause",
        "let's continue", "let's carry on", "i'm back", "ready to continue",
        "okay i'm back", "can we continue", "resume the session",
    ),
    "repeat": (
        "repeat", "repeat that", "repeat that please", "say that again", "say it again",
        "come again", "pardon", "sorry what", "what did you say", "can you repeat that",
        "could you repeat that", "i didn't catch that", "i didn't hear that", "one more time",
        "what was that", "tell me again",
    ),
    "help": (
        "help", "help me", "what can i say", "what do i say", "what are my options", "options",
        "commands", "what do i do", "what should i do", "i'm confused", "i'm lost",
        "how does this work", "i don't understand", "can you help me", "what now",
    ),
    "next": (
        "next", "next one", "next step", "next please", "what's next", "move on",
        "let's move on", "go to the next step", "ready for the next one", "i'm in position",
        "i've got it", "i've got my knee", "i'm holding my knee", "i'm holding it",
    ),
    "skip": (
        "skip", "skip it", "skip this", "skip that", "skip this one", "skip this part",
        "skip this step", "skip ahead", "let's skip it", "can we skip this",
        "skip the breathing", "i want to skip this", "no need",
    ),
    "time_left": (
        "how long is left", "how long left", "how long to go", "how much longer",
        "how much time is left", "how long now", "how many seconds left", "time left",
        "how long do i have", "how long do i hold it", "how much more", "are we nearly done",
        "are we done yet", "is it over yet", "how many more seconds", "how long have i got",
    ),
    "red_flag": (
        "(it hurts|it's hurting|it's going|it's shooting|it goes|it's burning) down my"
        " (leg|thigh|calf|foot)",
        "(pain|the pain|shooting pain|sharp pain|burning) down my (leg|thigh|calf|foot)",
        "the pain is going down my (leg|foot)", "pain going down my leg",
        "the pain goes down my leg", "it's shooting into my (leg|foot)",
        "i have pain down my leg", "i've got pain down my leg", "there's pain down my leg",
        "(numbness|tingling|pins and needles|burning) in my (leg|foot|toes|thigh|calf)",
        "i have (numbness|tingling|pins and needles|a sharp pain|a shooting pain)",
        "i've got (numbness|tingling|pins and needles|a shooting pain)",
        "i have (tingling|numbness|pins and needles) in my (leg|foot|toes)",
        "i feel (tingling|numbness|a sharp pain)", "i'm getting (tingling|pins and needles)",
        # No single short words ("numb", "burning", "zing"): with the red-flag boost they stole
        # plain answers (synthetic "no" and "nope" came out as "numb", "done" as "burning").
        "numbness", "tingling", "pins and needles", "sciatica",
        "my sciatica", "nerve pain", "(sharp|shooting|stabbing|burning|electric) pain",
        "electric shock", "like an electric shock", "a zing down my leg",
        "it's sharp", "it's shooting", "it's numb", "it's tingling",
        "my (foot|leg) is numb", "my toes are numb", "my (foot|leg) is tingling",
        "my (foot|leg) (feels|went|has gone) (numb|dead|weak)", "my toes are tingling",
        "my leg feels weak", "i can't feel my (foot|leg|toes)",
    ),
    "pain_score": (
        "(zero|one|two|three|four|five|six|seven|eight|nine|ten)",
        "(zero|one|two|three|four|five|six|seven|eight|nine|ten) out of ten",
        "(about|maybe|around) a (one|two|three|four|five|six|seven|eight|nine|ten)",
        "it's a (one|two|three|four|five|six|seven|eight|nine|ten)",
        "it's (about|maybe|around) a (one|two|three|four|five|six|seven|eight|nine|ten)",
        "(about|maybe|around) (one|two|three|four|five|six|seven|eight|nine|ten)",
        "i'd say (zero|one|two|three|four|five|six|seven|eight|nine|ten)",
        "no pain", "no pain at all",
    ),
    "too_much": (
        "too much", "that's too much", "it's too much", "too far", "too hard", "too tight",
        "it hurts", "that hurts", "ouch", "ow", "ouch (that|it) hurts", "it's painful",
        "that's painful", "it's sore",
        "my back hurts", "ease off", "back off", "i need to ease off", "it's too tight",
        "i'm pulling too hard",
    ),
    "longer": (
        "longer", "a bit longer", "a little longer", "hold longer", "more time", "a bit more",
        "can we hold it longer", "can i stay longer", "give me more time", "keep going longer",
        "not yet", "this feels good", "this is nice",
    ),
    "done": (
        "done", "i'm done", "finished", "i'm finished", "that's it", "all done", "let go",
        "release", "i'm letting go", "that's enough", "i've had enough", "that'll do",
        "i'm done with this one", "stop holding",
    ),
    "switch_side": (
        "switch", "switch sides", "swap sides", "change sides", "switch legs", "other side",
        "the other side", "other leg", "the other leg", "let's switch", "let's do the other side",
        "can we switch", "switch to the other side",
    ),
    "choose_side": (
        "(left|right)", "the (left|right)", "the (left|right) side", "my (left|right) leg",
        "the (left|right) one", "(left|right) side", "(left|right) leg",
        "the (left|right) (side|leg) was tighter", "my (left|right) (side|leg) was tighter",
        "start with the (left|right)", "(left|right) first", "the (left|right) side first",
    ),
    "variation": (
        "both knees", "both legs", "double knee", "both knees together",
        "let's do both knees", "tailbone heavy", "the tailbone version", "gentle version",
        "the safer version", "one knee", "one knee at a time",
        "one leg at a time", "single knee", "the normal one",
    ),
}

_GROUP_RX = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")


def expand_phrase(spec: str) -> list[str]:
    """All phrases of a ``(a|b)`` / ``[opt]`` spec (no nesting), spaces normalised."""
    m = _GROUP_RX.search(spec)
    if m is None:
        return [" ".join(spec.split())]
    alts = m.group(1).split("|") if m.group(1) is not None else [*m.group(2).split("|"), ""]
    out: list[str] = []
    for alt in alts:
        out += expand_phrase(spec[: m.start()] + alt + spec[m.end():])
    return out


@cache
def intent_command_phrases(intent: str) -> tuple[str, ...]:
    """The expanded curated phrases of one intent (deduplicated, in order)."""
    seen: dict[str, None] = {}
    for spec in COMMAND_PHRASES.get(intent, ()):
        for p in expand_phrase(spec):
            if p:
                seen[p] = None
    return tuple(seen)


@cache
def command_words() -> frozenset[str]:
    """Every word of the compact grammar, over all phases."""
    return frozenset(w for i in phase_intents(None) for p in intent_command_phrases(i)
                     for w in p.split())


@cache
def phase_command_phrases(phase: str | None) -> tuple[tuple[str, str], ...]:
    """(phrase, intent) pairs of the compact grammar for ``phase``: the curated phrases of the
    intents the phase accepts, each phrase once (first intent wins), in a stable order."""
    out: dict[str, str] = {}
    for intent in phase_intents(phase):
        for p in intent_command_phrases(intent):
            out.setdefault(p, intent)
    return tuple(out.items())
