#!/usr/bin/env bash
# Install the OFFICIAL Relay workflow SDK for JavaScript (@relaypro/sdk, from the npm registry) that the
# workflow integration tests run as workflow servers: tests/clients/relay/node_modules, from the committed
# package-lock.json (npm ci). Idempotent: a stamp records what was installed; FORCE=1 reinstalls.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/tests/clients/relay"
FORCE="${FORCE:-0}"

say() { printf '[setup-relay-sdk] %s\n' "$*"; }
die() { printf '[setup-relay-sdk] ERROR: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "'node' not found: install Node.js >= 18"
command -v npm >/dev/null 2>&1 || die "'npm' not found: install npm (it comes with Node.js)"
NODEVER="$(node -p 'process.versions.node')"
[ "${NODEVER%%.*}" -ge 18 ] 2>/dev/null || die "Node.js $NODEVER is too old: need >= 18"
[ -f "$DIR/package.json" ] || die "tests/clients/relay/package.json is missing"

stamp_value() {
  local lock="none"
  [ -f "$DIR/package-lock.json" ] && lock="$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)"
  printf 'package.json=%s lock=%s node=%s\n' "$(sha256sum "$DIR/package.json" | cut -d' ' -f1)" "$lock" "${NODEVER%%.*}"
}
CHECK="require('@relaypro/sdk')"
STAMP="$DIR/node_modules/.relaybox-relay-sdk.stamp"
if [ "$FORCE" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_value)" ] \
    && (cd "$DIR" && node -e "$CHECK") >/dev/null 2>&1; then
  say "up to date (tests/clients/relay/node_modules)"
  exit 0
fi
t0=$SECONDS
if [ -f "$DIR/package-lock.json" ]; then
  say "npm ci in tests/clients/relay ..."
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error) || die "'npm ci' failed"
else
  say "no package-lock.json: npm install in tests/clients/relay (commit the lock file it writes) ..."
  (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error) || die "'npm install' failed"
fi
(cd "$DIR" && node -e "$CHECK") || die "@relaypro/sdk installed but cannot be required"
stamp_value >"$STAMP"
say "done in $((SECONDS - t0)) s (@relaypro/sdk $(cd "$DIR" && node -p "require('./node_modules/@relaypro/sdk/package.json').version"))"
