#!/usr/bin/env python3
"""Talking over the coach, measured: the README's "Talking over the coach" figures.

The speaker and the microphone sit side by side, so the microphone hears the coach. Here that
room is simulated: each coach line is synthesised as the coach speaks it, played through a mildly
saturating small speaker into a fixed room impulse response (direct sound, a few early
reflections, a 0.3 s reverberant tail) and reaches the microphone, where a user's barge-in
command (a red flag, stop or pause from the ``heldout`` and ``fresh`` hearing sets, in their
voices) may be added at the same level as the echo or 6 dB below it. Everything after the
microphone is the live loop's own code: a :class:`voicecoach.loop.Listener` with the phase's
PocketSphinx grammar, RNNoise and the echo gate, which is told the line is being spoken.

Counted: barge-in commands the listener posts with the right intent, and coach lines alone
(their echo through the room) that post anything. With ``--all-lines``, every coach line is
also fed back as it is synthesised (no room) through the listener with the echo gate, and
through the ``parse --wav`` path (the phase grammar and RNNoise, no gate).

    .venv/bin/python scripts/echo_check.py                  # ~4 min on one core
    .venv/bin/python scripts/echo_check.py --all-lines      # ~12 min more
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SETS = ROOT / "tests" / "data" / "hearing_sets.yaml"
RATE = 16000
BLOCK = 480  # the microphone's 30 ms blocks
FILL = {"side": "left", "other_side": "right", "seconds": "thirty", "score": "five",
        "start_score": "five", "end_score": "three", "rep": "three", "reps": "six",
        "options": "yes or no", "minutes": "five", "variation": "both knees"}
PHASE_CUES = {"screen": "screen.", "setup": "setup.", "pull": "pull.", "hold": "hold.",
              "switch_side": "switch_side.", "stabilise": "stabilise.", "paused": "any.",
              "finished": "finished."}


def room_ir(seed: int = 1) -> np.ndarray:
    """A small room near a speaker: direct sound 1 ms away, six reflections within 20 ms, and a
    decaying reverberant tail (direct-to-reverberant ratio about +6 dB)."""
    rng = np.random.default_rng(seed)
    ir = np.zeros(int(0.3 * RATE))
    ir[16] = 1.0
    for d in rng.integers(48, 320, 6):
        ir[d] += rng.uniform(0.15, 0.4) * rng.choice([-1.0, 1.0])
    t = np.arange(320, len(ir)) / RATE
    ir[320:] += rng.standard_normal(len(t)) * 0.04 * np.exp(-(t - t[0]) / 0.05)
    return ir


def speaker_out(x: np.ndarray) -> np.ndarray:
    """A small speaker driven hard: soft saturation near full scale."""
    return np.tanh(x / 32768.0 * 1.5) / 1.5 * 32768.0


def active_rms(x: np.ndarray) -> float:
    a = np.abs(x)
    return float(np.sqrt(np.mean(x[a > 0.05 * a.max()] ** 2)))


def coach_lines(finished: bool = False) -> list[tuple[str, str]]:
    """(phase, line) for every wording of every cue, by phase; ``finished``: with the lines
    said once the session is over."""
    from voicecoach.cues import CueBook

    book = CueBook.load()
    out = []
    for phase, prefix in PHASE_CUES.items():
        if phase != "finished" or finished:
            out += [(phase, v.format(**FILL)) for cue in book.ids() if cue.startswith(prefix)
                    for v in book.variants(cue)]
    return out


def barge_ins(cache: Path) -> list[tuple[str, str, np.ndarray]]:
    import yaml

    from voicecoach.bench.corpus import cached_wav
    from voicecoach.wavio import read_wav_16k

    sets = yaml.safe_load(SETS.read_text())
    out: list[tuple[str, str, np.ndarray]] = []
    for name in ("heldout", "fresh"):
        voices = sets[name]["voices"]
        for text, _phase, want in sets[name]["commands"]:
            if want in ("red_flag", "stop", "pause"):
                tts, voice = voices[len(out) % len(voices)].split(":", 1)
                pcm = read_wav_16k(cached_wav(cache, tts, voice, "normal", text))
                out.append((text, want, np.frombuffer(pcm, dtype="<i2").astype(np.float64)))
    return out


class Room:
    """One simulated session: one recogniser per phase, shared by its lines."""

    def __init__(self) -> None:
        self.ir = room_ir()
        self.recs: dict[str, Any] = {}

    def echo(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The coach's line at 16 kHz as it is synthesised, and as it reaches the microphone."""
        from voicecoach.audio import resample
        from voicecoach.tts import synthesise

        s = synthesise(text, 150.0)
        line = resample(s.pcm.astype(np.float64), s.sample_rate_hz, RATE)
        return line, np.convolve(speaker_out(line), self.ir)[: len(line)]

    def listen(self, phase: str, text: str, mic: np.ndarray) -> list[tuple[str | None, str]]:
        """Feed ``mic`` (16 kHz) through the live listener while the line is being spoken;
        the events it posts."""
        from voicecoach.intents import default_parser
        from voicecoach.loop import EchoGate, Listener

        rec = self._recogniser(phase)
        session = _Session(phase)
        gate = EchoGate()
        gate.speaking(text)
        listener = Listener(None, rec, default_parser(), session, gate,  # type: ignore[arg-type]
                            lambda _: None)
        pcm = np.concatenate([mic, np.zeros(RATE)])
        data = np.clip(np.round(pcm), -32768, 32767).astype("<i2").tobytes()
        for i in range(0, len(data), 2 * BLOCK):
            listener.feed(data[i: i + 2 * BLOCK])
        listener.flush()
        return [(e.intent, e.text) for e in session.posted]

    def parse(self, phase: str, mic: np.ndarray) -> str | None:
        """The intent ``voicecoach parse --wav --phase`` gives for ``mic`` (no echo gate)."""
        from voicecoach.asr import parse_recognitions, recognise_pcm

        rec = self._recogniser(phase)
        pcm = np.clip(np.round(mic), -32768, 32767).astype("<i2").tobytes()
        intent: str | None = parse_recognitions(recognise_pcm(rec, pcm), phase)["intent"]
        return intent

    def _recogniser(self, phase: str) -> Any:
        from voicecoach.asr import create_recogniser

        rec = self.recs.get(phase)
        if rec is None:
            rec = self.recs[phase] = create_recogniser("pocketsphinx", None, phase, "rnnoise")
        rec.reset()
        rec.set_phase(phase)
        return rec


