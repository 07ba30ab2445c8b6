"""Noise suppression in front of the recogniser: 16 kHz mono 16-bit PCM in and out, streaming.

``create_denoiser(name)`` with name 'none' | 'rnnoise' | 'webrtc':

* ``rnnoise``: RNNoise (``pyrnnoise``'s bundled ``librnnoise``), which runs at 48 kHz on 480-sample
  frames; audio is resampled 16 -> 48 -> 16 kHz with ``soxr`` streams.
* ``webrtc``: WebRTC's noise suppressor (``webrtc-noise-gain``, as in Home Assistant), 10 ms frames
  at 16 kHz, suppression level 2 (of 0..4), no automatic gain.
* ``none``: no front end (``create_denoiser`` returns None).

Each keeps a small internal buffer (less than one frame), so output lags input by at most
10-20 ms; :meth:`Denoiser.flush` pads and returns the tail at the end of a stream.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from .errors import RecogniserError

log = logging.getLogger(__name__)

NOISE_FILTERS = ("none", "rnnoise", "webrtc")


class Denoiser(Protocol):
    name: str

    def process(self, pcm: bytes) -> bytes:
        """Feed 16 kHz PCM, get back the denoised PCM available so far."""
        ...

    def flush(self) -> bytes:
        """End of stream: the rest of the denoised audio."""
        ...

    def reset(self) -> None: ...


_FRAME_16K = 160  # 10 ms at 16 kHz


class WebRtcDenoiser:
    """WebRTC noise suppression (10 ms frames of 16 kHz 16-bit PCM)."""

    name = "webrtc"

    def __init__(self, level: int = 2) -> None:
        try:
            from webrtc_noise_gain import AudioProcessor
        except ImportError as exc:
            raise RecogniserError(
                "noise filter 'webrtc' needs the webrtc-noise-gain package "
                "(pip install webrtc-noise-gain) or choose noise_filter none"
            ) from exc
        self._cls = AudioProcessor
        self.level = level
        self._proc: Any = AudioProcessor(0, level)
        self._buf = b""

    def process(self, pcm: bytes) -> bytes:
        self._buf += pcm
        n = len(self._buf) // (2 * _FRAME_16K)
        out = []
        for i in range(n):
            frame = self._buf[i * 2 * _FRAME_16K : (i + 1) * 2 * _FRAME_16K]
            out.append(bytes(self._proc.Process10ms(frame).audio))
        self._buf = self._buf[n * 2 * _FRAME_16K :]
        return b"".join(out)

    def flush(self) -> bytes:
        if not self._buf:
            return b""
        keep = len(self._buf)
        self._buf += b"\x00" * (2 * _FRAME_16K - keep)
        return self.process(b"")[:keep]

    def reset(self) -> None:
        self._proc = self._cls(0, self.level)
        self._buf = b""


class RnNoiseDenoiser:
    """RNNoise at 48 kHz with streaming 16 <-> 48 kHz resampling."""

    name = "rnnoise"
    _RATE = 48000

    def __init__(self, dither: float = 25.0, bypass_below: float | None = 60.0,
                 window_s: float = 3.0) -> None:
        try:
            import numpy as np
            import soxr  # type: ignore[import-untyped, unused-ignore]
            from pyrnnoise import rnnoise as rn
        except (ImportError, OSError) as exc:
            raise RecogniserError(
                "noise filter 'rnnoise' needs the pyrnnoise package "
                "(pip install pyrnnoise) or choose noise_filter none"
            ) from exc
        self._np = np
        self.dither = dither
        self.bypass_below = bypass_below
        self._window_frames = int(window_s * 100)
        self.bypassed = bypass_below is not None
        self._rms: Any = None
        self._raw: Any = None
        self._rng: Any = None
        self._soxr = soxr
        self._rn = rn
        self._frame = int(rn.FRAME_SIZE)
        self._state: Any = None
        self._up: Any = None
        self._down: Any = None
        self._buf48: Any = None
        self._in_samples = 0
        self._out_samples = 0
        self.reset()

    def __del__(self) -> None:
        try:
            if self._state is not None:
                self._rn.destroy(self._state)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def reset(self) -> None:
        np = self._np
        if self._state is not None:
            self._rn.destroy(self._state)
        self._state = self._rn.create()
        self._up = self._soxr.ResampleStream(16000, self._RATE, 1, dtype="float32", quality="HQ")
        self._down = self._soxr.ResampleStream(self._RATE, 16000, 1, dtype="float32", quality="HQ")
        self._buf48 = np.zeros(0, dtype=np.float32)
        self._rng = np.random.default_rng(54321)
        self._rms = np.zeros(0, dtype=np.float32)
        self._raw = np.zeros(0, dtype=np.float32)
        self._rest = np.zeros(0, dtype=np.float32)
        self.bypassed = self.bypass_below is not None
        self._in_samples = 0
        self._out_samples = 0

    def _denoise48(self, x48: Any, last: bool) -> bytes:
        np = self._np
        ctypes = __import__("ctypes")
        buf = np.concatenate([self._buf48, x48.astype(np.float32)])
        if last and len(buf) % self._frame:
            buf = np.concatenate([buf, np.zeros(self._frame - len(buf) % self._frame, np.float32)])
        n = len(buf) // self._frame
        outs = []
        for i in range(n):
            fr = np.ascontiguousarray(buf[i * self._frame : (i + 1) * self._frame])
            ptr = fr.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            self._rn.lib.rnnoise_process_frame(self._state, ptr, ptr)
            outs.append(fr)
        self._buf48 = buf[n * self._frame :]
        y48 = np.concatenate(outs) if outs else np.zeros(0, np.float32)
        y16 = self._down.resample_chunk(y48, last=last)
        if last:
            # trim the padding so that output length matches input length
            y16 = y16[: max(0, self._in_samples - self._out_samples)]
        raw, self._raw = self._raw[: len(y16)], self._raw[len(y16) :]
        if self.bypassed and len(raw) == len(y16):
            y16 = raw
        self._out_samples += len(y16)
        data: bytes = np.clip(np.rint(y16), -32768, 32767).astype("<i2").tobytes()
        return data

    def _track_noise(self, x: Any) -> None:
        """Estimate the noise floor (10th percentile of 10 ms frame levels over the last
        ``window_s``) and pass audio through untouched while it is below ``bypass_below``.

        Measured on synthetic commands: RNNoise lifts accuracy at 10 dB SNR from 6% to 85% but
        costs accuracy on clean speech (84% -> 79%); a quiet input is better left alone.
        """
        np = self._np
        buf = np.concatenate([self._rest, x])
        n = len(buf) // _FRAME_16K
        if n:
            frames = buf[: n * _FRAME_16K].reshape(n, _FRAME_16K)
            rms = np.sqrt((frames**2).mean(axis=1))
            self._rms = np.concatenate([self._rms, rms])[-self._window_frames :]
        self._rest = buf[n * _FRAME_16K :]
        if len(self._rms) and self.bypass_below is not None:
            floor = float(np.percentile(self._rms, 10))
            if self.bypassed and floor > 1.5 * self.bypass_below:
                self.bypassed = False
                log.debug("rnnoise on (noise floor %.0f)", floor)
            elif not self.bypassed and floor < self.bypass_below:
                self.bypassed = True
                log.debug("rnnoise bypassed (noise floor %.0f)", floor)

    def process(self, pcm: bytes) -> bytes:
        np = self._np
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        if self.bypass_below is not None:
            self._raw = np.concatenate([self._raw, x])
            self._track_noise(x)
        if self.dither > 0:
            # a faint noise floor: RNNoise mangles speech that sits in digital silence
            x = x + self._rng.standard_normal(x.size).astype(np.float32) * np.float32(self.dither)
        self._in_samples += len(x)
        x48 = self._up.resample_chunk(x)
        return self._denoise48(x48, last=False)

    def flush(self) -> bytes:
        np = self._np
        x48 = self._up.resample_chunk(np.zeros(0, np.float32), last=True)
        out = self._denoise48(x48, last=True)
        # pad short so the caller gets as many samples as it fed in
        missing = self._in_samples - self._out_samples
        if missing > 0:
            out += b"\x00\x00" * missing
            self._out_samples += missing
        return out


def create_denoiser(name: str) -> Denoiser | None:
    """The front end called ``name`` ('none' | 'rnnoise' | 'webrtc'); None for 'none'."""
    if name == "none":
        return None
    if name == "rnnoise":
        return RnNoiseDenoiser()
    if name == "webrtc":
        return WebRtcDenoiser()
    raise RecogniserError(f"unknown noise filter '{name}' (choose from {', '.join(NOISE_FILTERS)})")


def denoise_pcm(pcm: bytes, name: str, chunk_bytes: int = 3200) -> bytes:
    """Denoise a whole buffer in streaming chunks (for tests and the benchmark)."""
    d = create_denoiser(name)
    if d is None:
        return pcm
    out = [d.process(pcm[i : i + chunk_bytes]) for i in range(0, len(pcm), chunk_bytes)]
    out.append(d.flush())
    return b"".join(out)
