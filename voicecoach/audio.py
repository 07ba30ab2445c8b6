"""Audio devices (shell): listing, microphone capture and interruptible playback through PortAudio.

``sounddevice`` and ``numpy`` are imported lazily, inside functions, so importing this module never
needs them. Devices are chosen by PortAudio index or by a case-insensitive name substring.

- :func:`list_devices` and the ``voicecoach devices`` sub-command (:func:`add_subcommand`).
- :class:`Microphone`: 16 kHz mono int16 capture. The PortAudio callback only copies the raw bytes
  into a queue; conversion (down-mixing, resampling) happens in :meth:`Microphone.read`, on the
  reader's thread.
- :class:`Player`: non-blocking playback of int16 or float PCM with :meth:`Player.stop` that cuts
  the sound off at once, a finished callback and a volume.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .errors import AudioError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

TEXT_HINT = "use 'voicecoach run --text' to type instead of speaking"
PROBE_RATES_HZ = (8000, 16000, 22050, 44100, 48000)
MIC_RATE_HZ = 16000

DeviceSpec = int | str | None
"""A device: PortAudio index, index as a string, a name substring, or None for the default."""


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate_hz: float
    is_default_input: bool
    is_default_output: bool
    input_rates_hz: tuple[int, ...] = ()
    """Probed sample rates the device accepts for mono input (empty when not probed)."""
    output_rates_hz: tuple[int, ...] = ()
    """Probed sample rates the device accepts for output (empty when not probed)."""

    @property
    def is_input(self) -> bool:
        return self.max_input_channels > 0

    @property
    def is_output(self) -> bool:
        return self.max_output_channels > 0


# --------------------------------------------------------------------------------------------
# PortAudio access


def _sd() -> Any:
    """The ``sounddevice`` module, or AudioError when it or PortAudio is missing."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise AudioError(
            f"PortAudio is not installed ({exc}); install libportaudio2, or {TEXT_HINT}"
        ) from exc
    except ImportError as exc:
        raise AudioError(
            f"the sounddevice package is not installed (pip install sounddevice); or {TEXT_HINT}"
        ) from exc
    return sounddevice


def reinitialise() -> None:
    """Make PortAudio scan the devices again (e.g. after a sound server was started)."""
    sd = _sd()
    try:
        sd._terminate()
        sd._initialize()
    except Exception as exc:
        raise AudioError(f"cannot restart PortAudio: {exc}") from exc


def _default_indices(sd: Any) -> tuple[int, int]:
    ins, outs = -1, -1
    try:
        dflt = sd.default.device
        ins, outs = int(dflt[0]), int(dflt[1])
    except Exception:  # pragma: no cover - defensive
        pass
    if ins < 0 or outs < 0:
        try:
            hostapi0 = sd.query_hostapis(0)
            ins = ins if ins >= 0 else int(hostapi0["default_input_device"])
            outs = outs if outs >= 0 else int(hostapi0["default_output_device"])
        except Exception:
            pass
    return ins, outs


def _probe_rates(sd: Any, index: int, kind: str) -> tuple[int, ...]:
    ok: list[int] = []
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    for rate in PROBE_RATES_HZ:
        try:
            check(device=index, channels=1, dtype="int16", samplerate=rate)
        except Exception:
            continue
        ok.append(rate)
    return tuple(ok)


def list_devices(probe_rates: bool = False) -> list[DeviceInfo]:
    """All audio devices PortAudio sees (maybe an empty list).

    ``probe_rates`` also asks each device which of :data:`PROBE_RATES_HZ` it accepts (slower).
    Raises AudioError when PortAudio itself is missing or broken.
    """
    sd = _sd()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
    except Exception as exc:
        raise AudioError(f"cannot list audio devices: {exc}") from exc
    din, dout = _default_indices(sd)
    out: list[DeviceInfo] = []
    for i, d in enumerate(raw):
        ins, outs = int(d["max_input_channels"]), int(d["max_output_channels"])
        out.append(
            DeviceInfo(
                index=i,
                name=str(d["name"]),
                hostapi=str(hostapis[int(d["hostapi"])]["name"]),
                max_input_channels=ins,
                max_output_channels=outs,
                default_samplerate_hz=float(d["default_samplerate"]),
                is_default_input=(i == din and ins > 0),
                is_default_output=(i == dout and outs > 0),
                input_rates_hz=_probe_rates(sd, i, "input") if probe_rates and ins else (),
                output_rates_hz=_probe_rates(sd, i, "output") if probe_rates and outs else (),
            )
        )
    return out


