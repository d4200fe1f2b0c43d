#!/usr/bin/env bash
# Smoke test of the terminal client in a real terminal: tmux starts `lowband demo` (origin, relay,
# captions, the floor's audio, the delegate behind an emulated link), waits until the room shows
# captions, presses v and waits until the floor's audio plays, captures the screen to $OUT
# (default: stdout), presses q and checks that the demo ends cleanly.
# Usage: scripts/tui_smoke.sh [OUT]   Needs tmux. Exit 0 when captions and audio came.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/dev/stdout}
SESSION="lowband-smoke-$$"
PY=${PYTHON:-.venv/bin/python}
LOG=$(mktemp)
trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -f "$LOG"' EXIT

tmux new-session -d -s "$SESSION" -x 160 -y 40 \
    "TERM=xterm-256color $PY -m lowband demo --profile loopback --duration 60 > $LOG || true; sleep 5"
tmux set-option -t "$SESSION" remain-on-exit on >/dev/null

screen() { tmux capture-pane -p -t "$SESSION"; }
for _ in $(seq 1 120); do  # up to 60 s for the relays, the join and the first captions
    if screen | grep -q "Transcript \[en\]" && screen | grep -Eq "[0-9]{2}:[0-9]{2}:[0-9]{2} (CHAIR|SECRETARIAT):"; then
        break
    fi
    sleep 0.5
done
grep -q "Transcript \[en\]" <(screen) || { screen > "$OUT"; echo "the room never painted" >&2; exit 1; }
grep -Eq "(CHAIR|SECRETARIAT):" <(screen) || { screen > "$OUT"; echo "no captions arrived" >&2; exit 1; }
tmux send-keys -t "$SESSION" v
for _ in $(seq 1 120); do  # up to 60 s for the audio's first bundles
    screen | grep -q "audio floor: playing" && break
    sleep 0.5
done
screen > "$OUT"
grep -q "audio floor: playing" <(screen) || { echo "the floor's audio never played" >&2; exit 1; }
tmux send-keys -t "$SESSION" q
for _ in $(seq 1 60); do  # the demo stops its relays and prints its summary
    grep -q "link carried" "$LOG" && exit 0
    sleep 0.5
done
echo "the demo did not end after q" >&2
cat "$LOG" >&2
exit 1
