"""The free pass's language model: PocketSphinx's general English model, biased to the commands.

The free pass (:mod:`voicecoach.asr_sphinx`) decodes a rejected utterance with an open
vocabulary, so that phrasings the phrase grammar does not list can still be heard. With the
model's general English trigram model alone, a command worded a little differently often comes
out as other English ("can i stay here longer" as "can i stay here long a"); the parser then finds
nothing. This module writes a trigram model in ARPA form that mixes the two:

* **Command n-grams.** Random walks through every intent's template graph
  (:func:`voicecoach.grammar.intent_graph`, the same templates as the parser; red flags three
  times as many), plus the coach's own lines (:func:`voicecoach.grammar.cue_sentences`), so
  that its voice coming back through the microphone decodes as its own words, which the parser
  turns down. Bigrams and trigrams with absolute discounting (``DISCOUNT``).
  One sentence in ``HESITATION_EVERY`` starts with a hesitation ("erm", "um", ...).
* **Ordinary English underneath.** The ``TOP_WORDS`` most frequent words of the general model
  (their unigram probabilities read from ``en-us.lm.bin``) share the unigram level with the
  command words (``DOMAIN_WEIGHT`` of the mass to the commands' own unigrams), so unrelated
  speech can still decode as the ordinary words it is made of.

Writing it takes about half a second, so it is kept in the user's cache directory
(``$XDG_CACHE_HOME/voicecoach``, else ``~/.cache/voicecoach``; a temporary directory when that
is not writable) under a name that hashes everything it is built from; a changed template or
setting gives a new file.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from .grammar import HESITATIONS, WordGraph, cue_sentences, intent_graph
from .protocol import INTENTS

log = logging.getLogger(__name__)

#: How many of the general model's most frequent words stay in the vocabulary.
TOP_WORDS = 3000
#: Share of the unigram mass that goes to the command corpus's own unigrams.
DOMAIN_WEIGHT = 0.5
#: Absolute discount of the bigram and trigram levels.
DISCOUNT = 0.7
#: Random walks per intent through its template graph (red flags get three times as many).
WALKS_PER_INTENT = 400
SEED = 1
#: One sentence in this many starts with a hesitation (``grammar.HESITATIONS``), as people's do.
#: With one in 8, a leading "um" or "er" was still written down as a word ("i'm all right begin",
#: "there's skip that one", "her six i'd say"); one in 3 put 8 more of unseen15's 80 clean clips
#: that start with one right and 1 wrong (November 27, nineteenth session).
HESITATION_EVERY = 3
#: Bumped whenever the construction changes, so that old cached files are not reused.
VERSION = 2

_LOG_ZERO = -536870912  # what NGramModel.prob gives for a word it does not know


def _walks(graph: WordGraph, n: int, rng: random.Random) -> list[list[str]]:
    """``n`` random sentences of ``graph`` (uniform choice among a state's arcs; at the final
    state, stopping is one more choice)."""
    by_src: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for s, d, w in graph.arcs:
        by_src[s].append((d, w))
    out: list[list[str]] = []
    for _ in range(n):
        state = 0
        words: list[str] = []
        for _step in range(60):
            arcs = by_src.get(state, [])
            if state == graph.final and (not arcs or rng.random() < 1 / (len(arcs) + 1)):
                out.append(words)
                break
            state, word = rng.choice(arcs)
            if word:
                words.append(word)
    return out


def command_sentences(walks: int = WALKS_PER_INTENT, seed: int = SEED) -> list[list[str]]:
    """Random sentences of every intent's templates (see the module doc)."""
    rng = random.Random(seed)
    out: list[list[str]] = []
    for intent in INTENTS:
        out += _walks(intent_graph(intent), walks * (3 if intent == "red_flag" else 1), rng)
    return [[HESITATIONS[(i // HESITATION_EVERY) % len(HESITATIONS)], *words]
            if i % HESITATION_EVERY == HESITATION_EVERY - 1 else words
            for i, words in enumerate(out)]


def general_unigrams(lm_path: str, dict_path: str) -> dict[str, float]:
    """Unigram probability of every dictionary word the general model knows."""
    from pocketsphinx import NGramModel

    model = NGramModel.readfile(lm_path)
    base = math.log(1.0001)  # PocketSphinx's default log base
    probs: dict[str, float] = {}
    with open(dict_path, encoding="utf-8") as f:
        for line in f:
            word = line.split(" ", 1)[0]
            if "(" in word or word in probs:
                continue
            score = model.prob([word])
            if score > _LOG_ZERO:
                probs[word] = math.exp(score * base)
    return probs


NGram = tuple[str, ...]


def _discounted(counts: dict[NGram, int], lower: Callable[[NGram, str], float],
                discount: float) -> tuple[dict[NGram, float], dict[NGram, float]]:
    """Absolute discounting, interpolated with ``lower(history, word)``: the probability of every
    counted n-gram and the back-off weight of every counted history."""
    by_hist: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
    for key, c in counts.items():
        by_hist[key[:-1]][key[-1]] = c
    probs: dict[tuple[str, ...], float] = {}
    backoff: dict[tuple[str, ...], float] = {}
    for hist, nexts in by_hist.items():
        n = sum(nexts.values())
        left = discount * len(nexts) / n
        seen_p = seen_lower = 0.0
        for w, c in nexts.items():
            below = lower(hist, w)
            probs[(*hist, w)] = (c - discount) / n + left * below
            seen_p += probs[(*hist, w)]
            seen_lower += below
        backoff[hist] = (1 - seen_p) / max(1 - seen_lower, 1e-9)
    return probs, backoff


def write_arpa(path: Path, sentences: Iterable[list[str]], general: dict[str, float],
               known: set[str] | None = None, top_words: int = TOP_WORDS,
               domain_weight: float = DOMAIN_WEIGHT, discount: float = DISCOUNT) -> dict[int, int]:
    """Write the mixed trigram model (see the module doc) to ``path``; n-gram counts by order.

    ``known`` (default: the words of ``general``) is what the decoder's dictionary can say; a
    sentence with any other word is left out."""
    known = set(general) if known is None else known
    counts: Counter[tuple[str, ...]] = Counter()
    for words in sentences:
        if not words or not all(w in known for w in words):
            continue
        t = ["<s>", *words, "</s>"]
        for i in range(1, len(t)):
            counts[(t[i],)] += 1
            counts[(t[i - 1], t[i])] += 1
            if i >= 2:
                counts[(t[i - 2], t[i - 1], t[i])] += 1
    c1 = {k[0]: c for k, c in counts.items() if len(k) == 1}
    total = sum(c1.values())
    top = sorted(general, key=lambda w: (-general[w], w))[:top_words]
    vocab = set(top) | (set(c1) - {"</s>"})
    norm = sum(general.get(w, 0.0) for w in vocab)
    floor = min(general.values(), default=1e-7)
    p1: dict[str, float] = {}
    for w in vocab | {"</s>"}:
        background = 0.0 if w == "</s>" else general.get(w, floor) / norm
        p1[w] = domain_weight * c1.get(w, 0) / total + (1 - domain_weight) * background
    z = sum(p1.values())
    p1 = {w: p / z for w, p in p1.items()}
    c2: dict[NGram, int] = {k: c for k, c in counts.items() if len(k) == 2}
    p2, b1 = _discounted(c2, lambda h, w: p1[w], discount)

    def bigram(h: tuple[str, ...], w: str) -> float:
        return p2.get((h[-1], w), b1.get((h[-1],), 1.0) * p1[w])

    c3: dict[NGram, int] = {k: c for k, c in counts.items() if len(k) == 3}
    p3, b2 = _discounted(c3, bigram, discount)
    lg = math.log10
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"\\data\\\nngram 1={len(p1) + 1}\nngram 2={len(p2)}\nngram 3={len(p3)}\n\n")
        f.write("\\1-grams:\n")
        f.write(f"-99.0000\t<s>\t{lg(b1.get(('<s>',), 1.0)):.4f}\n")
        for w in sorted(p1):
            f.write(f"{lg(p1[w]):.4f}\t{w}\t{lg(b1.get((w,), 1.0)):.4f}\n")
        f.write("\n\\2-grams:\n")
        for key in sorted(p2):
            b = b2.get(key)
            tail = "" if b is None else f"\t{lg(b):.4f}"
            f.write(f"{lg(p2[key]):.4f}\t{' '.join(key)}{tail}\n")
        f.write("\n\\3-grams:\n")
        for key in sorted(p3):
            f.write(f"{lg(p3[key]):.4f}\t{' '.join(key)}\n")
        f.write("\n\\end\\\n")
    return {1: len(p1) + 1, 2: len(p2), 3: len(p3)}


def _key(lm_path: str, extra: list[str], coach: bool) -> str:
    """A hash of everything the model is built from: the templates, the coach's lines, the code
    that turns them into sentences and n-grams, the settings and the general model."""
    import json

    from . import grammar
    from .cues import CueBook
    from .intents import load_templates_dict

    key = hashlib.sha256()
    parts = [str(VERSION), str(TOP_WORDS), str(DOMAIN_WEIGHT), str(DISCOUNT),
             str(WALKS_PER_INTENT), str(SEED), lm_path, str(os.path.getsize(lm_path)),
             " ".join(extra), json.dumps(load_templates_dict(), sort_keys=True, default=str)]
    if coach:
        parts += CueBook.load().all_texts()
    for module in (grammar.__file__, __file__):
        parts.append(Path(module).read_text("utf-8"))
    for part in parts:
        key.update(part.encode() + b"\0")
    return key.hexdigest()[:16]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voicecoach"


def free_lm(model_dir: str, extra_words: Iterable[str] = (), coach: bool = True) -> Path:
    """The biased model's ARPA file for the PocketSphinx model directory ``model_dir`` (which
    holds ``en-us.lm.bin`` and ``cmudict-en-us.dict``), written on first use and cached (see the
    module doc). ``extra_words`` are words the decoder's dictionary has beyond the CMU
    dictionary; ``coach`` puts the coach's own lines into the corpus."""
    lm_path = os.path.join(model_dir, "en-us.lm.bin")
    dict_path = os.path.join(model_dir, "cmudict-en-us.dict")
    extra = sorted(set(extra_words))
    name = f"free-lm-{_key(lm_path, extra, coach)}.arpa"
    for directory in (_cache_dir(), Path(tempfile.gettempdir()) / f"voicecoach-{os.getuid()}"):
        path = directory / name
        if path.exists():
            return path
        tmp = directory / f".{name}.{os.getpid()}.tmp"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            sentences = command_sentences() + (cue_sentences() if coach else [])
            general = general_unigrams(lm_path, dict_path)
            sizes = write_arpa(tmp, sentences, general, known=set(general) | set(extra))
            tmp.replace(path)  # atomic: another process never reads a half-written file
        except OSError as exc:
            log.debug("free-pass language model not written to %s: %s", directory, exc)
            if directory.is_dir():
                tmp.unlink(missing_ok=True)
            continue
        log.info("free-pass language model written: %s (%s n-grams)", path,
                 "/".join(str(n) for n in sizes.values()))
        return path
    raise OSError("no writable cache directory for the free-pass language model")
