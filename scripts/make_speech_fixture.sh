#!/usr/bin/env bash
# Make tests/fixtures/speech_16k.wav once: about 5 s of espeak-ng English speech with a
# pause in the middle (for DTX), 16 kHz mono s16. The WAV is committed so CI needs no espeak.
# Needs: apt-get install -y espeak-ng sox
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures/speech_16k.wav
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 175 -w "$tmp/a.wav" "Remote delegates can follow the meeting on a slow link."
espeak-ng -v en-us -s 175 -w "$tmp/b.wav" "Please request the floor before you speak."
sox "$tmp/a.wav" -r 16000 -c 1 -b 16 "$tmp/a16.wav"
sox "$tmp/b.wav" -r 16000 -c 1 -b 16 "$tmp/b16.wav"
sox -n -r 16000 -c 1 -b 16 "$tmp/gap.wav" trim 0 0.6
sox "$tmp/a16.wav" "$tmp/gap.wav" "$tmp/b16.wav" "$out" norm -3
soxi "$out"
