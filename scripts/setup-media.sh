#!/usr/bin/env bash
# Install the system packages relaybox's media needs (idempotent, fast when already there):
#
#   espeak-ng   offline TTS (Debian package): renders what sandbox phones say and the platform's TTS
#   libspandsp2 T.30 fax over G.711 for real-audio calls (relaybox.media.fax, through ctypes)
#
# Python packages (lameenc encodes MP3 recordings, miniaudio decodes the WAV/MP3 files played) are dependencies
# in pyproject.toml.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/apt-ensure.sh"

apt_ensure setup-media \
  espeak-ng 'command -v espeak-ng' \
  libspandsp2 "ldconfig -p | grep -q 'libspandsp\.so\.2'"
echo "[setup-media] ok"
