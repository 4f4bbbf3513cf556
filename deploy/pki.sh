#!/usr/bin/env bash
# Creates a test PKI in DIR: a CA and one certificate per role, each with SANs for
# 127.0.0.1, ::1 and localhost. For tests and the quickstart only: production uses the
# operator's own PKI. Keys are written 0600.
#   deploy/pki.sh DIR [extra-role...]
set -euo pipefail
dir=${1:?usage: pki.sh DIR [extra-role...]}
shift
roles=(admf ingest relay-agw relay-as siptap poi-test mediator handover lemf lemf2
       operator auditor admin kafka kafka-admin client monitoring "$@")
mkdir -p "$dir"
cd "$dir"
umask 077

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.pem -days 3650 -subj "/O=limf test/CN=limf test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi

serial=$(date +%s%N)
for role in "${roles[@]}"; do
  [ -f "$role.pem" ] && continue
  serial=$((serial + 1))
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$role.key" -out "$role.csr" -subj "/O=limf test/CN=$role" 2>/dev/null
  cat >"$role.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:$role
EXT
  openssl x509 -req -in "$role.csr" -CA ca.pem -CAkey ca.key -set_serial "$serial" \
    -days 825 -out "$role.pem" -extfile "$role.ext" 2>/dev/null
  rm -f "$role.csr" "$role.ext"
done
# Kafka's PEM keystore wants the key and the chain in one file.
cat kafka.key kafka.pem >kafka-keystore.pem
chmod 600 ./*.key kafka-keystore.pem
chmod 644 ./*.pem ca.pem
chmod 600 kafka-keystore.pem
echo "pki: $dir"
