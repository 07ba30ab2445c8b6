"""Synthesise test speech and mix noise (shared test helper; keep the signatures stable).

* :func:`synth` speaks a text with espeak-ng (voice variants) or flite and returns 16 kHz mono
  16-bit PCM bytes; results are cached on disk per (engine, voice, rate, text).
* :func:`pink_noise`, :func:`white_noise`, :func:`mix_at_snr` make noisy versions.
* :func:`cough`, :func:`clicks`, :func:`noise_burst` make non-speech sounds.
* :data:`VOICES` lists test voices as ``(engine, voice)`` pairs.

Everything is returned as bytes of 16 kHz mono 16-bit little-endian PCM
(``voicecoach.asr.SAMPLE_RATE_HZ``), with ``pad_s`` of silence on both sides so endpointing has
something to work with.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

RATE = 16000

#: (engine, voice) pairs used by the tests: espeak-ng variants and flite voices.
VOICES: list[tuple[str, str]] = [
    ("espeak-ng", "en-us"),
    ("espeak-ng", "en-gb"),
    ("espeak-ng", "en-us+f3"),
    ("espeak-ng", "en-gb-x-rp+m3"),
    ("flite", "slt"),
    ("flite", "rms"),
]

_CACHE = Path(
    os.environ.get(
        "VOICECOACH_TEST_AUDIO_CACHE", Path(tempfile.gettempdir()) / "voicecoach-test-audio"
    )
)


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def have_flite() -> bool:
    return shutil.which("flite") is not None


def _read_any_wav(path: Path) -> bytes:
    from voicecoach.wavio import read_wav_16k

    return read_wav_16k(path)


def synth(
    text: str,
    engine: str = "espeak-ng",
    voice: str = "en-us",
    rate_wpm: int = 160,
    pad_s: float = 0.4,
    cache_dir: Path | None = None,
) -> bytes:
    """Speak ``text``; 16 kHz mono PCM with ``pad_s`` seconds of silence before and after."""
    cache = cache_dir or _CACHE
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{engine}|{voice}|{rate_wpm}|{text}".encode()).hexdigest()[:20]
    wav = cache / f"{key}.wav"
    if not wav.exists():
        tmp = wav.with_suffix(f".{os.getpid()}.tmp.wav")
        if engine == "espeak-ng":
            cmd = ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(tmp), text]
        elif engine == "flite":
            # flite's speed is a duration stretch factor; 1.0 is its normal rate
            stretch = max(0.5, min(2.0, 170.0 / rate_wpm))
            cmd = [
                "flite",
                "-voice",
                voice,
                "--setf",
                f"duration_stretch={stretch:.2f}",
                "-t",
                text,
                "-o",
                str(tmp),
            ]
        else:
            raise ValueError(f"unknown synthesiser {engine}")
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        tmp.replace(wav)
    pcm = _read_any_wav(wav)
    pad = b"\x00\x00" * int(pad_s * RATE)
    return pad + pcm + pad


def to_array(pcm: bytes) -> Any:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def to_pcm(x: Any) -> bytes:
    data: bytes = np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()
    return data


def white_noise(n: int, rng: np.random.Generator) -> Any:
    return rng.standard_normal(n)


def pink_noise(n: int, rng: np.random.Generator) -> Any:
    """1/f noise by spectral shaping of white noise (unit variance)."""
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec = spec / np.sqrt(f)
    x = np.fft.irfft(spec, n)
    result: Any = x / (np.std(x) + 1e-12)
    return result


def _speech_power(x: Any) -> float:
    """Mean power over the louder frames (so silence padding does not dilute it)."""
    frame = 320
    n = len(x) // frame
    if n == 0:
        return float(np.mean(x**2) + 1e-9)
    p = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    active = p[p > 0.05 * p.max()]
    return float(np.mean(active)) if active.size else float(np.mean(p) + 1e-9)


def mix_at_snr(pcm: bytes, snr_db: float, kind: str = "pink", seed: int = 0) -> bytes:
    """Add noise so that speech power / noise power is ``snr_db`` (speech measured where active)."""
    x = to_array(pcm)
    rng = np.random.default_rng(seed)
    noise = pink_noise(len(x), rng) if kind == "pink" else white_noise(len(x), rng)
    p_s = _speech_power(x)
    noise = noise * np.sqrt(p_s / (10 ** (snr_db / 10.0)))
    y = x + noise
    peak = np.max(np.abs(y))
    if peak > 32000:
        y = y * (32000 / peak)
    return to_pcm(y)


def cough(seed: int = 0, pad_s: float = 0.4) -> bytes:
    """A cough-like sound: two bursts of shaped noise with a fast attack and decay."""
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(pad_s * RATE))]
    for dur in (0.25, 0.18):
        n = int(dur * RATE)
        t = np.arange(n) / RATE
        env = np.exp(-t / (dur / 4)) * (1 - np.exp(-t / 0.01))
        burst = np.convolve(rng.standard_normal(n), np.ones(6) / 6, mode="same")
        parts += [8000 * env * burst / (np.std(burst) + 1e-9), np.zeros(int(0.12 * RATE))]
    parts.append(np.zeros(int(pad_s * RATE)))
    return to_pcm(np.concatenate(parts))


def clicks(n_clicks: int = 6, seed: int = 0, pad_s: float = 0.4) -> bytes:
    """Sharp clicks (like tapping the device) at random spacing."""
    rng = np.random.default_rng(seed)
    total = int((pad_s * 2 + 0.25 * n_clicks) * RATE)
    x = np.zeros(total)
    for i in range(n_clicks):
        pos = int((pad_s + 0.25 * i + rng.uniform(0, 0.1)) * RATE)
        x[pos : pos + 40] += 12000 * np.exp(-np.arange(40) / 6) * rng.choice([-1, 1])
    return to_pcm(x)


def noise_burst(
    seconds: float = 1.0, kind: str = "pink", seed: int = 0, level: float = 3000, pad_s: float = 0.4
) -> bytes:
    """A burst of noise (a door, a rustle) between silences."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    body = pink_noise(n, rng) if kind == "pink" else white_noise(n, rng)
    ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.05 * RATE))
    pad = np.zeros(int(pad_s * RATE))
    return to_pcm(np.concatenate([pad, level * body * ramp, pad]))


def write_wav(path: Path, pcm: bytes) -> Path:
    from voicecoach.wavio import write_wav_16k

    write_wav_16k(path, pcm)
    return path
