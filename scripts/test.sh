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
# Lint (typescript-eslint, Prettier's layout, no dead exports) before any card is started: a lint error fails CI.
npm run --silent lint
scripts/sim.sh up
jest=(node --experimental-vm-modules node_modules/jest/bin/jest.js)
results=$(mktemp -d)
status=0
"${jest[@]}" --selectProjects unit --json --outputFile "$results/unit.json" "$@" || status=$?
# The integration files share one pcscd and a fixed set of virtual cards: run them one at a time.
# --forceExit: after a failed test a pcsclite handle can stay open, and jest would then wait for ever
# instead of reporting (seen once: a timed-out hook kept a card); a passing run closes everything anyway.
"${jest[@]}" --selectProjects integration --runInBand --forceExit --json --outputFile "$results/integration.json" "$@" || status=$?
# One plain closing line for both runs together.
node -e '
  let passed = 0, failed = 0;
  for (const f of process.argv.slice(1)) {
    try { const r = require(f); passed += r.numPassedTests; failed += r.numFailedTests; } catch { failed += 1; }
  }
  console.log(`${passed} passed, ${failed} failed`);
' "$results/unit.json" "$results/integration.json"
rm -rf "$results"
exit $status