def resolve_device(spec: DeviceSpec, kind: str) -> DeviceInfo:
    """The device ``spec`` names (index, digits or name substring; None: the default).

    ``kind`` is ``"input"`` or ``"output"``. Raises AudioError with a one-line message when there
    is no such device or it cannot do ``kind``.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', got {kind!r}")
    what = "microphone (input device)" if kind == "input" else "speaker (output device)"
    devices = list_devices()
    usable = [d for d in devices if (d.is_input if kind == "input" else d.is_output)]
    if not usable:
        raise AudioError(f"no {what} found; {TEXT_HINT}")
    names = ", ".join(f"{d.index}: {d.name}" for d in usable)
    if spec is None or (isinstance(spec, str) and spec.strip() == ""):
        for d in usable:
            if d.is_default_input if kind == "input" else d.is_default_output:
                return d
        return usable[0]
    if isinstance(spec, int) or spec.strip().isdigit():
        idx = int(spec)
        for d in usable:
            if d.index == idx:
                return d
        raise AudioError(f"no {what} with index {idx} (available: {names})")
    needle = spec.strip().lower()
    exact = [d for d in usable if d.name.lower() == needle]
    if exact:
        return exact[0]
    matches = [d for d in usable if needle in d.name.lower()]
    if not matches:
        raise AudioError(f"no {what} matches '{spec}' (available: {names})")
    if len(matches) > 1:
        log.info("%d %ss match '%s'; using %s", len(matches), kind, spec, matches[0].name)
    return matches[0]


# --------------------------------------------------------------------------------------------
# Resampling (numpy, outside any audio callback)


class Resampler:
    """Streaming sample-rate converter for mono float signals.

    Down-sampling first low-passes with a windowed-sinc FIR (cut-off 0.45 x the output rate), then
    interpolates linearly; state is carried across chunks, so chunk boundaries leave no clicks.
    """

    def __init__(self, in_rate_hz: float, out_rate_hz: float, taps: int = 63) -> None:
        import numpy as np

        if in_rate_hz <= 0 or out_rate_hz <= 0:
            raise ValueError("sample rates must be positive")
        self.in_rate_hz = float(in_rate_hz)
        self.out_rate_hz = float(out_rate_hz)
        self._step = self.in_rate_hz / self.out_rate_hz
        if out_rate_hz < in_rate_hz:
            fc = 0.45 * out_rate_hz / in_rate_hz  # cycles per input sample
            n = np.arange(taps) - (taps - 1) / 2
            h = 2 * fc * np.sinc(2 * fc * n) * np.hamming(taps)
            self._taps = (h / h.sum()).astype(np.float64)
        else:
            self._taps = np.ones(1, dtype=np.float64)
        self._hist = np.zeros(len(self._taps) - 1, dtype=np.float64)
        self._tail = 0.0
        self._pos = 0.0

    def process(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Convert the next chunk; returns the output samples it completes."""
        import numpy as np

        xf = np.asarray(x, dtype=np.float64).reshape(-1)
        if xf.size == 0:
            return np.zeros(0, dtype=np.float64)
        if self._hist.size:
            buf = np.concatenate([self._hist, xf])
            y = np.convolve(buf, self._taps, mode="valid")
            self._hist = buf[-self._hist.size :]
        else:
            y = xf
        z = np.concatenate([[self._tail], y])
        last = float(len(y) - 1)
        count = 0 if self._pos > last else int(np.floor((last - self._pos) / self._step)) + 1
        positions = self._pos + self._step * np.arange(count, dtype=np.float64)
        out: npt.NDArray[np.float64] = np.interp(
            positions + 1.0, np.arange(len(z), dtype=np.float64), z
        ).astype(np.float64)
        self._pos = (self._pos + self._step * len(positions)) - len(y)
        self._tail = float(y[-1])
        return out


