#!/usr/bin/env python3
"""Estimate the cepstral mean PocketSphinx's live CMN settles on (``asr_sphinx.CMN_INIT``).

Streams the ``dev`` hearing set's command clips (tests/data/hearing_sets.yaml: every command in
every dev voice, 0.4 s of silence either side) through one recogniser, without a reset between
clips, as a live session would, and prints the mean of the running cepstral mean at each utterance
end after a warm-up. Run it again after changing anything in front of the decoder (the noise floor,
the noise filter) and put the result in ``CMN_INIT``.

    .venv/bin/python scripts/estimate_cmn.py          # ~1-2 min

Needs espeak-ng and flite (scripts/install.sh --dev installs them).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from hearing_check import PAD, SETS, voice_spec  # noqa: E402  (the same sets and padding)


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import yaml

    from voicecoach.asr import create_recogniser
    from voicecoach.asr_sphinx import SphinxRecogniser
    from voicecoach.bench.corpus import cached_wav
    from voicecoach.wavio import read_wav_16k

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="dev", choices=("dev", "heldout", "fresh"))
    ap.add_argument("--warmup", type=int, default=50,
                    help="utterances left out at the start, while the mean settles (default 50)")
    args = ap.parse_args(argv)
    data = yaml.safe_load(SETS.read_text())[args.set]
    cache = Path(os.environ.get("VOICECOACH_HEARING_CACHE")
                 or tempfile.mkdtemp(prefix="vc-hearing-"))
    rec = create_recogniser("pocketsphinx", None, None, "rnnoise")
    inner: Any = getattr(rec, "inner", rec)
    assert isinstance(inner, SphinxRecogniser)
    means: list[list[float]] = []
    final = inner._final

    def capture(end_s: float) -> Any:
        out = final(end_s)
        means.append([float(x) for x in inner.decoder.get_cmn(False).split(",")])
        return out

    inner._final = capture  # type: ignore[method-assign]
    rec.reset()
    for text, phase, _ in data["commands"]:
        for spec in data["voices"]:
            pcm = PAD + read_wav_16k(cached_wav(cache, *voice_spec(spec), text)) + PAD
            rec.set_phase(phase)
            for i in range(0, len(pcm), 3200):
                rec.accept(pcm[i:i + 3200])
    if len(means) <= args.warmup:
        print(f"only {len(means)} utterances; fewer than the warm-up", file=sys.stderr)
        return 1
    m = np.mean(np.array(means[args.warmup:]), axis=0)
    print(f"{len(means) - args.warmup} utterances (after {args.warmup} warm-up)")
    print(",".join(f"{x:.1f}" for x in m))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
