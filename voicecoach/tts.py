"""Speech out (shell): synthesise each cue to PCM, then play it, interruptibly, on a chosen device.

Lines are rendered to PCM, never straight to the sound card, so playback goes through
:class:`~.audio.Player`: it can be cut off mid-word by :meth:`Speaker.stop` and sent to any output
device. Synthesised audio is cached by (text, rate, voice), so repeated cues start at once.

Backends (:func:`available_backends`, best first):

- ``espeak-ng``: runs ``espeak-ng --stdout`` (the default). Deterministic; about 40 ms per cue
  line here, including the process start.
- ``pyttsx3``: pyttsx3 2.99's espeak driver (``save_to_file`` + ``runAndWait``). Not the default
  because it is unreliable here: with AUDIO_OUTPUT_RETRIEVAL espeak-ng synthesises on its own
  thread, and pyttsx3's loop can return, or cancel the synthesis (``_espeak.Cancel`` from its
  ``endLoop``), before the line is complete. Measured: a line came back cut short (0.74 s instead
  of 3.5 s) or as a half-written file in about 1 of 20 fresh processes, and "finished-utterance
  completed=False" on the first line in 12 of 12 processes once rate and volume were set per
  line. When chosen, it waits for the driver's "finished-utterance" event, silences the driver's
  stdout ``print``, resets ``_inLoop`` after errors, and any failure switches that worker to
  ``espeak-ng`` for good.

All synthesis runs on ONE worker thread per backend (:class:`_SynthWorker`): espeak-ng keeps
process-global state and ``runAndWait`` is not re-entrant. A line taking longer than
:data:`SYNTH_TIMEOUT_S` is treated as hung and the ``espeak-ng`` worker takes over.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import io
import itertools
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .audio import DeviceSpec, Player
from .errors import SpeechOutError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

SYNTH_TIMEOUT_S = 15.0
"""A synthesis taking longer than this is treated as hung (pyttsx3) and the backend is switched."""
CACHE_ENTRIES = 256
BACKENDS = ("auto", "pyttsx3", "espeak-ng")


@dataclass(frozen=True)
class Synthesis:
    """One synthesised line."""

    pcm: npt.NDArray[np.int16]
    sample_rate_hz: int
    synth_ms: float
    """Time spent synthesising (0 when it came from the cache)."""
    backend: str
    cached: bool = False

    @property
    def seconds(self) -> float:
        return len(self.pcm) / self.sample_rate_hz if self.sample_rate_hz else 0.0


def _espeak_cli() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


@functools.cache
def _pyttsx3_usable() -> bool:
    import ctypes.util
    import importlib.util

    if importlib.util.find_spec("pyttsx3") is None:
        return False
    return bool(ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak"))


def available_backends() -> list[str]:
    """The synthesis backends this machine has, best first."""
    out = []
    if _espeak_cli():
        out.append("espeak-ng")
    if _pyttsx3_usable():
        out.append("pyttsx3")
    return out


def _read_wav(data: bytes | str) -> tuple[npt.NDArray[np.int16], int]:
    import numpy as np

    src: Any = io.BytesIO(data) if isinstance(data, bytes) else data
    with wave.open(src, "rb") as w:
        rate = w.getframerate()
        channels = w.getnchannels()
        width = w.getsampwidth()
        # espeak-ng --stdout writes a "streaming" header with a huge frame count: read to the end.
        frames = w.readframes(2**31 - 1)
    if width != 2:
        raise SpeechOutError(f"synthesiser produced {8 * width}-bit audio; expected 16-bit")
    pcm = np.frombuffer(frames, dtype="<i2")
    if channels > 1:
        pcm = pcm.reshape(-1, channels)[:, 0]
    return pcm.astype(np.int16), rate


def _trim_silence(
    pcm: npt.NDArray[np.int16], rate_hz: int, threshold: int = 64, keep_ms: int = 40
) -> npt.NDArray[np.int16]:
    """Drop leading and trailing silence (espeak pads lines), keeping ``keep_ms`` of margin.

    The coach reacts when playback ends, so trailing padding would only delay it.
    """
    import numpy as np

    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm[:0]
    keep = rate_hz * keep_ms // 1000
    start = max(0, int(loud[0]) - keep)
    end = min(len(pcm), int(loud[-1]) + 1 + keep)
    return pcm[start:end]


class _SynthWorker:
    """The one thread that owns the speech synthesiser."""

    _workers: ClassVar[dict[str, _SynthWorker]] = {}
    _workers_lock = threading.Lock()

    @classmethod
    def get(cls, backend: str = "auto") -> _SynthWorker:
        """The worker for ``backend`` ('auto': the best one that is not broken)."""
        if backend not in BACKENDS:
            raise SpeechOutError(f"unknown speech backend '{backend}' (use {', '.join(BACKENDS)})")
        with cls._workers_lock:
            if backend == "auto":
                have = available_backends()
                if not have:
                    raise SpeechOutError(
                        "no text-to-speech engine found: install espeak-ng "
                        "(apt-get install espeak-ng)"
                    )
                usable = [b for b in have if not (b in cls._workers and cls._workers[b].broken)]
                backend = (usable or have)[0]
            worker = cls._workers.get(backend)
            if worker is None:
                worker = cls(backend)
                cls._workers[backend] = worker
            return worker

    def __init__(self, backend: str) -> None:
        if backend not in available_backends():
            raise SpeechOutError(
                f"speech backend '{backend}' is not available here "
                f"(have: {', '.join(available_backends()) or 'none; apt-get install espeak-ng'})"
            )
        self.backend = backend
        self.broken = False
        self._engine: Any = None
        self._tmpdir = tempfile.mkdtemp(prefix="voicecoach-tts-")
        atexit.register(shutil.rmtree, self._tmpdir, True)
        # (priority, order, text, rate, voice, future): lines to speak now (0) go before
        # background preloading (1).
        self._jobs: queue.PriorityQueue[
            tuple[int, int, str, float, str | None, Future[Synthesis]]
        ] = queue.PriorityQueue()
        self._order = itertools.count()
        self._cache: OrderedDict[tuple[str, float, str | None], Synthesis] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tts-synth", daemon=True)
        self._thread.start()

    # -- public, any thread

    def cached(self, text: str, rate_wpm: float, voice: str | None) -> Synthesis | None:
        with self._cache_lock:
            hit = self._cache.get((text, rate_wpm, voice))
            if hit is not None:
                self._cache.move_to_end((text, rate_wpm, voice))
        return hit

    def submit(
        self, text: str, rate_wpm: float, voice: str | None, background: bool = False
    ) -> Future[Synthesis]:
        fut: Future[Synthesis] = Future()
        hit = self.cached(text, rate_wpm, voice)
        if hit is not None:
            fut.set_result(Synthesis(hit.pcm, hit.sample_rate_hz, 0.0, hit.backend, cached=True))
            return fut
        self._jobs.put((int(background), next(self._order), text, rate_wpm, voice, fut))
        return fut

    def synthesise(self, text: str, rate_wpm: float, voice: str | None) -> Synthesis:
        fut = self.submit(text, rate_wpm, voice)
        try:
            return fut.result(timeout=SYNTH_TIMEOUT_S)
        except TimeoutError:
            log.warning(
                "%s synthesis hung for %.0f s; switching to espeak-ng",
                self.backend,
                SYNTH_TIMEOUT_S,
            )
            self.broken = True
            if self.backend == "espeak-ng" or not _espeak_cli():
                raise SpeechOutError("speech synthesis hung") from None
            return _SynthWorker.get("espeak-ng").synthesise(text, rate_wpm, voice)

    # -- worker thread

    def _run(self) -> None:
        while True:
            _, _, text, rate, voice, fut = self._jobs.get()
            if not fut.set_running_or_notify_cancel():
                continue
            hit = self.cached(text, rate, voice)
            if hit is not None:
                fut.set_result(Synthesis(hit.pcm, hit.sample_rate_hz, 0.0, hit.backend, True))
                continue
            try:
                result = self._synth(text, rate, voice)
            except BaseException as exc:
                fut.set_exception(
                    exc if isinstance(exc, SpeechOutError) else SpeechOutError(str(exc))
                )
                continue
            with self._cache_lock:
                self._cache[(text, rate, voice)] = result
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
            fut.set_result(result)

    def _synth(self, text: str, rate: float, voice: str | None) -> Synthesis:
        import numpy as np

        t0 = time.perf_counter()
        if not text.strip():
            return Synthesis(np.zeros(0, dtype=np.int16), 22050, 0.0, self.backend)
        if self.backend == "pyttsx3":
            try:
                # pyttsx3 2.99 now and then hands back a line cut short even after reporting it
                # complete (seen in CI: 1.0 s instead of 1.3 s). A cut line is always shorter,
                # so synthesise twice and keep the longer take (lines are cached afterwards).
                pcm, sr = max(
                    (self._synth_pyttsx3(text, rate, voice) for _ in range(2)),
                    key=lambda take: len(take[0]),
                )
            except Exception as exc:
                if not _espeak_cli():
                    raise SpeechOutError(f"pyttsx3 failed: {exc}") from exc
                log.warning(
                    "pyttsx3 failed (%r); using espeak-ng directly from now on", exc, exc_info=True
                )
                self.backend = "espeak-ng"
                pcm, sr = self._synth_cli(text, rate, voice)
        else:
            pcm, sr = self._synth_cli(text, rate, voice)
        pcm = _trim_silence(pcm, sr)
        ms = (time.perf_counter() - t0) * 1000.0
        log.debug("synthesised %d samples in %.1f ms with %s", len(pcm), ms, self.backend)
        return Synthesis(pcm, sr, ms, self.backend)

    def _synth_pyttsx3(
        self, text: str, rate: float, voice: str | None
    ) -> tuple[npt.NDArray[np.int16], int]:
        engine = self._pyttsx3_engine()
        engine.setProperty("rate", round(rate))
        engine.setProperty("volume", 1.0)  # volume is applied at playback, so the cache is shared
        if voice:
            engine.setProperty("voice", voice)
        path = os.path.join(self._tmpdir, "line.wav")
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        # With AUDIO_OUTPUT_RETRIEVAL espeak-ng synthesises on its own thread, and pyttsx3 2.99's
        # runAndWait returns ~10 ms after queueing the text, NOT when the file is complete (its
        # loop was already told to end). Measured here: a line came back cut short or as a half
        # written file (EOFError) in about 1 of 20 fresh processes. The driver writes and closes
        # the file before it sends "finished-utterance", so wait for that event.
        finished = threading.Event()
        outcome: dict[str, bool] = {}

        def on_finished(name: object = None, completed: bool = False) -> None:
            outcome["completed"] = bool(completed)
            finished.set()

        token = engine.connect("finished-utterance", on_finished)
        try:
            engine.save_to_file(text, path)
            engine.runAndWait()
            if not finished.wait(SYNTH_TIMEOUT_S):
                raise SpeechOutError("pyttsx3 did not finish the line")
        finally:
            engine._inLoop = False  # pyttsx3 leaves this set when runAndWait raises
            engine.disconnect(token)
        if not outcome.get("completed") or not os.path.exists(path):
            raise SpeechOutError(
                f"pyttsx3 produced no complete audio file (completed={outcome.get('completed')}, "
                f"file={os.path.exists(path)})"
            )
        return _read_wav(path)

    def _pyttsx3_engine(self) -> Any:
        if self._engine is None:
            try:
                import importlib

                import pyttsx3

                espeak_driver = importlib.import_module("pyttsx3.drivers.espeak")
            except Exception as exc:
                raise SpeechOutError(f"cannot load pyttsx3: {exc}") from exc
            # The espeak driver prints "Audio saved to ..." for every file: silence that print
            # (a module global shadows the builtin; nothing else in that module uses print).
            setattr(espeak_driver, "print", lambda *a, **k: None)  # noqa: B010
            try:
                self._engine = pyttsx3.init("espeak")
            except Exception as exc:
                raise SpeechOutError(f"cannot start pyttsx3 with espeak-ng: {exc}") from exc
        return self._engine

    def _synth_cli(
        self, text: str, rate: float, voice: str | None
    ) -> tuple[npt.NDArray[np.int16], int]:
        exe = _espeak_cli()
        if exe is None:
            raise SpeechOutError("espeak-ng not found: apt-get install espeak-ng")
        cmd = [exe, "--stdout", "-s", str(round(rate))]
        if voice:
            cmd += ["-v", voice]
        cmd += ["--", text]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=SYNTH_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SpeechOutError(f"espeak-ng failed: {exc}") from exc
        if proc.returncode != 0 or not proc.stdout:
            err = proc.stderr.decode(errors="replace").strip()
            raise SpeechOutError(f"espeak-ng failed (exit {proc.returncode}): {err}")
        return _read_wav(proc.stdout)


def synthesise(
    text: str, rate_wpm: float = 150.0, voice: str | None = None, backend: str = "auto"
) -> Synthesis:
    """Synthesise one line (cached) without any audio device."""
    return _SynthWorker.get(backend).synthesise(text, float(rate_wpm), voice)


class Speaker:
    """Speaks lines on an output device; non-blocking and interruptible.

    ``say(text, on_done)`` returns at once; the line is synthesised on the synthesis thread and
    played through a :class:`~.audio.Player`. ``on_done`` runs (on the player's notifier thread)
    when the line has been played to its end, never when it was cut off by :meth:`stop` or by a
    newer ``say``. Raises SpeechOutError when no TTS engine exists and AudioError when there is no
    output device.
    """

    def __init__(
        self,
        output_device: DeviceSpec = None,
        rate_wpm: float = 150.0,
        volume: float = 1.0,
        voice: str | None = None,
        backend: str = "auto",
        player: Player | None = None,
    ) -> None:
        if not 60 <= rate_wpm <= 400:
            raise SpeechOutError(f"speech rate must be 60 to 400 words per minute, got {rate_wpm}")
        self.rate_wpm = float(rate_wpm)
        self.voice = voice
        self._worker = _SynthWorker.get(backend)
        self._player = player if player is not None else Player(output_device, volume=volume)
        if player is not None:
            self._player.volume = volume
        _ = self._player.device  # fail now, with a clear message, if there is no speaker
        self._lock = threading.Lock()
        self._generation = 0
        self._speaking = threading.Event()
        self._closed = False
        self.synth_ms: list[float] = []
        """Synthesis time of every line that was not in the cache (milliseconds)."""

    @property
    def backend(self) -> str:
        """'espeak-ng' (the default) or 'pyttsx3'."""
        return self._worker.backend

    @property
    def volume(self) -> float:
        return self._player.volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._player.volume = value

    @property
    def is_speaking(self) -> bool:
        """True from ``say`` until the line finished or was stopped."""
        return self._speaking.is_set()

    @property
    def player(self) -> Player:
        return self._player

    def synthesise(self, text: str) -> tuple[npt.NDArray[np.int16], int]:
        """(int16 mono PCM, sample rate in Hz) for ``text`` at this speaker's rate and voice."""
        s = self._synthesis(text)
        return s.pcm, s.sample_rate_hz

    def _synthesis(self, text: str) -> Synthesis:
        worker = self._current_worker()
        s = worker.synthesise(text, self.rate_wpm, self.voice)
        if not s.cached:
            self.synth_ms.append(s.synth_ms)
        return s

    def _current_worker(self) -> _SynthWorker:
        if self._worker.broken:
            self._worker = _SynthWorker.get("espeak-ng")
        return self._worker

    def preload(self, texts: Iterable[str]) -> None:
        """Queue lines for synthesis in the background so they later start without delay."""
        worker = self._current_worker()
        for t in texts:
            worker.submit(t, self.rate_wpm, self.voice, background=True)

    def say(self, text: str, on_done: Callable[[], None] | None = None) -> None:
        """Speak ``text`` (stopping whatever is being said) and return at once."""
        if self._closed:
            raise SpeechOutError("speaker is closed")
        with self._lock:
            self._generation += 1
            gen = self._generation
            self._speaking.set()
        self._player.stop()
        threading.Thread(
            target=self._say_job, args=(gen, text, on_done), name="tts-say", daemon=True
        ).start()

    def _say_job(self, gen: int, text: str, on_done: Callable[[], None] | None) -> None:
        try:
            s = self._synthesis(text)
        except Exception as exc:
            log.error("cannot speak %r: %s", text[:40], exc)
            with self._lock:
                if gen == self._generation:
                    self._speaking.clear()
            return

        def finished() -> None:
            with self._lock:
                if gen != self._generation:
                    return
                self._speaking.clear()
            if on_done is not None:
                on_done()

        with self._lock:
            if gen != self._generation or self._closed:
                return  # stopped (or replaced) while synthesising
            if len(s.pcm) == 0:
                self._player.stop()
                threading.Thread(target=finished, daemon=True).start()
                return
            try:
                self._player.play(s.pcm, s.sample_rate_hz, on_finished=finished)
            except Exception as exc:
                log.error("cannot play speech: %s", exc)
                self._speaking.clear()

    def stop(self) -> None:
        """Cut off the current line now; its ``on_done`` is not called."""
        with self._lock:
            self._generation += 1
            self._speaking.clear()
        self._player.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current line finished or was stopped; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._speaking.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        if self._closed:
            return
        self.stop()
        self._closed = True
        self._player.close()

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
