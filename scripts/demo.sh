#!/usr/bin/env bash
# The main job, from a fresh Debian machine (as root) or a warm one: set up, start the virtual cards, and show
# them through twincard: the readers with their cards' ATRs, then a traced SELECT and exchange with card 0.
# (It becomes the full backup demo once the card protocol lands.) Idempotent; the cards keep running:
# `scripts/sim.sh down` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/sim.sh up
twincard() { node dist/src/cli/main.js "$@"; }
echo
echo '$ twincard readers'
twincard readers
echo
echo '$ twincard apdu --reader "Virtual PCD 00 00" --trace 00A404000AF07477696E63617264FE00 8002025800'
twincard apdu --reader "Virtual PCD 00 00" --trace 00A404000AF07477696E63617264FE00 8002025800
