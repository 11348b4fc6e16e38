#!/usr/bin/env bash
# The flow scripts/resource-report.sh measures by default: every command of protocol v2 that writes persistent
# memory, at least once, on virtual cards 0-3 that are already up (it WIPES them). Unlike scripts/demo.sh it runs
# no set-up (no npm ci, no mvn): it only drives the CLI in dist/.
#   cards 0-3: PERSO_GENERATE, PERSO_COMMIT
#   card 0:    OPEN_SESSION, CREATE_WALLET; the primary of a 1+2 backup onto cards 1 and 2 (BACKUP_PREPARE,
#              BACKUP_EXPORT x2, BACKUP_FINALIZE, BACKUP_IMPORT x2); SIGN; CHANGE_ACCESS_CODE; a wrong code
#   card 3:    BACKUP_PREPARE (raw APDU), BACKUP_CANCEL
#   card 2:    SIGN, RESET
set -euo pipefail
cd "$(dirname "$0")/.."
twincard() { node dist/src/cli/main.js "$@"; }
run() { printf '\n$ %s\n' "$*" >&2; "$@"; }
readers=("Virtual PCD 00 00" "Virtual PCD 00 01" "Virtual PCD 2 00 00" "Virtual PCD 2 00 01")
journal=${TWINCARD_RUN_DIR:-.run}/resource-journal.json
export TWINCARD_PIN=246810   # the virtual cards' code for this flow only

for k in 0 1 2 3; do
  twincard sim wipe "$k" >/dev/null
  run twincard personalize --reader "${readers[$k]}" --card-id "$(printf 'DE4D00000000AA%02X' $((k + 1)))" --test-manufacturer --force
done
run twincard create-wallet --reader "${readers[0]}" --trust-test-root
rm -f "$journal"
run twincard backup --backups 2 --trust-test-root --journal "$journal" \
  --reader "${readers[0]}" --reader "${readers[1]}" --reader "${readers[2]}"
rm -f "$journal"
digest=$(printf 'twincard resource flow' | sha256sum | cut -c1-64)
for k in 0 2; do run twincard sign --reader "${readers[$k]}" --digest "$digest" --trust-test-root; done
TWINCARD_NEW_PIN=135790 run twincard change-code --reader "${readers[0]}" --trust-test-root
# A wrong code: the try counter (OwnerPIN) is written; exit 7 is the expected answer.
status=0
TWINCARD_PIN=000000 run twincard sign --reader "${readers[0]}" --digest "$digest" --trust-test-root || status=$?
[ "$status" = 7 ] || { echo "resource-flow: a wrong code gave exit $status, not 7" >&2; exit 1; }
run twincard apdu --reader "${readers[3]}" 00A404000AF07477696E636172640100 8060000000
run twincard cancel-backup --reader "${readers[3]}" --journal "$journal" --force
run twincard reset --reader "${readers[2]}" --force --trust-test-root
run twincard info --reader "${readers[2]}"
