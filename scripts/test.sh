#!/usr/bin/env bash
# Runs the whole test suite. Where PulseAudio is installed, it starts (or reuses) a private
# PulseAudio with a virtual microphone and speaker (.ci/audio-setup.sh, its own runtime
# folder, so a desktop's sound is untouched) and the live-audio tests use it; without
# PulseAudio they skip and say why. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v pulseaudio >/dev/null 2>&1; then
  eval "$(.ci/audio-setup.sh)" || echo "test.sh: could not start virtual audio; live tests will skip" >&2
fi
exec .venv/bin/python -m pytest -q "$@"
