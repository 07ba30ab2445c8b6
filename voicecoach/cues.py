"""The coach's lines: cue ids mapped to a few wordings each, from ``data/cues.yaml``."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from .errors import CueError


class CueBook:
    """Cue id -> wordings. ``text()`` picks one wording (avoiding an immediate repeat)."""

    def __init__(self, cues: Mapping[str, list[str]]) -> None:
        if not cues:
            raise CueError("no cues defined")
        for cue, variants in cues.items():
            if not isinstance(variants, list) or not variants or not all(
                isinstance(v, str) and v.strip() for v in variants
            ):
                raise CueError(f"cue '{cue}' needs a list of non-empty wordings")
        self._cues = {k: list(v) for k, v in cues.items()}
        self._last: dict[str, int] = {}

    @classmethod
    def load(cls) -> CueBook:
        return cls(_load_cue_data())

    def __contains__(self, cue: str) -> bool:
        return cue in self._cues

    def ids(self) -> Iterator[str]:
        return iter(self._cues)

    def variants(self, cue: str) -> list[str]:
        try:
            return list(self._cues[cue])
        except KeyError:
            raise CueError(f"unknown cue '{cue}'") from None

    def fields(self, cue: str) -> set[str]:
        """The {placeholders} any wording of ``cue`` uses."""
        names: set[str] = set()
        for v in self.variants(cue):
            names |= {f for _, f, _, _ in string.Formatter().parse(v) if f}
        return names

    def text(self, cue: str, rng: random.Random, **fmt: Any) -> str:
        variants = self.variants(cue)
        idx = rng.randrange(len(variants))
        if len(variants) > 1 and idx == self._last.get(cue):
            idx = (idx + 1 + rng.randrange(len(variants) - 1)) % len(variants)
        self._last[cue] = idx
        try:
            return variants[idx].format(**fmt).strip()
        except (KeyError, IndexError, ValueError) as exc:
            raise CueError(f"cue '{cue}' needs a value for {exc}") from exc

    def all_texts(self) -> list[str]:
        """Every wording with placeholders filled by typical values (for echo rejection)."""
        sample = {"side": "left", "other_side": "right", "seconds": "thirty", "score": "five",
                  "start_score": "five", "end_score": "three", "rep": "three", "reps": "six",
                  "options": "pause, repeat or stop", "minutes": "five", "variation": "both knees",
                  "limb": "leg"}
        out = []
        for variants in self._cues.values():
            for v in variants:
                try:
                    out.append(v.format(**sample))
                except (KeyError, IndexError, ValueError):
                    out.append(v)
        return out


@cache
def _load_cue_data() -> dict[str, list[str]]:
    try:
        text = resources.files("voicecoach").joinpath("data/cues.yaml").read_text("utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise CueError(f"cannot load cue data: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cues"), dict):
        raise CueError("cue data must have a 'cues' table")
    return {str(k): v for k, v in data["cues"].items()}
