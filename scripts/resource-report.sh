#!/usr/bin/env bash
# What the reference applet needs from a real card, from measurements on the virtual cards:
#   - CAP size: the file scripts/build-cap.sh converts for Java Card 3.0.4, and its components (needs JC_HOME);
#   - persistent bytes (arrays and the applet's own fields), CLEAR_ON_RESET and CLEAR_ON_DESELECT bytes, and the
#     API objects (keys by type and size, ciphers, PINs) the installed applet holds: measured by walking its live
#     objects in the simulator after a full flow;
#   - per command, the most bytes changed inside one transaction: measured by the cards' --measure runtime.
# Each figure says how it was obtained; what neither the CAP nor the simulator can tell (what a key object or a
# Signature costs on a given card) is listed, never given a number.
#
#   scripts/resource-report.sh [--flow 'COMMAND'] [--json]
#
# It (re)starts the virtual cards with TWINCARD_MEASURE=1, runs the flow (default scripts/resource-flow.sh: every
# protocol v2 command that writes persistent memory, at least once, on cards 0-3: personalization, a wallet, a
# 1+2 backup, signatures, a code change, a wrong code, a cancelled prepare, a reset; it runs no set-up), reads
# every card's figures and stops the cards. It needs the TypeScript build (scripts/build.sh) and the fixture jar.
# pcscd is one per machine: where several people share it, hold its lock, e.g.
#   JC_HOME=../shared/javacard-sdk/jc320v25.1_kit flock /tmp/twincard-pcscd.lock scripts/resource-report.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
run=${TWINCARD_RUN_DIR:-$repo/.run}
flow="$repo/scripts/resource-flow.sh"
json=0
while [ $# -gt 0 ]; do
  case $1 in
    --flow) flow=${2:-}; shift 2 || { echo "--flow needs a command" >&2; exit 2; };;
    --json) json=1; shift;;
    *) echo "resource-report: unknown option $1 (--flow COMMAND, --json)" >&2; exit 2;;
  esac
