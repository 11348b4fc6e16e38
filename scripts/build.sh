#!/usr/bin/env bash
# The TypeScript build (dist/), only when a source is newer than the last one. setup.sh runs it, and so does
# the integration tests' global set-up: the CLI tests run dist/, which must be the code under test.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src bench test tsconfig.json package.json -newer "$stamp" -print -quit)" ]; then
  printf 'build: tsc\n' >&2
  npx tsc -p tsconfig.json
  touch "$stamp"
fi
