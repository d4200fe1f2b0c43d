#!/usr/bin/env bash
# Install the command-line delta tools that scripts/bench_docs.py compares lowband against.
# Debian packages: zstd (zstd --patch-from), xdelta3, bsdiff (bsdiff/bspatch), rdiff (librsync).
set -euo pipefail
packages=(zstd xdelta3 bsdiff rdiff)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench tools already installed: ${packages[*]}"
  exit 0
fi
echo "installing with apt-get: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
