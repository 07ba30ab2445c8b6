"""The hearing benchmark: corpus, noise, SNR mixing, and a tiny end-to-end run."""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")

from voicecoach.bench import BenchOptions, add_subcommand, run_bench  # noqa: E402
from voicecoach.bench import noise as nz  # noqa: E402
from voicecoach.bench.corpus import FSDD_DIR, build_corpus  # noqa: E402
from voicecoach.protocol import INTENTS, phase_intents  # noqa: E402

RATE = nz.RATE_HZ


# ------------------------------------------------------------------------------- corpus
def test_corpus_is_deterministic_per_seed_and_differs_across_seeds() -> None:
    a = build_corpus(5, quick=True)
    b = build_corpus(5, quick=True)
    c = build_corpus(6, quick=True)
    assert [x.to_json() for x in a.clips] == [x.to_json() for x in b.clips]
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    texts_a = {x.text for x in a.clips if x.kind == "command"}
    texts_c = {x.text for x in c.clips if x.kind == "command"}
    assert texts_a != texts_c


def test_full_corpus_covers_every_intent_in_a_phase_that_accepts_it() -> None:
    corpus = build_corpus(3)
    cmd = [c for c in corpus.clips if c.kind == "command"]
    assert {c.expected_intent for c in cmd} == set(INTENTS)
    for c in cmd:
        assert c.expected_intent in phase_intents(c.phase)
    # several phrasings per intent, every SNR condition, every noise type, several synthesisers
    per_intent: dict[str, set[str]] = {}
    for c in cmd:
        per_intent.setdefault(str(c.expected_intent), set()).add(c.text)
    assert min(len(v) for v in per_intent.values()) >= 3
    assert {c.condition for c in cmd} == {"clean", "20", "10", "5", "0"}
    assert {c.noise for c in cmd} == {"clean", "white", "pink", "fan", "babble"}
    assert {c.tts for c in cmd} >= {"espeak", "flite", "festival"}
    kinds = {c.kind for c in corpus.clips}
    assert {"unrelated", "nonspeech", "coach"} <= kinds
    assert all(c.expected_intent is None for c in corpus.clips
               if c.kind in ("unrelated", "nonspeech", "coach"))
    if FSDD_DIR.is_dir():
        digits = [c for c in corpus.clips if c.kind == "digit"]
        assert len({c.speaker for c in digits}) == 4
        for c in digits:
            assert c.phase == "screen" and c.expected_intent == "pain_score"
            assert str(c.expected_slots["score"]) == Path(c.source).name.split("_")[0]
    slotted = [c for c in cmd if c.expected_intent in ("pain_score", "choose_side", "variation")]
    assert slotted and all(c.expected_slots for c in slotted)


# -------------------------------------------------------------------------------- noise
def _octave_slope(x: Any) -> float:
    """dB per octave from the power in octave bands 125 Hz .. 4 kHz (independent of noise.py)."""
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / RATE)
    centres, levels = [], []
    lo = 125.0
    while lo * 2 <= 4000.0:
        band = (f >= lo) & (f < 2 * lo)
        # power per Hz in the band, in dB
        levels.append(10 * math.log10(spec[band].sum() / (lo)))
        centres.append(math.log2(lo))
        lo *= 2
    return float(np.polyfit(centres, levels, 1)[0])


@pytest.mark.parametrize(("kind", "slope"), [("white", 0.0), ("pink", -3.0), ("brown", -6.0)])
def test_noise_generators_have_the_right_spectral_slope(kind: str, slope: float) -> None:
    gen = {"white": nz.white, "pink": nz.pink, "brown": nz.brown}[kind]
    x = gen(RATE * 8, np.random.default_rng(1))
    assert abs(float(np.sqrt(np.mean(x**2))) - 1.0) < 1e-6
    assert _octave_slope(x) == pytest.approx(slope, abs=0.5)
    assert nz.band_slope_db_per_octave(x) == pytest.approx(slope, abs=0.5)


