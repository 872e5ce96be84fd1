#!/usr/bin/env bash
# Install the system packages the SIP integration tests need (idempotent, fast when already there):
#
#   sip-tester  sipp, the SIP traffic generator (Debian names it sip-tester); it ships the RTP pcaps
#               (g711a.pcap, dtmf_2833_*.pcap) the media tests replay
#
# The SIP engine itself is pure Python: serving real SIP calls needs nothing from here.
set -euo pipefail

say() { printf '[setup-sip] %s\n' "$*"; }
die() { printf '[setup-sip] ERROR: %s\n' "$*" >&2; exit 1; }

if command -v sipp >/dev/null 2>&1; then
  say "sipp: $(command -v sipp) (already installed)"
else
  command -v apt-get >/dev/null 2>&1 || die "sipp is missing and apt-get is not available: install sip-tester yourself"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "sipp is missing: run as root or install it (apt-get install sip-tester)"
    SUDO="sudo"
  fi
  say "installing sip-tester (apt-get)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends sip-tester >/dev/null
  command -v sipp >/dev/null 2>&1 || die "apt-get did not install sip-tester (sipp)"
fi

say "ok"
