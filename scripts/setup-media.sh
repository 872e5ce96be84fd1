#!/usr/bin/env bash
# Install the system packages relaybox's media needs (idempotent, fast when already there):
#
#   espeak-ng   offline TTS (Debian package): renders what sandbox phones say and the platform's TTS
#   libspandsp2 T.30 fax over G.711 for real-audio calls (relaybox.media.fax, through ctypes)
#   mpg123      decodes MP3 files played into real-audio calls (relaybox.media.audiofiles)
#
# Python packages (lameenc encodes MP3 recordings, miniaudio decodes WAV/MP3 audio media) are dependencies
# in pyproject.toml.
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

# the real-audio media engine's system pieces: install whichever is missing in one apt-get run
missing=()
ldconfig -p 2>/dev/null | grep -q 'libspandsp\.so\.2' || missing+=(libspandsp2)
command -v mpg123 >/dev/null 2>&1 || missing+=(mpg123)
if [ "${#missing[@]}" -eq 0 ]; then
  say "libspandsp2, mpg123: already installed"
else
  command -v apt-get >/dev/null 2>&1 || die "${missing[*]} missing and apt-get is not available: install them yourself"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "${missing[*]} missing: run as root or apt-get install ${missing[*]}"
    SUDO="sudo"
  fi
  say "installing ${missing[*]} (apt-get)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ldconfig -p 2>/dev/null | grep -q 'libspandsp\.so\.2' || die "apt-get did not install libspandsp2"
  command -v mpg123 >/dev/null 2>&1 || die "apt-get did not install mpg123"
fi

say "ok"
