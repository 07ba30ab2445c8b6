#!/usr/bin/env bash
# Regenerate requirements.lock: resolve every extra in a throw-away venv and freeze it.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q ".[voice,diagram,dev,bench]"
{
    echo "# Pinned versions for scripts/install.sh (pip install -c requirements.lock). Regenerate with"
    echo "# scripts/lock.sh after changing dependencies in pyproject.toml."
    "$tmp/venv/bin/pip" freeze --exclude voicecoach
} > requirements.lock
echo "wrote requirements.lock"
