#!/usr/bin/env bash
# Virtual cards in real reader slots: pcscd (with vpcd readers) and one jCardSim JVM per card. This script owns the
# processes (started and stopped by PID file); everything else is `twincard sim` (src/sim/), documented once in
# README.md ("Virtual cards").
#
#   sim.sh up [--cards N] [--applet JAR --class NAME --aid HEX] [--root PEM]
#                           start pcscd and N cards (default 4) with the reference applet, or the applet class
#                           NAME from JAR installed under AID; idempotent (another applet or root restarts the cards).
#                           Every applet is installed with install parameters 0D 41 <root> (docs/protocol.md 6,
#                           "Installation"): the public key of PEM, default the TEST manufacturer key
#                           fixtures/test-manufacturer/public-key.pem
#   sim.sh down             stop what `up` started, by PID
#   sim.sh status [--quiet] processes and cards; exit 0 only when everything is up
#   sim.sh pull|insert|pull-after-next|put|wipe|applet|root ...
#                           the same as `twincard sim ...` (this script only passes them on)
#
# The reader layout (vpcd ports, reader names), the root key of a PEM and putting the cards in their readers come
# from src/sim through scripts/lib/sim-helper.mjs: `up` needs the TypeScript built (scripts/build.sh).
# TWINCARD_MEASURE=1 starts the cards with --measure (bytes changed per transaction, for scripts/resource-report.sh);
# a running sim started otherwise is restarted.
# State lives in ${TWINCARD_RUN_DIR:-<repo>/.run}: PID files, logs, control sockets, pcscd's reader config.
# Every process is tracked by its PID file and stopped by PID, never by name.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
run=${TWINCARD_RUN_DIR:-$repo/.run}
helper=$repo/scripts/lib/sim-helper.mjs
cli=$repo/dist/src/cli/main.js

