"""``voicecoach bench``: how well voicecoach hears, measured on a reproducible corpus.

The corpus is generated from a seed (:mod:`.corpus`): phrasings sampled from the intent templates,
spoken by espeak-ng, flite and festival voices at several rates, mixed with white, pink, fan and
babble noise (:mod:`.noise`) at clean/20/10/5/0 dB SNR, plus out-of-domain clips and real human
digits. Each clip is streamed through each available recogniser in simulated real time
(:mod:`.runner`) and the figures and plots are written by :mod:`.report`.

Only this module's :func:`add_subcommand` and :func:`main` are imported by the CLI; numpy,
matplotlib and the engines are imported lazily when a run starts.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..errors import VoiceCoachError

log = logging.getLogger(__name__)

__all__ = ["BenchOptions", "add_subcommand", "cmd_bench", "main", "run_bench"]


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self._last_pct = -1
        self._last_draw = 0.0
        self._draw()

    def __call__(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def _draw(self, final: bool = False) -> None:
        if not self.enabled:
            return
        pct = int(100 * self.done / self.total)
        now = time.perf_counter()
        if self.tty:
            if not final and now - self._last_draw < 0.1 and self.done < self.total:
                return
            self._last_draw = now
            width = 30
            fill = int(width * self.done / self.total)
            el = now - self.t0
            eta = (el / self.done * (self.total - self.done)) if self.done else 0.0
            self.stream.write(f"\r{self.label:<12} [{'#' * fill}{'.' * (width - fill)}] "
                              f"{self.done}/{self.total} {el:5.0f}s eta {eta:4.0f}s ")
        elif pct // 10 != self._last_pct // 10 or final:
            self.stream.write(f"{self.label}: {self.done}/{self.total} ({pct}%)\n")
        self._last_pct = pct
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self._draw(final=True)
            self.stream.write("\n")
            self.stream.flush()


class BenchOptions:
    """What to run (the CLI options)."""

    def __init__(self, out: str = "bench-out", quick: bool = False, seed: int = 1,
                 engine: str = "all", model: str | None = None, noise_filter: str | None = None,
                 jobs: int | None = None, max_clips: int | None = None,
                 cache: str | None = None, progress: bool = True, probe: bool = True,
                 cross_check: bool = True) -> None:
        self.out = out
        self.quick = quick
        self.seed = seed
        self.engine = engine
        self.model = model
        self.noise_filter = noise_filter
        self.jobs = jobs or os.cpu_count() or 1
        self.max_clips = max_clips
        self.cache = cache
        self.progress = progress
        self.probe = probe
        self.cross_check = cross_check


def _engines(opts: BenchOptions, notes: list[str]) -> list[str]:
    engines: list[str] = []
    if opts.engine in ("all", "pocketsphinx"):
        engines.append("pocketsphinx")
    if opts.engine in ("all", "vosk"):
        model = None
        why = ""
        try:
            from ..modelstore import find_model

            model = find_model(opts.model)
        except ImportError as exc:
            why = f"the model store is not available ({exc})"
        except VoiceCoachError as exc:
            why = str(exc)
        try:
            import vosk  # noqa: F401
        except ImportError:
            model, why = None, "the vosk package is not installed"
        if model is None:
            msg = (f"Vosk skipped: {why or 'no Vosk model found'} (run 'voicecoach model "
                   "download' on a machine with internet, or pass --model DIR).")
            if opts.engine == "vosk":
                raise VoiceCoachError(msg)
            notes.append(msg)
        else:
            engines.append("vosk")
            opts.model = str(model)
            if "-en" not in Path(model).name and "en-" not in Path(model).name:
                notes.append(f"The Vosk model {model} does not look like an English model: its "
                             "figures say nothing about English speech.")
            else:
                notes.append(f"Vosk model: {model}")
    return engines


def run_bench(opts: BenchOptions, argv: list[str] | None = None) -> dict[str, Any]:
    """Build the corpus, run it, write the report into ``opts.out``; returns the results dict."""
    from ..settings import Settings
    from . import report as rp
    from .corpus import build_corpus, cache_dir_default
    from .runner import RunConfig, probe, recognise_all, synthesise_all

    t_start = time.perf_counter()
    load_before = _load()
    started = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(opts.cache) if opts.cache else cache_dir_default()
    cache.mkdir(parents=True, exist_ok=True)
    noise_filter = opts.noise_filter or Settings().noise_filter
    notes: list[str] = []
    engines = _engines(opts, notes)

    corpus = build_corpus(opts.seed, opts.quick)
    notes += corpus.notes
    clips = list(corpus.clips)
    if opts.max_clips is not None and len(clips) > opts.max_clips:
        clips = _spread(clips, opts.max_clips)
        notes.append(f"Only {len(clips)} of {len(corpus.clips)} clips were run (--max-clips).")
    rp.write_rows([c.to_json() for c in clips], out / "corpus.jsonl")

    t = time.perf_counter()
    bar = Progress("synthesis", 1, enabled=opts.progress)
    from .corpus import synth_jobs

    bar.total = max(1, len(synth_jobs(clips)))
    n_synth, errors = synthesise_all(clips, cache, opts.jobs, bar)
    bar.close()
    for e in sorted(set(errors))[:5]:
        notes.append(f"synthesis error: {e}")
    synth_wall = time.perf_counter() - t

    held_dir = out / "heldout"
    if held_dir.exists():
        import shutil

        shutil.rmtree(held_dir)
    cfg = RunConfig(tuple(engines), opts.model, noise_filter, str(cache), str(held_dir))
    t = time.perf_counter()
    bar = Progress("recognition", len(clips), enabled=opts.progress)
    rows = recognise_all(clips, cfg, opts.jobs, bar)
    bar.close()
    rec_wall = time.perf_counter() - t
    rp.write_rows(rows, out / "clips.jsonl")
    n_err = sum(1 for r in rows if "error" in r)
    if n_err:
        notes.append(f"{n_err} clip runs failed (see 'error' in clips.jsonl).")

    probes: dict[str, Any] = {}
    if opts.probe:
        wavs = sorted(str(p) for p in held_dir.rglob("*.wav"))[:8]
        for e in engines:
            try:
                probes[e] = probe(e, opts.model, noise_filter, wavs)
            except VoiceCoachError as exc:
                notes.append(f"start-up/memory probe failed for {e}: {exc}")

    cross: dict[str, Any] = {}
    if opts.cross_check:
        n_held = sum(1 for r in rows if r.get("wav") and "error" not in r)
        bar = Progress("cross-check", n_held, enabled=opts.progress)
        cross = cross_check(rows, held_dir, engines, opts.model, noise_filter, opts.jobs, bar)
        bar.close()

    metrics = rp.compute_metrics(rows)
    cmd = "voicecoach bench " + " ".join(shlex.quote(a) for a in (argv or []))
    results: dict[str, Any] = {
        "run": {
            "command": cmd.strip(), "seed": opts.seed, "quick": opts.quick,
            "corpus_fingerprint": corpus.fingerprint(), "clips": len(clips),
            "utterances_synthesised": n_synth, "engines": engines,
            "noise_filter": noise_filter, "chunk_ms": cfg.chunk_ms, "jobs": opts.jobs,
            "machine": rp.machine_description(), "started": started,
            "synth_wall_s": round(synth_wall, 1), "recognition_wall_s": round(rec_wall, 1),
            "notes": notes,
        },
        "engines": metrics,
        "probe": probes,
        "raspberry_pi_4": rp.pi_estimate(metrics, probes),
        "cross_check": cross,
    }
    if opts.progress:
        sys.stderr.write("writing report ...\n")
    results["plots"] = rp.plots(metrics, rows, out)
    results["run"]["wall_s"] = round(time.perf_counter() - t_start, 1)
    results["run"]["load_before"] = load_before
    results["run"]["load_after"] = _load()
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n",
                                      "utf-8")
    (out / "report.md").write_text(rp.render_markdown(results), "utf-8")
    return results


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _spread(items: list[Any], n: int) -> list[Any]:
    """``n`` items spread evenly over the list (so a short run still covers every kind)."""
    if n <= 0:
        return []
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _parse_one(job: tuple[str, str, str, str | None, str]) -> dict[str, Any]:
    """One ``voicecoach parse --wav`` call on one file (a freshly started recogniser)."""
    from ..asr import parse_wav_files

    wav, phase, engine, model_dir, noise_filter = job
    return next(iter(parse_wav_files([wav], phase, engine, model_dir, noise_filter)))


def cross_check(rows: list[dict[str, Any]], held_dir: Path, engines: list[str],
                model_dir: str | None, noise_filter: str, jobs: int = 1,
                progress: Callable[[int], None] = lambda n: None) -> dict[str, Any]:
    """Run the held-out WAVs through ``parse_wav_files`` (what ``voicecoach parse --wav`` does)
    and compare with the bench's rows; also writes heldout/manifest.jsonl and check.sh.

    One call per file: each file is heard by a freshly started recogniser, as in the bench
    (PocketSphinx adapts to the audio it has heard before, so a many-file call depends on order).
    """
    from . import report as rp
    from .corpus import ClipSpec
    from .runner import outcome_correct, pmap

    held = [r for r in rows if r.get("wav") and "error" not in r and r["engine"] in engines]
    if not held:
        return {}
    held.sort(key=lambda r: (r["engine"], r["phase"], r["clip_id"]))
    script = ["#!/bin/sh", "# Re-run the held-out clips through the command line parser.",
              'cd "$(dirname "$0")"']
    for r in held:
        vosk_model = r["engine"] == "vosk" and model_dir
        model = f" --model {shlex.quote(model_dir)}" if (vosk_model and model_dir) else ""
        rel = shlex.quote(os.path.relpath(r["wav"], held_dir))
        script.append(f"voicecoach parse --phase {r['phase']} --engine {r['engine']}{model} "
                      f"--noise-filter {noise_filter} --wav {rel}")
    outs = pmap(_parse_one, [(r["wav"], r["phase"], r["engine"], model_dir, noise_filter)
                             for r in held], jobs, progress)
    result: dict[str, Any] = {"clips": len({r["clip_id"] for r in held}), "engines": {}}
    for engine in engines:
        agree: list[bool] = []
        bench_ok: list[bool] = []
        parse_ok: list[bool] = []
        for r, o in zip(held, outs, strict=True):
            if r["engine"] != engine:
                continue
            spec = ClipSpec.from_json(r)
            agree.append(o["intent"] == r["intent"] and dict(o["slots"]) == dict(r["slots"]))
            bench_ok.append(bool(r["correct"]))
            parse_ok.append(outcome_correct(spec, o["intent"], o["slots"]))
            r["parse_wav"] = {"intent": o["intent"], "slots": o["slots"],
                              "transcript": o["transcript"]}
        result["engines"][engine] = {
            "agreement": rp.ratio(agree, bool), "bench_correct": rp.ratio(bench_ok, bool),
            "parse_correct": rp.ratio(parse_ok, bool)}
    rp.write_rows(held, held_dir / "manifest.jsonl")
    (held_dir / "check.sh").write_text("\n".join(script) + "\n", "utf-8")
    return result


# ---------------------------------------------------------------------------------- the CLI
def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default="bench-out",
                   help="where to write report.md, results.json, plots (default ./bench-out)")
    p.add_argument("--quick", action="store_true", help="a small corpus (under 2 minutes)")
    p.add_argument("--seed", type=int, default=1,
                   help="corpus seed: another seed gives another corpus (default 1)")
    p.add_argument("--engine", choices=("pocketsphinx", "vosk", "all"), default="all",
                   help="recogniser(s) to measure (default: all available)")
    p.add_argument("--model", metavar="DIR", help="Vosk model directory")
    p.add_argument("--noise-filter", choices=("none", "rnnoise", "webrtc"), default=None,
                   help="noise suppression in front of the recogniser (default: from settings)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: number of CPUs)")
    p.add_argument("--max-clips", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--cache", metavar="DIR", default=None,
                   help="synthesised speech cache (default ~/.cache/voicecoach/bench)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar on stderr")


def add_subcommand(subparsers: Any) -> None:
    """Register ``voicecoach bench`` on the CLI's sub-parsers."""
    p = subparsers.add_parser(
        "bench", help="measure how well voicecoach hears (accuracy, noise, latency, footprint)",
        description="Build a reproducible corpus of synthetic and real speech with noise, run it "
        "through the recognisers and write report.md, results.json and PNG plots.")
    _configure(p)
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """Handler for ``voicecoach bench``."""
    opts = BenchOptions(out=args.out, quick=args.quick, seed=args.seed, engine=args.engine,
                        model=args.model, noise_filter=args.noise_filter, jobs=args.jobs,
                        max_clips=args.max_clips, cache=args.cache, progress=args.progress)
    argv = getattr(args, "bench_argv", None) or sys.argv[2:]
    try:
        results = run_bench(opts, list(argv))
    except VoiceCoachError as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 1
    print(f"report written to {Path(args.out) / 'report.md'} "
          f"({results['run']['wall_s']:.0f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m voicecoach.bench``."""
    p = argparse.ArgumentParser(prog="python -m voicecoach.bench",
                                description="voicecoach hearing benchmark")
    _configure(p)
    args = p.parse_args(argv)
    args.bench_argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return cmd_bench(args)
