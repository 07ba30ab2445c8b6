"""Noise-suppression front ends: streaming, length-preserving, and harmless on clean speech."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from audio_helpers import have_flite, mix_at_snr, synth

from voicecoach.denoise import create_denoiser, denoise_pcm
from voicecoach.errors import RecogniserError


@pytest.mark.parametrize("name", ["webrtc", "rnnoise"])
def test_streaming_keeps_length_and_lowers_noise(name: str) -> None:
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(16000 * 2) * 1000).astype("<i2").tobytes()
    out = denoise_pcm(noise, name, chunk_bytes=1234)  # odd chunk sizes
    assert len(out) == len(noise)
    assert np.abs(np.frombuffer(out, "<i2")).mean() < 0.5 * np.abs(
        np.frombuffer(noise, "<i2")).mean()


def test_none_and_unknown() -> None:
    assert create_denoiser("none") is None
    with pytest.raises(RecogniserError, match="unknown noise filter"):
        create_denoiser("magic")


@pytest.mark.audio
@pytest.mark.skipif(not have_flite(), reason="flite (Debian) is required")
@pytest.mark.parametrize("name", ["none", "rnnoise"])
def test_clean_accuracy_kept_and_noisy_speech_heard(name: str) -> None:
    from voicecoach.asr import parse_recognitions, recognise_pcm
    from voicecoach.asr_sphinx import SphinxRecogniser

    rec = SphinxRecogniser(phase="hold")
    ok = 0
    clips = ["yes", "stop", "how long is left", "pins and needles"]
    for text in clips:
        pcm = denoise_pcm(synth(text, "flite", "slt"), name)
        rec.reset()
        fields = parse_recognitions(recognise_pcm(rec, pcm), "hold")
        ok += fields["intent"] is not None
    assert ok >= len(clips) - 1
    noisy = mix_at_snr(synth("stop", "flite", "slt"), 20, "pink", seed=1)
    assert len(denoise_pcm(noisy, name)) == len(noisy)
