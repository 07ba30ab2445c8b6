"""The free pass's biased language model (voicecoach.freelm)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from voicecoach import freelm
from voicecoach.asr_sphinx import EXTRA_PRONUNCIATIONS, _model_dir

pytest.importorskip("pocketsphinx")

_BASE = math.log(1.0001)  # PocketSphinx's log base


def _prob(model: object, word: str, *history: str) -> float:
    """P(word | history) from a PocketSphinx NGramModel (it takes the history newest first)."""
    return math.exp(model.prob([word, *reversed(history)]) * _BASE)  # type: ignore[attr-defined]


def _unigrams(path: Path) -> list[str]:
    words, inside = [], False
    for line in path.read_text().splitlines():
        if line.startswith("\\"):
            inside = line == "\\1-grams:"
            continue
        if inside and line:
            words.append(line.split("\t")[1])
    return words


GENERAL = {"the": 0.05, "i": 0.04, "a": 0.03, "dog": 0.001, "stay": 0.0005, "here": 0.002,
           "longer": 0.0002, "cat": 0.001, "my": 0.01, "leg": 0.0003}


def test_write_arpa_is_a_proper_model_that_prefers_the_commands(tmp_path: Path) -> None:
    """The written file loads in PocketSphinx; every history's next-word probabilities add up
    to one; command n-grams are far likelier than the background alone would make them, while
    background words stay in the vocabulary."""
    from pocketsphinx import NGramModel

    sentences = [["stay", "here", "longer"], ["i", "stay", "here"], ["my", "leg"]] * 5
    path = tmp_path / "lm.arpa"
    sizes = freelm.write_arpa(path, sentences, GENERAL, top_words=8, domain_weight=0.5)
    words = _unigrams(path)
    assert sizes[1] == len(words)
    assert {"dog", "cat", "the"} <= set(words) and "<s>" in words and "</s>" in words
    model = NGramModel.readfile(str(path))
    vocab = [w for w in words if w != "<s>"]
    for history in ([], ["stay"], ["i", "stay"], ["here"], ["the"], ["dog", "cat"]):
        total = sum(_prob(model, w, *history) for w in vocab)
        assert total == pytest.approx(1.0, abs=0.01), history
    assert _prob(model, "longer", "stay", "here") > 0.4  # 5 of the 10 "stay here" go on so
    assert _prob(model, "longer", "stay", "here") > 100 * _prob(model, "dog", "stay", "here")
    assert _prob(model, "dog") > 0  # unrelated words stay possible


def test_write_arpa_leaves_out_sentences_with_unknown_words(tmp_path: Path) -> None:
    path = tmp_path / "lm.arpa"
    freelm.write_arpa(path, [["stay", "here", "zorblax"], ["my", "leg"]], GENERAL)
    assert "zorblax" not in _unigrams(path)
    freelm.write_arpa(path, [["stay", "here", "zorblax"]], GENERAL, known={*GENERAL, "zorblax"})
    assert "zorblax" in _unigrams(path)


def test_corpus_covers_every_intent_and_the_coach() -> None:
    from voicecoach.grammar import cue_sentences, intent_graph
    from voicecoach.protocol import INTENTS

    sentences = freelm.command_sentences(walks=20)
    texts = {" ".join(s) for s in sentences}
    for intent in INTENTS:
        assert any(intent_graph(intent).accepts(t) for t in texts), intent
    assert freelm.command_sentences(walks=20) == sentences  # seeded
    coach = cue_sentences()
    assert len(coach) > 50 and all(w == w.lower() and "{" not in w for s in coach for w in s)


def test_free_lm_is_written_once_and_cached(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []
    real = freelm.general_unigrams

    def counting(*args: str) -> dict[str, float]:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(freelm, "general_unigrams", counting)
    first = freelm.free_lm(_model_dir(), EXTRA_PRONUNCIATIONS)
    assert first.parent == tmp_path / "cache" / "voicecoach" and first.stat().st_size > 100_000
    assert freelm.free_lm(_model_dir(), EXTRA_PRONUNCIATIONS) == first
    assert len(calls) == 1
    other = freelm.free_lm(_model_dir(), EXTRA_PRONUNCIATIONS, coach=False)
    assert other != first and len(calls) == 2  # a different corpus, a different file
    assert not list(first.parent.glob(".*.tmp"))


def test_free_lm_falls_back_to_a_temporary_directory(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    path = freelm.free_lm(_model_dir(), EXTRA_PRONUNCIATIONS)
    assert path.is_relative_to(tmp_path / "tmp") and path.exists()


def test_some_command_sentences_start_with_a_hesitation() -> None:
    from voicecoach.grammar import HESITATIONS

    sentences = freelm.command_sentences(walks=20)
    led = [s for s in sentences if s and s[0] in HESITATIONS]
    assert len(led) >= len(sentences) // freelm.HESITATION_EVERY  # templates may start with "oh"
    assert {s[0] for s in led} == set(HESITATIONS)
