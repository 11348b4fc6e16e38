#!/usr/bin/env bash
# Virtual cards in real reader slots: pcscd (with vpcd readers) and one jCardSim JVM per card.
#
#   sim.sh up [--cards N] [--applet JAR --class NAME --aid HEX] [--root PEM]
#                           start pcscd and N cards (default 4) with the reference applet, or the applet class
#                           NAME from JAR installed under AID; idempotent (another applet or root restarts the cards).
#                           Every applet is installed with install parameters 0D 41 <root> (docs/protocol.md 6,
#                           "Installation"): the public key of PEM, default the TEST manufacturer key
#                           fixtures/test-manufacturer/public-key.pem
#   sim.sh root K [PEM]     card K wiped and installed again with PEM's public key as its root (the same applet
#                           class); no PEM: the card's current root (hex). `wipe K` keeps the card's current root
#   sim.sh down             stop what `up` started, by PID
#   sim.sh status [--quiet] processes and cards; exit 0 only when everything is up
#   sim.sh pull K | insert K | pull-after-next K | wipe K    drive card K (0-based) through its control socket;
#                           insert puts K back into the reader it was last in (refused if another card is there)
#   sim.sh put K R          card K into reader R (0-based, as `status` lists them): the card in R leaves it (pulled,
#                           EEPROM kept, in no reader until put somewhere), K leaves its own reader, pcscd sees R
#                           empty, then K goes in: a fresh tap on one reader. `up` puts every card back in its own
#   sim.sh applet K [CLASS]  card K wiped, with CLASS (on the fixture's class path, e.g. a conformance-suite broken
#                           variant dev.twincard.broken.MacSkippedApplet) under the twincard AID; no CLASS: which one it runs.
#                           `wipe K` puts the reference applet back
#
# TWINCARD_MEASURE=1 starts the cards with --measure (bytes changed per transaction, for scripts/resource-report.sh);
# a running sim started otherwise is restarted.
# State lives in ${TWINCARD_RUN_DIR:-<repo>/.run}: PID files, logs, control sockets, pcscd's reader config.
# Every process is tracked by its PID file and stopped by PID, never by name.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
run=${TWINCARD_RUN_DIR:-$repo/.run}
base_port=35963   # vpcd's default: an entry with CHANNELID P serves two readers, on P and P+1

say() { printf 'sim: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

default_root_pem=$repo/fixtures/test-manufacturer/public-key.pem
# The 65-byte uncompressed point (hex) of a secp256k1 public (or private) key PEM.
root_hex() {
  [ -f "$1" ] || die "root $1: no such file"
  local der
  der=$(openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | od -An -v -tx1 | tr -d ' \n') \
    || der=""
  [ -n "$der" ] || der=$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | od -An -v -tx1 | tr -d ' \n') || der=""
  [ -n "$der" ] || die "root $1: not a PEM public or private key openssl can read"
  # SubjectPublicKeyInfo for id-ecPublicKey secp256k1 (1.3.132.0.10) ends with BIT STRING 00 04 X Y.
  case $der in *06052b8104000a*) ;; *) die "root $1: not a secp256k1 key";; esac
  local point=${der: -130}
  [ "${#der}" -ge 130 ] && [ "${point:0:2}" = 04 ] || die "root $1: not an uncompressed secp256k1 point"
  echo "${point^^}"
}

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

control() {
  local k=$1 cmd=$2 sock="$run/card-$1.sock"
  [ -S "$sock" ] || die "card $k is not running (no $sock)"
  python3 - "$sock" "$cmd" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
print(data.decode().strip())
sys.exit(0 if data.startswith(b"ok") or sys.argv[2] == "status" else 1)
PY
}

