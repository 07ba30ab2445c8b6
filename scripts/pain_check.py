#!/usr/bin/env python3
"""Pain scores from real voices: the FSDD digits answering the coach's pain question.

The Free Spoken Digit Dataset (FSDD, CC BY-SA 4.0: four adult male speakers, 20 takes of each
digit, 8 kHz) is the one set of real human speech at hand. Each recording is padded with silence
and streamed through the built-in PocketSphinx engine with RNNoise, listening the way the live loop
does while the pain question waits for its answer (the coach's own ``listening_intents`` at that
point: the pain score and the always-on intents), then parsed in the screen phase. ``--grammar
phase`` listens with the whole screen phase grammar instead, as ``voicecoach parse --wav --phase
screen`` does.

    .venv/bin/python scripts/pain_check.py              # all 800 recordings, ~3 min on 2 cores
    .venv/bin/python scripts/pain_check.py --takes 5    # 200 of them
    .venv/bin/python scripts/pain_check.py --json out.json

The recordings are band-limited to 4 kHz, which a 16 kHz microphone is not: a real "six" loses
its /s/ sounds (synthetic "six" at 16 kHz was heard 8 times in 9, band-limited 0 in 9), so the
figure is a floor for a full-band microphone. Credit: FSDD, Zohar Jackson et al.,
https://github.com/Jakobovski/free-spoken-digit-dataset
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_REC: Any = None


def pain_question_intents() -> tuple[str, ...]:
    """What the coach listens for while its first pain question waits for an answer."""
    import random

    from voicecoach.clock import VirtualClock
    from voicecoach.coach import Coach
    from voicecoach.cues import CueBook
    from voicecoach.events import Heard, SpeechFinished
    from voicecoach.settings import Settings

    coach = Coach(Settings(), VirtualClock(), CueBook.load(), random.Random(1))
    coach.start()
    answers = {"greet": "start", "warning": "no", "disc": "no"}
    for _ in range(20):
        if coach.question == "pain" and not coach.speaking:
            return coach.listening_intents
        if coach.speaking:
            coach.handle(SpeechFinished())
        elif coach.question in answers:
            intent = answers[coach.question]
            coach.handle(Heard(intent, {}, intent))
    raise RuntimeError("the coach never asked for the pain score")


def _run(job: tuple[str, str, tuple[str, ...] | None]) -> dict[str, Any]:
    global _REC
    path, noise_filter, intents = job
    import numpy as np

    from voicecoach.asr import create_recogniser, parse_recognitions, recognise_pcm
    from voicecoach.wavio import read_wav_16k

    if _REC is None:
        _REC = create_recogniser("pocketsphinx", None, "screen", noise_filter)
    pcm = np.frombuffer(read_wav_16k(path), dtype="<i2")
    pad = np.zeros(8000, dtype="<i2")  # 0.5 s before, 1 s after
    audio = np.concatenate([pad, pcm, pad, pad]).tobytes()
    _REC.reset()
    _REC.set_phase("screen", intents)
    fields = parse_recognitions(recognise_pcm(_REC, audio), "screen")
    digit, speaker, _take = Path(path).stem.split("_", 2)
    return {"file": Path(path).name, "digit": int(digit), "speaker": speaker, **fields}


def main(argv: list[str] | None = None) -> int:
    from voicecoach.bench.corpus import FSDD_DIR

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fsdd", default=str(FSDD_DIR),
                    help="the FSDD recordings ({digit}_{speaker}_{take}.wav; default: %(default)s,"
                         " or $VOICECOACH_FSDD)")
    ap.add_argument("--takes", type=int, default=20,
                    help="takes per digit and speaker, the first N (default: all 20)")
    ap.add_argument("--grammar", choices=("question", "phase"), default="question",
                    help="listen as the pain question does (default), or with the whole screen "
                         "phase grammar as 'voicecoach parse --wav --phase screen' does")
    ap.add_argument("--noise-filter", default="rnnoise", choices=("none", "rnnoise", "webrtc"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", metavar="FILE", help="write every recording's result here")
    args = ap.parse_args(argv)

    files = []
    for f in sorted(Path(args.fsdd).glob("*_*_*.wav")):
        take = f.stem.rsplit("_", 1)[1]
        if take.isdigit() and int(take) < args.takes:
            files.append(str(f))
    if not files:
        print(f"no FSDD recordings in {args.fsdd}", file=sys.stderr)
        return 1
    intents = pain_question_intents() if args.grammar == "question" else None
    with Pool(max(1, args.jobs)) as pool:
        rows = pool.map(_run, [(f, args.noise_filter, intents) for f in files], chunksize=8)

    def right(r: dict[str, Any]) -> bool:
        return bool(r["intent"] == "pain_score" and r["slots"].get("score") == r["digit"])

    n = len(rows)
    ok = sum(map(right, rows))
    print(f"pain question, {n} FSDD recordings ({args.grammar} grammar): "
          f"{ok}/{n} = {100 * ok / n:.1f}% heard as the right score")
    for key in ("digit", "speaker"):
        groups: dict[Any, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r[key], []).append(r)
        print(f"  by {key}: " + ", ".join(
            f"{WORDS[k] if key == 'digit' else k} {sum(map(right, g))}/{len(g)}"
            for k, g in sorted(groups.items())))
    rejected = sum(1 for r in rows if r["intent"] is None)
    wrong_score = sum(1 for r in rows if r["intent"] == "pain_score" and not right(r))
    other = Counter(r["intent"] for r in rows if r["intent"] not in (None, "pain_score"))
    print(f"  not understood {rejected}, another score {wrong_score}, another intent "
          f"{sum(other.values())} ({', '.join(f'{i} {c}' for i, c in other.most_common())})")
    print(f"  red flags (the session would end): {other.get('red_flag', 0)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
