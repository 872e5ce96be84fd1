#!/usr/bin/env bash
# Sourced by the setup scripts: install the Debian packages that are missing, in one apt-get run.
#
#   apt_ensure TAG PACKAGE 'CHECK' [PACKAGE 'CHECK' ...]
#
# CHECK is a shell command that succeeds when PACKAGE is usable (e.g. 'command -v sipp'); a package whose
# check passes is left alone, so the scripts are fast and idempotent. Not root: sudo, if there is one.

apt_ensure() {
  local tag="$1"
  shift
  local names=() checks=() missing=()
  while [ "$#" -ge 2 ]; do
    names+=("$1")
    checks+=("$2")
    shift 2
  done
  local i
  for i in "${!names[@]}"; do
    eval "${checks[$i]}" >/dev/null 2>&1 || missing+=("${names[$i]}")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    printf '[%s] %s: already installed\n' "$tag" "${names[*]}"
    return 0
  fi
  local sudo=""
  if ! command -v apt-get >/dev/null 2>&1; then
    printf '[%s] ERROR: %s missing and apt-get is not available: install them yourself\n' "$tag" "${missing[*]}" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      printf '[%s] ERROR: %s missing: run as root or apt-get install %s\n' "$tag" "${missing[*]}" "${missing[*]}" >&2
      exit 1
    fi
    sudo="sudo"
  fi
  printf '[%s] installing %s (apt-get)\n' "$tag" "${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for i in "${!names[@]}"; do
    if ! eval "${checks[$i]}" >/dev/null 2>&1; then
      printf '[%s] ERROR: apt-get did not install %s\n' "$tag" "${names[$i]}" >&2
      exit 1
    fi
  done
}
