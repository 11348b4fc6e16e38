#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine (as root) or a warm one: set-up, virtual cards, unit
# tests, then integration tests through the real stack (pcsclite -> pcscd -> vpcd -> jCardSim).
# Idempotent. Leaves the virtual cards as it found them: stops them only if it started them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

started_sim=0
if ! scripts/sim.sh status --quiet >/dev/null 2>&1; then
  started_sim=1
fi
stop_sim() { if [ "$started_sim" = 1 ]; then scripts/sim.sh down || true; fi; }
trap stop_sim EXIT

npx tsc -p tsconfig.json --noEmit
scripts/sim.sh up
jest=(node --experimental-vm-modules node_modules/jest/bin/jest.js)
"${jest[@]}" --selectProjects unit "$@"
# The integration files share one pcscd and a fixed set of virtual cards: run them one at a time.
"${jest[@]}" --selectProjects integration --runInBand "$@"
