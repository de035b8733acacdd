#!/usr/bin/env bash
# Runs the whole test suite. Where PulseAudio is installed but not running, it starts the
# virtual microphone and speaker (.ci/audio-setup.sh) so the live-audio tests run too;
# without it they skip and say why. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v pulseaudio >/dev/null 2>&1 && ! pactl info >/dev/null 2>&1; then
  eval "$(.ci/audio-setup.sh)" || echo "test.sh: could not start virtual audio; live tests will skip" >&2
fi
exec .venv/bin/python -m pytest -q "$@"
