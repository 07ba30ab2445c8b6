"""Speech recognisers behind one small interface: 16 kHz mono PCM in, :class:`Recognition` out.

Two engines implement :class:`Recogniser`:

* ``pocketsphinx`` (:mod:`voicecoach.asr_sphinx`): built in, the wheel carries a US English model;
  per-phase JSGF grammars from the intent templates, with out-of-grammar rejection.
* ``vosk`` (:mod:`voicecoach.asr_vosk`): preferred when a model is found
  (:func:`voicecoach.modelstore.find_model`); per-phase phrase lists.

Contract for engine modules (so :func:`create_recogniser` can build them):

* ``voicecoach.asr_sphinx.SphinxRecogniser(phase: str | None = None)``
* ``voicecoach.asr_vosk.VoskRecogniser(model_path: Path, phase: str | None = None)``

Both take raw (un-denoised) 16 kHz PCM; :func:`create_recogniser` puts the noise-suppression front
end (:mod:`voicecoach.denoise`) in front of either engine, so engines need not know about it.

This module imports no audio library at import time: engines, numpy and the denoisers are loaded
lazily inside the functions that need them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import ModelError, RecogniserError

if TYPE_CHECKING:
    from .denoise import Denoiser

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
"""Sample rate of every PCM buffer passed around: 16-bit little-endian mono PCM everywhere."""

BYTES_PER_SECOND = SAMPLE_RATE_HZ * 2

ENGINES = ("auto", "vosk", "pocketsphinx")


@dataclass(frozen=True)
class Recognition:
    """One result from a recogniser."""

    text: str
    """Transcript; '' when nothing usable was heard or the utterance was rejected."""
    confidence: float
    """0..1."""
    final: bool
    """False for a partial (in-progress) result."""
    start_s: float = 0.0
    """Seconds since the stream began where the utterance started."""
    end_s: float = 0.0
    """Seconds since the stream began where speech ended (for latency measurement)."""
    rejected: bool = False
    """The engine heard speech but judged it out of grammar."""
    complete: bool = True
    """For a partial: the text is a whole phrase of the active grammar, not just the beginning of
    one. An early partial is often a prefix the decoder will revise ("sharp..." while "start" is
    still being said), so the loop acts on complete partials only. Finals are always complete."""
    guess: bool = False
    """The text is the engine's reconstruction from garbled words (a warning word by a leg part
    in PocketSphinx's garbage path: ``asr_sphinx.GARBAGE_SYMPTOM``), not words it heard as such.
    The live loop does not act on a guess while the coach's own voice is in the room, since the
    coach names leg parts all the time."""
    voiced_s: float = 0.0
    """For a rejected utterance: seconds of it with a voice's pitch (0 when not measured). The
    live loop answers a short rejected utterance only when it sounded like a voice, not a cough
    or a knock (``loop.UNCLEAR_MIN_VOICED_S``)."""
    heard: str = ""
    """When ``text`` is a sentence the engine made up for what it heard (a warning said in other
    words, "my foot has gone numb" for "ah my foots gone all numb instead"), the words it
    decoded; else "". The live loop's echo gate compares these with the coach's line."""


@runtime_checkable
class Recogniser(Protocol):
    """A streaming recogniser for 16 kHz mono 16-bit PCM."""

    name: str
    """"pocketsphinx" | "vosk"."""

    def set_phase(self, phase: str | None, intents: Sequence[str] | None = None) -> None:
        """Switch to that phase's grammar (None = all intents); with ``intents``, only the
        phrases of those intents (e.g. the always-on ones plus a question's answers)."""
        ...

    def accept(self, pcm: bytes) -> list[Recognition]:
        """Feed audio, get partial/final results."""
        ...

    def flush(self) -> list[Recognition]:
        """End of stream: the final result of what is pending."""
        ...

    def reset(self) -> None:
        """Forget all pending audio and restart the stream clock at 0."""
        ...


class FilteredRecogniser:
    """A recogniser with a noise-suppression front end in front of it."""

    def __init__(self, inner: Recogniser, denoiser: Denoiser) -> None:
        self.inner = inner
        self.denoiser = denoiser
        self.name = inner.name

    def set_phase(self, phase: str | None, intents: Sequence[str] | None = None) -> None:
        self.inner.set_phase(phase, intents)

    def accept(self, pcm: bytes) -> list[Recognition]:
        out = self.denoiser.process(pcm)
        return self.inner.accept(out) if out else []

    def flush(self) -> list[Recognition]:
        tail = self.denoiser.flush()
        results = self.inner.accept(tail) if tail else []
        return results + self.inner.flush()

    def reset(self) -> None:
        self.denoiser.reset()
        self.inner.reset()


def _find_vosk_model(model_dir: str | None) -> Path | None:
    try:
        from .modelstore import find_model  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        log.debug("voicecoach.modelstore not available: no Vosk model lookup")
        return None
    found: Path | None = find_model(model_dir)
    return found


def _vosk_available() -> bool:
    try:
        import vosk  # noqa: F401
    except ImportError:
        return False
    return True


def create_recogniser(engine: str = "auto", model_dir: str | None = None, phase: str | None = None,
                      noise_filter: str = "rnnoise", second_pass: bool = True) -> Recogniser:
    """Build a recogniser.

    ``engine='auto'`` picks Vosk when a model is found (``modelstore.find_model(model_dir)``) and
    the ``vosk`` package imports, else PocketSphinx; the choice and the reason are logged.
    ``noise_filter`` is 'none' | 'rnnoise' | 'webrtc' (see :mod:`voicecoach.denoise`);
    ``second_pass`` lets PocketSphinx decode a rejected utterance again, with the phase grammar
    and then with its general English language model (Vosk ignores it).
    Raises :class:`RecogniserError` or :class:`ModelError` with a one-line message.
    """
    if engine not in ENGINES:
        raise RecogniserError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")
    chosen = engine
    model_path: Path | None = None
    if engine in ("auto", "vosk"):
        model_path = _find_vosk_model(model_dir)
        if engine == "vosk" and model_path is None:
            where = f" in {model_dir}" if model_dir else ""
            raise ModelError(f"no Vosk model found{where}; run 'voicecoach model download' "
                             "or use --engine pocketsphinx")
        if engine == "auto":
            if model_path is None:
                chosen = "pocketsphinx"
                log.info("engine: pocketsphinx (no Vosk model found%s)",
                         f" in {model_dir}" if model_dir else "")
            elif not _vosk_available():
                chosen = "pocketsphinx"
                log.info("engine: pocketsphinx (Vosk model at %s but the vosk package is missing)",
                         model_path)
            else:
                chosen = "vosk"
                log.info("engine: vosk (model found at %s)", model_path)
    inner: Recogniser
    if chosen == "vosk":
        assert model_path is not None
        try:
            from .asr_vosk import VoskRecogniser  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            raise RecogniserError(f"the Vosk engine is not available: {exc}") from exc
        inner = VoskRecogniser(model_path, phase=phase)
    else:
        if engine == "pocketsphinx":
            log.info("engine: pocketsphinx (asked for)")
        from .asr_sphinx import FREE_PASS, SphinxRecogniser

        inner = SphinxRecogniser(phase=phase, second_pass="rejected" if second_pass else "none",
                                 free_pass=FREE_PASS if second_pass else "none")
    from .denoise import create_denoiser

    denoiser = create_denoiser(noise_filter)
    if denoiser is None:
        return inner
    log.info("noise filter: %s", noise_filter)
    return FilteredRecogniser(inner, denoiser)


CHUNK_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono: what a live audio callback typically delivers


def recognise_pcm(rec: Recogniser, pcm: bytes, chunk_bytes: int = CHUNK_BYTES) -> list[Recognition]:
    """Run a whole buffer through ``rec`` in live-sized chunks; every result, flush included."""
    results: list[Recognition] = []
    for i in range(0, len(pcm), chunk_bytes):
        results += rec.accept(pcm[i : i + chunk_bytes])
    results += rec.flush()
    return results


def parse_recognitions(results: list[Recognition], phase: str | None,
                       parser: Any = None) -> dict[str, Any]:
    """Turn one clip's recognitions into the parse fields (transcript, intent, slots, confidence).

    Each accepted final utterance is parsed on its own; a red flag anywhere wins, else the first
    utterance with an intent. Rejected utterances contribute nothing.
    """
    if parser is None:
        from .intents import default_parser

        parser = default_parser()
    finals = [r for r in results if r.final and not r.rejected and r.text.strip()]
    transcript = " ".join(r.text.strip() for r in finals)
    chosen: tuple[Any, Recognition] | None = None
    for r in finals:
        p = parser.parse(r.text, phase)
        if p.intent is None:
            continue
        if p.intent == "red_flag":
            chosen = (p, r)
            break
        if chosen is None:
            chosen = (p, r)
    if chosen is None:
        return {"transcript": transcript, "intent": None, "slots": {}, "confidence": 0.0}
    p, r = chosen
    conf = max(0.0, min(1.0, min(float(p.confidence), float(r.confidence))))
    return {"transcript": transcript, "intent": p.intent, "slots": dict(p.slots),
            "confidence": round(conf, 3)}


def parse_wav_files(paths: list[str], phase: str | None, engine: str, model_dir: str | None,
                    noise_filter: str = "rnnoise") -> Iterator[dict[str, Any]]:
    """One DESIGN.md parse JSON object per file, in order.

    ``{"input": path, "transcript": ..., "intent": ..., "slots": {...}, "confidence": ...}``.
    The recogniser is built once; each WAV (any rate, any channel count, 8/16/24/32-bit PCM) is
    converted to 16 kHz mono. An unreadable file raises :class:`RecogniserError`.
    """
    from .intents import default_parser
    from .wavio import read_wav_16k

    rec = create_recogniser(engine, model_dir, phase, noise_filter)
    parser = default_parser()
    for path in paths:
        pcm = read_wav_16k(path)
        rec.reset()
        rec.set_phase(phase)
        results = recognise_pcm(rec, pcm)
        fields = parse_recognitions(results, phase, parser)
        yield {"input": path, **fields}
