#!/usr/bin/env bash
# Run every check: ruff, mypy, and the test suite (unit, intent data, sessions, and the real audio
# path through PulseAudio virtual devices). Run scripts/install.sh --dev first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "test.sh: no .venv; run scripts/install.sh --dev first" >&2; exit 1; }

echo "== ruff"
"$PY" -m ruff check voicecoach tests
echo "== mypy"
"$PY" -m mypy
echo "== PulseAudio virtual devices"
sh scripts/pulse-virtual-devices.sh
echo "== pytest"
"$PY" -m pytest -q -p no:cacheprovider "$@"
