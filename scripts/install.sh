#!/usr/bin/env bash
# Set up voicecoach on a fresh Debian or Raspberry Pi OS machine.
#
#   scripts/install.sh          the coach itself: system packages + .venv with voicecoach[voice,diagram]
#   scripts/install.sh --dev    also what the tests and the benchmark need (PulseAudio virtual
#                               devices, espeak-ng/flite/festival voices, sox, pytest, ruff, mypy,
#                               the Korean Vosk test model)
#
# Needs root or sudo for apt-get. Re-running is safe. The Python packages come pinned from
# requirements.lock (generated with scripts/lock.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
[ "${1:-}" = "--dev" ] && DEV=1

APT_RUN=(python3 python3-venv python3-pip espeak-ng libespeak-ng1 libportaudio2 graphviz)
APT_DEV=(pulseaudio pulseaudio-utils libasound2-plugins alsa-utils flite festival festvox-kallpc16k sox)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install.sh: run as root or install sudo" >&2; exit 1; }
    SUDO=sudo
fi

pkgs=("${APT_RUN[@]}")
[ "$DEV" = 1 ] && pkgs+=("${APT_DEV[@]}")
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install.sh: installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
extras="voice,diagram"
[ "$DEV" = 1 ] && extras="voice,diagram,dev,bench"
if [ -f requirements.lock ]; then
    .venv/bin/python -m pip install -q -c requirements.lock -e ".[${extras}]"
else
    .venv/bin/python -m pip install -q -e ".[${extras}]"
fi
echo "install.sh: ready. Try: .venv/bin/voicecoach --help"
