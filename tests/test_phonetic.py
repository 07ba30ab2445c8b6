"""The phone edit distance behind red-flag snapping (voicecoach.phonetic)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from voicecoach.phonetic import PhoneticMatcher, edit_distances


def _levenshtein(a: list[int], b: list[int]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        prev, row[0] = row[:], i
        for j, y in enumerate(b, start=1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x != y))
    return row[-1]


def test_edit_distances_agree_with_the_textbook_programme() -> None:
    rng = random.Random(7)
    targets = [[rng.randrange(4) for _ in range(rng.randrange(0, 10))] for _ in range(200)]
    width = max(len(t) for t in targets)
    packed = np.full((len(targets), width), -1, dtype=np.int32)
    for r, t in enumerate(targets):
        packed[r, : len(t)] = t
    lengths = np.array([len(t) for t in targets], dtype=np.intp)
    for _ in range(40):
        query = [rng.randrange(4) for _ in range(rng.randrange(0, 10))]
        assert edit_distances(query, packed, lengths).tolist() == \
            [_levenshtein(query, t) for t in targets]


_PRON = {"my": "M AY", "leg": "L EH G", "legs": "L EH G Z", "leg's": "L EH G Z", "gone": "G AO N",
         "numb": "N AH M", "nah": "N AA", "i'm": "AY M", "stop": "S T AA P", "now": "N AW",
         "keep": "K IY P", "going": "G OW IH NG", "the": "DH AH", "other": "AH DH ER"}


@pytest.fixture()
def matcher() -> PhoneticMatcher:
    return PhoneticMatcher([("red_flag", "my leg's gone numb"), ("stop", "stop now"),
                            ("switch_side", "the other leg"), ("red_flag", "my unknownword")],
                           _PRON.get)


def test_a_phrase_with_an_unknown_word_is_left_out(matcher: PhoneticMatcher) -> None:
    assert matcher.phrases == ["my leg's gone numb", "stop now", "the other leg"]
    assert matcher.distances("my xyzzy") is None
    assert matcher.distances("") is None


def test_distances_are_normalised_by_the_longer_side(matcher: PhoneticMatcher) -> None:
    dist = matcher.distances("my leg's gone numb")
    assert dist is not None and dist[0] == 0.0
    # "my legs gone nah i'm": M AY L EH G Z G AO N N AA AY M against M AY L EH G Z G AO N N AH M,
    # one substitution (AA for AH) and one insertion (AY) over 13 phones
    near = matcher.nearest("my legs gone nah i'm", "red_flag")
    assert near is not None
    assert near.phrase == "my leg's gone numb"
    assert near.distance == pytest.approx(2 / 13)
    assert 0.5 < near.other <= 1.0
    assert matcher.nearest("stop now", "red_flag").other == 0.0  # type: ignore[union-attr]
    assert matcher.nearest("stop now", "no_such_label") is None


def test_phrases_too_long_or_short_to_be_near_are_bounded_not_compared(
        matcher: PhoneticMatcher) -> None:
    full = matcher.distances("stop now")
    pruned = matcher.distances("stop now", within=0.3)
    assert full is not None and pruned is not None
    # "stop now" (6 phones) against the 12-phone red flag: at least 6/12 apart by length alone
    assert pruned[0] == pytest.approx(0.5) and full[0] >= pruned[0]
    assert pruned[1] == full[1] == 0.0  # compared: same length
    # what is within reach is exact either way
    assert all(p == f for p, f in zip(pruned, full, strict=True) if f <= 0.3)
