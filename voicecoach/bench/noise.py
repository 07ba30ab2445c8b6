"""Noise for the benchmark: generators (white, pink, fan hum, babble), non-speech events
(coughs, clicks, knocks) and mixing at a chosen SNR measured on the speech's active part.

Everything here is numpy on float64 arrays at :data:`RATE_HZ`; every generator takes a
``numpy.random.Generator`` so a clip's noise is fixed by its seed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

RATE_HZ = 16000
NOISE_TYPES = ("white", "pink", "fan", "babble")
FRAME_S = 0.01
ACTIVE_RANGE_DB = 35.0
"""A 10 ms frame is 'active speech' when its energy is within this many dB of the loudest frame."""


def _spectral_shape(n: int, rng: np.random.Generator, exponent: float) -> FloatArray:
    """Gaussian noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown)."""
    import numpy as np

    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / RATE_HZ)
    gain = np.zeros_like(f)
    gain[1:] = f[1:] ** (-exponent / 2.0)
    y = np.fft.irfft(spec * gain, n)
    return _unit_rms(y)


def _unit_rms(x: FloatArray) -> FloatArray:
    import numpy as np

    rms = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    return x / rms if rms > 0 else x


def white(n: int, rng: np.random.Generator) -> FloatArray:
    """White Gaussian noise, unit RMS."""
    return _unit_rms(rng.standard_normal(n))


def pink(n: int, rng: np.random.Generator) -> FloatArray:
    """Pink noise (-3 dB per octave), unit RMS."""
    return _spectral_shape(n, rng, 1.0)


def brown(n: int, rng: np.random.Generator) -> FloatArray:
    """Brown noise (-6 dB per octave), unit RMS."""
    return _spectral_shape(n, rng, 2.0)


def fan(n: int, rng: np.random.Generator) -> FloatArray:
    """A fan-like hum: low-passed brown noise, mains harmonics and a blade-pass tone, unit RMS."""
    import numpy as np

    rumble = np.fft.rfft(brown(n, rng))
    f = np.fft.rfftfreq(n, 1.0 / RATE_HZ)
    cutoff = rng.uniform(300.0, 600.0)
    rumble *= 1.0 / np.sqrt(1.0 + (f / cutoff) ** 4)  # 2nd-order low-pass magnitude
    broadband = _unit_rms(np.fft.irfft(rumble, n))
    t = np.arange(n) / RATE_HZ
    mains = float(rng.choice([50.0, 60.0]))
    hum = np.zeros(n)
    for k in range(1, 7):
        hum += (0.6 / k) * np.sin(2 * math.pi * mains * k * t + rng.uniform(0, 2 * math.pi))
    blade = rng.uniform(80.0, 180.0)
    wobble = 1.0 + 0.2 * np.sin(2 * math.pi * rng.uniform(0.5, 2.0) * t)
    tone = 0.5 * wobble * np.sin(2 * math.pi * blade * t)
    return _unit_rms(broadband + 0.5 * _unit_rms(hum) + 0.4 * _unit_rms(tone))


def babble(n: int, rng: np.random.Generator, voices: Sequence[FloatArray],
           talkers: int = 4) -> FloatArray:
    """Several talkers at once: ``talkers`` of ``voices`` (speech arrays), looped, summed."""
    import numpy as np

    usable = [v for v in voices if v.size > RATE_HZ // 10]
    if not usable:
        return pink(n, rng)
    out = np.zeros(n)
    for _ in range(talkers):
        v = _unit_rms(usable[int(rng.integers(len(usable)))])
        gap = np.zeros(int(rng.uniform(0.05, 0.3) * RATE_HZ))
        loop = np.concatenate([v, gap])
        reps = n // loop.size + 2
        tiled = np.tile(loop, reps)
        off = int(rng.integers(loop.size))
        out += tiled[off : off + n] * rng.uniform(0.6, 1.0)
    return _unit_rms(out)


def make_noise(kind: str, n: int, rng: np.random.Generator,
               babble_voices: Sequence[FloatArray] = ()) -> FloatArray:
    """Noise of one of :data:`NOISE_TYPES`, unit RMS."""
    if kind == "white":
        return white(n, rng)
    if kind == "pink":
        return pink(n, rng)
    if kind == "fan":
        return fan(n, rng)
    if kind == "babble":
        return babble(n, rng, babble_voices)
    raise ValueError(f"unknown noise type '{kind}' (known: {', '.join(NOISE_TYPES)})")


# ----------------------------------------------------------------------------- non-speech
def nonspeech(kind: str, rng: np.random.Generator, seconds: float = 1.2) -> FloatArray:
    """A short non-speech sound: 'cough' (shaped noise bursts), 'click' (impulses) or 'knock'."""
    import numpy as np

    n = int(seconds * RATE_HZ)
    out = np.zeros(n)
    t = np.arange(n) / RATE_HZ
    if kind == "cough":
        for _ in range(int(rng.integers(1, 4))):
            start = rng.uniform(0.0, max(0.01, seconds - 0.35))
            dur = rng.uniform(0.15, 0.3)
            seg = (t >= start) & (t < start + dur)
            local = t[seg] - start
            env = (1 - np.exp(-local / 0.01)) * np.exp(-local / (dur / 3))
            burst = np.fft.rfft(rng.standard_normal(int(seg.sum())))
            f = np.fft.rfftfreq(int(seg.sum()), 1.0 / RATE_HZ)
            centre = rng.uniform(500, 1500)
            burst *= np.exp(-((np.log(f + 1) - math.log(centre)) ** 2) / 1.2)
            out[seg] += np.fft.irfft(burst, int(seg.sum())) * env
    elif kind == "click":
        for _ in range(int(rng.integers(2, 8))):
            i = int(rng.integers(n - 200))
            out[i : i + 200] += rng.choice([-1.0, 1.0]) * np.exp(-np.arange(200) / 15.0)
    elif kind == "knock":
        for _ in range(int(rng.integers(2, 5))):
            i = int(rng.integers(n - 1600))
            k = np.arange(1600) / RATE_HZ
            freq = rng.uniform(120, 300)
            out[i : i + 1600] += np.sin(2 * math.pi * freq * k) * np.exp(-k / 0.02)
    else:
        raise ValueError(f"unknown non-speech sound '{kind}'")
    return _unit_rms(out)


NONSPEECH_KINDS = ("cough", "click", "knock")


# ---------------------------------------------------------------------------------- mixing
def active_mask(speech: FloatArray, range_db: float = ACTIVE_RANGE_DB) -> npt.NDArray[np.bool_]:
    """Per-sample mask of the active part: 10 ms frames within ``range_db`` of the loudest one."""
    import numpy as np

    hop = int(FRAME_S * RATE_HZ)
    nfr = max(1, speech.size // hop)
    frames = speech[: nfr * hop].reshape(nfr, hop) if speech.size >= hop else speech[None, :]
    energy = np.mean(frames * frames, axis=1)
    top = float(energy.max()) if energy.size else 0.0
    if top <= 0:
        return np.zeros(speech.size, dtype=bool)
    act = energy >= top * 10 ** (-range_db / 10)
    mask = np.repeat(act, hop)
    if mask.size < speech.size:
        mask = np.concatenate([mask, np.zeros(speech.size - mask.size, dtype=bool)])
    return mask[: speech.size]


def snr_db(speech: FloatArray, noise: FloatArray, mask: npt.NDArray[np.bool_] | None = None
           ) -> float:
    """SNR of ``speech`` over ``noise`` on the speech's active samples (same length arrays)."""
    import numpy as np

    m = active_mask(speech) if mask is None else mask
    ps = float(np.mean(speech[m] ** 2))
    pn = float(np.mean(noise[m] ** 2))
    return 10 * math.log10(ps / pn) if pn > 0 else math.inf


