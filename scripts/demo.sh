#!/usr/bin/env bash
# The main job, from a fresh Debian machine (as root) or a warm one: set up, start the virtual cards, and run a
# full backup between them through the real PC/SC stack: three factory-fresh cards are personalized with the
# TEST manufacturer key, card 0 creates a wallet, the wallet is cloned onto cards 1 and 2, and all three sign
# one digest under one public key. Idempotent: it wipes cards 0-2 first. The cards keep running afterwards:
# `scripts/sim.sh down` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/sim.sh up

twincard() { node dist/src/cli/main.js "$@"; }
run() { printf '\n$ %s\n' "$*" >&2; "$@"; }
readers=("Virtual PCD 00 00" "Virtual PCD 00 01" "Virtual PCD 2 00 00")
journal=${TWINCARD_RUN_DIR:-.run}/demo-journal.json
# The access code for the demo only; a person types it (no echo), a bench uses --pin-file.
export TWINCARD_PIN=246810

run twincard readers
for k in 0 1 2; do
  twincard sim wipe "$k" --force >/dev/null
  run twincard personalize --reader "${readers[$k]}" --card-id "$(printf 'DE4D0000000000%02X' $((k + 1)))" --test-manufacturer --force
done
run twincard attest --reader "${readers[0]}" --trust-test-root
run twincard create-wallet --reader "${readers[0]}" --trust-test-root
rm -f "$journal"
run twincard backup --backups 2 --trust-test-root --journal "$journal" \
  --reader "${readers[0]}" --reader "${readers[1]}" --reader "${readers[2]}" --trace

digest=$(printf 'twincard demo %s' "$(date -u +%FT%TZ)" | sha256sum | cut -c1-64)
keys=()
for k in 0 1 2; do
  run twincard info --reader "${readers[$k]}"
  out=$(run twincard sign --reader "${readers[$k]}" --digest "$digest" --json --trust-test-root)
  keys+=("$(node -e 'const d = JSON.parse(process.argv[1]); console.log(d.walletPublicKey)' "$out")")
done
echo >&2
if [ "${keys[0]}" = "${keys[1]}" ] && [ "${keys[1]}" = "${keys[2]}" ]; then
  echo "three cards, three signatures over $digest, one wallet public key:" >&2
  echo "  ${keys[0]}" >&2
else
  echo "the wallet public keys differ: ${keys[*]}" >&2
  exit 1
fi
echo >&2
echo 'and the primary refuses a second backup, forever:' >&2
rm -f "$journal"
if run twincard backup --backups 1 --trust-test-root --journal "$journal" \
  --reader "${readers[0]}" --reader "${readers[1]}"; then
  echo 'a second backup was allowed' >&2
  exit 1
fi
rm -f "$journal"
