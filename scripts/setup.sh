#!/usr/bin/env bash
# Sets coach up on a Debian/Ubuntu machine: system audio packages, a venv in .venv, the package.
# Safe to run again. Uses sudo for apt-get when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_PACKAGES=(python3-venv espeak-ng libportaudio2 libsndfile1 sox pulseaudio-utils)
if [ "${COACH_CI_AUDIO:-}" = 1 ]; then
  APT_PACKAGES+=(pulseaudio libasound2-plugins alsa-utils)   # the virtual devices the live tests use
  APT_PACKAGES+=(flite)   # another synthesizer's voices, for the tests of "someone else" between turns
  APT_PACKAGES+=(festival festvox-kdlpc16k festvox-us-slt-hts)   # a third one, which the reference is not made from
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "coach setup: installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/coach --version >/dev/null
echo "coach setup: ready — run .venv/bin/coach --help" >&2