say() { printf 'sim: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

default_root_pem=$repo/fixtures/test-manufacturer/public-key.pem

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid_file() {
  local file=$1 what=$2
  if ! alive "$file"; then rm -f "$file"; return; fi
  local pid; pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then say "$what (pid $pid) ignored TERM: killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$file"
  say "stopped $what (pid $pid)"
}

card_count() { find "$run" -maxdepth 1 -name "card-*.pid" 2>/dev/null | wc -l; }

up() {
  local cards=4 explicit=0 applet_jar="" applet_class="" applet_aid="" root_pem=$default_root_pem
  while [ $# -gt 0 ]; do
    case $1 in
      --cards) cards=${2:-}; explicit=1; shift 2 || die "--cards needs a value";;
      --applet) applet_jar=${2:-}; shift 2 || die "--applet needs a jar";;
      --class) applet_class=${2:-}; shift 2 || die "--class needs a class name";;
      --aid) applet_aid=${2:-}; shift 2 || die "--aid needs hex";;
      --root) root_pem=${2:-}; shift 2 || die "--root needs a PEM file";;
      *) die "unknown option $1";;
    esac
  done
  [[ $cards =~ ^[1-9][0-9]*$ ]] || die "--cards wants a positive number"
  command -v pcscd >/dev/null || die "pcscd is not installed: run scripts/setup.sh (apt-get install pcscd vsmartcard-vpcd)"
  [ -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || die "vpcd is not installed: apt-get install vsmartcard-vpcd"
  command -v java >/dev/null || die "java is not installed: apt-get install default-jre-headless"
  local jar="$repo/fixtures/target/twincard-fixture.jar" shim="$repo/fixtures/target/libnodelay.so"
  [ -f "$jar" ] && [ -f "$shim" ] || die "the fixture is not built: run scripts/setup.sh"

  # The applets every card gets: the loopback (diagnostics) and either a developer's applet or the reference one.
  local classpath="$jar:$repo/fixtures/target/lib/*"
  local applets=(--applet F07477696E63617264FE:dev.twincard.loopback.LoopbackApplet) wanted_applets
  if [ -n "$applet_jar$applet_class$applet_aid" ]; then
    [ -n "$applet_jar" ] && [ -n "$applet_class" ] && [ -n "$applet_aid" ] || die "--applet JAR, --class NAME and --aid HEX go together"
    [ -f "$applet_jar" ] || die "--applet $applet_jar: no such file"
    applet_jar=$(cd "$(dirname "$applet_jar")" && pwd)/$(basename "$applet_jar")
    [[ $applet_class =~ ^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$ ]] || die "--class $applet_class: not a Java class name"
    [[ $applet_aid =~ ^([0-9A-Fa-f]{2}){5,16}$ ]] || die "--aid $applet_aid: an AID is 5..16 bytes of hex"
    [[ $applet_jar != *:* ]] || die "--applet $applet_jar: a ':' in the path would split the Java class path"
    # Checked BEFORE a running sim is stopped for the new applet: a typo must not leave no cards at all.
    python3 - "$applet_jar" "$applet_class" <<'PY' || die "--applet $applet_jar has no class $applet_class (or is not a jar)"
import sys, zipfile
try:
    names = zipfile.ZipFile(sys.argv[1]).namelist()
except (OSError, zipfile.BadZipFile):
    sys.exit(1)
sys.exit(0 if sys.argv[2].replace(".", "/") + ".class" in names else 1)
PY
    classpath="$classpath:$applet_jar"
    applets+=(--applet "${applet_aid^^}:$applet_class")
    wanted_applets="${applet_aid^^}:$applet_class $applet_jar"
  elif [ -f "$repo/fixtures/target/classes/dev/twincard/applet/TwincardApplet.class" ]; then
    applets+=(--applet F07477696E6361726401:dev.twincard.applet.TwincardApplet)
    wanted_applets="F07477696E6361726401:dev.twincard.applet.TwincardApplet"
  else
    wanted_applets="(loopback only: the reference applet is not built)"
  fi
  [ -f "$cli" ] || die "the TypeScript is not built: run scripts/build.sh (or scripts/setup.sh)"
  local root; root=$(node "$helper" root-hex "$root_pem") || die "--root: see the line above"
  # Reader configuration entries and each card's vpcd port, from the one definition (src/sim/layout.ts).
  local layout; layout=$(node "$helper" layout "$cards") || die "no reader layout for $cards cards: see the line above"
  wanted_applets="$wanted_applets root=$root"
  local measure=()
  if [ "${TWINCARD_MEASURE:-}" = 1 ]; then measure=(--measure); wanted_applets="$wanted_applets (measuring)"; fi
  mkdir -p "$run"

  local running; running=$(card_count)
  # Without --cards, more cards than the default is fine (someone asked for them): only a shortfall restarts.
  if [ "$explicit" = 0 ] && [ "$running" -gt "$cards" ]; then cards=$running; fi
  if alive "$run/pcscd.pid" && [ "$running" -ne "$cards" ]; then
    say "running with $running cards, $cards wanted: restarting"
    down
  elif alive "$run/pcscd.pid" && [ -f "$run/applets" ] && [ "$(cat "$run/applets")" != "$wanted_applets" ]; then
    say "running with applet $(cat "$run/applets"), $wanted_applets wanted: restarting"
    down
  fi

  if ! alive "$run/pcscd.pid"; then
    rm -f "$run/pcscd.pid"
    # pcscd ends its PID file with a NUL byte: strip it (bash warns about NULs in command substitutions).
    local system_pid=""; [ -f /run/pcscd/pcscd.pid ] && system_pid=$(tr -d '\0' </run/pcscd/pcscd.pid)
    if [ -S /run/pcscd/pcscd.comm ] && [ -n "$system_pid" ] && kill -0 "$system_pid" 2>/dev/null; then
      die "a pcscd this script did not start is running (pid $system_pid); stop it first"
    fi
    rm -rf "$run/reader.conf.d"; mkdir -p "$run/reader.conf.d"
    local entries=0 kind channel friendly
    while IFS=$'\t' read -r kind channel friendly; do
      [ "$kind" = entry ] || continue
      local e=$entries driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
      entries=$((entries + 1))
      if [ "$e" -gt 0 ]; then
        # vpcd keeps its connections in static arrays indexed by slot number, and pcscd loads a driver once
        # per library path: two entries sharing one library share slot 0's state (seen: the first entry never
        # polled, and streams corrupted under load). A COPY of the library (its own inode) gets its own statics.
        mkdir -p "$run/drivers"; cp "$driver" "$run/drivers/libifdvpcd-$e.so"; driver="$run/drivers/libifdvpcd-$e.so"
      fi
      cat >"$run/reader.conf.d/vpcd-$e" <<CONF
FRIENDLYNAME "$friendly"
DEVICENAME   /dev/null:$channel
LIBPATH      $driver
CHANNELID    $channel
CONF
    done <<<"$layout"
    # TWINCARD_NO_NODELAY=1 leaves the shim out: only to measure what it saves (see bench/).
    local preload=$shim; [ "${TWINCARD_NO_NODELAY:-}" = 1 ] && preload=
    LD_PRELOAD="$preload" pcscd --foreground --config "$run/reader.conf.d" >"$run/pcscd.log" 2>&1 &
    echo $! >"$run/pcscd.pid"
    say "started pcscd (pid $!) with $entries vpcd entries"
    for _ in $(seq 100); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.05; done
    [ -S /run/pcscd/pcscd.comm ] || die "pcscd did not start: see $run/pcscd.log"
  fi

  printf '%s\n' "$wanted_applets" >"$run/applets"
  local k port
  while IFS=$'\t' read -r kind k port; do
    [ "$kind" = card ] || continue
    if alive "$run/card-$k.pid"; then continue; fi
    # randomdata.secure=1: jCardSim's RandomData is otherwise an unseeded SHA1 generator, the same bytes on every
    # card (key pairs and signature nonces: see fixtures/src/main/java/com/licel/jcardsim/crypto/).
    java -Xmx64m -XX:+UseSerialGC -Dcom.licel.jcardsim.randomdata.secure=1 -cp "$classpath" dev.twincard.fixture.VirtualCard \
      --vpcd-port "$port" --control "$run/card-$k.sock" --log "$run/card-$k.log" "${applets[@]}" --root "$root" ${measure[@]+"${measure[@]}"} \
      >>"$run/card-$k.log" 2>&1 &
    echo $! >"$run/card-$k.pid"
    say "started card $k (pid $!) on vpcd port $port"
  done <<<"$layout"
  for k in $(seq 0 $((cards - 1))); do
    for _ in $(seq 100); do [ -S "$run/card-$k.sock" ] && break; alive "$run/card-$k.pid" || die "card $k died: see $run/card-$k.log"; sleep 0.1; done
  done
  # Every card in its own reader (a `put` may have moved some), then until pcscd shows them all.
  node "$helper" home "$run" "$cards" 20000 >"$run/readers.txt" \
    || die "pcscd does not show $cards cards after 20 s: see $run/pcscd.log and $run/card-*.log"
  say "pcscd shows $cards cards:"
  sed 's/^/  /' "$run/readers.txt" >&2
}

