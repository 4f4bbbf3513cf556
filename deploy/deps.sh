#!/usr/bin/env bash
# Installs every Debian 12 package limf needs to build, test and run. Idempotent.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev llvm
  libssl-dev openssl librdkafka-dev libprotobuf-c-dev protobuf-c-compiler
  libmicrohttpd-dev libjansson-dev libxml2-dev libpcap-dev libcmocka-dev
  default-jre-headless maven
  kcat tshark sip-tester curl unzip jq python3-yaml python3 python3-venv iproute2 procps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A JDK from elsewhere (e.g. Temurin) is as good as Debian's JRE.
if command -v java >/dev/null 2>&1; then
  missing=("${missing[@]/default-jre-headless}")
fi
if command -v mvn >/dev/null 2>&1; then
  missing=("${missing[@]/maven}")
fi
read -r -a missing <<<"${missing[*]}"
if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
