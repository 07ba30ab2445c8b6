"""voicecoach.audio: resampling (pure), and the real PortAudio path through PulseAudio."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import types

import numpy as np
import pytest
from pulse_fixtures import (  # noqa: F401  (pulse_devices_fixture provides pulse_devices)
    REPO,
    MonitorRecorder,
    PulseDevices,
    play_into_mic,
    pulse_devices_fixture,
    tone,
)

from voicecoach.audio import (
    Microphone,
    Player,
    Resampler,
    devices_command,
    list_devices,
    resample,
    resolve_device,
)
from voicecoach.errors import AudioError


def peak_hz(x: np.ndarray, rate_hz: int) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.argmax(spec) * rate_hz / len(x))


# ------------------------------------------------------------------------------- pure parts


def test_resampler_streaming_equals_whole_and_keeps_frequency() -> None:
    x = tone(1000, 1.0, rate_hz=48000).astype(np.float64)
    whole = Resampler(48000, 16000).process(x)
    r = Resampler(48000, 16000)
    parts = np.concatenate([r.process(c) for c in np.array_split(x, 37)])
    assert len(whole) == len(parts) == 16000
    assert np.max(np.abs(whole - parts)) < 1e-6
    assert abs(peak_hz(parts, 16000) - 1000) < 5


def test_resampler_removes_what_the_new_rate_cannot_hold() -> None:
    x = tone(10000, 0.5, rate_hz=48000).astype(np.float64)  # above 8 kHz Nyquist of 16 kHz
    y = Resampler(48000, 16000).process(x)
    assert np.sqrt(np.mean(y[200:] ** 2)) < 0.01 * np.sqrt(np.mean(x**2))


def test_resample_upsamples_int16() -> None:
    y = resample(tone(440, 0.5, rate_hz=22050), 22050, 44100)
    assert y.dtype == np.int16
    assert abs(len(y) - 22050) <= 1
    assert abs(peak_hz(y, 44100) - 440) < 5


class FakeSd:
    """Just enough of sounddevice for device listing."""

    def __init__(self, devices: list[dict[str, object]], default: tuple[int, int]) -> None:
        self._devices = devices
        self.default = types.SimpleNamespace(device=default)

    def query_devices(self) -> list[dict[str, object]]:
        return self._devices

    def query_hostapis(self, index: int | None = None) -> object:
        apis = [{"name": "ALSA", "default_input_device": -1, "default_output_device": -1}]
        return apis if index is None else apis[index]

    def check_input_settings(self, **kw: object) -> None:
        if kw["samplerate"] not in (16000, 48000):
            raise ValueError("rate")

    check_output_settings = check_input_settings


def _dev(name: str, ins: int, outs: int) -> dict[str, object]:
    return {
        "name": name,
        "hostapi": 0,
        "max_input_channels": ins,
        "max_output_channels": outs,
        "default_samplerate": 48000.0,
    }


def test_no_devices_is_a_clear_error_pointing_to_text_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", FakeSd([], (-1, -1)))
    with pytest.raises(AudioError, match=r"no microphone .*voicecoach run --text"):
        Microphone().start()
    with pytest.raises(AudioError, match=r"no speaker .*voicecoach run --text"):
        Player().play(np.zeros(100, dtype=np.int16), 16000)
    with pytest.raises(AudioError, match="no audio devices found"):
        devices_command(argparse.Namespace(json=False, no_probe=False))


def test_portaudio_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails
    with pytest.raises(AudioError, match="sounddevice"):
        list_devices()


def test_devices_table_and_device_choice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeSd([_dev("USB Mic", 1, 0), _dev("HDMI out", 0, 2), _dev("Headset", 1, 2)], (2, 1))
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    assert devices_command(argparse.Namespace(json=False, no_probe=False)) == 0
    out = capsys.readouterr().out
    inputs, outputs = out.split("Outputs (speakers):")
    assert "    0  USB Mic" in inputs and "*   2  Headset" in inputs and "HDMI" not in inputs
    assert "*   1  HDMI out" in outputs and "USB" not in outputs
    assert "rates: 16000,48000 Hz" in out
    assert resolve_device(None, "input").name == "Headset"
    assert resolve_device("usb", "input").index == 0
    assert resolve_device("1", "output").name == "HDMI out"
    with pytest.raises(AudioError, match=r"no microphone .* index 1 \(available: 0: USB Mic"):
        resolve_device(1, "input")
    assert devices_command(argparse.Namespace(json=True, no_probe=True)) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in rows] == [["input"], ["output"], ["input", "output"]]
    assert rows[2]["is_default_input"] and rows[1]["is_default_output"]


# ------------------------------------------------------------------------------- real devices


def capture_while_playing(mic: Microphone, pcm: np.ndarray, devices: PulseDevices,
                          seconds: float) -> list[bytes]:
    """Play ``pcm`` into the virtual microphone and collect what ``mic`` reads for ``seconds``."""
    player = play_into_mic(pcm, devices)
    got: list[bytes] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        block = mic.read(timeout=0.1)
        if block:
            got.append(block)
    assert player.wait(timeout=10) == 0
    return got


@pytest.mark.audio
def test_devices_lists_the_virtual_devices(pulse_devices: PulseDevices) -> None:
    from voicecoach.audio import add_subcommand

    devices = list_devices(probe_rates=True)
    names = [d.name for d in devices]
    assert "pulse" in names and "default" in names
    default_in = [d for d in devices if d.is_default_input]
    default_out = [d for d in devices if d.is_default_output]
    assert len(default_in) == 1 and len(default_out) == 1
    assert 16000 in default_in[0].input_rates_hz
    assert resolve_device("puls", "output").name == "pulse"
    with pytest.raises(AudioError, match="no speaker"):
        resolve_device("no-such-device", "output")

    parser = argparse.ArgumentParser()
    add_subcommand(parser.add_subparsers())
    args = parser.parse_args(["devices", "--json"])
    assert args.func is devices_command


@pytest.mark.audio
def test_devices_command_output(pulse_devices: PulseDevices) -> None:
    """The sub-command prints the devices the sound server offers (run in a fresh process)."""
    code = (
        "import argparse, sys\n"
        "from voicecoach.audio import add_subcommand\n"
        "p = argparse.ArgumentParser(); add_subcommand(p.add_subparsers())\n"
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "devices", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    default = next(r for r in rows if r["name"] == "default")
    assert default["is_default_input"] and default["is_default_output"]
    assert set(default["kind"]) == {"input", "output"}
    text = subprocess.run(
        [sys.executable, "-c", code, "devices"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Inputs (microphones):" in text and "Outputs (speakers):" in text
    assert "* " in text and "16000" in text


@pytest.mark.audio
def test_microphone_captures_a_tone_played_into_the_virtual_mic(
    pulse_devices: PulseDevices,
) -> None:
    with Microphone() as mic:
        assert mic.sample_rate_hz == 16000
        first = mic.read(timeout=2.0)
        assert first is not None, "the virtual microphone delivered nothing"
        mic.drain()
        got = capture_while_playing(mic, tone(1000, 1.0, amp=0.5), pulse_devices, 2.0)
        overflows = mic.overflows
    x = np.frombuffer(b"".join(got), dtype="<i2").astype(np.float64)
    assert 1.7 * 16000 < len(x) < 2.3 * 16000, "about 2 s of 16 kHz audio expected"
    blocks = x[: len(x) // 160 * 160].reshape(-1, 160)
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    loud_s = float(np.sum(rms > 3000)) * 0.01
    assert 0.9 <= loud_s <= 1.1, f"tone lasted {loud_s:.2f} s in the capture, expected 1 s"
    assert np.max(rms) == pytest.approx(0.5 * 32767 / np.sqrt(2), rel=0.15)
    assert abs(peak_hz(x, 16000) - 1000) < 10
    assert overflows == 0


@pytest.mark.audio
def test_microphone_resamples_when_the_device_cannot_do_16k(
    pulse_devices: PulseDevices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pretend the device refuses 16 kHz: the stream runs at its own rate, read() gives 16 kHz."""
    import voicecoach.audio as audio_mod

    real_ok = audio_mod._settings_ok

    def no_16k(check, index, channels, rate):  # type: ignore[no-untyped-def]
        return rate != 16000 and real_ok(check, index, channels, rate)

    monkeypatch.setattr(audio_mod, "_settings_ok", no_16k)
    with Microphone() as mic:
        assert mic.stream_rate_hz != 16000
        assert mic.read(timeout=2.0) is not None
        mic.drain()
        got = capture_while_playing(mic, tone(1000, 0.6, amp=0.5), pulse_devices, 1.2)
    x = np.frombuffer(b"".join(got), dtype="<i2")
    assert 1.0 * 16000 < len(x) < 1.4 * 16000
    assert abs(peak_hz(x, 16000) - 1000) < 10


