#!/usr/bin/env bash
# CAP files for real cards: the reference applet (package dev.twincard.applet) and the loopback diagnostic
# applet, compiled from the same sources as the virtual cards against the Java Card 3.0.4 classic API and
# converted (with verification) by Oracle's converter for target 3.0.4. The converter is the real check of the
# Java Card language subset (no int, no API beyond 3.0.4): jCardSim runs plain Java and accepts anything.
#
#   scripts/build-cap.sh        -> fixtures/target/cap/twincard.cap and fixtures/target/cap/loopback.cap
#
# Needs JC_HOME: a Java Card Development Kit tools folder (bin/converter.sh, lib/api_classic-3.0.4.jar,
# lib/tools.jar), e.g. Oracle's "Java Card Development Kit Tools" 3.2 (v25.1), also published in the public
# repository https://github.com/martinpaljak/oracle_javacard_sdks. Never copy the kit into this repository.
# JAVA_HOME (a JDK 17) is taken from `javac` on PATH when unset.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
src=$repo/fixtures/src/main/java
out=$repo/fixtures/target/cap
work=$repo/fixtures/target/cap-build

say() { printf 'build-cap: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

where_to_get_it="Get Oracle's Java Card Development Kit Tools (3.2, https://www.oracle.com/java/technologies/javacard-downloads.html) or the public repository https://github.com/martinpaljak/oracle_javacard_sdks (folder jc320v25.1_kit), and set JC_HOME to that folder"
[ -n "${JC_HOME:-}" ] || die "JC_HOME is not set. $where_to_get_it"
[ -d "$JC_HOME" ] || die "JC_HOME=$JC_HOME is not a folder. $where_to_get_it"
api=$JC_HOME/lib/api_classic-3.0.4.jar
converter=$JC_HOME/bin/converter.sh
for need in "$api" "$converter" "$JC_HOME/lib/tools.jar"; do
  [ -f "$need" ] || die "JC_HOME=$JC_HOME has no ${need#"$JC_HOME"/}: not a Java Card kit with the 3.0.4 API. $where_to_get_it"
done
command -v javac >/dev/null || die "javac is not installed: apt-get install default-jdk-headless"
if [ -z "${JAVA_HOME:-}" ]; then JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")"); fi
export JAVA_HOME

rm -rf "$work"; mkdir -p "$work" "$out"

# build PACKAGE PACKAGE_AID APPLET_AID APPLET_CLASS NAME
build() {
  local package=$1 package_aid=$2 applet_aid=$3 applet_class=$4 name=$5
  local dir=$src/${package//.//} classes=$work/$name/classes log=$work/$name/converter.log
  mkdir -p "$classes"
  # --release 8: class files the converter reads (major 52). The 3.0.4 API jar alone on the class path: a call
  # beyond 3.0.4 fails here, by name.
  javac --release 8 -g:none -nowarn -Xlint:none -classpath "$api" -d "$classes" "$dir"/*.java \
    || die "$name: javac against the Java Card 3.0.4 API failed (above)"
  # Verification is on (the converter's default; never -noverify); -target 3.0.4 takes the 3.0.4 export files.
  local status=0
  "$converter" -nobanner -target 3.0.4 -classdir "$classes" -d "$work/$name/out" -out CAP EXP \
    -applet "$(aid_arg "$applet_aid")" "$package.$applet_class" \
    "$package" "$(aid_arg "$package_aid")" 1.0 >"$log" 2>&1 || status=$?
  sed "s/^/  $name: /" "$log" >&2
  # The converter's exit status has not always said it all: its own error count decides too.
  if [ "$status" -ne 0 ] || grep -qiE '^\[ ?ERROR|error:|conversion completed with [1-9][0-9]* errors' "$log"; then
    die "$name: the converter rejected $package (above)"
  fi
  local cap; cap=$(find "$work/$name/out" -name '*.cap' | head -n 1)
  [ -n "$cap" ] || die "$name: the converter wrote no CAP file (see $log)"
  cp "$cap" "$out/$name.cap"
  say "$out/$name.cap: $(stat -c %s "$out/$name.cap") bytes ($package, applet $applet_aid)"
}

# 0xF0,0x74,... : the AID format the converter wants.
aid_arg() { local hex=$1 bytes=() i; for ((i = 0; i < ${#hex}; i += 2)); do bytes+=("0x${hex:i:2}"); done; (IFS=:; echo "${bytes[*]}"); }

# Package AIDs: the applet AIDs' prefix (F0 then "twincard" in ASCII), then a byte of their own (0A, 0B): an AID
# for the package, distinct from every applet instance AID (docs/real-cards.md).
build dev.twincard.applet F07477696E636172640A F07477696E6361726401 TwincardApplet twincard
# The loopback only if it converts (a diagnostic applet): in a subshell, so that its failure does not end the script.
if ! (build dev.twincard.loopback F07477696E636172640B F07477696E63617264FE LoopbackApplet loopback); then
  rm -f "$out/loopback.cap"
  say "the loopback applet did not convert (diagnostics only: the reference applet's CAP above is what counts)"
fi