class _Session:
    listen = None

    def __init__(self, phase: str) -> None:
        self.phase = phase
        self.posted: list[Any] = []

    def post(self, event: Any) -> None:
        self.posted.append(event)

    def close(self) -> None:
        pass


def barge_in_rows(n_lines: int, cache: str) -> list[dict[str, Any]]:
    rng = random.Random(5)
    lines = coach_lines()
    rng.shuffle(lines)
    users = barge_ins(Path(cache))
    rng.shuffle(users)
    room = Room()
    rows: list[dict[str, Any]] = []
    for k, (phase, text) in enumerate(lines[:n_lines]):
        _, echo = room.echo(text)
        rows.append({"kind": "echo", "phase": phase, "line": text,
                     "events": room.listen(phase, text, echo)})
        for j, level_db in enumerate((0.0, -6.0)):
            said, want, user = users[(2 * k + j) % len(users)]
            user = user * active_rms(echo) / active_rms(user) * 10 ** (level_db / 20)
            earliest = int(0.3 * RATE)  # somewhere in the line, from 0.3 s on
            start = rng.randint(earliest, max(earliest + 1, len(echo) - len(user) // 2))
            mic = np.zeros(max(len(echo), start + len(user)))
            mic[: len(echo)] += echo
            mic[start: start + len(user)] += user
            events = room.listen(phase, text, mic)
            rows.append({"kind": "barge", "level_db": level_db, "phase": phase, "line": text,
                         "said": said, "want": want, "events": events,
                         "heard": any(i == want for i, _ in events)})
    return rows


def all_line_rows() -> list[dict[str, Any]]:
    room = Room()
    rows: list[dict[str, Any]] = []
    for phase, text in coach_lines(finished=True):
        line, _ = room.echo(text)
        rows.append({"kind": "line", "phase": phase, "line": text,
                     "events": room.listen(phase, text, line),
                     "parse": room.parse(phase, np.concatenate([np.zeros(6400), line,
                                                                np.zeros(6400)]))})
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for level in (0.0, -6.0):
        b = [r for r in rows if r["kind"] == "barge" and r["level_db"] == level]
        if b:
            out[f"barge-in heard over the coach's echo, user {level:+.0f} dB to it"] = \
                f"{sum(r['heard'] for r in b)}/{len(b)}"
    e = [r for r in rows if r["kind"] == "echo"]
    if e:
        out["coach lines (their echo) giving an event in the listener"] = \
            f"{sum(bool(r['events']) for r in e)}/{len(e)}"
    a = [r for r in rows if r["kind"] == "line"]
    if a:
        out["every coach line fed back: an event in the listener (echo gate)"] = \
            f"{sum(bool(r['events']) for r in a)}/{len(a)}"
        out["every coach line fed back: an intent from the parse --wav path (no gate)"] = \
            f"{sum(r['parse'] is not None for r in a)}/{len(a)}"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=40, help="coach lines (each with 2 barge-ins)")
    ap.add_argument("--all-lines", action="store_true",
                    help="also feed every coach line back, as synthesised")
    ap.add_argument("--json", metavar="FILE", help="write every clip's events here")
    args = ap.parse_args()
    cache = os.environ.get("VOICECOACH_HEARING_CACHE") or tempfile.mkdtemp(prefix="vc-echo-")
    rows = barge_in_rows(args.lines, cache)
    if args.all_lines:
        rows += all_line_rows()
    for k, v in summary(rows).items():
        print(f"{k}: {v}")
    for r in rows:
        if r["kind"] in ("echo", "line") and (r["events"] or r.get("parse")):
            print(f"  {r['phase']}: {r['line'][:60]!r} -> {r['events']} {r.get('parse') or ''}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