@pytest.mark.audio
def test_player_finishes_stops_and_reports(pulse_devices: PulseDevices) -> None:
    finished = threading.Event()
    with Player(volume=0.5) as player, MonitorRecorder(pulse_devices.speaker_monitor) as rec:
        t0 = time.monotonic()
        player.play(tone(440, 0.5, rate_hz=22050, amp=0.8), 22050, on_finished=finished.set)
        assert player.is_playing
        assert finished.wait(5.0)
        t_done = time.monotonic()
        assert not player.is_playing
        time.sleep(0.15)

        # stop() mid-sound: no finished callback, sound gone from the sink quickly
        finished.clear()
        player.play(tone(440, 3.0, rate_hz=22050, amp=0.8), 22050, on_finished=finished.set)
        time.sleep(0.6)
        t_stop = time.monotonic()
        player.stop()
        assert not player.is_playing
        time.sleep(0.3)
    assert not finished.is_set()
    loud = [t for t in rec.loud_times(1000.0)]
    first_part = [t for t in loud if t < t_done + 0.1]
    assert first_part, "nothing of the first tone was recorded"
    assert 0.4 <= len(first_part) * 0.01 <= 0.6
    assert first_part[0] - t0 < 0.3
    # volume 0.5 x amplitude 0.8: rms of the loudest block about 0.4 x 32767 / sqrt(2)
    rms = rec.block_rms()
    assert np.max(rms) == pytest.approx(0.4 * 32767 / np.sqrt(2), rel=0.2)
    stop_latency = loud[-1] - t_stop
    assert stop_latency < 0.1, f"sound went on {stop_latency * 1000:.0f} ms after stop()"
