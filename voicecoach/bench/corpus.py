"""The benchmark corpus: clip specifications generated from a seed, and rendering them to audio.

A :class:`ClipSpec` says everything needed to rebuild one clip: what is said (or which sound),
by which synthetic voice at which rate (or which real recording), with which noise at which SNR,
and what the coach should make of it in which phase. :func:`build_corpus` draws the specs from
the intent templates with a seeded RNG; :func:`render` turns one spec into 16 kHz PCM, using an
on-disk cache of synthesised speech keyed by (engine, voice, rate, text).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import VoiceCoachError
from ..protocol import PHASES, phase_intents

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

RATE_HZ = 16000
SNRS_DB: tuple[float, ...] = (20.0, 10.0, 5.0, 0.0)
CONDITIONS = ("clean", *(f"{s:g}" for s in SNRS_DB))
FSDD_DIR = Path(os.environ.get("VOICECOACH_FSDD", "/work/shared/data/fsdd-digits"))


class BenchError(VoiceCoachError):
    """The benchmark could not build its corpus or run."""


@dataclass(frozen=True)
class Voice:
    """A synthetic voice: ``tts`` is 'espeak' | 'flite' | 'festival'."""

    tts: str
    name: str


VOICES: tuple[Voice, ...] = (
    Voice("espeak", "en-us"), Voice("espeak", "en"), Voice("espeak", "en+f3"),
    Voice("espeak", "en+m7"), Voice("espeak", "en-us+klatt"),
    Voice("flite", "kal"), Voice("flite", "slt"), Voice("flite", "rms"), Voice("flite", "awb"),
    Voice("festival", "kal_diphone"),
)
#: Speaking rates as duration stretch factors (1.25 = slower).
RATES: dict[str, float] = {"slow": 1.25, "normal": 1.0, "fast": 0.8}
BABBLE_VOICES = ("en-us", "en+f2", "en+m3", "en-gb", "en+f4", "en+m1")

UNRELATED = (
    "what time does the bakery open on sunday",
    "i left my keys on the kitchen table",
    "the train to the city was late again this morning",
    "can you remind me to buy milk and bread",
    "my sister is coming over for dinner tonight",
    "the weather looks cloudy with a chance of rain",
    "have you seen the new film at the cinema",
    "we should paint the fence before winter",
    "the cat is sleeping on the sofa",
    "turn the radio up a little",
    "i think the kettle has boiled",
    "he plays football with his friends every friday",
    "the library closes at eight in the evening",
    "please pass me the salt and pepper",
    "our garden needs a lot more water this summer",
    "she bought a red bicycle last week",
    "the meeting has been moved to thursday afternoon",
    "i can't find the remote control anywhere",
    "there is a new coffee shop near the station",
    "tomorrow we are driving to the coast",
    "the children are building a sandcastle",
    "my phone battery is almost empty",
    "i need to answer a few emails later",
    "the soup is a bit too salty",
    "did you remember to lock the back door",
    "the museum has a dinosaur exhibition",
    "let me check the bus timetable",
    "the shop on the corner sells fresh flowers",
    "my neighbour is cutting the grass",
    "we watched the sunset from the hill",
)
BABBLE_TEXTS = (
    "the committee will publish its findings later in the year after a long review",
    "markets rose slightly in early trading as investors waited for the figures",
    "the festival attracted thousands of visitors from across the region",
    "researchers say the bridge will need repairs within the next decade",
    "local schools are planning a series of concerts for the spring term",
    "the new museum wing opens to the public at the end of the month",
    "heavy traffic is expected on the main roads during the holiday weekend",
    "the team played well in the second half but could not find a goal",
)


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to rebuild one benchmark clip, and what it should be heard as."""

    clip_id: str
    kind: str
    """'command' | 'unrelated' | 'nonspeech' | 'coach' | 'digit'."""
    text: str
    """What is said ('' for non-speech; the digit word for recordings)."""
    phase: str
    expected_intent: str | None
    expected_slots: dict[str, Any] = field(default_factory=dict)
    tts: str = ""
    """'espeak' | 'flite' | 'festival' | 'coach' | 'human' | 'synthetic'."""
    voice: str = ""
    rate: str = "normal"
    source: str = ""
    """The recording for 'digit' clips; the sound kind for 'nonspeech' clips."""
    speaker: str = ""
    noise: str = "clean"
    snr_db: float | None = None
    seed: int = 0
    level_db: float = -24.0
    """Active-speech RMS level in dBFS."""
    lead_s: float = 0.5
    trail_s: float = 1.0
    heldout: bool = False

    @property
    def condition(self) -> str:
        return "clean" if self.snr_db is None else f"{self.snr_db:g}"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["condition"] = self.condition
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClipSpec:
        keys = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in keys})


