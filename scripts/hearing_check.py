#!/usr/bin/env python3
"""The hearing check behind the README's "How well it hears" tables.

Every clip goes through the same path as ``voicecoach parse --wav --phase P`` (the phase grammar,
RNNoise, the built-in PocketSphinx engine): synthetic commands from several voices, clean and with
pink noise at 10 dB SNR, plus unrelated sentences that must give no intent. The sets are in
``tests/data/hearing_sets.yaml``: ``dev`` was tuned on, ``heldout`` was measured first and later
informed a few grammar additions, ``fresh`` (new phrasings and new voices, including festival)
was written and measured once before any change it could have steered.

    .venv/bin/python scripts/hearing_check.py heldout         # ~2-4 min on 2 cores
    .venv/bin/python scripts/hearing_check.py fresh --jobs 2
    .venv/bin/python scripts/hearing_check.py persona_b --snr clean

``persona_b``, ``persona_c`` and ``persona_d`` are the blind paraphrase sets of
``tests/data/intents_paraphrases.yaml``, spoken by ``PERSONA_VOICES``.

Needs espeak-ng, flite and festival (scripts/install.sh --dev installs them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SETS = ROOT / "tests" / "data" / "hearing_sets.yaml"
PARAPHRASES = ROOT / "tests" / "data" / "intents_paraphrases.yaml"
PERSONA_VOICES = ["espeak:en-us", "flite:slt"]
PAD = b"\x00\x00" * 6400  # 0.4 s of silence either side, as a recording would have
_REC: Any = None


def voice_spec(spec: str) -> tuple[str, str, str]:
    """``"tts:voice"`` or ``"tts:voice@rate"`` (a rate of ``voicecoach.bench.corpus.RATES``) as
    (tts, voice, rate)."""
    head, _, rate = spec.partition("@")
    tts, _, voice = head.partition(":")
    return tts, voice, rate or "normal"


def _wav(cache: str, tts: str, voice: str, rate: str, text: str) -> Path:
    from voicecoach.bench.corpus import cached_wav

    return cached_wav(Path(cache), tts, voice, rate, text)


def _run(job: tuple[Any, ...]) -> dict[str, Any]:
    global _REC
    kind, text, phase, want, tts, voice, rate, snr, noise_kind, seed, cache = job
    import numpy as np

    from voicecoach.asr import create_recogniser, parse_recognitions, recognise_pcm
    from voicecoach.bench.noise import make_noise, scale_noise, to_int16
    from voicecoach.wavio import read_wav_16k

    if _REC is None:
        _REC = create_recogniser("pocketsphinx", None, None, "rnnoise")
    pcm = PAD + read_wav_16k(_wav(cache, tts, voice, rate, text)) + PAD
    if snr is not None:
        speech = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        noise = make_noise(noise_kind, len(speech), np.random.default_rng(seed))
        mixed = speech + scale_noise(speech, noise, snr)
        pcm = to_int16(mixed).astype("<i2").tobytes()
    _REC.reset()
    _REC.set_phase(phase)
    res = parse_recognitions(recognise_pcm(_REC, pcm), phase)
    return {"kind": kind, "text": text, "phase": phase, "want": want,
            "voice": f"{tts}:{voice}" + ("" if rate == "normal" else f"@{rate}"),
            "snr": snr, "intent": res["intent"], "transcript": res["transcript"]}


def main(argv: list[str] | None = None) -> int:
    import yaml

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    personas = [k for k in yaml.safe_load(PARAPHRASES.read_text()) if k.startswith("persona_")]
    ap.add_argument("set", choices=[*yaml.safe_load(SETS.read_text()), *personas])
    from voicecoach.bench.noise import NOISE_TYPES

    ap.add_argument("--noise", choices=[t for t in NOISE_TYPES if t != "babble"], default="pink",
                    help="the noise mixed in at 10 dB SNR (default: pink)")
    ap.add_argument("--snr", choices=("both", "clean", "10"), default="both",
                    help="clean audio, 10 dB SNR, or both (default)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", type=Path, help="write every clip's result here")
    args = ap.parse_args(argv)
    if args.set.startswith("persona_"):
        data = dict(yaml.safe_load(PARAPHRASES.read_text())[args.set], voices=PERSONA_VOICES)
    else:
        data = yaml.safe_load(SETS.read_text())[args.set]
    voices = [voice_spec(v) for v in data["voices"]]
    cache = os.environ.get("VOICECOACH_HEARING_CACHE") or tempfile.mkdtemp(prefix="vc-hearing-")
    jobs = []
    snrs = {"both": (None, 10), "clean": (None,), "10": (10,)}[args.snr]
    for snr in snrs:
        for i, (text, phase, want) in enumerate(data["commands"]):
            for j, (tts, voice, rate) in enumerate(voices):
                jobs.append(("cmd", text, phase, want, tts, voice, rate, snr, args.noise,
                             i * 17 + j, cache))
    phases = ("screen", "hold", "setup", "pull")
    for i, text in enumerate(data["unrelated"]):
        for j, (tts, voice, rate) in enumerate(voices):
            jobs.append(("unrel", text, phases[(i + j) % 4], None, tts, voice, rate, None, None, i,
                         cache))
    t0 = time.time()
    with Pool(args.jobs) as pool:
        # synthesise each utterance once before decoding in parallel
        pool.starmap(_wav, sorted({(cache, j[4], j[5], j[6], j[1]) for j in jobs}))
        out = pool.map(_run, jobs, chunksize=4)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    for snr in snrs:
        c = [o for o in out if o["kind"] == "cmd" and o["snr"] == snr]
        ok = sum(o["intent"] == o["want"] for o in c)
        rf = [o for o in c if o["want"] == "red_flag"]
        missed = sum(o["intent"] != "red_flag" for o in rf)
        false_rf = sum(o["intent"] == "red_flag" for o in c if o["want"] != "red_flag")
        label = "clean" if snr is None else f"{snr} dB {args.noise}"
        print(f"{label}: {ok}/{len(c)} = {100 * ok / len(c):.1f}% intent right; red flags missed "
              f"{missed}/{len(rf)}; false red flags {false_rf}")
    u = [o for o in out if o["kind"] == "unrel"]
    acc = [o for o in u if o["intent"] is not None]
    print(f"unrelated accepted as a command: {len(acc)}/{len(u)} = {100 * len(acc) / len(u):.1f}%")
    for o in acc:
        print(f"    {o['text']!r} ({o['voice']}, {o['phase']}) -> {o['intent']} "
              f"{o['transcript']!r}")
    print(f"{len(out)} clips in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