down() {
  local f
  for f in "$run"/card-*.pid; do [ -e "$f" ] && stop_pid_file "$f" "card $(basename "$f" .pid | cut -d- -f2)"; done
  stop_pid_file "$run/pcscd.pid" pcscd
  rm -f "$run"/card-*.sock "$run/readers.txt" "$run/applets"
}

status() {
  local quiet=0; [ "${1:-}" = --quiet ] && quiet=1
  local ok=0
  alive "$run/pcscd.pid" || ok=1
  [ "$(card_count)" -gt 0 ] || ok=1
  for f in "$run"/card-*.pid; do [ -e "$f" ] && { alive "$f" || ok=1; }; done
  # The table is twincard's (`sim status`), on stdout here as this script always printed it.
  if [ $quiet = 0 ]; then TWINCARD_RUN_DIR=$run node "$cli" sim status 2>&1 || true; fi
  return $ok
}

cmd=${1:-status}; shift || true
case $cmd in
  up) up "$@";;
  down) down;;
  status) status "$@";;
  pull|insert|pull-after-next|put|wipe|applet|root)
    # One set of verbs, the CLI's (src/sim): this script only passes them on, with its run folder.
    [ -f "$cli" ] || die "the TypeScript is not built: run scripts/build.sh (or scripts/setup.sh)"
    TWINCARD_RUN_DIR=$run exec node "$cli" sim "$cmd" "$@"
    ;;
  *) die "unknown command $cmd (up, down, status, pull, insert, put, pull-after-next, wipe, applet, root)";;
esac
