"""voicecoach.tts: synthesis (pyttsx3, espeak-ng) and interruptible speech on a virtual speaker."""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np
import pytest
from pulse_fixtures import (  # noqa: F401  (pulse_devices_fixture provides pulse_devices)
    MonitorRecorder,
    PulseDevices,
    pulse_devices_fixture,
)

from voicecoach import tts
from voicecoach.cues import CueBook
from voicecoach.errors import SpeechOutError

pytestmark = pytest.mark.audio  # needs espeak-ng (and PulseAudio for the Speaker tests)

LINE = "Breathe out slowly and let your knee come in toward your chest."


def test_synthesise_gives_speech_and_caches_it() -> None:
    s = tts.synthesise(LINE, rate_wpm=150)
    assert s.backend == "espeak-ng"  # the default; see voicecoach/tts.py on pyttsx3
    assert s.pcm.dtype == np.int16 and s.sample_rate_hz == 22050
    assert 2.0 < s.seconds < 8.0
    rms = float(np.sqrt(np.mean(s.pcm.astype(np.float64) ** 2)))
    assert rms > 1000
    # leading / trailing padding is trimmed (the coach reacts when playback ends)
    edge = int(0.1 * s.sample_rate_hz)
    assert np.max(np.abs(s.pcm[:edge])) > 64 and np.max(np.abs(s.pcm[-edge:])) > 64
    again = tts.synthesise(LINE, rate_wpm=150)
    assert again.cached and again.synth_ms == 0.0
    assert np.array_equal(again.pcm, s.pcm)
    faster = tts.synthesise(LINE, rate_wpm=250)
    assert not faster.cached and faster.seconds < 0.8 * s.seconds


def test_pyttsx3_backend_gives_speech_or_falls_back_to_espeak_ng() -> None:
    s = tts.synthesise("Switch sides now.", rate_wpm=150, backend="pyttsx3")
    assert s.backend in ("pyttsx3", "espeak-ng")
    assert s.sample_rate_hz == 22050 and s.seconds > 0.5
    assert float(np.sqrt(np.mean(s.pcm.astype(np.float64) ** 2))) > 1000
    ref = tts.synthesise("Switch sides now.", rate_wpm=150, backend="espeak-ng")
    assert s.seconds == pytest.approx(ref.seconds, abs=0.15)  # a whole line, not cut short


def test_no_engine_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts, "available_backends", lambda: [])
    monkeypatch.setattr(tts._SynthWorker, "_workers", {})
    with pytest.raises(SpeechOutError, match="no text-to-speech engine"):
        tts.synthesise("hello")


def test_synthesis_time_per_cue_is_small() -> None:
    """Every wording in the cue book: synthesis time per line (printed with -s)."""
    book = CueBook.load()
    lines = {v.replace("{", "").replace("}", "") for c in book.ids() for v in book.variants(c)}
    ms = []
    for line in sorted(lines):
        s = tts.synthesise(line, rate_wpm=149)  # a rate no other test uses: no cache hits
        assert s.seconds > 0.2, line
        ms.append(s.synth_ms)
    ms.sort()
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(
        f"\nsynthesis of {len(ms)} cue lines: "
        f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms"
    )
    assert p95 < 500


def test_speaker_says_a_line_on_the_virtual_speaker(pulse_devices: PulseDevices) -> None:
    done = threading.Event()
    with (
        tts.Speaker(rate_wpm=160) as speaker,
        MonitorRecorder(pulse_devices.speaker_monitor) as rec,
    ):
        _, rate = speaker.synthesise(LINE)
        pcm, _ = speaker.synthesise(LINE)
        expected_s = len(pcm) / rate
        t0 = time.monotonic()
        speaker.say(LINE, on_done=done.set)
        assert speaker.is_speaking
        assert done.wait(expected_s + 3.0), "on_done was not called"
        t_done = time.monotonic()
        assert not speaker.is_speaking
        time.sleep(0.1)
    loud = rec.loud_times(300.0)
    assert loud, "no speech energy recorded on the speaker monitor"
    heard_s = loud[-1] - loud[0]
    assert heard_s == pytest.approx(expected_s, abs=0.35)
    assert loud[0] - t0 < 0.3, "speech started late"
    assert t_done - loud[-1] < 0.3, "on_done came late"
    # speech, not a tone: energy spread over many frequencies
    x = rec.pcm().astype(np.float64)
    spec = np.abs(np.fft.rfft(x))
    assert np.sum(spec > 0.1 * spec.max()) > 50


def test_speaker_stop_cuts_off_within_100ms(pulse_devices: PulseDevices) -> None:
    done = threading.Event()
    long_line = LINE + " Keep your other leg long and relaxed on the floor while you hold."
    with tts.Speaker() as speaker, MonitorRecorder(pulse_devices.speaker_monitor) as rec:
        speaker.synthesise(long_line)  # warm the cache
        speaker.say(long_line, on_done=done.set)
        time.sleep(1.2)
        t_stop = time.monotonic()
        speaker.stop()
        assert not speaker.is_speaking
        time.sleep(0.5)
    assert not done.is_set(), "on_done must not be called for a line that was cut off"
    loud = rec.loud_times(300.0)
    assert loud and loud[0] < t_stop, "the line never started"
    latency = loud[-1] - t_stop
    print(f"\nstop latency measured from the recording: {latency * 1000:.0f} ms")
    assert latency < 0.1


def test_new_say_replaces_the_current_line(pulse_devices: PulseDevices) -> None:
    first, second = threading.Event(), threading.Event()
    with tts.Speaker(volume=0.8) as speaker:
        assert speaker.volume == 0.8
        speaker.say(LINE, on_done=first.set)
        time.sleep(0.3)
        speaker.say("Stop.", on_done=second.set)
        assert second.wait(5.0)
    assert not first.is_set()


def test_speaker_rejects_a_bad_rate() -> None:
    with pytest.raises(SpeechOutError, match="rate"):
        tts.Speaker(rate_wpm=10)


def test_preloaded_line_starts_quickly(pulse_devices: PulseDevices) -> None:
    line = "Let the knee go back down slowly, and rest for a moment."
    with (
        tts.Speaker(rate_wpm=155) as speaker,
        MonitorRecorder(pulse_devices.speaker_monitor) as rec,
    ):
        speaker.preload([line, "Now the other side."])
        deadline = time.monotonic() + 10
        while speaker._current_worker().cached(line, 155.0, None) is None:
            assert time.monotonic() < deadline, "preloading never finished"
            time.sleep(0.01)
        t0 = time.monotonic()
        speaker.say(line)
        time.sleep(0.6)
        speaker.stop()
    loud = rec.loud_times(300.0)
    assert loud, "nothing was heard"
    start_ms = (loud[0] - t0) * 1000
    print(f"\nsay() to first sound, cached line: {start_ms:.0f} ms")
    assert start_ms < 250
