"""Command line: ``voicecoach [run|parse|simulate|diagram|devices|model|bench] ...``."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .errors import VoiceCoachError
from .protocol import PHASES
from .settings import ENGINES, NOISE_FILTERS

log = logging.getLogger(__name__)

#: Modules that add their own sub-commands with ``add_subcommand(subparsers)``.
EXTENSIONS = ("voicecoach.audio", "voicecoach.modelstore", "voicecoach.bench")

Handler = Callable[[argparse.Namespace], int]

SAFETY_NOTE = (
    "voicecoach is not medical advice. If pain travels down your leg, or you feel numbness, "
    "tingling or sharp electric pain, stop and see a doctor or physiotherapist."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="voicecoach",
        description="Offline, hands-free voice coach for the lying knee-to-chest stretch. "
        "With no command it runs a session by voice (same as 'voicecoach run').",
        epilog=SAFETY_NOTE,
    )
    p.add_argument("--version", action="version", version=f"voicecoach {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="more log output (-vv: debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run", help="run a coaching session (by voice, or typed with --text)",
        description="Run a whole coaching session. By default it listens on the microphone and "
        "speaks through the speaker; --text runs the same session in the terminal: type what "
        "you would say, read what the coach says.", epilog=SAFETY_NOTE)
    _add_run_args(run)
    run.set_defaults(func=cmd_run)

    parse = sub.add_parser(
        "parse", help="show what the coach understands from text or WAV files",
        description="Print one JSON object per input: input, transcript, intent, slots, "
        "confidence. Text by default; --wav runs audio files through the speech recogniser.")
    parse.add_argument("inputs", nargs="*", metavar="TEXT", help="utterances to parse")
    parse.add_argument("--phase", choices=PHASES,
                       help="only what this phase accepts (plus the always-on intents)")
    parse.add_argument("--wav", nargs="+", metavar="FILE", default=[],
                       help="WAV files to recognise (any rate; mono or stereo)")
    parse.add_argument("--engine", choices=ENGINES, default="auto",
                       help="speech engine for --wav (default: auto = vosk if a model is found)")
    parse.add_argument("--model", metavar="DIR", help="Vosk model directory for --wav")
    parse.add_argument("--noise-filter", choices=NOISE_FILTERS, default=None,
                       help="noise suppression before recognition (default: from settings)")
    parse.set_defaults(func=cmd_parse)

    sim = sub.add_parser(
        "simulate", help="run a scripted session on a virtual clock (no audio)",
        description="Run one whole session with a virtual clock and scripted user speech; print "
        "one JSON event per line. See README for the script format.")
    sim.add_argument("script", metavar="SCRIPT.yaml")
    sim.add_argument("--config", metavar="FILE", help="settings file (TOML or YAML)")
    sim.set_defaults(func=cmd_simulate)

    dia = sub.add_parser(
        "diagram", help="draw the coach's state machine (SVG, PNG or DOT)",
        description="Draw the session's phase graph with transitions' diagram support. The "
        "format follows the file name: .svg, .png or .dot (.dot needs no Graphviz binary).")
    dia.add_argument("out", metavar="OUT.svg")
    dia.set_defaults(func=cmd_diagram)

    for name in EXTENSIONS:
        importlib.import_module(name).add_subcommand(sub)
    return p


def _add_run_args(run: argparse.ArgumentParser) -> None:
    run.add_argument("--text", action="store_true",
                     help="type instead of speaking; the coach's lines are printed")
    run.add_argument("--config", metavar="FILE", help="settings file (TOML or YAML)")
    run.add_argument("--hold-seconds", type=float, help="length of each hold, 20 to 60")
    run.add_argument("--seed", type=int, help="repeatable choice of cue wordings")
    run.add_argument("--time-scale", type=float, default=1.0,
                     help="with --text: 0.1 runs the session ten times faster (practice)")
    run.add_argument("--engine", choices=ENGINES,
                     help="speech engine (default auto: Vosk if its model is installed)")
    run.add_argument("--model", metavar="DIR", help="Vosk model directory")
    run.add_argument("--input-device", metavar="DEV", help="microphone: index or name part")
    run.add_argument("--output-device", metavar="DEV", help="speaker: index or name part")
    run.add_argument("--rate", type=float, dest="speech_rate_wpm", help="speech rate, words/min")
    run.add_argument("--volume", type=float, help="speech volume 0.0 to 1.0")
    run.add_argument("--noise-filter", choices=NOISE_FILTERS,
                     help="noise suppression in front of the recogniser")


def _settings_from(args: argparse.Namespace) -> Any:
    from .settings import load_settings

    overrides = {
        "hold_seconds": getattr(args, "hold_seconds", None),
        "seed": getattr(args, "seed", None),
        "engine": getattr(args, "engine", None),
        "model_dir": getattr(args, "model", None),
        "input_device": getattr(args, "input_device", None),
        "output_device": getattr(args, "output_device", None),
        "speech_rate_wpm": getattr(args, "speech_rate_wpm", None),
        "volume": getattr(args, "volume", None),
        "noise_filter": getattr(args, "noise_filter", None),
    }
    return load_settings(getattr(args, "config", None), overrides)


# ----------------------------------------------------------------------------- commands
def cmd_parse(args: argparse.Namespace) -> int:
    if not args.inputs and not args.wav:
        raise VoiceCoachError("nothing to parse: give TEXT or --wav FILE (see --help)")
    if args.inputs:
        from .intents import default_parser

        parser = default_parser()
        for text in args.inputs:
            print(json.dumps(parser.parse(text, args.phase).to_json(text)), flush=True)
    if args.wav:
        from .asr import parse_wav_files
        from .settings import load_settings

        noise = args.noise_filter or load_settings().noise_filter
        for row in parse_wav_files(list(args.wav), args.phase, args.engine, args.model, noise):
            print(json.dumps(row), flush=True)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .settings import load_settings
    from .simulate import load_script, run_script

    base = load_settings(args.config) if args.config else None
    script = load_script(args.script, base)
    for event in run_script(script):
        print(json.dumps(event), flush=True)
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    from .diagram import draw

    path = draw(args.out)
    print(f"wrote {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    if getattr(args, "text", False):
        return run_text(settings, args.time_scale)
    from .loop import run_voice

    return run_voice(settings)


def run_text(settings: Any, time_scale: float = 1.0) -> int:
    """The real session in the terminal: typed input, printed cues, real time."""
    from .events import Heard
    from .intents import default_parser
    from .runner import PrintSpeaker, RealtimeSession, transcript_observer

    if not 0.01 <= time_scale <= 10:
        raise VoiceCoachError("--time-scale must be between 0.01 and 10")
    parser = default_parser()
    lock = threading.Lock()

    def out(line: str) -> None:
        with lock:
            print(line, flush=True)

    speaker = PrintSpeaker(out, settings.speech_rate_wpm, time_scale)
    session = RealtimeSession(settings, speaker, transcript_observer(out), time_scale)
    out("voicecoach, text mode. Type what you would say and press Enter; Ctrl-D or 'quit' exits.")
    out(SAFETY_NOTE)

    def read_input() -> None:
        for raw in sys.stdin:
            text = raw.strip()
            if not text:
                continue
            if text.lower() in ("quit", "exit", ":q"):
                break
            r = parser.parse(text, session.phase)
            slots = f" {dict(r.slots)}" if r.slots else ""
            out(f"   (heard: {r.intent or 'nothing I know'}{slots})")
            session.post(Heard(r.intent, r.slots, text, r.confidence, r.explicit))
        session.close()

    reader = threading.Thread(target=read_input, name="stdin", daemon=True)
    reader.start()
    try:
        reason = session.run()
    except KeyboardInterrupt:
        out("\nstopped.")
        return 130
    if reason is None:
        out("-- session closed before the end --")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
    except VoiceCoachError as exc:  # pragma: no cover - broken installation
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func: Handler = getattr(args, "func", None) or cmd_run
    if args.command is None:
        defaults = argparse.ArgumentParser(add_help=False)
        _add_run_args(defaults)
        args = defaults.parse_args([], namespace=args)
    try:
        return func(args)
    except VoiceCoachError as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nvoicecoach: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
