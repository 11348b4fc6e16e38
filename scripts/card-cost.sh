#!/usr/bin/env bash
# The card's cost per tap of a backup (docs/benchmarks.md, "Card cost per tap"): runs a 1+1 and a 1+2 backup on
# instrumented in-process jCardSim cards (no pcscd, no lock needed), prints the crypto operations each command
# made, then the time per tap estimated from JCAlgTest's published per-operation figures of two NXP cards, with
# the NFC transport as a separate, assumed figure. Markdown on stdout; build output on stderr.
#
#   scripts/card-cost.sh
#
# The code is test-scope Java in fixtures/src/test/java/dev/twincard/applet/CardCost*.java.
set -euo pipefail
cd "$(dirname "$0")/../fixtures"
printf 'card-cost: mvn test-compile\n' >&2
mvn -q -B test-compile >&2
classpath=target/card-cost.classpath
mvn -q -B dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$classpath" >&2
exec java -cp "target/test-classes:target/classes:$(cat "$classpath")" dev.twincard.applet.CardCostModel
