#!/usr/bin/env bash
# Everything twincard needs on a Debian 12 machine, as root: the PC/SC stack, node modules, the Java fixture,
# the pcscd latency shim and the TypeScript build. Idempotent and quick when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# Node >= 20.19: @noble/* and asn1js are ESM-only and need it; Debian 12's own nodejs is 18. Installing Node is the
# machine owner's choice (NodeSource, nvm, a distribution backport), so stop with the reason instead of guessing.
if ! command -v node >/dev/null; then say "Node.js >= 20.19 is needed and node is not installed"; exit 1; fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  say "Node.js >= 20.19 is needed; this machine has $(node --version) (Debian 12's nodejs is 18: install a newer Node first)"
  exit 1
fi

packages=(pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools maven default-jdk-headless gcc make g++ python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# A JDK of any vendor will do; do not pull Debian's default one in when java and javac are already there.
if command -v javac >/dev/null && command -v java >/dev/null; then
  missing=("${missing[@]/default-jdk-headless}")
fi
if command -v mvn >/dev/null; then missing=("${missing[@]/maven}"); fi
for tool in gcc g++ make python3; do command -v "$tool" >/dev/null && missing=("${missing[@]/$tool}"); done
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi

jar=fixtures/target/twincard-fixture.jar
if [ ! -f "$jar" ] || [ -n "$(find fixtures/src fixtures/pom.xml -newer "$jar" -print -quit)" ]; then
  say "building the fixture (mvn package)"
  (cd fixtures && mvn -q -B package)
  touch "$jar"
fi

shim=fixtures/target/libnodelay.so
if [ ! -f "$shim" ] || [ fixtures/nodelay/nodelay.c -nt "$shim" ]; then
  say "building the pcscd TCP_NODELAY shim"
  mkdir -p fixtures/target
  gcc -shared -fPIC -O2 -Wall -Werror -o "$shim" fixtures/nodelay/nodelay.c -ldl
fi

scripts/build.sh
