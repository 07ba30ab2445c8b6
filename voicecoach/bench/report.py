"""Figures from the per-clip rows, and the report: report.md, results.json, clips.jsonl, PNGs.

Every figure is computed here from the rows (one per clip and engine), so anyone can recount
them from ``clips.jsonl``: :func:`compute_metrics` is the single place the numbers come from.
"""

from __future__ import annotations

import json
import math
import platform
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .corpus import CONDITIONS
from .noise import NOISE_TYPES

Row = dict[str, Any]
T = TypeVar("T")

OOD_KINDS = ("unrelated", "nonspeech", "coach")
PI4_SLOWDOWN = 3.0
"""Assumed single-thread speed ratio of this kind of x86-64 cloud core to a Raspberry Pi 4
(Cortex-A72 at 1.5-1.8 GHz). Published single-core benchmark results (Geekbench, sysbench) put
a modern server core at roughly 2.5 to 4 times a Pi 4 core; 3 is the middle of that range."""


def ratio(rows: Iterable[T], hit: Callable[[T], bool]) -> dict[str, Any]:
    """``{"n": rows, "k": hits, "rate": k/n or None}``."""
    rs = list(rows)
    k = sum(1 for r in rs if hit(r))
    return {"n": len(rs), "k": k, "rate": (k / len(rs)) if rs else None}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _correct(r: Row) -> bool:
    return bool(r.get("correct"))


def _is_rf(r: Row) -> bool:
    return r.get("intent") == "red_flag"


def engine_metrics(rows: list[Row]) -> dict[str, Any]:
    """Every figure for one engine's rows."""
    ok = [r for r in rows if "error" not in r]
    cmd = [r for r in ok if r["kind"] == "command"]
    m: dict[str, Any] = {"clips": len(ok), "errors": len(rows) - len(ok)}
    acc: dict[str, Any] = {"overall": ratio(cmd, _correct)}
    acc["by_condition"] = {c: ratio([r for r in cmd if r["condition"] == c], _correct)
                           for c in CONDITIONS}
    acc["by_noise"] = {
        n: {c: ratio([r for r in cmd if r["condition"] == c and (
            r["noise"] == n or (c == "clean" and r["noise"] == "clean"))], _correct)
            for c in CONDITIONS}
        for n in NOISE_TYPES
    }
    acc["by_phase"] = {p: {"all": ratio([r for r in cmd if r["phase"] == p], _correct),
                           "clean": ratio([r for r in cmd if r["phase"] == p
                                           and r["condition"] == "clean"], _correct)}
                       for p in sorted({r["phase"] for r in cmd})}
    acc["by_intent"] = {i: {"all": ratio([r for r in cmd if r["expected_intent"] == i], _correct),
                            "clean": ratio([r for r in cmd if r["expected_intent"] == i
                                            and r["condition"] == "clean"], _correct)}
                        for i in sorted({r["expected_intent"] for r in cmd})}
    acc["by_tts"] = {t: ratio([r for r in cmd if r["tts"] == t and r["condition"] == "clean"],
                              _correct) for t in sorted({r["tts"] for r in cmd})}
    m["command_acceptance"] = acc

    rf = [r for r in cmd if r["expected_intent"] == "red_flag"]
    not_rf = [r for r in ok if r["expected_intent"] != "red_flag"]
    m["red_flag"] = {
        "recall": ratio(rf, _is_rf),
        "recall_by_condition": {c: ratio([r for r in rf if r["condition"] == c], _is_rf)
                                for c in CONDITIONS},
        "false_rate": ratio(not_rf, _is_rf),
        "false_rate_by_kind": {k: ratio([r for r in not_rf if r["kind"] == k], _is_rf)
                               for k in sorted({r["kind"] for r in not_rf})},
    }
    ood = [r for r in ok if r["kind"] in OOD_KINDS]
    m["false_acceptance"] = {
        "out_of_domain": ratio([r for r in ood if r["kind"] != "coach"],
                               lambda r: r["intent"] is not None),
        "by_kind": {k: ratio([r for r in ood if r["kind"] == k], lambda r: r["intent"] is not None)
                    for k in OOD_KINDS},
        "coach_voice": ratio([r for r in ood if r["kind"] == "coach"],
                             lambda r: r["intent"] is not None),
    }
    dig = [r for r in ok if r["kind"] == "digit"]
    m["pain_score_digits"] = {
        "accuracy": ratio(dig, _correct),
        "by_speaker": {s: ratio([r for r in dig if r["speaker"] == s], _correct)
                       for s in sorted({r["speaker"] for r in dig})},
        "by_digit": {str(d): ratio([r for r in dig if r["expected_slots"].get("score") == d],
                                   _correct)
                     for d in sorted({r["expected_slots"].get("score") for r in dig})},
    }
    lat = [float(r["latency_s"]) for r in ok if r.get("latency_s") is not None]
    latf = [float(r["latency_final_s"]) for r in ok if r.get("latency_final_s") is not None]
    audio = sum(float(r["audio_s"]) for r in ok)
    m["speed"] = {
        "latency_s": {"n": len(lat), "median": percentile(lat, 50), "p95": percentile(lat, 95)},
        "latency_final_s": {"n": len(latf), "median": percentile(latf, 50),
                            "p95": percentile(latf, 95)},
        "audio_s": round(audio, 2),
        "real_time_factor": (sum(float(r["proc_s"]) for r in ok) / audio) if audio else None,
        "cpu_s_per_minute": (60 * sum(float(r["cpu_s"]) for r in ok) / audio) if audio else None,
        "cpu_real_time_factor": (sum(float(r["cpu_s"]) for r in ok) / audio) if audio else None,
    }
    conf: dict[str, Counter[str]] = defaultdict(Counter)
    for r in ok:
        if r["kind"] == "digit":
            continue
        conf[r["expected_intent"] or "none"][r["intent"] or "none"] += 1
    m["confusion"] = {k: dict(v) for k, v in sorted(conf.items())}
    return m


