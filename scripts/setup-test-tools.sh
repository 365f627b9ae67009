#!/usr/bin/env bash
# Install what the tests drive besides Python: Debian's Chromium, a Java runtime
# for the Nu HTML checker, Node.js, and the npm checkers pinned in tools/js.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests launch /usr/bin/chromium by path, so check that path, not $PATH
# (CHROMIUM_PATH only lets the script's own test point elsewhere).
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v node >/dev/null || missing+=(nodejs)
# Debian packages npm apart from nodejs: a machine can have node without npm.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup-test-tools: installing ${missing[*]}"
  $sudo apt-get update -qq
  # With recommends, as proven here (TESTING.md): Chromium then gets its fonts and GL libraries.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  [ -x "$chromium" ] || { echo "setup-test-tools: $chromium is still missing" >&2; exit 1; }
  for tool in java node npm; do
    command -v "$tool" >/dev/null || { echo "setup-test-tools: $tool is still missing" >&2; exit 1; }
  done
fi

if [ ! -f tools/js/node_modules/.package-lock.json ] \
   || [ tools/js/package-lock.json -nt tools/js/node_modules/.package-lock.json ]; then
  npm ci --prefix tools/js --no-audit --no-fund --loglevel=error
fi
