"""How near a transcript sounds to known phrases: edit distance over their phones.

A free-vocabulary recogniser that mishears a sentence usually keeps most of its sounds ("my
legs gone nah i'm" for "my whole leg's gone numb"), so the parser finds no words it knows, but
the phones are still close to the phrase that was said. :class:`PhoneticMatcher` holds labelled
phrases as phone strings (from the recogniser's own pronunciation dictionary) and gives, for a
transcript, the Levenshtein distance over phones to every phrase, divided by the longer of the
two, so 0 is the same sounds and 1 nothing in common.

The distances to all phrases are computed at once with numpy: one row of the dynamic programme
per phone of the transcript, over every phrase side by side; phrases whose length alone puts
them too far away are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np


def edit_distances(query: list[int], targets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Levenshtein distance (unit costs) from ``query`` to each row of ``targets``.

    ``targets`` is an (n, width) integer array of symbols padded at the end (any value past a
    row's length is ignored), ``lengths`` the real length of each row.
    """
    n, width = targets.shape
    cols = np.arange(width + 1)
    row = np.broadcast_to(cols, (n, width + 1)).astype(np.int32)
    for i, sym in enumerate(query, start=1):
        cost = (targets != sym).astype(np.int32)
        # deletion from the query, or a match/substitution along the diagonal
        best = np.minimum(row[:, 1:] + 1, row[:, :-1] + cost)
        best = np.concatenate([np.full((n, 1), i, dtype=np.int32), best], axis=1)
        # insertions along the row: D[j] = min over k <= j of best[k] + (j - k)
        row = (np.minimum.accumulate(best - cols, axis=1) + cols).astype(np.int32)
    out: np.ndarray = row[np.arange(n), lengths]
    return out


@dataclass(frozen=True)
class Nearest:
    """The phrase of one label nearest a transcript, and how near anything else comes."""

    phrase: str
    distance: float
    #: the distance of the nearest phrase with any other label
    other: float


class PhoneticMatcher:
    """Labelled phrases, compared with transcripts by their phones (see the module doc).

    ``pronounce`` gives a word's phones as a space-separated string ("M AY"), or None for a
    word it does not know; a phrase with such a word is left out, and a transcript with one
    matches nothing.
    """

    def __init__(self, phrases: Iterable[tuple[str, str]],
                 pronounce: Callable[[str], str | None]) -> None:
        self._pronounce = pronounce
        self._symbols: dict[str, int] = {}
        kept: list[tuple[str, str, list[int]]] = []
        for label, phrase in phrases:
            phones = self.phones(phrase)
            if phones:
                kept.append((label, phrase, phones))
        self.labels = np.array([k[0] for k in kept], dtype=object)
        self.phrases = [k[1] for k in kept]
        width = max((len(k[2]) for k in kept), default=0)
        self._targets = np.full((len(kept), width), -1, dtype=np.int32)
        for r, k in enumerate(kept):
            self._targets[r, : len(k[2])] = k[2]
        self._lengths = np.array([len(k[2]) for k in kept], dtype=np.intp)

    def phones(self, text: str) -> list[int] | None:
        """The phone symbols of ``text`` (None if a word has no pronunciation)."""
        out: list[int] = []
        for word in text.split():
            pron = self._pronounce(word)
            if not pron:
                return None
            out += [self._symbols.setdefault(p, len(self._symbols)) for p in pron.split()]
        return out

    def distances(self, text: str, within: float = 1.0) -> np.ndarray | None:
        """Normalised phone distance from ``text`` to every phrase (None if it has a word
        without a pronunciation, or no words).

        Only phrases that could be ``within`` that distance are compared; for the others, whose
        length alone puts them further away, the difference in length is given instead (a lower
        bound, itself more than ``within``)."""
        query = self.phones(text)
        if not query or not self.phrases:
            return None
        longer = np.maximum(self._lengths, len(query))
        dist = np.abs(self._lengths - len(query)) / longer
        rows = np.flatnonzero(dist <= within)
        if rows.size:
            width = int(self._lengths[rows].max())
            raw = edit_distances(query, self._targets[rows, :width], self._lengths[rows])
            dist[rows] = raw / longer[rows]
        return np.asarray(dist, dtype=np.float64)

    def nearest(self, text: str, label: str, within: float = 1.0) -> Nearest | None:
        """The ``label`` phrase nearest ``text``, with the distance to the nearest phrase of any
        other label (1.0 if there is none); None if ``text`` cannot be compared or no phrase
        has the label. Distances over ``within`` are lower bounds (:meth:`distances`)."""
        dist = self.distances(text, within)
        if dist is None:
            return None
        mine = self.labels == label
        if not mine.any():
            return None
        idx = np.flatnonzero(mine)
        best = int(idx[np.argmin(dist[idx])])
        others = dist[~mine]
        return Nearest(self.phrases[best], float(dist[best]),
                       float(others.min()) if others.size else 1.0)