done
say() { printf 'resource-report: %s\n' "$*" >&2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# 1. The CAP file, if a kit is there.
if [ -n "${JC_HOME:-}" ] && "$repo/scripts/build-cap.sh" >"$work/cap.log" 2>&1; then
  cap="$repo/fixtures/target/cap/twincard.cap"
else
  cap=""
  say "no CAP figures: scripts/build-cap.sh did not run (JC_HOME unset or the build failed; see scripts/build-cap.sh)"
fi

# 2. Measuring cards, the flow, every card's figures; the cards are stopped whatever happens.
export TWINCARD_MEASURE=1
trap 'TWINCARD_MEASURE=1 "$repo/scripts/sim.sh" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$repo/scripts/sim.sh" up --cards 4 >"$work/sim.log" 2>&1 || { cat "$work/sim.log" >&2; exit 1; }
flow_status=0
say "running the flow: $flow (its output: $run/resource-flow.log)"
bash -c "$flow" >"$run/resource-flow.log" 2>&1 || flow_status=$?
[ "$flow_status" = 0 ] || say "the flow failed (exit $flow_status): the figures below cover only what ran before it stopped"
for sock in "$run"/card-*.sock; do
  # The control-socket client is src/sim's (dist/), as everywhere else.
  node "$repo/scripts/lib/sim-helper.mjs" control "$sock" resources >>"$work/cards.jsonl"
done
names=$(cd "$repo" && node -e "import('./dist/src/protocol/constants.js').then((m) => console.log(JSON.stringify(m.Ins))).catch(() => console.log('{}'))" 2>/dev/null || echo '{}')

# 3. The report.
python3 - "$work/cards.jsonl" "$cap" "$names" "$json" "$flow" "$flow_status" <<'PY'
import json, os, sys, zipfile
cards_file, cap, names, as_json, flow, flow_status = sys.argv[1:7]
names = {v: k for k, v in json.loads(names).items()}
cards = []
for line in open(cards_file):
    line = line.strip()
    if not line.startswith("{"):
        sys.exit(f"resource-report: a card did not answer 'resources': {line!r} (an old fixture jar? run scripts/setup.sh)")
    cards.append(json.loads(line))
report = {"flow": flow, "flowExit": int(flow_status), "cap": None, "applet": None, "transactions": {}}
if cap:
    with zipfile.ZipFile(cap) as z:
        components = {os.path.basename(i.filename): i.file_size for i in z.infolist() if i.filename.endswith(".cap")}
    report["cap"] = {"file": cap, "fileBytes": os.path.getsize(cap), "componentBytes": sum(components.values()),
                     "components": components, "how": "measured: the CAP file, and the sizes of its components (zip entries): the components are what a card loads; the file also carries the .class files (APPLET-INF/classes) and manifests"}
# The twincard applet's footprint: the largest seen on any card (a primary after a backup holds the most).
applets = [a for c in cards for a in c["applets"] if a["class"].endswith("TwincardApplet")]
if applets:
    biggest = max(applets, key=lambda a: a["persistentArrayBytes"] + a["persistentFieldBytes"])
    report["applet"] = dict(biggest, how="measured: the installed applet's live objects walked in the simulator "
                            "(arrays by jCardSim's transient records; API objects counted, their card cost not known here)")
for c in cards:
    if not c.get("measuring"):
        sys.exit("resource-report: a card runs without --measure (start the cards with TWINCARD_MEASURE=1)")
    for key, t in c["transactions"].items():
        applet, ins = key.split(" ")
        if not applet.endswith("TwincardApplet"):
            continue
        name = names.get(int(ins, 16), f"INS {ins}")
        seen = report["transactions"].setdefault(name, {"ins": ins, "maxChangedBytes": 0, "count": 0})
        seen["maxChangedBytes"] = max(seen["maxChangedBytes"], t["maxChangedBytes"])
        seen["count"] += t["count"]
report["transactionsHow"] = ("measured: bytes of the applet's persistent arrays and fields that changed between "
                             "beginTransaction and commitTransaction (a lower bound of what a card journals: it "
                             "may also log rewritten bytes, adds per-entry overhead, and key objects and atomic "
                             "Util.arrayCopy outside transactions are not seen)")
if as_json == "1":
    print(json.dumps(report, indent=2))
    sys.exit(0)
print(f"twincard resource report (flow: {flow}, exit {flow_status})")
if report["cap"]:
    c = report["cap"]
    print(f"\nCAP  {c['file']}\n  file {c['fileBytes']} bytes, components {c['componentBytes']} bytes  [{c['how']}]")
    for n, s in sorted(c["components"].items(), key=lambda kv: -kv[1]):
        print(f"    {n:<22} {s:>6}")
else:
    print("\nCAP  not built (JC_HOME unset or scripts/build-cap.sh failed): no figure")
a = report["applet"]
if a:
    print(f"\nApplet {a['class']} ({a['aid']})  [{a['how']}]")
    print(f"  persistent arrays   {a['persistentArrayBytes']:>6} bytes in {a['persistentArrays']} arrays")
    print(f"  persistent fields   {a['persistentFieldBytes']:>6} bytes (primitive fields of the applet's own objects)")
    print(f"  CLEAR_ON_RESET      {a['clearOnResetBytes']:>6} bytes in {a['clearOnResetArrays']} arrays")
    print(f"  CLEAR_ON_DESELECT   {a['clearOnDeselectBytes']:>6} bytes in {a['clearOnDeselectArrays']} arrays")
    print("  API objects (count; what each costs depends on the card: not counted):")
    for n, k in a["apiObjects"].items():
        print(f"    {k} x {n}")
else:
    print("\nApplet: no card runs the twincard applet")
print(f"\nLargest number of bytes changed in one transaction, per command  [{report['transactionsHow']}]")
if not report["transactions"]:
    print("  (no transaction seen)")
for n, t in sorted(report["transactions"].items(), key=lambda kv: kv[1]["ins"]):
    print(f"  {t['ins']} {n:<18} {t['maxChangedBytes']:>5} bytes   ({t['count']} transactions)")
PY
exit "$flow_status"
