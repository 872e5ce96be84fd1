#!/usr/bin/env bash
# Install the system packages the SIP integration tests need (idempotent, fast when already there):
#
#   sip-tester  sipp, the SIP traffic generator (Debian names it sip-tester); it ships the RTP pcaps
#               (g711a.pcap, dtmf_2833_*.pcap) the media tests replay
#
# The SIP engine itself is pure Python: serving real SIP calls needs nothing from here.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/apt-ensure.sh"

apt_ensure setup-sip sip-tester 'command -v sipp'
echo "[setup-sip] ok"
