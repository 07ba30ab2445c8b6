"""Settings: one frozen dataclass, loadable from a TOML or YAML file and overridable by name."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

SIDES = ("left", "right")
VARIATIONS = ("single_knee", "double_knee", "tailbone_heavy")
ENGINES = ("auto", "vosk", "pocketsphinx")
NOISE_FILTERS = ("none", "rnnoise", "webrtc")


@dataclass(frozen=True)
class Settings:
    """Everything that can be tuned. Times are in seconds."""

    hold_seconds: float = 30.0
    """Length of each hold (20 to 60)."""
    extra_hold_seconds: float | None = None
    """Length of the extra hold on the tighter side; None means the same as ``hold_seconds``."""
    longer_seconds: float = 10.0
    """Time "longer" adds to a hold."""
    max_hold_seconds: float = 90.0
    """A hold is never stretched past this by "longer"."""
    countdown_seconds: int = 5
    """The last seconds of a hold are counted down out loud."""
    settle_seconds: float = 60.0
    """The settling minute of slow breathing before the first pull (0 skips it)."""
    floor_wait_seconds: float = 12.0
    """Time given to get onto the floor and lie flat after the set-up line."""
    pull_wait_seconds: float = 8.0
    """How long the coach waits for "okay" after the pull instructions before starting the hold."""
    reprompt_seconds: float = 12.0
    """Silence after a question before it is asked again."""
    max_reprompts: int = 2
    """Re-prompts before repeated silence pauses the session."""
    paused_timeout_seconds: float = 1200.0
    """A pause this long with no "resume" ends the session (reason no_response)."""
    stabilise_reps: int = 6
    """Dead-bug repetitions per side in the stabilising move."""
    rep_seconds: float = 4.0
    """Seconds per repetition (the coach counts them)."""
    first_side: str = "left"
    variation: str = "single_knee"
    speech_rate_wpm: float = 150.0
    """Speaking rate in words per minute (also used to estimate speech time in simulation)."""
    volume: float = 1.0
    """Speech volume, 0.0 to 1.0."""
    seed: int | None = None
    """Seed for the choice of cue variants; None picks at random."""
    engine: str = "auto"
    model_dir: str | None = None
    input_device: str | None = None
    output_device: str | None = None
    noise_filter: str = "rnnoise"
    second_pass: bool = True
    """PocketSphinx decodes a short utterance it rejected again as a whole, with the phase grammar
    and then with its general English language model (phrasings the grammar lacks, such as
    "there's tingling in my foot"): fewer commands and red flags missed, for about twice the
    recogniser's CPU on speech it rejects (the free pass is held to a quarter of real time),
    and cross-checks a command heard in an utterance of 1.4 s or more the same way; off for
    slow boards."""

    def __post_init__(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ConfigError(msg)

        need(20 <= self.hold_seconds <= 60,
             f"hold_seconds must be 20 to 60, got {self.hold_seconds}")
        if self.extra_hold_seconds is not None:
            need(
                10 <= self.extra_hold_seconds <= 60,
                f"extra_hold_seconds must be 10 to 60, got {self.extra_hold_seconds}",
            )
        need(0 < self.longer_seconds <= 30, "longer_seconds must be above 0 and at most 30")
        need(self.max_hold_seconds >= self.hold_seconds, "max_hold_seconds must be >= hold_seconds")
        need(0 <= self.countdown_seconds <= 10, "countdown_seconds must be 0 to 10")
        need(0 <= self.settle_seconds <= 300, "settle_seconds must be 0 to 300")
        need(self.floor_wait_seconds >= 0, "floor_wait_seconds must not be negative")
        need(self.pull_wait_seconds > 0, "pull_wait_seconds must be positive")
        need(self.reprompt_seconds > 0, "reprompt_seconds must be positive")
        need(self.max_reprompts >= 0, "max_reprompts must not be negative")
        need(self.paused_timeout_seconds > 0, "paused_timeout_seconds must be positive")
        need(1 <= self.stabilise_reps <= 30, "stabilise_reps must be 1 to 30")
        need(self.rep_seconds > 0, "rep_seconds must be positive")
        need(self.first_side in SIDES, f"first_side must be one of {', '.join(SIDES)}")
        need(self.variation in VARIATIONS, f"variation must be one of {', '.join(VARIATIONS)}")
        need(60 <= self.speech_rate_wpm <= 400, "speech_rate_wpm must be 60 to 400")
        need(0.0 <= self.volume <= 1.0, "volume must be 0.0 to 1.0")
        need(self.engine in ENGINES, f"engine must be one of {', '.join(ENGINES)}")
        need(
            self.noise_filter in NOISE_FILTERS,
            f"noise_filter must be one of {', '.join(NOISE_FILTERS)}",
        )

    @property
    def tighter_hold_seconds(self) -> float:
        return self.extra_hold_seconds if self.extra_hold_seconds is not None else self.hold_seconds

    def replace(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with ``overrides`` applied; unknown names and bad types are a ConfigError."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        clean: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in fields:
                raise ConfigError(f"unknown setting '{key}' (known: {', '.join(sorted(fields))})")
            clean[key] = _coerce(key, value, getattr(self, key))
        try:
            return dataclasses.replace(self, **clean)
        except TypeError as exc:  # pragma: no cover - guarded by _coerce
            raise ConfigError(str(exc)) from exc


def _coerce(key: str, value: Any, current: Any) -> Any:
    if value is None:
        return None
    expected: type[Any] | None = None
    default = getattr(Settings, key, None)
    probe = current if current is not None else default
    if isinstance(probe, bool):
        expected = bool
    elif isinstance(probe, int):
        expected = int
    elif isinstance(probe, float):
        expected = float
    elif isinstance(probe, str):
        expected = str
    if key in ("extra_hold_seconds",):
        expected = float
    if key in ("seed",):
        expected = int
    if expected is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if expected is str and isinstance(value, str):
        return value
    if expected is bool and isinstance(value, bool):
        return value
    if expected is None:
        return value
    raise ConfigError(f"setting '{key}' must be a {expected.__name__}, got {value!r}")


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "voicecoach" / "config.toml"


def load_settings(path: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from ``path`` (TOML or YAML), or the default config file if it exists."""
    data: dict[str, Any] = {}
    explicit = path is not None
    p = Path(path) if path is not None else default_config_path()
    if p.exists():
        try:
            text = p.read_text(encoding="utf-8")
            loaded = yaml.safe_load(text) if p.suffix in (".yaml", ".yml") else tomllib.loads(text)
        except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {p}: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a table of settings")
        data.update(loaded)
    elif explicit:
        raise ConfigError(f"config file not found: {p}")
    if overrides:
        data.update({k: v for k, v in overrides.items() if v is not None})
    return Settings().replace(data)