@dataclass(frozen=True)
class Corpus:
    seed: int
    quick: bool
    clips: tuple[ClipSpec, ...]
    notes: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        blob = json.dumps([c.to_json() for c in self.clips], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class CorpusSize:
    phrasings: int
    """Phrasings per intent (red_flag gets twice as many)."""
    voices_per_phrase: int
    unrelated: int
    nonspeech: int
    coach_lines: int
    digits: int
    """Real human digit recordings, spread evenly over digits and speakers."""
    heldout_fraction: float
    intents: int | None = None
    """Intents covered (a seeded sample, red_flag always in); None = every intent."""


FULL = CorpusSize(4, 1, 20, 9, 15, 80, 0.08)
QUICK = CorpusSize(1, 1, 4, 3, 4, 16, 0.2, intents=8)


# ------------------------------------------------------------------------ template sampling
def _number_words(text: str) -> str:
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    return re.sub(r"\b(10|[0-9])\b", lambda m: words[int(m.group(0))], text)


class TemplateSampler:
    """Random sentences (with slot values) from the hassil templates of one intent."""

    def __init__(self, intents: Any) -> None:
        self.intents = intents

    def sample(self, intent: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
        it = self.intents.intents[intent]
        choices = [(d, s) for d in it.data for s in d.sentences]
        data, sentence = choices[rng.randrange(len(choices))]
        slots: dict[str, Any] = dict(data.slots or {})
        rules = {**self.intents.expansion_rules, **(data.expansion_rules or {})}
        lists = {**self.intents.slot_lists, **(data.slot_lists or {})}
        text = self._walk(sentence.expression, rng, slots, rules, lists, 0)
        text = _number_words(" ".join(text.split()))
        return text, slots

    def _walk(self, expr: Any, rng: random.Random, slots: dict[str, Any], rules: dict[str, Any],
              lists: dict[str, Any], depth: int) -> str:
        from hassil.expression import (
            Alternative,
            Group,
            ListReference,
            Permutation,
            RuleReference,
            TextChunk,
        )
        from hassil.intents import RangeSlotList, TextSlotList

        if depth > 30:
            raise BenchError("template recursion too deep")
        if isinstance(expr, TextChunk):
            return str(expr.text)
        if isinstance(expr, Alternative):
            return self._walk(expr.items[rng.randrange(len(expr.items))], rng, slots, rules,
                              lists, depth + 1)
        if isinstance(expr, Permutation):
            items = list(expr.items)
            rng.shuffle(items)
            return " ".join(self._walk(i, rng, slots, rules, lists, depth + 1) for i in items)
        if isinstance(expr, Group):
            return "".join(self._walk(i, rng, slots, rules, lists, depth + 1) for i in expr.items)
        if isinstance(expr, RuleReference):
            return self._walk(rules[expr.rule_name].expression, rng, slots, rules, lists,
                              depth + 1)
        if isinstance(expr, ListReference):
            sl = lists[expr.list_name]
            if isinstance(sl, RangeSlotList):
                v = rng.randrange(sl.start, sl.stop + 1, sl.step or 1)
                slots[expr.slot_name] = v
                return f" {v} "
            if isinstance(sl, TextSlotList):
                val = sl.values[rng.randrange(len(sl.values))]
                slots[expr.slot_name] = val.value_out
                return " " + self._walk(val.text_in, rng, slots, rules, lists, depth + 1) + " "
            raise BenchError(f"unsupported slot list {expr.list_name}")
        raise BenchError(f"unsupported template element {type(expr).__name__}")


def _phases_for(intent: str) -> list[str]:
    return [p for p in PHASES if intent in phase_intents(p)]


def _id(*parts: Any) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:10]


def _command_phrases(rng: random.Random, size: CorpusSize, notes: list[str]
                     ) -> list[tuple[str, str, dict[str, Any], str]]:
    """(text, intent, slots, phase) for the intents, each checked against the text parser."""
    from ..intents import IntentParser, default_parser
    from ..protocol import INTENTS

    parser = default_parser()
    sampler = TemplateSampler(IntentParser().intents)
    out: list[tuple[str, str, dict[str, Any], str]] = []
    dropped = 0
    names = list(INTENTS)
    if size.intents is not None and size.intents < len(names):
        others = [i for i in names if i != "red_flag"]
        names = ["red_flag", *rng.sample(others, size.intents - 1)]
    for intent in names:
        want = size.phrasings * (2 if intent == "red_flag" else 1)
        seen: set[str] = set()
        tries = 0
        while len(seen) < want and tries < want * 40:
            tries += 1
            text, slots = sampler.sample(intent, rng)
            if text in seen:
                continue
            phase = rng.choice(_phases_for(intent))
            parsed = parser.parse(text, phase)
            if parsed.intent != intent or dict(parsed.slots) != slots:
                dropped += 1
                continue
            seen.add(text)
            out.append((text, intent, slots, phase))
    if dropped:
        notes.append(f"{dropped} sampled phrasings were dropped because the text parser itself "
                     "does not map them to their template's intent and slots (template overlap).")
    return out


def _fsdd_files() -> list[Path]:
    if not FSDD_DIR.is_dir():
        return []
    return sorted(FSDD_DIR.glob("*_*_*.wav"))


def build_corpus(seed: int, quick: bool = False, size: CorpusSize | None = None) -> Corpus:
    """All clip specs for ``seed`` (deterministic: same seed, same corpus)."""
    from ..cues import CueBook
    from ..intents import default_parser

    size = size or (QUICK if quick else FULL)
    rng = random.Random(seed)
    notes: list[str] = []
    clips: list[ClipSpec] = []
    parser = default_parser()

    def common(kind: str, key: str) -> dict[str, Any]:
        return {"seed": rng.randrange(2**31), "level_db": round(rng.uniform(-30.0, -18.0), 1),
                "lead_s": round(rng.uniform(0.3, 0.7), 2), "trail_s": 1.0,
                "clip_id": f"{kind[:3]}-{_id(seed, kind, key, len(clips))}"}

    # commands: each phrasing by a few voices; each rendering clean and in one noise at 4 SNRs
    noise_cycle: list[str] = []
    for text, intent, slots, phase in _command_phrases(rng, size, notes):
        voices = rng.sample(VOICES, size.voices_per_phrase)
        for v in voices:
            rate = rng.choice(list(RATES))
            if not noise_cycle:
                noise_cycle = ["white", "pink", "fan", "babble"]
                rng.shuffle(noise_cycle)
            noise = noise_cycle.pop()
            base = common("command", f"{text}|{v}|{rate}")
            for snr in (None, *SNRS_DB):
                c = dict(base)
                c["clip_id"] = f"{base['clip_id']}-{'clean' if snr is None else int(snr)}"
                c["seed"] = base["seed"] + (0 if snr is None else int(snr) + 1)
                clips.append(ClipSpec(kind="command", text=text, phase=phase,
                                      expected_intent=intent, expected_slots=slots, tts=v.tts,
                                      voice=v.name, rate=rate,
                                      noise="clean" if snr is None else noise, snr_db=snr, **c))

    # out of domain: unrelated sentences, non-speech sounds, the coach's own lines
    def ood_phase() -> str:
        return rng.choice([p for p in PHASES if p != "finished"])

    def noisy() -> tuple[str, float | None]:
        if rng.random() < 0.5:
            return "clean", None
        return rng.choice(["white", "pink", "fan", "babble"]), rng.choice(SNRS_DB[:3])

    for text in rng.sample(UNRELATED, min(size.unrelated, len(UNRELATED))):
        phase = ood_phase()
        if parser.parse(text, phase).intent is not None:
            notes.append(f"unrelated sentence skipped (the text parser accepts it): {text!r}")
            continue
        v = rng.choice(VOICES)
        n, s = noisy()
        clips.append(ClipSpec(kind="unrelated", text=text, phase=phase, expected_intent=None,
                              tts=v.tts, voice=v.name, rate=rng.choice(list(RATES)), noise=n,
                              snr_db=s, **common("unrelated", text)))
    from .noise import NONSPEECH_KINDS

    for i in range(size.nonspeech):
        kind = NONSPEECH_KINDS[i % len(NONSPEECH_KINDS)]
        n, s = noisy()
        clips.append(ClipSpec(kind="nonspeech", text="", phase=ood_phase(), expected_intent=None,
                              tts="synthetic", voice=kind, source=kind, noise=n, snr_db=s,
                              **common("nonspeech", f"{kind}{i}")))
    lines = sorted(set(CueBook.load().all_texts()))
    for text in rng.sample(lines, min(size.coach_lines, len(lines))):
        clips.append(ClipSpec(kind="coach", text=text, phase=ood_phase(), expected_intent=None,
                              tts="coach", voice="coach", **common("coach", text)))

    # real human digits as pain scores in the screen phase
    files = _fsdd_files()
    if not files:
        notes.append(f"FSDD digits not found in {FSDD_DIR}: pain-score accuracy on real voices "
                     "not measured.")
    by_key: dict[tuple[str, str], list[Path]] = {}
    for f in files:
        digit, speaker, _take = f.stem.split("_", 2)
        by_key.setdefault((digit, speaker), []).append(f)
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    keys = sorted(by_key)
    rng.shuffle(keys)
    pools = {k: rng.sample(by_key[k], len(by_key[k])) for k in keys}
    picked: list[tuple[str, str, Path]] = []
    while len(picked) < min(size.digits, len(files)):
        for k in keys:
            if pools[k] and len(picked) < size.digits:
                picked.append((k[0], k[1], pools[k].pop()))
    for digit, speaker, f in picked:
        c = common("digit", f.name)
        c["lead_s"], c["level_db"] = round(rng.uniform(0.3, 0.6), 2), 0.0
        clips.append(ClipSpec(kind="digit", text=words[int(digit)], phase="screen",
                              expected_intent="pain_score",
                              expected_slots={"score": int(digit)}, tts="human",
                              voice=speaker, speaker=speaker, source=str(f), **c))

    # a held-out subset (written as WAV files for `voicecoach parse --wav`)
    n_held = max(1, round(len(clips) * size.heldout_fraction))
    held = set(rng.sample(range(len(clips)), min(n_held, len(clips))))
    clips = [ClipSpec(**{**asdict(c), "heldout": i in held}) for i, c in enumerate(clips)]
    return Corpus(seed, quick, tuple(clips), tuple(notes))


# ---------------------------------------------------------------------------------- synthesis
def cache_dir_default() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "voicecoach" / "bench"


def synth_key(tts: str, voice: str, rate: str, text: str) -> str:
    return hashlib.sha1(f"{tts}|{voice}|{rate}|{text}".encode()).hexdigest()[:20]


def _run(cmd: Sequence[str], stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(list(cmd), input=stdin, capture_output=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"{cmd[0]} failed: {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BenchError(f"{cmd[0]} failed (exit {proc.returncode}): {err[-1] if err else ''}")
    return proc.stdout


def _coach_rate_wpm() -> float:
    from ..settings import Settings

    return float(Settings().speech_rate_wpm)


def synthesise_to(path: Path, tts: str, voice: str, rate: str, text: str) -> None:
    """Synthesise ``text`` into a 16 kHz mono WAV file at ``path`` (atomically)."""
    import numpy as np

    from ..wavio import read_wav_16k, write_wav_16k

    stretch = RATES[rate]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vcbench-") as tmp:
        raw = Path(tmp) / "raw.wav"
        if tts == "espeak":
            _run(["espeak-ng", "-v", voice, "-s", str(round(175 / stretch)), "-w", str(raw),
                  "--", text])
        elif tts == "flite":
            _run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", text,
                  "-o", str(raw)])
        elif tts == "festival":
            if not shutil.which("text2wave"):
                raise BenchError("festival's text2wave not found: apt-get install festival")
            _run(["text2wave", "-eval", f"(voice_{voice})", "-eval",
                  f"(Parameter.set 'Duration_Stretch {stretch})", "-o", str(raw)],
                 stdin=text.encode())
        elif tts == "coach":
            from ..tts import synthesise

            syn = synthesise(text, rate_wpm=_coach_rate_wpm())
            from ..wavio import resample_int16

            pcm16 = resample_int16(syn.pcm, syn.sample_rate_hz, RATE_HZ)
            write_wav_16k(raw, np.asarray(pcm16, dtype="<i2").tobytes())
        else:
            raise BenchError(f"unknown speech synthesiser '{tts}'")
        pcm = read_wav_16k(raw)
        part = path.with_suffix(".part")
        write_wav_16k(part, pcm)
        os.replace(part, path)


def cached_wav(cache: Path, tts: str, voice: str, rate: str, text: str) -> Path:
    """The synthesised utterance's WAV file in ``cache``, synthesising it on a cache miss."""
    path = cache / tts / f"{synth_key(tts, voice, rate, text)}.wav"
    if not path.exists():
        synthesise_to(path, tts, voice, rate, text)
    return path


def cached_speech(cache: Path, tts: str, voice: str, rate: str, text: str
                  ) -> npt.NDArray[np.float64]:
    """The clean synthesised utterance (silence trimmed), synthesising it on a cache miss."""
    import numpy as np

    from ..wavio import read_wav_16k

    path = cached_wav(cache, tts, voice, rate, text)
    x = np.frombuffer(read_wav_16k(path), dtype="<i2").astype(np.float64)
    return trim(x)


def trim(x: npt.NDArray[np.float64], range_db: float = 45.0) -> npt.NDArray[np.float64]:
    """Cut leading and trailing silence (10 ms frames more than ``range_db`` below the peak)."""
    import numpy as np

    hop = 160
    nfr = x.size // hop
    if nfr == 0:
        return x
    e = np.mean(x[: nfr * hop].reshape(nfr, hop) ** 2, axis=1)
    top = float(e.max())
    if top <= 0:
        return x[:0]
    idx = np.nonzero(e >= top * 10 ** (-range_db / 10))[0]
    return x[int(idx[0]) * hop : (int(idx[-1]) + 1) * hop]


def synth_jobs(clips: Iterable[ClipSpec]) -> list[tuple[str, str, str, str]]:
    """The distinct (tts, voice, rate, text) utterances the clips need, babble included."""
    jobs: dict[tuple[str, str, str, str], None] = {}
    for c in clips:
        if c.tts in ("espeak", "flite", "festival", "coach"):
            jobs[(c.tts, c.voice, c.rate, c.text)] = None
        if c.noise == "babble":
            for j in babble_jobs():
                jobs[j] = None
    return list(jobs)


def babble_jobs() -> list[tuple[str, str, str, str]]:
    return [("espeak", v, "normal", t) for v, t in zip(BABBLE_VOICES, BABBLE_TEXTS, strict=False)]


# ------------------------------------------------------------------------------------ render
@dataclass(frozen=True)
class Rendered:
    pcm: bytes
    """16 kHz mono 16-bit PCM of the whole clip."""
    speech_start_s: float
    speech_end_s: float
    measured_snr_db: float | None

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (2 * RATE_HZ)


_BABBLE: list[Any] = []


def _babble_voices(cache: Path) -> list[Any]:
    if not _BABBLE:
        _BABBLE.extend(cached_speech(cache, *j) for j in babble_jobs())
    return _BABBLE


def source_audio(spec: ClipSpec, cache: Path) -> npt.NDArray[np.float64]:
    """The clip's foreground sound (speech or non-speech), trimmed, before level and padding."""
    import numpy as np

    from . import noise as nz

    if spec.kind == "digit":
        from ..wavio import read_wav_16k

        return trim(np.frombuffer(read_wav_16k(spec.source), dtype="<i2").astype(np.float64))
    if spec.kind == "nonspeech":
        return nz.nonspeech(spec.source, np.random.default_rng(spec.seed))
    return cached_speech(cache, spec.tts, spec.voice, spec.rate, spec.text)


def render(spec: ClipSpec, cache: Path) -> Rendered:
    """Build the clip: foreground at its level, padded, plus noise at the requested SNR."""
    import numpy as np

    from . import noise as nz

    rng = np.random.default_rng(spec.seed)
    fg = source_audio(spec, cache)
    if fg.size == 0:
        raise BenchError(f"clip {spec.clip_id}: the synthesiser produced no audio")
    if spec.kind != "digit":  # real recordings keep their own level
        mask = nz.active_mask(fg)
        rms = float(np.sqrt(np.mean(fg[mask] ** 2)))
        fg = fg * (32768 * 10 ** (spec.level_db / 20) / rms)
        peak = float(np.abs(fg).max())
        if peak > 30000:
            fg *= 30000 / peak
    lead = int(spec.lead_s * RATE_HZ)
    trail = int(spec.trail_s * RATE_HZ)
    speech = np.zeros(lead + fg.size + trail)
    speech[lead : lead + fg.size] = fg
    floor = rng.standard_normal(speech.size) * 2.0  # ~ -84 dBFS: a quiet room, not digital zero
    mix = speech + floor
    measured: float | None = None
    if spec.snr_db is not None:
        voices = _babble_voices(cache) if spec.noise == "babble" else []
        noise = nz.make_noise(spec.noise, speech.size, rng, voices)
        mask = nz.active_mask(speech)
        noise = nz.scale_noise(speech, noise, spec.snr_db)
        measured = nz.snr_db(speech, noise, mask)
        mix = mix + noise
    peak = float(np.abs(mix).max())
    if peak > 32000:  # keep it unclipped (rare: loud speech in 0 dB noise)
        mix *= 32000 / peak
    pcm = nz.to_int16(mix).astype("<i2").tobytes()
    return Rendered(pcm, lead / RATE_HZ, (lead + fg.size) / RATE_HZ, measured)
