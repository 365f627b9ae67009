#!/usr/bin/env bash
# Install what the tests drive besides Python: Debian's Chromium, a Java runtime
# for the Nu HTML checker, Node.js, and the npm checkers pinned in tools/js.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
# The tests launch /usr/bin/chromium by path, so check that path, not $PATH.
[ -x /usr/bin/chromium ] || missing+=(chromium)
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
fi

if [ ! -f tools/js/node_modules/.package-lock.json ] \
   || [ tools/js/package-lock.json -nt tools/js/node_modules/.package-lock.json ]; then
  npm ci --prefix tools/js --no-audit --no-fund --loglevel=error
fi
