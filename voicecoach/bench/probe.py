"""Start-up and footprint probe, run in a fresh process by :func:`voicecoach.bench.runner.probe`.

Prints ``READY {...}`` once the recogniser (model + first phase grammar), the parser and the cue
book are loaded, then synthesises the first cue, decodes the given WAV files and prints
``RESULT {...}`` with the timings and the peak resident memory (``ru_maxrss``).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m voicecoach.bench.probe")
    ap.add_argument("--engine", required=True)
    ap.add_argument("--model")
    ap.add_argument("--noise-filter", default="rnnoise")
    ap.add_argument("wavs", nargs="*")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    from ..asr import create_recogniser, parse_recognitions, recognise_pcm
    from ..cues import CueBook
    from ..intents import default_parser
    from ..wavio import read_wav_16k

    imports_s = time.perf_counter() - t
    t = time.perf_counter()
    rec = create_recogniser(args.engine, args.model, "screen", args.noise_filter)
    model_s = time.perf_counter() - t
    t = time.perf_counter()
    parser = default_parser()
    cues = CueBook.load()
    first_cue = cues.variants("screen.greet")[0] if "screen.greet" in cues else next(
        iter(cues.all_texts()))
    parser_s = time.perf_counter() - t
    rss_ready_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ready = {"imports_s": round(imports_s, 3), "model_and_grammar_s": round(model_s, 3),
             "parser_and_cues_s": round(parser_s, 3),
             "in_process_ready_s": round(time.perf_counter() - _T0, 3)}
    print("READY " + json.dumps(ready), flush=True)

    audio_s = 0.0
    cpu0 = time.process_time()
    t = time.perf_counter()
    for path in args.wavs:
        pcm = read_wav_16k(path)
        audio_s += len(pcm) / 32000
        rec.reset()
        results = recognise_pcm(rec, pcm)
        parse_recognitions(results, "screen", parser)
    decode_s = time.perf_counter() - t
    cpu_s = time.process_time() - cpu0
    rss_asr_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    synth_s: float | None
    try:
        from ..settings import Settings
        from ..tts import synthesise

        synthesise(first_cue, rate_wpm=Settings().speech_rate_wpm)
        synth_s = time.perf_counter() - t
    except Exception as exc:  # the probe reports what it can; TTS trouble is not fatal here
        print(f"first cue synthesis failed: {exc}", file=sys.stderr)
        synth_s = None

    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {**ready, "engine": rec.name, "first_cue_synth_s": round(synth_s or 0.0, 3),
              "first_cue_synth_ok": synth_s is not None,
              "peak_rss_mb_after_load": round(rss_ready_kb / 1024, 1),
              "peak_rss_mb": round(rss_asr_kb / 1024, 1),
              "peak_rss_mb_with_tts": round(usage.ru_maxrss / 1024, 1),
              "probe_audio_s": round(audio_s, 2), "probe_decode_s": round(decode_s, 3),
              "probe_cpu_s": round(cpu_s, 3)}
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
