"""PulseAudio virtual devices for tests that need a real audio path.

Make the ``pulse_devices`` fixture available to all tests from ``tests/conftest.py``::

    from pulse_fixtures import pulse_devices_fixture  # noqa: F401

(tests/ has no ``__init__.py``, so pytest puts tests/ on sys.path). ``pulse_devices`` is
session-scoped: it runs ``scripts/pulse-virtual-devices.sh``
once and yields a :class:`PulseDevices`. If PulseAudio cannot be started the test FAILS with the
script's message; it is never skipped.

Helpers (plain functions and classes, usable without pytest):

- :func:`start_pulse` runs the script and returns the device names.
- :func:`play_into_mic` plays a WAV (or int16 array) into the virtual microphone with ``paplay``.
- :class:`MonitorRecorder` records a sink's monitor with ``parec`` and time-stamps every 10 ms
  block on arrival, so tests can measure *when* sound started or stopped from the audio itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "pulse-virtual-devices.sh"


@dataclass(frozen=True)
class PulseDevices:
    speaker_sink: str  # "vc_speaker": where the coach's voice goes (default sink)
    speaker_monitor: str  # "vc_speaker.monitor": record it with parec / MonitorRecorder
    mic_feed_sink: str  # "vc_mic_feed": paplay user speech into it
    mic_source: str  # "vc_mic": the virtual microphone (default source)


class PulseUnavailable(RuntimeError):
    pass


def start_pulse() -> PulseDevices:
    """Start (or repair) the PulseAudio daemon and virtual devices; raise PulseUnavailable."""
    for tool in ("pulseaudio", "pactl", "paplay", "parec"):
        if shutil.which(tool) is None:
            raise PulseUnavailable(
                f"{tool} not found: apt-get install pulseaudio pulseaudio-utils libasound2-plugins"
            )
    proc = subprocess.run(
        ["sh", str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise PulseUnavailable(
            f"{SCRIPT.name} failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout}"
        )
    speaker, feed, mic = proc.stdout.split()
    # PortAudio scans devices once, when sounddevice is imported; if that happened before the
    # daemon ran it sees no devices, so make it scan again.
    if "sounddevice" in sys.modules:
        from voicecoach.audio import reinitialise

        reinitialise()
    return PulseDevices(speaker, f"{speaker}.monitor", feed, mic)


@pytest.fixture(scope="session", name="pulse_devices")
def pulse_devices_fixture() -> Iterator[PulseDevices]:
    """The PulseAudio virtual devices (session-scoped). A test needing them FAILS without them."""
    try:
        devices = start_pulse()
    except (PulseUnavailable, subprocess.TimeoutExpired, ValueError) as exc:
        pytest.fail(f"PulseAudio virtual devices unavailable: {exc}", pytrace=False)
    yield devices


def write_wav(path: Path, pcm: npt.NDArray[np.int16], rate_hz: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return path


def tone(
    freq_hz: float, seconds: float, rate_hz: int = 16000, amp: float = 0.5
) -> npt.NDArray[np.int16]:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return (np.sin(2 * np.pi * freq_hz * t) * amp * 32767).astype(np.int16)


def play_into_mic(
    source: Path | npt.NDArray[np.int16], devices: PulseDevices, rate_hz: int = 16000
) -> subprocess.Popen[bytes]:
    """Start ``paplay`` of a WAV file (or int16 array) into the virtual microphone; returns it."""
    if isinstance(source, Path):
        return subprocess.Popen(["paplay", f"--device={devices.mic_feed_sink}", str(source)])
    # An array goes through paplay's stdin (no temporary file left behind); a thread feeds it so
    # the caller can go on reading the microphone while it plays.
    proc = subprocess.Popen(
        ["paplay", f"--device={devices.mic_feed_sink}", "--raw", "--format=s16le",
         f"--rate={rate_hz}", "--channels=1"],
        stdin=subprocess.PIPE,
    )
    data = np.asarray(source, dtype="<i2").tobytes()

    def feed() -> None:
        assert proc.stdin is not None
        with proc.stdin:
            proc.stdin.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return proc


class MonitorRecorder:
    """Records a PulseAudio source (default: the speaker's monitor) with ``parec``.

    Mono int16 at ``rate_hz``; every ``block_ms`` block is stamped with ``time.monotonic()`` when it
    arrives, so ``block_times[i]`` is (within parec's ~10 ms latency) when block ``i`` was heard.
    """

    def __init__(self, device: str, rate_hz: int = 16000, block_ms: int = 10) -> None:
        self.device = device
        self.rate_hz = rate_hz
        self.block_samples = rate_hz * block_ms // 1000
        self.blocks: list[bytes] = []
        self.block_times: list[float] = []
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MonitorRecorder:
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={self.device}",
                "--raw",
                "--format=s16le",
                f"--rate={self.rate_hz}",
                "--channels=1",
                "--latency-msec=10",
            ],
            stdout=subprocess.PIPE,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        # Wait until parec delivers (the monitor produces silence even when nothing plays).
        deadline = time.monotonic() + 5.0
        while not self.blocks and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.blocks:
            self.__exit__()
            raise PulseUnavailable(f"parec on {self.device} delivered no audio")
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        nbytes = self.block_samples * 2
        while True:
            chunk = self._proc.stdout.read(nbytes)
            if not chunk:
                return
            now = time.monotonic()
            with self._lock:
                self.blocks.append(chunk)
                self.block_times.append(now)

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def snapshot(self) -> tuple[list[bytes], list[float]]:
        """The blocks and their arrival times so far (safe while recording)."""
        with self._lock:
            return list(self.blocks), list(self.block_times)

    def pcm(self) -> npt.NDArray[np.int16]:
        blocks, _ = self.snapshot()
        data = b"".join(blocks)
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")

    def block_rms(self) -> npt.NDArray[np.float64]:
        blocks, _ = self.snapshot()
        return self._rms(blocks)

    @staticmethod
    def _rms(blocks: list[bytes]) -> npt.NDArray[np.float64]:
        out = []
        for b in blocks:
            x = np.frombuffer(b[: len(b) // 2 * 2], dtype="<i2").astype(np.float64)
            out.append(float(np.sqrt(np.mean(x**2))) if x.size else 0.0)
        return np.array(out)

    def loud_times(self, threshold_rms: float = 300.0) -> list[float]:
        """Arrival times of the blocks louder than ``threshold_rms`` (safe while recording)."""
        blocks, times = self.snapshot()
        rms = self._rms(blocks)
        return [t for t, r in zip(times, rms, strict=True) if r > threshold_rms]
