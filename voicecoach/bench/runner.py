"""Running the corpus through the recognisers: synthesis and recognition over worker processes,
simulated real-time streaming for latency, and a probe subprocess for start-up time and memory.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .corpus import BenchError, ClipSpec, Rendered, cached_speech, render, synth_jobs

log = logging.getLogger(__name__)

CHUNK_MS = 30
"""Audio is fed to the recogniser in chunks this long, as a live capture callback would."""

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RunConfig:
    engines: tuple[str, ...]
    model_dir: str | None
    noise_filter: str
    cache: str
    heldout_dir: str | None = None
    chunk_ms: int = CHUNK_MS


# ------------------------------------------------------------------------------ pool helper
def pmap(fn: Callable[[T], R], items: list[T], jobs: int, progress: Callable[[int], None],
         initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
         ) -> list[R]:
    """``[fn(x) for x in items]`` over ``jobs`` processes (in order), ticking ``progress``."""
    if jobs <= 1 or len(items) <= 1:
        if initializer is not None:
            initializer(*initargs)
        out = []
        for x in items:
            out.append(fn(x))
            progress(1)
        return out
    ctx = mp.get_context("fork")
    results: dict[int, R] = {}
    with ctx.Pool(jobs, initializer=initializer, initargs=initargs) as pool:
        for i, r in pool.imap_unordered(_Indexed(fn), list(enumerate(items)), chunksize=1):
            results[i] = r
            progress(1)
    return [results[i] for i in range(len(items))]


class _Indexed:
    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, item: tuple[int, Any]) -> tuple[int, Any]:
        return item[0], self.fn(item[1])


# -------------------------------------------------------------------------------- synthesis
def _synth_one(job: tuple[str, str, str, str, str]) -> str:
    cache, tts, voice, rate, text = job
    try:
        cached_speech(Path(cache), tts, voice, rate, text)
    except BenchError as exc:
        return str(exc)
    return ""


def synthesise_all(clips: Iterable[ClipSpec], cache: Path, jobs: int,
                   progress: Callable[[int], None]) -> tuple[int, list[str]]:
    """Fill the speech cache for every utterance the clips need; (count, error messages)."""
    todo = [(str(cache), *j) for j in synth_jobs(clips)]
    # the coach's own voice goes through voicecoach.tts, which keeps one synthesis thread per
    # process (pyttsx3 is not fork-safe): synthesise those here, the rest in worker processes
    coach = [j for j in todo if j[1] == "coach"]
    rest = [j for j in todo if j[1] != "coach"]
    errors = [e for e in (_synth_one(j) for j in coach) if e]
    progress(len(coach))
    errors += [e for e in pmap(_synth_one, rest, jobs, progress) if e]
    return len(todo), errors


# ------------------------------------------------------------------------------ recognition
_STATE: dict[str, Any] = {}


def _init_worker(cfg: RunConfig) -> None:
    from ..asr import create_recogniser
    from ..intents import default_parser
    from ..protocol import PHASES

    recs = {}
    for engine in cfg.engines:
        rec = create_recogniser(engine, cfg.model_dir, None, cfg.noise_filter)
        for p in PHASES:  # build every phase grammar now, not during the first timed clip
            rec.set_phase(p)
        rec.reset()
        recs[engine] = (rec, _snapshot(rec))
    _STATE.update(cfg=cfg, recs=recs, parser=default_parser())


def _decoder(rec: Any) -> Any:
    """The PocketSphinx decoder inside ``rec`` (possibly behind a noise filter), or None."""
    for obj in (rec, getattr(rec, "inner", None)):
        dec = getattr(obj, "decoder", None)
        if dec is not None and hasattr(dec, "get_cmn") and hasattr(dec, "set_cmn"):
            return dec
    return None


def _snapshot(rec: Any) -> str | None:
    """PocketSphinx adapts its cepstral mean (CMN) and front-end noise estimate from utterance
    to utterance, so a clip's
    result would depend on the clips decoded before it; the bench restores the fresh-decoder
    CMN before each clip so every clip is heard as by a newly started recogniser (which is
    what one ``voicecoach parse --wav`` call per file does)."""
    dec = _decoder(rec)
    if dec is None:
        return None
    try:
        return str(dec.get_cmn(False))
    except Exception:  # pragma: no cover - other pocketsphinx versions
        return None


def fresh(rec: Any, cmn: str | None) -> None:
    """Reset ``rec`` for a new clip, restoring its initial CMN (see :func:`_snapshot`)."""
    rec.reset()
    dec = _decoder(rec)
    if dec is not None and cmn is not None:
        dec.reinit_feat()  # the front end's noise estimate adapts too
        dec.set_cmn(cmn)


def _process_clip(spec: ClipSpec) -> list[dict[str, Any]]:
    cfg: RunConfig = _STATE["cfg"]
    try:
        rendered = render(spec, Path(cfg.cache))
    except BenchError as exc:
        return [{**_spec_fields(spec), "engine": e, "error": str(exc)} for e in cfg.engines]
    wav = ""
    if spec.heldout and cfg.heldout_dir:
        from ..wavio import write_wav_16k

        d = Path(cfg.heldout_dir) / spec.phase
        d.mkdir(parents=True, exist_ok=True)
        wav = str(d / f"{spec.clip_id}.wav")
        write_wav_16k(wav, rendered.pcm)
    rows = []
    for engine, (rec, cmn) in _STATE["recs"].items():
        fresh(rec, cmn)
        row = run_clip(rec, _STATE["parser"], spec, rendered, cfg.chunk_ms)
        rows.append({**row, "engine": engine, "wav": wav})
    return rows


def _spec_fields(spec: ClipSpec) -> dict[str, Any]:
    d = spec.to_json()
    for k in ("seed", "lead_s", "trail_s", "level_db"):
        d.pop(k, None)
    return d


def outcome_correct(spec: ClipSpec, intent: str | None, slots: dict[str, Any]) -> bool:
    """Picovoice-style: the intent and every slot right (no intent expected: none heard)."""
    if spec.expected_intent is None:
        return intent is None
    return intent == spec.expected_intent and dict(slots) == dict(spec.expected_slots)


def run_clip(rec: Any, parser: Any, spec: ClipSpec, rendered: Rendered,
             chunk_ms: int = CHUNK_MS) -> dict[str, Any]:
    """Stream one clip through ``rec`` in simulated real time and score it.

    Chunk ``i`` arrives at ``(i+1)*chunk`` seconds of stream time; the recogniser handles it
    when it has finished the previous one (measured processing time), so a slow recogniser
    falls behind. The decision time is when the first result (partial or final) that parses to
    the expected intent and slots comes out; latency = decision time - end of speech.
    """
    from ..asr import BYTES_PER_SECOND, parse_recognitions

    pcm = rendered.pcm
    chunk = max(2, int(BYTES_PER_SECOND * chunk_ms / 1000) // 2 * 2)
    rec.reset()
    rec.set_phase(spec.phase)
    results: list[Any] = []
    busy_until = 0.0
    proc_s = 0.0
    cpu0 = time.process_time()
    decision: float | None = None
    decision_final: float | None = None
    cache: dict[str, bool] = {}

    def right(text: str) -> bool:
        if text not in cache:
            p = parser.parse(text, spec.phase)
            cache[text] = spec.expected_intent is not None and outcome_correct(
                spec, p.intent, p.slots)
        return cache[text]

    n_chunks = (len(pcm) + chunk - 1) // chunk
    for i in range(n_chunks + 1):
        t0 = time.perf_counter()
        if i < n_chunks:
            out = rec.accept(pcm[i * chunk : (i + 1) * chunk])
            arrival = min(len(pcm), (i + 1) * chunk) / BYTES_PER_SECOND
        else:
            out = rec.flush()
            arrival = len(pcm) / BYTES_PER_SECOND
        hits = [r for r in out if r.text and not r.rejected and right(r.text)]
        dt = time.perf_counter() - t0
        proc_s += dt
        busy_until = max(arrival, busy_until) + dt
        if hits and decision is None:
            decision = busy_until
        if decision_final is None and any(r.final for r in hits):
            decision_final = busy_until
        results += out
    cpu_s = time.process_time() - cpu0
    fields = parse_recognitions(results, spec.phase, parser)
    correct = outcome_correct(spec, fields["intent"], fields["slots"])
    end = rendered.speech_end_s
    return {
        **_spec_fields(spec),
        "audio_s": round(rendered.seconds, 3),
        "speech_end_s": round(end, 3),
        "measured_snr_db": (None if rendered.measured_snr_db is None
                            else round(rendered.measured_snr_db, 2)),
        "transcript": fields["transcript"],
        "intent": fields["intent"],
        "slots": fields["slots"],
        "confidence": fields["confidence"],
        "correct": correct,
        "latency_s": round(decision - end, 3) if (correct and decision is not None) else None,
        "latency_final_s": (round(decision_final - end, 3)
                            if (correct and decision_final is not None) else None),
        "proc_s": round(proc_s, 4),
        "cpu_s": round(cpu_s, 4),
    }


def recognise_all(clips: list[ClipSpec], cfg: RunConfig, jobs: int,
                  progress: Callable[[int], None]) -> list[dict[str, Any]]:
    """Every clip through every engine; one row per (clip, engine), in corpus order."""
    per_clip = pmap(_process_clip, clips, jobs, progress, _init_worker, (cfg,))
    return [row for rows in per_clip for row in rows]


# ------------------------------------------------------------------------------------ probe
def probe(engine: str, model_dir: str | None, noise_filter: str, wavs: list[str],
          timeout_s: float = 300.0) -> dict[str, Any]:
    """Start-up time and peak memory of one engine, measured in a fresh subprocess."""
    cmd = [sys.executable, "-m", "voicecoach.bench.probe", "--engine", engine,
           "--noise-filter", noise_filter]
    if model_dir:
        cmd += ["--model", model_dir]
    cmd += wavs
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    ready_s: float | None = None
    lines: list[str] = []
    assert proc.stdout is not None
    for line in _lines(proc.stdout):
        if line.startswith("READY") and ready_s is None:
            ready_s = time.perf_counter() - t0
        lines.append(line)
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise BenchError(f"the {engine} probe did not finish in {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        tail = err.strip().splitlines()
        raise BenchError(f"the {engine} probe failed: {tail[-1] if tail else proc.returncode}")
    result: dict[str, Any] = {}
    for line in lines:
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    result["process_start_to_ready_s"] = round(ready_s, 3) if ready_s is not None else None
    if ready_s is not None:
        result["startup_to_first_cue_s"] = round(ready_s + result.get("first_cue_synth_s", 0.0),
                                                 3)
    return result


def _lines(stream: Any) -> Iterator[str]:
    for line in stream:
        yield line.rstrip("\n")
