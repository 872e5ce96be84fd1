#!/usr/bin/env bash
# Install the system packages relaybox's media needs (idempotent, fast when already there):
#
#   espeak-ng   offline TTS (Debian package): renders what sandbox phones say and the platform's TTS
#
# Python packages (lameenc for MP3, ...) are dependencies in pyproject.toml.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[setup-media] %s\n' "$*"; }
die() { printf '[setup-media] ERROR: %s\n' "$*" >&2; exit 1; }

if command -v espeak-ng >/dev/null 2>&1; then
  say "espeak-ng: $(command -v espeak-ng) (already installed)"
else
  command -v apt-get >/dev/null 2>&1 || die "espeak-ng is missing and apt-get is not available: install espeak-ng yourself"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "espeak-ng is missing: run as root or install it (apt-get install espeak-ng)"
    SUDO="sudo"
  fi
  say "installing espeak-ng (apt-get)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends espeak-ng >/dev/null
  command -v espeak-ng >/dev/null 2>&1 || die "apt-get did not install espeak-ng"
fi

say "ok"