def resample(pcm: npt.NDArray[Any], in_rate_hz: float, out_rate_hz: float) -> npt.NDArray[Any]:
    """A whole mono signal at another rate, in the input's dtype (int16 is clipped)."""
    import numpy as np

    arr = np.asarray(pcm)
    if in_rate_hz == out_rate_hz:
        return arr
    out = Resampler(in_rate_hz, out_rate_hz).process(arr.astype(np.float64))
    if arr.dtype == np.int16:
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)
    return out.astype(arr.dtype if arr.dtype.kind == "f" else np.float32)


# --------------------------------------------------------------------------------------------
# Microphone


class Microphone:
    """Captures 16 kHz mono int16 PCM from an input device.

    Use as a context manager, or call :meth:`start` and :meth:`close`. :meth:`read` returns the
    next block of little-endian int16 bytes at :attr:`sample_rate_hz`, or None after ``timeout``.
    If the device cannot capture at 16 kHz it is opened at its own rate and resampled in
    :meth:`read`; if it cannot do mono, channel 0 is kept.
    """

    def __init__(
        self,
        device: DeviceSpec = None,
        sample_rate_hz: int = MIC_RATE_HZ,
        block_ms: int = 30,
        max_queue_blocks: int = 400,
    ) -> None:
        self.device_spec = device
        self.sample_rate_hz = int(sample_rate_hz)
        self.block_ms = int(block_ms)
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=max_queue_blocks)
        self._stream: Any = None
        self._resampler: Resampler | None = None
        self._channels = 1
        self.device: DeviceInfo | None = None
        self.stream_rate_hz: int = self.sample_rate_hz
        self._overflows = 0
        self._dropped_blocks = 0

    @property
    def overflows(self) -> int:
        """Input overflows PortAudio reported plus blocks dropped because the queue was full."""
        return self._overflows + self._dropped_blocks

    @property
    def dropped_blocks(self) -> int:
        return self._dropped_blocks

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def start(self) -> Microphone:
        if self._stream is not None:
            return self
        sd = _sd()
        dev = resolve_device(self.device_spec, "input")
        self.device = dev
        rate = self.sample_rate_hz
        channels = 1
        if not _settings_ok(sd.check_input_settings, dev.index, channels, rate):
            if _settings_ok(sd.check_input_settings, dev.index, 1, int(dev.default_samplerate_hz)):
                rate = int(dev.default_samplerate_hz)
            else:
                channels = min(2, dev.max_input_channels)
                rate = int(dev.default_samplerate_hz)
        self.stream_rate_hz = rate
        self._channels = channels
        self._resampler = (
            Resampler(rate, self.sample_rate_hz) if rate != self.sample_rate_hz else None
        )
        blocksize = max(1, rate * self.block_ms // 1000)
        try:
            self._stream = sd.RawInputStream(
                device=dev.index,
                samplerate=rate,
                channels=channels,
                dtype="int16",
                blocksize=blocksize,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise AudioError(f"cannot open microphone '{dev.name}': {exc}") from exc
        log.info(
            "microphone %s: %d Hz x %d ch%s",
            dev.name,
            rate,
            channels,
            f", resampled to {self.sample_rate_hz} Hz" if self._resampler else "",
        )
        return self

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Runs on PortAudio's thread: copy the bytes and return, nothing else.
        if status.input_overflow:
            self._overflows += 1
        try:
            self._queue.put_nowait(bytes(indata))
        except queue.Full:
            self._dropped_blocks += 1

    def read(self, timeout: float | None = None) -> bytes | None:
        """The next block of 16 kHz mono int16 bytes; None on timeout, or when closed and empty."""
        if self._stream is None and self._queue.empty():
            return None
        try:
            raw = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return self._convert(raw)

    def _convert(self, raw: bytes) -> bytes:
        if self._channels == 1 and self._resampler is None:
            return raw
        import numpy as np

        x = np.frombuffer(raw, dtype=np.int16)
        if self._channels > 1:
            x = x.reshape(-1, self._channels)[:, 0]
        if self._resampler is not None:
            y = self._resampler.process(x)
            x = np.clip(np.round(y), -32768, 32767).astype(np.int16)
        return bytes(x.astype("<i2").tobytes())

    def drain(self) -> int:
        """Throw away everything captured so far; returns the number of blocks dropped."""
        n = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return n
            n += 1

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # pragma: no cover - best effort on shutdown
                log.warning("closing microphone: %s", exc)
        if self._overflows or self._dropped_blocks:
            log.info(
                "microphone: %d overflows, %d dropped blocks", self._overflows, self._dropped_blocks
            )

    def __enter__(self) -> Microphone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _settings_ok(check: Callable[..., None], index: int, channels: int, rate: int) -> bool:
    try:
        check(device=index, channels=channels, dtype="int16", samplerate=rate)
    except Exception:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Player


class _Playback:
    """What one ``play`` call plays; shared by the caller and PortAudio's callback."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.pos = 0
        self.active = True


class Player:
    """Non-blocking playback on one output device, cut off at once by :meth:`stop`.

    ``play`` takes mono (or frames x channels) int16 or float PCM. Starting a new sound stops the
    one playing (its finished callback is not called). ``on_finished`` runs on the player's own
    notifier thread (never on PortAudio's), only when a sound played to its end.
    """

    def __init__(
        self, device: DeviceSpec = None, volume: float = 1.0, latency: str | float = 0.1
    ) -> None:
        self.device_spec = device
        self.latency = latency
        self._volume = 1.0
        self.volume = volume
        self._lock = threading.RLock()
        self._stream: Any = None
        self._playback: _Playback | None = None
        self._generation = 0
        self._done = threading.Event()
        self._done.set()
        self._stopped_at: float | None = None
        self._device: DeviceInfo | None = None
        self._events: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._notifier = threading.Thread(
            target=self._notify_loop, name="player-notify", daemon=True
        )
        self._notifier.start()
        self._closed = False

    # -- properties

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        if not 0.0 <= float(value) <= 1.0:
            raise AudioError(f"volume must be 0.0 to 1.0, got {value}")
        self._volume = float(value)

    @property
    def is_playing(self) -> bool:
        return not self._done.is_set()

    @property
    def device(self) -> DeviceInfo:
        """The output device (resolved on first use)."""
        if self._device is None:
            self._device = resolve_device(self.device_spec, "output")
        return self._device

    # -- playback

    def play(
        self,
        pcm: npt.NDArray[Any] | bytes,
        sample_rate_hz: int,
        on_finished: Callable[[], None] | None = None,
    ) -> None:
        """Start playing ``pcm`` (int16 bytes or array, or float in -1..1) and return at once."""
        import numpy as np

        if self._closed:
            raise AudioError("player is closed")
        sd = _sd()
        if isinstance(pcm, bytes | bytearray | memoryview):
            arr = np.frombuffer(pcm, dtype="<i2")
        else:
            arr = np.asarray(pcm)
        data = (
            arr.astype(np.float32) / 32768.0 if arr.dtype.kind in "iu" else arr.astype(np.float32)
        )
        if data.ndim == 2:
            data = data.mean(axis=1)
        data = np.ascontiguousarray(data.reshape(-1))
        dev = self.device
        rate = int(sample_rate_hz)
        channels = 1
        if not _settings_ok(sd.check_output_settings, dev.index, 1, rate):
            native = int(dev.default_samplerate_hz)
            if _settings_ok(sd.check_output_settings, dev.index, 1, native):
                pass
            elif _settings_ok(sd.check_output_settings, dev.index, 2, native):
                channels = 2
            else:
                raise AudioError(f"speaker '{dev.name}' accepts neither {rate} Hz nor {native} Hz")
            data = resample(data, rate, native).astype(np.float32)
            rate = native
        self.stop()
        with self._lock:
            self._generation += 1
            gen = self._generation
            state = _Playback(data)
            self._playback = state
            self._done.clear()

            def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
                pos = state.pos
                chunk = state.data[pos : pos + frames] if state.active else state.data[:0]
                n = len(chunk)
                vol = self._volume
                if channels == 1:
                    outdata[:n, 0] = chunk * vol
                else:
                    outdata[:n, :] = (chunk * vol)[:, None]
                state.pos = pos + n
                if n < frames:
                    outdata[n:] = 0
                    raise sd.CallbackStop

            def finished() -> None:
                self._on_stream_finished(gen, on_finished)

            try:
                stream = sd.OutputStream(
                    device=dev.index,
                    samplerate=rate,
                    channels=channels,
                    dtype="float32",
                    latency=self.latency,
                    callback=callback,
                    finished_callback=finished,
                )
                self._stream = stream
                stream.start()
            except Exception as exc:
                self._stream = None
                self._done.set()
                raise AudioError(f"cannot play on speaker '{dev.name}': {exc}") from exc

    def _on_stream_finished(self, gen: int, on_finished: Callable[[], None] | None) -> None:
        # PortAudio's thread: only hand over to the notifier.
        with self._lock:
            if gen != self._generation:
                return  # stopped or replaced: no callback
            self._done.set()
        self._events.put(lambda: self._close_finished(gen))
        if on_finished is not None:
            self._events.put(on_finished)

    def _close_finished(self, gen: int) -> None:
        with self._lock:
            if gen != self._generation or self._stream is None:
                return
            stream, self._stream = self._stream, None
        try:
            stream.close()
        except Exception as exc:  # pragma: no cover
            log.debug("closing finished stream: %s", exc)

    def _notify_loop(self) -> None:
        while True:
            fn = self._events.get()
            if fn is None:
                return
            try:
                fn()
            except Exception:
                log.exception("error in playback finished callback")

    def stop(self) -> None:
        """Cut the current sound off now (its finished callback is not called)."""
        with self._lock:
            self._generation += 1
            stream, self._stream = self._stream, None
            if self._playback is not None:
                self._playback.active = False
                self._playback = None
            was_playing = not self._done.is_set()
            self._done.set()
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # pragma: no cover - best effort
                log.debug("aborting stream: %s", exc)
        if was_playing:
            self._stopped_at = time.monotonic()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing plays; False on timeout."""
        return self._done.wait(timeout)

    def close(self) -> None:
        if self._closed:
            return
        self.stop()
        self._closed = True
        self._events.put(None)
        if threading.current_thread() is not self._notifier:
            self._notifier.join(timeout=2.0)

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# CLI: voicecoach devices


def add_subcommand(subparsers: Any) -> None:
    """Register ``voicecoach devices`` on an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser(
        "devices",
        help="list audio input and output devices",
        description="List the microphones and speakers PortAudio sees ('*' marks the defaults). "
        "Choose them with --input-device / --output-device (index or part of the name).",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per device")
    p.add_argument(
        "--no-probe",
        action="store_true",
        help="do not probe which sample rates each device accepts",
    )
    p.set_defaults(func=devices_command, handler=devices_command)


def devices_command(args: argparse.Namespace) -> int:
    """Print the devices; exit status 0, or raise AudioError when there are none."""
    devices = list_devices(probe_rates=not getattr(args, "no_probe", False))
    if getattr(args, "json", False):
        for d in devices:
            row = asdict(d)
            row["kind"] = [k for k, ok in (("input", d.is_input), ("output", d.is_output)) if ok]
            print(json.dumps(row))
        if not devices:
            raise AudioError(f"no audio devices found; {TEXT_HINT}")
        return 0
    if not devices:
        raise AudioError(f"no audio devices found; {TEXT_HINT}")
    print(_format_table("Inputs (microphones)", [d for d in devices if d.is_input], "input"))
    print()
    print(_format_table("Outputs (speakers)", [d for d in devices if d.is_output], "output"))
    return 0


def _format_table(title: str, devices: Sequence[DeviceInfo], kind: str) -> str:
    lines = [title + ":"]
    if not devices:
        lines.append("  (none)")
    for d in devices:
        default = d.is_default_input if kind == "input" else d.is_default_output
        channels = d.max_input_channels if kind == "input" else d.max_output_channels
        rates = d.input_rates_hz if kind == "input" else d.output_rates_hz
        rate_text = ",".join(str(r) for r in rates) if rates else f"{d.default_samplerate_hz:g}"
        lines.append(
            f"{'*' if default else ' '} {d.index:>3}  {d.name}  [{d.hostapi}]  "
            f"{channels} ch  rates: {rate_text} Hz"
        )
    return "\n".join(lines)
