#!/usr/bin/env bash
# Install the OFFICIAL SignalWire RELAY clients that the integration tests run against relaybox.
#
#   .venvs/sw2                 python venv with signalwire==2.1.1      (RELAY v2 "Blade", Python)
#   .venvs/sw4                 python venv with signalwire-sdk         (RELAY v4 flat dialect, Python)
#   tests/clients/node_modules @signalwire/node 2.6.0 + @signalwire/realtime-api 4.x (from package-lock.json)
#
# Idempotent and fast when nothing changed: each part writes a stamp file with what it installed and is
# skipped while the stamp matches. Force a reinstall with FORCE=1, or remove .venvs/ / node_modules/.
#
# Environment:
#   PYTHON     interpreter used to create the venvs (default: python3; needs 3.10-3.13)
#   SW2_REQ    requirement for the v2 venv       (default: signalwire==2.1.1)
#   SW4_REQ    requirement for the v4 venv       (default: signalwire-sdk)
#   FORCE=1    reinstall everything
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
SW2_REQ="${SW2_REQ:-signalwire==2.1.1}"
SW4_REQ="${SW4_REQ:-signalwire-sdk}"
VENVS="$ROOT/.venvs"
CLIENTS="$ROOT/tests/clients"
FORCE="${FORCE:-0}"

say() { printf '[setup-test-clients] %s\n' "$*"; }
die() { printf '[setup-test-clients] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------------
# prerequisites
command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found: install Python 3.10-3.13 (or set PYTHON=...)"
command -v node >/dev/null 2>&1 || die "'node' not found: install Node.js >= 18 (the Node clients need it)"
command -v npm >/dev/null 2>&1 || die "'npm' not found: install npm (it comes with Node.js)"

PYVER="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  || die "'$PYTHON' does not run"
"$PYTHON" - <<'EOF' || die "Python $PYVER is not supported: signalwire-sdk needs >= 3.10, signalwire 2.1.1 breaks on >= 3.14 (set PYTHON=python3.11 or similar)"
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 14) else 1)
EOF
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
  || die "'$PYTHON' cannot create virtual environments (on Debian/Ubuntu: apt-get install python3-venv)"

NODEVER="$(node -p 'process.versions.node')"
[ "${NODEVER%%.*}" -ge 18 ] 2>/dev/null || die "Node.js $NODEVER is too old: need >= 18"

# ---------------------------------------------------------------------------------------------------------
# python venvs
# install_venv NAME REQUIREMENT IMPORT_CHECK
install_venv() {
  local name="$1" req="$2" check="$3"
  local dir="$VENVS/$name" stamp="$VENVS/.$name.stamp"
  local want="$req python=$PYVER"
  if [ "$FORCE" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
      && "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
    say "$name: up to date ($req)"
    return 0
  fi
  say "$name: creating venv at .venvs/$name and installing '$req' (Python $PYVER) ..."
  local t0=$SECONDS
  rm -rf "$dir" "$stamp"
  mkdir -p "$VENVS"
  "$PYTHON" -m venv "$dir" || die "$name: could not create the venv"
  local log="$VENVS/.$name.install.log"
  if ! "$dir/bin/python" -m pip install --disable-pip-version-check "$req" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "$name: 'pip install $req' failed (full log: ${log#"$ROOT"/})"
  fi
  "$dir/bin/python" -c "$check" || die "$name: '$req' installed but '$check' fails"
  printf '%s\n' "$want" >"$stamp"
  say "$name: done in $((SECONDS - t0)) s ($("$dir/bin/python" -m pip show "${req%%[=<>~ ]*}" 2>/dev/null \
      | sed -n 's/^Version: //p' | head -n1 | sed 's/^/version /'))"
}

install_venv sw2 "$SW2_REQ" 'import signalwire.relay.consumer, signalwire.relay.client'
install_venv sw4 "$SW4_REQ" 'from signalwire.relay import RelayClient'

# ---------------------------------------------------------------------------------------------------------
# node clients (tests/clients/package.json; the lock file is committed)
node_stamp_value() {
  local lock_hash="none"
  [ -f "$CLIENTS/package-lock.json" ] && lock_hash="$(sha256sum "$CLIENTS/package-lock.json" | cut -d' ' -f1)"
  printf 'package.json=%s lock=%s node=%s\n' \
    "$(sha256sum "$CLIENTS/package.json" | cut -d' ' -f1)" "$lock_hash" "${NODEVER%%.*}"
}
NODE_CHECK="require('@signalwire/node'); require('@signalwire/realtime-api')"
[ -f "$CLIENTS/package.json" ] || die "tests/clients/package.json is missing"
NODE_STAMP="$CLIENTS/node_modules/.relaybox-clients.stamp"
if [ "$FORCE" != 1 ] && [ -f "$NODE_STAMP" ] && [ "$(cat "$NODE_STAMP")" = "$(node_stamp_value)" ] \
    && (cd "$CLIENTS" && node -e "$NODE_CHECK") >/dev/null 2>&1; then
  say "node: up to date (tests/clients/node_modules)"
else
  t0=$SECONDS
  if [ -f "$CLIENTS/package-lock.json" ]; then
    say "node: npm ci in tests/clients ..."
    (cd "$CLIENTS" && npm ci --no-audit --no-fund --loglevel=error) || die "node: 'npm ci' failed"
  else
    say "node: no package-lock.json yet: npm install in tests/clients (commit the lock file it writes) ..."
    (cd "$CLIENTS" && npm install --no-audit --no-fund --loglevel=error) || die "node: 'npm install' failed"
  fi
  (cd "$CLIENTS" && node -e "$NODE_CHECK") || die "node: packages installed but cannot be required"
  node_stamp_value >"$NODE_STAMP"
  say "node: done in $((SECONDS - t0)) s ($(cd "$CLIENTS" && node -p "['@signalwire/node', '@signalwire/realtime-api']
      .map(p => p + ' ' + JSON.parse(require('fs').readFileSync('node_modules/' + p + '/package.json')).version)
      .join(', ')"))"
fi

say "all official clients are installed"
