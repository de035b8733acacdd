#!/usr/bin/env bash
# Virtual sound devices for the live-audio tests: a PulseAudio daemon with two null sinks.
#
# Usage (CI, or a developer machine with no sound card; run as root or as a normal user):
#     eval "$(.ci/audio-setup.sh)"        # start; prints `export ...` lines that eval applies
#     pytest -m live tests/test_live_audio.py
#     .ci/audio-setup.sh --stop           # teardown (reads the same state folder)
#
# The script exports nothing itself: it prints `export XDG_RUNTIME_DIR=...` and
# `export PULSE_SERVER=...` on stdout (progress goes to stderr), so `eval` applies them.
# What it builds (measured facts: ../shared/notes/audio-stack.md §2):
#   sink `speaker`   the coach's voice goes here; tests record `speaker.monitor`.
#   sink `micfeed`   tests `paplay --device=micfeed file.wav`; its monitor is the default
#                    source, so the program's default microphone hears the file.
# A keep-alive `parec --latency-msec=10` reads each monitor: without it the null sinks run
# with ~2 s latency and streams start 1-2 s late and run slower than real time.
# module-pipe-source is not used: a FIFO source is not clocked.
# PortAudio (Debian's build) reaches PulseAudio through the ALSA `pulse` plugin
# (libasound2-plugins), as the devices `pulse` and `default`.
set -euo pipefail

STATE_DIR="${COACH_PULSE_DIR:-/tmp/coach-pulse}"

if [[ "${1:-}" == "--stop" ]]; then
    export XDG_RUNTIME_DIR="$STATE_DIR" PULSE_SERVER="unix:$STATE_DIR/pulse/native"
    for f in "$STATE_DIR"/ka*.pid; do
        [[ -f "$f" ]] && kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
    pulseaudio --kill 2>/dev/null || true
    echo "audio-setup: stopped" >&2
    exit 0
fi

mkdir -p "$STATE_DIR"
chmod 700 "$STATE_DIR"
export XDG_RUNTIME_DIR="$STATE_DIR"
export PULSE_SERVER="unix:$STATE_DIR/pulse/native"

if pactl info >/dev/null 2>&1; then
    echo "audio-setup: PulseAudio already answers in $STATE_DIR" >&2
else
    cat > "$STATE_DIR/ci.pa" <<'PA'
load-module module-native-protocol-unix
load-module module-null-sink sink_name=speaker rate=16000 channels=1
load-module module-null-sink sink_name=micfeed rate=16000 channels=1
set-default-sink speaker
set-default-source micfeed.monitor
PA
    # -n: no default.pa; --exit-idle-time=-1: the daemon stays between test runs.
    # "This program is not intended to be run as root" is a harmless warning.
    pulseaudio -D -n --file="$STATE_DIR/ci.pa" --exit-idle-time=-1 \
        --log-target="file:$STATE_DIR/pulse.log" 2>/dev/null
    for _ in $(seq 50); do
        pactl info >/dev/null 2>&1 && break
        sleep 0.1
    done
    pactl info >/dev/null 2>&1 || { echo "audio-setup: PulseAudio did not start; see $STATE_DIR/pulse.log" >&2; exit 1; }
    echo "audio-setup: PulseAudio ready (sinks speaker, micfeed; default source micfeed.monitor)" >&2
fi

# The keep-alive readers, started (again) whenever one is missing: without them the null
# sinks drift to ~2 s latency and streams start late and run slow.
i=1
started=0
for mon in speaker.monitor micfeed.monitor; do
    pid_file="$STATE_DIR/ka$i.pid"
    if ! { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }; then
        nohup parec -d "$mon" --latency-msec=10 >/dev/null 2>&1 &
        echo $! > "$pid_file"
        started=1
    fi
    i=$((i + 1))
done
if [[ $started == 1 ]]; then
    sleep 2.5   # the null sinks settle into low latency once the readers run
fi
echo "audio-setup: PulseAudio ready (sinks speaker, micfeed; default source micfeed.monitor)" >&2

echo "export XDG_RUNTIME_DIR=$STATE_DIR"
echo "export PULSE_SERVER=unix:$STATE_DIR/pulse/native"