def compute_metrics(rows: list[Row]) -> dict[str, dict[str, Any]]:
    """Per engine: :func:`engine_metrics`."""
    engines = sorted({r["engine"] for r in rows})
    return {e: engine_metrics([r for r in rows if r["engine"] == e]) for e in engines}


# ---------------------------------------------------------------------------------- writing
def _pct(x: dict[str, Any] | None) -> str:
    if not x or x.get("rate") is None:
        return "n/a"
    return f"{100 * x['rate']:.1f}% ({x['k']}/{x['n']})"


def _pct_short(x: dict[str, Any] | None) -> str:
    if not x or x.get("rate") is None:
        return "n/a"
    return f"{100 * x['rate']:.0f}%"


def _s(x: float | None, unit: str = " s", nd: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}{unit}"


def write_rows(rows: list[Row], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True) + "\n")


def read_rows(path: Path) -> list[Row]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def plots(metrics: dict[str, dict[str, Any]], rows: list[Row], out: Path) -> list[str]:
    """Write the PNG figures; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names: list[str] = []
    for engine, m in metrics.items():
        acc = m["command_acceptance"]
        fig, ax = plt.subplots(figsize=(7, 4.2))
        xs = list(range(len(CONDITIONS)))
        for n in NOISE_TYPES:
            ys = [acc["by_noise"][n][c]["rate"] for c in CONDITIONS]
            ax.plot(xs, [100 * y if y is not None else math.nan for y in ys], marker="o", label=n)
        ys = [acc["by_condition"][c]["rate"] for c in CONDITIONS]
        ax.plot(xs, [100 * y if y is not None else math.nan for y in ys], "k--", lw=2,
                label="all noise")
        rf = [m["red_flag"]["recall_by_condition"][c]["rate"] for c in CONDITIONS]
        ax.plot(xs, [100 * y if y is not None else math.nan for y in rf], "r:", marker="x",
                label="red-flag recall")
        ax.set_xticks(xs, ["clean", *(f"{c} dB" for c in CONDITIONS[1:])])
        ax.set_ylim(0, 100)
        ax.set_xlabel("signal-to-noise ratio")
        ax.set_ylabel("command acceptance, %")
        ax.set_title(f"{engine}: intent and slots right vs noise")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        name = f"acceptance_vs_snr_{engine}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)

        lat = [float(r["latency_s"]) for r in rows
               if r["engine"] == engine and r.get("latency_s") is not None]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        if lat:
            ax.hist(lat, bins=30, color="tab:blue")
            for q, style in ((50, "-"), (95, "--")):
                v = percentile(lat, q)
                if v is not None:
                    ax.axvline(v, color="k", ls=style, label=f"p{q} {v:.2f} s")
            ax.legend()
        ax.set_xlabel("end of speech to right decision, s")
        ax.set_ylabel("clips")
        ax.set_title(f"{engine}: decision latency (correct commands)")
        fig.tight_layout()
        name = f"latency_{engine}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)

        conf = m["confusion"]
        labels = sorted(set(conf) | {p for v in conf.values() for p in v},
                        key=lambda s: (s == "none", s))
        import numpy as np

        mat = np.zeros((len(labels), len(labels)))
        for i, e in enumerate(labels):
            for j, p in enumerate(labels):
                mat[i, j] = conf.get(e, {}).get(p, 0)
        norm = mat / np.maximum(mat.sum(axis=1, keepdims=True), 1)
        fig, ax = plt.subplots(figsize=(8.5, 7.5))
        im = ax.imshow(norm, cmap="viridis", vmin=0, vmax=1)
        for i in range(len(labels)):
            for j in range(len(labels)):
                if mat[i, j]:
                    ax.text(j, i, f"{int(mat[i, j])}", ha="center", va="center", fontsize=7,
                            color="black" if norm[i, j] > 0.6 else "white")
        ax.set_xticks(range(len(labels)), labels, rotation=70, fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("heard as")
        ax.set_ylabel("said")
        ax.set_title(f"{engine}: confusion (share of each row; all conditions)")
        fig.colorbar(im, ax=ax, fraction=0.046)
        fig.tight_layout()
        name = f"confusion_{engine}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)
    return names


def render_markdown(results: dict[str, Any]) -> str:
    """report.md from the results dict (the same one written to results.json)."""
    run = results["run"]
    metrics: dict[str, dict[str, Any]] = results["engines"]
    lines: list[str] = ["# voicecoach hearing benchmark", ""]
    lines += [
        f"- command: `{run['command']}`",
        f"- seed {run['seed']}, {'quick' if run['quick'] else 'full'} corpus "
        f"(fingerprint `{run['corpus_fingerprint']}`): {run['clips']} clips, "
        f"{run['utterances_synthesised']} synthesised utterances",
        f"- noise filter: {run['noise_filter']}; audio fed in {run['chunk_ms']} ms chunks in "
        "simulated real time",
        f"- machine: {run['machine']}; {run['jobs']} worker processes; wall time "
        f"{run['wall_s']:.0f} s (synthesis {run['synth_wall_s']:.0f} s, recognition "
        f"{run['recognition_wall_s']:.0f} s)",
        f"- started {run['started']}; load average before/after the run: "
        f"{run.get('load_before', '?')} / {run.get('load_after', '?')} (wall-clock figures "
        "grow when other work shares the cores; CPU-time figures much less)",
        "",
    ]
    for note in run.get("notes", []):
        lines.append(f"> {note}")
    if run.get("notes"):
        lines.append("")
    lines += ["## Summary", "",
              "Command acceptance = intent **and** slots right (Picovoice's speech-to-intent "
              "scoring). False acceptance = any intent on speech that is not a command.", ""]
    engines = list(metrics)
    head = "| figure | " + " | ".join(engines) + " |"
    lines += [head, "|---" * (len(engines) + 1) + "|"]

    def row(label: str, fn: Callable[[dict[str, Any], str], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(fn(metrics[e], e) for e in engines) + " |")

    row("command acceptance, clean", lambda m, e: _pct(
        m["command_acceptance"]["by_condition"]["clean"]))
    def by_cond(c: str) -> Callable[[dict[str, Any], str], str]:
        return lambda m, e: _pct(m["command_acceptance"]["by_condition"][c])

    for c in CONDITIONS[1:]:
        row(f"command acceptance, {c} dB SNR", by_cond(c))
    row("command acceptance, all", lambda m, e: _pct(m["command_acceptance"]["overall"]))
    row("red-flag recall (all conditions)", lambda m, e: _pct(m["red_flag"]["recall"]))
    row("red-flag recall, clean", lambda m, e: _pct(
        m["red_flag"]["recall_by_condition"]["clean"]))
    row("false red-flag rate", lambda m, e: _pct(m["red_flag"]["false_rate"]))
    row("false acceptance, out of domain", lambda m, e: _pct(
        m["false_acceptance"]["out_of_domain"]))
    row("false acceptance, coach's own voice", lambda m, e: _pct(
        m["false_acceptance"]["coach_voice"]))
    row("pain score on real human digits (FSDD)", lambda m, e: _pct(
        m["pain_score_digits"]["accuracy"]))
    row("latency end of speech → decision, median", lambda m, e: _s(
        m["speed"]["latency_s"]["median"]))
    row("latency, 95th percentile", lambda m, e: _s(m["speed"]["latency_s"]["p95"]))
    row("latency to the final result, median / p95", lambda m, e: (
        _s(m["speed"]["latency_final_s"]["median"]) + " / "
        + _s(m["speed"]["latency_final_s"]["p95"])))
    row("real-time factor (wall processing time / audio)", lambda m, e: _s(
        m["speed"]["real_time_factor"], "", 3))
    row("real-time factor from CPU time", lambda m, e: _s(
        m["speed"]["cpu_real_time_factor"], "", 3))
    row("CPU seconds per minute of listening", lambda m, e: _s(
        m["speed"]["cpu_s_per_minute"], " s", 1))
    probes = results.get("probe", {})
    row("start-up to first cue", lambda m, e: _s(
        probes.get(e, {}).get("startup_to_first_cue_s")))
    row("peak memory (recogniser process)", lambda m, e: _s(
        probes.get(e, {}).get("peak_rss_mb"), " MB", 0))
    lines.append("")

    for e in engines:
        m = metrics[e]
        acc = m["command_acceptance"]
        lines += [f"## {e}", "", f"![acceptance vs SNR](acceptance_vs_snr_{e}.png)", "",
                  "### Command acceptance by noise type and SNR", "",
                  "| noise | " + " | ".join(("clean", *(f"{c} dB" for c in CONDITIONS[1:])))
                  + " |", "|---" * (len(CONDITIONS) + 1) + "|"]
        for n in NOISE_TYPES:
            lines.append(f"| {n} | " + " | ".join(_pct(acc["by_noise"][n][c])
                                                    for c in CONDITIONS) + " |")
        lines.append("| **all** | " + " | ".join(_pct(acc["by_condition"][c])
                                                 for c in CONDITIONS) + " |")
        lines += ["", "The clean column is the same clean clips for every noise type.", "",
                  "### By phase grammar", "", "| phase | clean | all conditions |",
                  "|---|---|---|"]
        for p, v in acc["by_phase"].items():
            lines.append(f"| {p} | {_pct(v['clean'])} | {_pct(v['all'])} |")
        lines += ["", "### By intent", "", "| intent | clean | all conditions |", "|---|---|---|"]
        for i, v in acc["by_intent"].items():
            lines.append(f"| {i} | {_pct(v['clean'])} | {_pct(v['all'])} |")
        lines += ["", "### By synthesiser (clean)", "", "| voice engine | acceptance |",
                  "|---|---|"]
        for t, v in acc["by_tts"].items():
            lines.append(f"| {t} | {_pct(v)} |")
        rf = m["red_flag"]
        lines += ["", "### Red flags", "",
                  f"- recall (a red flag said is heard as one): {_pct(rf['recall'])}",
                  "- recall by condition: " + ", ".join(
                      f"{c}: {_pct_short(rf['recall_by_condition'][c])}" for c in CONDITIONS),
                  f"- false red-flag rate (anything else heard as a red flag): "
                  f"{_pct(rf['false_rate'])}; by kind: " + ", ".join(
                      f"{k} {_pct(v)}" for k, v in rf["false_rate_by_kind"].items()), ""]
        fa = m["false_acceptance"]
        lines += ["### Out of domain", "", "| clips | heard as a command |", "|---|---|"]
        for k, v in fa["by_kind"].items():
            lines.append(f"| {k} | {_pct(v)} |")
        d = m["pain_score_digits"]
        lines += ["", "### Pain scores from real human digits (FSDD, CC BY-SA 4.0)", "",
                  f"Phase `screen`, expected `pain_score` with the digit as score: "
                  f"{_pct(d['accuracy'])}.", "", "| speaker | accuracy |", "|---|---|"]
        for s, v in d["by_speaker"].items():
            lines.append(f"| {s} | {_pct(v)} |")
        lines += ["", "| digit | " + " | ".join(d["by_digit"]) + " |",
                  "|---" * (len(d["by_digit"]) + 1) + "|",
                  "| accuracy | " + " | ".join(_pct_short(v) for v in d["by_digit"].values())
                  + " |", ""]
        sp = m["speed"]
        pr = probes.get(e, {})
        lines += ["### Speed and footprint", "", f"![latency](latency_{e}.png)", "",
                  f"- audio processed: {sp['audio_s']:.0f} s; real-time factor "
                  f"{_s(sp['real_time_factor'], '', 3)}; CPU "
                  f"{_s(sp['cpu_s_per_minute'], ' s', 1)} per minute of listening",
                  f"- decision latency over {sp['latency_s']['n']} correctly heard clips "
                  "(commands and digits): "
                  f"median {_s(sp['latency_s']['median'])}, p95 {_s(sp['latency_s']['p95'])} "
                  "(first partial or final result that parses right); to the final result: "
                  f"median {_s(sp['latency_final_s']['median'])}, "
                  f"p95 {_s(sp['latency_final_s']['p95'])}"]
        if pr:
            lines += [
                f"- start-up to first cue {_s(pr.get('startup_to_first_cue_s'))}: process start "
                f"to ready {_s(pr.get('process_start_to_ready_s'))} (imports "
                f"{_s(pr.get('imports_s'))}, model + grammar {_s(pr.get('model_and_grammar_s'))},"
                f" parser + cues {_s(pr.get('parser_and_cues_s'))}), then synthesising the "
                f"greeting {_s(pr.get('first_cue_synth_s'))}",
                f"- peak memory (ru_maxrss): {_s(pr.get('peak_rss_mb'), ' MB', 0)} after "
                f"decoding; {_s(pr.get('peak_rss_mb_with_tts'), ' MB', 0)} with the speech "
                "synthesiser loaded too"]
        lines += ["", f"![confusion](confusion_{e}.png)", ""]

    pi = results.get("raspberry_pi_4", {})
    if pi:
        lines += ["## What this means for a Raspberry Pi 4", "", pi["assumption"], "",
                  "| engine | real-time factor | CPU s per minute | start-up to first cue |",
                  "|---|---|---|---|"]
        for e, v in pi["engines"].items():
            lines.append(f"| {e} | {_s(v['real_time_factor'], '', 2)} | "
                         f"{_s(v['cpu_s_per_minute'], ' s', 0)} | "
                         f"{_s(v['startup_to_first_cue_s'])} |")
        lines += ["", pi["verdict"], ""]
    xc = results.get("cross_check", {})
    if xc:
        lines += ["## Cross-check with `voicecoach parse --wav`", "",
                  f"{xc['clips']} held-out clips were written to `heldout/` (WAV files, "
                  "`heldout/manifest.jsonl`) and run through the same code path as "
                  "`voicecoach parse --wav --phase P` (`heldout/check.sh` repeats it from the "
                  "command line).", "", "| engine | same intent and slots as the bench | "
                  "bench acceptance on these clips | parse --wav acceptance |", "|---|---|---|---|"]
        for e, v in xc.get("engines", {}).items():
            lines.append(f"| {e} | {_pct(v['agreement'])} | {_pct(v['bench_correct'])} | "
                         f"{_pct(v['parse_correct'])} |")
        lines.append("")
    lines += ["## Files", "", "- `results.json`: every figure above, plus run details",
              "- `clips.jsonl`: one row per clip and engine (spec, transcript, intent, slots, "
              "correct, latency, processing time): recount any figure from it",
              "- `corpus.jsonl`: the clip specifications (rebuild any clip with the same seed)",
              "- `heldout/`: WAV files of the held-out clips and how to re-check them", ""]
    return "\n".join(lines)


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores"


def pi_estimate(metrics: dict[str, dict[str, Any]], probes: dict[str, dict[str, Any]]
                ) -> dict[str, Any]:
    k = PI4_SLOWDOWN
    engines: dict[str, Any] = {}
    verdicts = []
    for e, m in metrics.items():
        rtf = m["speed"]["cpu_real_time_factor"]
        cpu = m["speed"]["cpu_s_per_minute"]
        start = probes.get(e, {}).get("startup_to_first_cue_s")
        v = {"real_time_factor": None if rtf is None else rtf * k,
             "cpu_s_per_minute": None if cpu is None else cpu * k,
             "startup_to_first_cue_s": None if start is None else start * k}
        engines[e] = v
        if v["real_time_factor"] is not None:
            r = v["real_time_factor"]
            verdicts.append(
                f"{e}: about {100 * r:.0f}% of one Pi 4 core while listening — "
                + ("keeps up with real time with headroom for speech output"
                   if r < 0.5 else "keeps up with real time, but with little headroom"
                   if r < 0.9 else "would fall behind real time on one core")
                + "; decision latency grows by roughly the extra decode time of the last "
                "chunk, small next to the endpointer's silence wait")
    return {
        "slowdown": k,
        "assumption": f"Assumption: one Raspberry Pi 4 core (Cortex-A72, 1.5-1.8 GHz) is "
                      f"{k:g}x slower than one core of the machine above, for this "
                      "single-threaded decoding; CPU-time figures measured here (real-time "
                      "factor from CPU time, CPU seconds per minute, start-up) are multiplied "
                      "by that. "
                      "Memory does not scale with speed and is taken as measured (64-bit OS).",
        "engines": engines,
        "verdict": " ".join(verdicts),
    }