def test_fan_noise_is_low_frequency_heavy_with_mains_hum() -> None:
    x = nz.fan(RATE * 4, np.random.default_rng(2))
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / RATE)
    low = spec[(f > 20) & (f < 500)].sum()
    high = spec[(f > 2000) & (f < 8000)].sum()
    assert low > 100 * high
    idx = np.nonzero((f > 40) & (f < 70))[0]
    peak = f[idx[np.argmax(spec[idx])]]
    assert min(abs(peak - 50), abs(peak - 60)) < 1.0


def _speech_like(seconds: float, rng: Any) -> Any:
    """Voiced bursts with pauses: something whose 'active part' is not the whole signal."""
    t = np.arange(int(seconds * RATE)) / RATE
    env = (np.sin(2 * np.pi * 3 * t) > 0.2).astype(float) * (0.5 + rng.random())
    tone = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    lead = np.zeros(RATE // 2)
    return np.concatenate([lead, 3000 * env * tone, lead])


def _measured_snr(speech: Any, noise: Any) -> float:
    # active part: 10 ms frames within 35 dB of the loudest, computed here independently
    hop = RATE // 100
    n = speech.size // hop
    e = (speech[: n * hop].reshape(n, hop) ** 2).mean(axis=1)
    act = np.repeat(e >= e.max() * 10 ** -3.5, hop)
    ps = (speech[: n * hop][act] ** 2).mean()
    pn = (noise[: n * hop][act] ** 2).mean()
    return float(10 * math.log10(ps / pn))


@pytest.mark.parametrize("kind", ["white", "pink", "fan", "babble"])
@pytest.mark.parametrize("target", [20.0, 10.0, 5.0, 0.0])
def test_snr_mixing_gives_the_requested_snr(kind: str, target: float) -> None:
    rng = np.random.default_rng(int(target) + 7)
    speech = _speech_like(2.0, rng)
    voices = [_speech_like(1.5, rng) for _ in range(3)]
    noise = nz.make_noise(kind, speech.size, rng, voices)
    scaled = nz.scale_noise(speech, noise, target)
    mix = speech + scaled
    assert _measured_snr(speech, mix - speech) == pytest.approx(target, abs=0.5)


def test_nonspeech_sounds_are_short_and_nonzero() -> None:
    for kind in nz.NONSPEECH_KINDS:
        x = nz.nonspeech(kind, np.random.default_rng(3))
        assert x.size == int(1.2 * RATE)
        assert float(np.abs(x).max()) > 0


# ---------------------------------------------------------------------------------- CLI
def test_bench_subcommand_options() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd")
    add_subcommand(sub)
    args = p.parse_args(["bench", "--quick", "--seed", "9", "--engine", "pocketsphinx",
                         "--noise-filter", "none", "--jobs", "1", "--out", "x"])
    assert (args.quick, args.seed, args.engine, args.noise_filter, args.jobs, args.out) == (
        True, 9, "pocketsphinx", "none", 1, "x")
    assert callable(args.func)
    defaults = p.parse_args(["bench"])
    assert (defaults.out, defaults.engine, defaults.quick) == ("bench-out", "all", False)


# ----------------------------------------------------------------------------- end to end
def _rate(rows: list[dict[str, Any]], pred: Any) -> tuple[int, int]:
    return sum(1 for r in rows if pred(r)), len(rows)


@pytest.mark.audio
def test_tiny_bench_run_writes_a_report_that_matches_its_rows(tmp_path: Path) -> None:
    for tool in ("espeak-ng", "flite", "text2wave"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for the benchmark (apt-get install espeak-ng flite "
                        "festival)")
    out = tmp_path / "out"
    opts = BenchOptions(out=str(out), quick=True, seed=11, engine="pocketsphinx",
                        noise_filter="none", jobs=2, max_clips=10,
                        cache=str(tmp_path / "cache"), progress=False)
    results = run_bench(opts, ["--quick"])
    for name in ("report.md", "results.json", "clips.jsonl", "corpus.jsonl"):
        assert (out / name).is_file(), name
    for png in results["plots"]:
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    assert {"acceptance_vs_snr_pocketsphinx.png", "latency_pocketsphinx.png",
            "confusion_pocketsphinx.png"} <= set(results["plots"])

    saved = json.loads((out / "results.json").read_text())
    rows = [json.loads(line) for line in (out / "clips.jsonl").read_text().splitlines()]
    assert len(rows) == saved["run"]["clips"] == 10
    assert not [r for r in rows if "error" in r]
    m = saved["engines"]["pocketsphinx"]

    # recount from the rows, independently of report.compute_metrics
    cmd = [r for r in rows if r["kind"] == "command"]
    for r in cmd + [r for r in rows if r["kind"] == "digit"]:
        assert r["correct"] == (r["intent"] == r["expected_intent"]
                                and r["slots"] == r["expected_slots"])
    k, n = _rate(cmd, lambda r: r["correct"])
    assert (m["command_acceptance"]["overall"]["k"], m["command_acceptance"]["overall"]["n"]) == (
        k, n)
    for cond in ("clean", "20", "10", "5", "0"):
        sel = [r for r in cmd if r["condition"] == cond]
        got = m["command_acceptance"]["by_condition"][cond]
        assert (got["k"], got["n"]) == _rate(sel, lambda r: r["correct"])
    rf = [r for r in cmd if r["expected_intent"] == "red_flag"]
    assert m["red_flag"]["recall"]["n"] == len(rf)
    assert m["red_flag"]["recall"]["k"] == sum(r["intent"] == "red_flag" for r in rf)
    others = [r for r in rows if r["expected_intent"] != "red_flag"]
    assert m["red_flag"]["false_rate"]["k"] == sum(r["intent"] == "red_flag" for r in others)
    ood = [r for r in rows if r["kind"] in ("unrelated", "nonspeech")]
    assert m["false_acceptance"]["out_of_domain"]["n"] == len(ood)
    assert m["false_acceptance"]["out_of_domain"]["k"] == sum(r["intent"] is not None
                                                             for r in ood)
    dig = [r for r in rows if r["kind"] == "digit"]
    assert m["pain_score_digits"]["accuracy"]["n"] == len(dig)
    audio = sum(r["audio_s"] for r in rows)
    assert m["speed"]["cpu_s_per_minute"] == pytest.approx(
        60 * sum(r["cpu_s"] for r in rows) / audio)
    lat = sorted(r["latency_s"] for r in rows if r["latency_s"] is not None)
    assert m["speed"]["latency_s"]["n"] == len(lat)
    if lat:
        assert m["speed"]["latency_s"]["median"] == pytest.approx(float(np.median(lat)))
        assert all(r["correct"] for r in rows if r["latency_s"] is not None)

    # the Markdown shows the same numbers
    md = (out / "report.md").read_text()
    overall = m["command_acceptance"]["overall"]
    if overall["n"]:
        assert f"({overall['k']}/{overall['n']})" in md
    assert "Raspberry Pi 4" in md and "seed 11" in md

    # the probe measured start-up and memory in a subprocess
    probe = saved["probe"]["pocketsphinx"]
    assert probe["peak_rss_mb"] > 20 and probe["startup_to_first_cue_s"] > 0

    # held-out clips: WAVs, a manifest, and the same answers from the parse --wav code path
    xc = saved["cross_check"]
    if xc:
        manifest = [json.loads(x) for x in (out / "heldout" / "manifest.jsonl").read_text()
                    .splitlines()]
        assert all(Path(r["wav"]).is_file() for r in manifest)
        assert xc["engines"]["pocketsphinx"]["agreement"]["rate"] == 1.0
        assert "voicecoach parse --phase" in (out / "heldout" / "check.sh").read_text()
