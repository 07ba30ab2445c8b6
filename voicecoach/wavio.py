"""WAV files in and out as 16 kHz mono 16-bit PCM (shell module: numpy is imported lazily)."""

from __future__ import annotations

import logging
import wave
from pathlib import Path
from typing import Any

from .errors import RecogniserError

log = logging.getLogger(__name__)

TARGET_RATE_HZ = 16000


def resample_int16(samples: Any, from_hz: int, to_hz: int) -> Any:
    """Resample a 1-D int16/float numpy array; returns int16. Uses soxr when present."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float32)
    if from_hz == to_hz or x.size == 0:
        return np.clip(x, -32768, 32767).astype(np.int16)
    try:
        import soxr  # type: ignore[import-untyped, unused-ignore]

        y = soxr.resample(x, from_hz, to_hz, quality="HQ")
    except ImportError:  # pragma: no cover - soxr comes with pyrnnoise
        n_out = round(x.size * to_hz / from_hz)
        t = np.arange(n_out) * (from_hz / to_hz)
        y = np.interp(t, np.arange(x.size), x)
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


def read_wav_16k(path: str | Path) -> bytes:
    """Read a PCM WAV file (any rate, channels, 8/16/24/32-bit) as 16 kHz mono 16-bit PCM bytes.

    Raises :class:`RecogniserError` with a one-line message when the file cannot be read.
    """
    import numpy as np

    try:
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
            channels = w.getnchannels()
            width = w.getsampwidth()
            raw = w.readframes(w.getnframes())
    except FileNotFoundError as exc:
        raise RecogniserError(f"cannot read {path}: no such file") from exc
    except (wave.Error, EOFError, OSError) as exc:
        raise RecogniserError(f"cannot read {path}: not a PCM WAV file ({exc})") from exc
    if rate <= 0 or channels <= 0:
        raise RecogniserError(f"cannot read {path}: bad WAV header")
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) * 256.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8)
        b = b[: len(b) - len(b) % 3].reshape(-1, 3)
        v = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8)
             | (b[:, 2].astype(np.int32) << 16))
        v = np.where(v & 0x800000, v - 0x1000000, v)
        x = v.astype(np.float32) / 256.0
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 65536.0
    else:
        raise RecogniserError(f"cannot read {path}: unsupported sample width {width} bytes")
    if channels > 1:
        x = x[: len(x) - len(x) % channels].reshape(-1, channels).mean(axis=1)
    y = resample_int16(x, rate, TARGET_RATE_HZ)
    data: bytes = y.astype("<i2").tobytes()
    return data


def write_wav_16k(path: str | Path, pcm: bytes, rate_hz: int = TARGET_RATE_HZ) -> None:
    """Write 16-bit mono PCM bytes as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm)
