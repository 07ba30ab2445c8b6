"""PocketSphinx end to end on synthesised speech (espeak-ng voices and flite)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from audio_helpers import cough, have_espeak, have_flite, synth, write_wav

pytestmark = [pytest.mark.audio]
needs_tts = pytest.mark.skipif(not (have_espeak() and have_flite()),
                               reason="espeak-ng and flite (Debian packages) are required")


@pytest.fixture(scope="module")
def rec():  # type: ignore[no-untyped-def]
    from voicecoach.asr_sphinx import SphinxRecogniser

    return SphinxRecogniser(phase="hold")


@needs_tts
def test_parse_wav_files_several_voices(tmp_path: Path) -> None:
    from voicecoach.asr import parse_wav_files

    cases = [("yes", "yes"), ("stop", "stop"), ("how long is left", "time_left")]
    voices = [("espeak-ng", "en-gb"), ("espeak-ng", "en-us+f3"), ("flite", "slt")]
    paths, expected = [], []
    for i, (text, intent) in enumerate(cases):
        for j, (eng, voice) in enumerate(voices):
            paths.append(str(write_wav(tmp_path / f"c{i}_{j}.wav", synth(text, eng, voice))))
            expected.append(intent)
    out = list(parse_wav_files(paths, "hold", "pocketsphinx", None, noise_filter="none"))
    assert [o["input"] for o in out] == paths
    right = sum(o["intent"] == e for o, e in zip(out, expected, strict=True))
    assert right >= 6, out  # measured here: 6 of 9 right (espeak en-gb is the hardest voice)
    for o in out:
        assert set(o) == {"input", "transcript", "intent", "slots", "confidence"}
        assert 0.0 <= o["confidence"] <= 1.0


def test_unreadable_wav_is_a_clear_error(tmp_path: Path) -> None:
    from voicecoach.asr import parse_wav_files
    from voicecoach.errors import RecogniserError

    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav")
    with pytest.raises(RecogniserError, match="cannot read"):
        list(parse_wav_files([str(bad)], None, "pocketsphinx", None, noise_filter="none"))


@needs_tts
def test_partials_arrive_before_the_final(rec) -> None:  # type: ignore[no-untyped-def]
    from voicecoach.asr import recognise_pcm

    rec.reset()
    rec.set_phase("hold")
    results = recognise_pcm(rec, synth("how long is left", "flite", "slt"))
    finals = [i for i, r in enumerate(results) if r.final]
    partials = [i for i, r in enumerate(results) if not r.final]
    assert finals and partials and partials[0] < finals[0]
    final = results[finals[0]]
    assert final.text == "how long is left" and not final.rejected
    assert 0.0 <= final.start_s < final.end_s


@needs_tts
@pytest.mark.parametrize("text", [
    "Gently bring your left knee up toward your armpit and breathe out",
    "Tell me straight away if you feel anything shooting down your leg",
    "the weather is lovely today",
])
def test_coach_lines_and_unrelated_speech_are_rejected(rec, text: str) -> None:  # type: ignore[no-untyped-def]
    from voicecoach.asr import parse_recognitions, recognise_pcm

    for phase in ("hold", "screen"):
        rec.reset()
        rec.set_phase(phase)
        fields = parse_recognitions(recognise_pcm(rec, synth(text)), phase)
        assert fields["intent"] is None, fields


def test_cough_gives_no_red_flag(rec) -> None:  # type: ignore[no-untyped-def]
    from voicecoach.asr import parse_recognitions, recognise_pcm

    rec.reset()
    rec.set_phase("hold")
    fields = parse_recognitions(recognise_pcm(rec, cough(seed=1)), "hold")
    assert fields["intent"] != "red_flag"


def test_auto_engine_falls_back_to_pocketsphinx(tmp_path: Path) -> None:
    from voicecoach.asr import create_recogniser

    r = create_recogniser("auto", model_dir=None, noise_filter="none")
    assert r.name == "pocketsphinx"