# Where card k goes when inserted: its vpcd port from the card's own status ("... port=P"), else its own.
card_port() {
  local state; state=$(control "$1" status)
  if [[ $state =~ port=([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo $((base_port + $1)); fi
}

# The reader card k is in (or being inserted into) now, empty when it is in none.
card_reader() {
  case "$(control "$1" status)" in
    inserted*|inserting*) echo $(( $(card_port "$1") - base_port ));;
  esac
}

# The card in reader r now, empty when there is none.
occupant() {
  local k
  for k in $(seq 0 $(( $(card_count) - 1 ))); do
    alive "$run/card-$k.pid" || continue
    [ "$(card_reader "$k")" = "$1" ] && { echo "$k"; return; }
  done
  return 0
}

# Readers: vpcd entries serve two each, so an odd number of cards leaves one reader empty.
reader_count() { echo $(( ($(card_count) + 1) / 2 * 2 )); }

reader_name() { # r: "Virtual PCD 00 0s" for entry 0, "Virtual PCD <entry+1> 00 0s" after (see up)
  local entry=$(( $1 / 2 ))
  if [ "$entry" = 0 ]; then echo "Virtual PCD 00 0$(( $1 % 2 ))"; else echo "Virtual PCD $((entry + 1)) 00 0$(( $1 % 2 ))"; fi
}

# Until pcscd itself reports reader r present or absent: a removal it never saw would not be a fresh tap.
wait_pcscd() { # r present|absent
  node "$repo/scripts/lib/pcsc-reader-wait.mjs" "$(reader_name "$1")" "$2" 10000 \
    || die "pcscd did not see reader $1 ($(reader_name "$1")) $2 within 10 s: see $run/pcscd.log"
}

put() {
  [ $# -eq 2 ] || die "usage: sim.sh put CARD READER (indices, as sim.sh status lists them)"
  local k=$1 r=$2
  [[ $k =~ ^[0-9]{1,3}$ ]] || die "put: CARD is an index, not '$k'"
  [[ $r =~ ^[0-9]{1,3}$ ]] || die "put: READER is an index, not '$r'"
  alive "$run/card-$k.pid" || die "card $k is not running (sim.sh status lists the cards)"
  [ "$r" -lt "$(reader_count)" ] || die "reader $r does not exist: readers are 0..$(( $(reader_count) - 1 ))"
  local holder from
  holder=$(occupant "$r")
  if [ -n "$holder" ]; then
    control "$holder" pull >/dev/null
    wait_card_state "$holder" pulled
    say "card $holder left reader $r (in no reader now)"
  fi
  from=$(card_reader "$k")
  if [ -n "$from" ]; then
    control "$k" pull >/dev/null
    wait_card_state "$k" pulled
    wait_pcscd "$from" absent
  fi
  wait_pcscd "$r" absent
  control "$k" "move $((base_port + r))" >/dev/null
  control "$k" insert >/dev/null
  wait_card_state "$k" inserted
  wait_pcscd "$r" present
  say "card $k is in reader $r ($(reader_name "$r"))"
}

# Every running card back in its own reader (what `up` promises): cards elsewhere leave first, then all go in.
home_all() {
  local k
  for k in $(seq 0 $(( $(card_count) - 1 ))); do
    [ -S "$run/card-$k.sock" ] || continue
    if [ "$(card_port "$k")" != $((base_port + k)) ]; then
      control "$k" pull >/dev/null
      wait_card_state "$k" pulled
      control "$k" "move $((base_port + k))" >/dev/null
    fi
  done
}

wait_card_state() { # k wanted-prefix
  for _ in $(seq 100); do
    case "$(control "$1" status)" in "$2"*) return 0;; esac
    sleep 0.05
  done
  die "card $1 did not become $2"
}

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
  local root; root=$(root_hex "$root_pem") || exit 1
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
    local entries=$(( (cards + 1) / 2 )) e
    for e in $(seq 0 $((entries - 1))); do
      local channel; channel=$(printf '0x%X' $((base_port + 2 * e)))
      # Distinct names per entry: pcscd names readers "FRIENDLYNAME 00 0n" per entry, and two entries with
      # one name made duplicate reader names whose first entry was never polled.
      local friendly="Virtual PCD" driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
      if [ "$e" -gt 0 ]; then
        friendly="Virtual PCD $((e + 1))"
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
    done
    # TWINCARD_NO_NODELAY=1 leaves the shim out: only to measure what it saves (see bench/).
    local preload=$shim; [ "${TWINCARD_NO_NODELAY:-}" = 1 ] && preload=
    LD_PRELOAD="$preload" pcscd --foreground --config "$run/reader.conf.d" >"$run/pcscd.log" 2>&1 &
    echo $! >"$run/pcscd.pid"
    say "started pcscd (pid $!) with $entries vpcd entries"
    for _ in $(seq 100); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.05; done
    [ -S /run/pcscd/pcscd.comm ] || die "pcscd did not start: see $run/pcscd.log"
  fi

  printf '%s\n' "$wanted_applets" >"$run/applets"
  local k
  for k in $(seq 0 $((cards - 1))); do
    if alive "$run/card-$k.pid"; then continue; fi
    # randomdata.secure=1: jCardSim's RandomData is otherwise an unseeded SHA1 generator, the same bytes on every
    # card (key pairs and signature nonces: see fixtures/src/main/java/com/licel/jcardsim/crypto/).
    java -Xmx64m -XX:+UseSerialGC -Dcom.licel.jcardsim.randomdata.secure=1 -cp "$classpath" dev.twincard.fixture.VirtualCard \
      --vpcd-port $((base_port + k)) --control "$run/card-$k.sock" --log "$run/card-$k.log" "${applets[@]}" --root "$root" ${measure[@]+"${measure[@]}"} \
      >>"$run/card-$k.log" 2>&1 &
    echo $! >"$run/card-$k.pid"
    say "started card $k (pid $!) on vpcd port $((base_port + k))"
  done
  for k in $(seq 0 $((cards - 1))); do
    for _ in $(seq 100); do [ -S "$run/card-$k.sock" ] && break; alive "$run/card-$k.pid" || die "card $k died: see $run/card-$k.log"; sleep 0.1; done
  done
  home_all
  for k in $(seq 0 $((cards - 1))); do control "$k" insert >/dev/null; done
  node "$repo/scripts/lib/pcsc-cards.mjs" "$cards" 20000 >"$run/readers.txt" \
    || die "pcscd does not show $cards cards after 20 s: see $run/pcscd.log and $run/card-*.log"
  table
}

table() {
  local k
  printf '%-5s %-7s %-24s %-28s %s\n' card pid "in reader" control state
  for k in $(seq 0 $(( $(card_count) - 1 ))); do
    local pid="-" state="dead" where="-"
    if alive "$run/card-$k.pid"; then
      pid=$(cat "$run/card-$k.pid"); state=$(control "$k" status)
      where=$(card_reader "$k"); where=${where:+$where ($(reader_name "$where"))}; where=${where:-(none)}
    fi
    printf '%-5s %-7s %-24s %-28s %s\n' "$k" "$pid" "$where" "${run/#$repo\//}/card-$k.sock" "$state"
  done
  [ -f "$run/readers.txt" ] && { echo "readers (pcscd):"; sed 's/^/  /' "$run/readers.txt"; }
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
  if [ $quiet = 0 ]; then
    if alive "$run/pcscd.pid"; then echo "pcscd: running (pid $(cat "$run/pcscd.pid"))"; else echo "pcscd: not running"; fi
    [ "$(card_count)" -gt 0 ] && table
  fi
  return $ok
}

cmd=${1:-status}; shift || true
case $cmd in
  up) up "$@";;
  down) down;;
  status) status "$@";;
  pull|insert|pull-after-next|wipe)
    [ $# -eq 1 ] || die "usage: sim.sh $cmd CARD_INDEX"
    if [ "$cmd" = insert ] && [ -S "$run/card-$1.sock" ]; then
      # Back into the reader it was last in: refused when `put` has given that reader to another card.
      back=$(( $(card_port "$1") - base_port )); holder=$(occupant "$back")
      [ -z "$holder" ] || [ "$holder" = "$1" ] || die "reader $back holds card $holder now: sim.sh put $1 READER puts card $1 somewhere"
    fi
    control "$1" "$cmd"
    if [ "$cmd" = insert ]; then wait_card_state "$1" inserted; fi
    if [ "$cmd" = pull ]; then wait_card_state "$1" pulled; fi
    ;;
  applet)
    [ $# -eq 1 ] || [ $# -eq 2 ] || die "usage: sim.sh applet CARD_INDEX [CLASS]"
    control "$1" "applet${2:+ $2}"
    ;;
  root)
    [ $# -eq 1 ] || [ $# -eq 2 ] || die "usage: sim.sh root CARD_INDEX [PEM]"
    if [ $# -eq 2 ]; then new_root=$(root_hex "$2") || exit 1; control "$1" "root $new_root"; else control "$1" root; fi
    ;;
  put) put "$@";;
  *) die "unknown command $cmd (up, down, status, pull, insert, put, pull-after-next, wipe, applet, root)";;
esac