def scale_noise(speech: FloatArray, noise: FloatArray, target_db: float) -> FloatArray:
    """``noise`` scaled so that :func:`snr_db` (speech, scaled noise) equals ``target_db``."""
    now = snr_db(speech, noise)
    if not math.isfinite(now):
        return noise
    return noise * 10 ** ((now - target_db) / 20)


def to_int16(x: FloatArray) -> npt.NDArray[np.int16]:
    import numpy as np

    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def band_slope_db_per_octave(x: FloatArray, lo_hz: float = 100.0, hi_hz: float = 4000.0,
                             seg: int = 4096) -> float:
    """Least-squares slope of the averaged power spectrum in dB per octave between lo and hi."""
    import numpy as np

    nseg = max(1, x.size // seg)
    win = np.hanning(seg)
    psd = np.zeros(seg // 2 + 1)
    for i in range(nseg):
        chunk = x[i * seg : (i + 1) * seg]
        if chunk.size < seg:
            break
        psd += np.abs(np.fft.rfft(chunk * win)) ** 2
    f = np.fft.rfftfreq(seg, 1.0 / RATE_HZ)
    sel = (f >= lo_hz) & (f <= hi_hz)
    # average into 1/6-octave bands so every octave weighs the same in the fit
    edges = lo_hz * 2 ** (np.arange(0, math.log2(hi_hz / lo_hz) + 1e-9, 1 / 6))
    xs: list[float] = []
    ys: list[float] = []
    for a, b in itertools.pairwise(edges):
        band = sel & (f >= a) & (f < b)
        if band.any():
            xs.append(math.log2(math.sqrt(a * b)))
            ys.append(10 * math.log10(float(psd[band].mean())))
    slope = float(np.polyfit(np.array(xs), np.array(ys), 1)[0])
    return slope
