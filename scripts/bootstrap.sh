#!/bin/sh
# Makes a fresh machine ready: Bun (from npm) when missing, then the locked dependencies.
set -e
cd "$(dirname "$0")/.."
if ! command -v bun >/dev/null 2>&1; then
  echo "installing bun from npm..." >&2
  npm install -g bun@1.4.5 >&2
fi
if [ ! -d node_modules ] || [ bun.lock -nt node_modules ]; then
  bun install --frozen-lockfile >&2
  touch node_modules
fi
