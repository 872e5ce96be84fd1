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
. "$(dirname "${BASH_SOURCE[0]}")/apt-ensure.sh"

apt_ensure setup-media \
  espeak-ng 'command -v espeak-ng' \
  libspandsp2 "ldconfig -p | grep -q 'libspandsp\.so\.2'" \
  mpg123 'command -v mpg123'
echo "[setup-media] ok"
