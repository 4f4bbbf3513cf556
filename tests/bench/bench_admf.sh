#!/usr/bin/env bash
# Benchmark of limf-admf (tests/bench/bench_admf.c) with its own test PKI, Kafka 3.9
# broker and daemon in a temporary directory:
#   tests/bench/bench_admf.sh BUILD_DIR [SCALE_PERCENT]
set -euo pipefail
build=$(cd "${1:?usage: bench_admf.sh BUILD_DIR [SCALE_PERCENT]}" && pwd)
scale=${2:-100}
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/deploy/lib.sh"
work=$(mktemp -d /tmp/bench-admf.XXXXXX)
admf_pid=
cleanup() {
  [ -n "$admf_pid" ] && kill "$admf_pid" 2>/dev/null && wait "$admf_pid" 2>/dev/null || true
  "$src/deploy/kafka.sh" stop "$work/kafka" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$src/deploy/pki.sh" "$work/pki" >/dev/null
"$src/deploy/kafka.sh" start "$work/kafka" "$work/pki" >/dev/null
. "$work/kafka/env"
cat >"$work/admf.conf" <<CONF
topics.prefix = bench-
log.level = warn
daemon.ready_file = $work/ready
[kafka]
bootstrap.servers = $LIMF_KAFKA_TLS_BOOTSTRAP
security.protocol = ssl
ssl.ca.location = $work/pki/ca.pem
ssl.certificate.location = $work/pki/admf.pem
ssl.key.location = $work/pki/admf.key
[rest]
listen = 127.0.0.1:0
tls.cert = $work/pki/admf.pem
tls.key = $work/pki/admf.key
tls.ca = $work/pki/ca.pem
role.operator = operator
[x1]
tls.cert = $work/pki/admf.pem
tls.key = $work/pki/admf.key
tls.ca = $work/pki/ca.pem
ingest_address = 127.0.0.1:9
[admf]
audit_key_file = $work/admf-audit.key
CONF
(umask 077 && openssl rand -hex 32 >"$work/admf-audit.key")
"$build/bin/limf-admf" -c "$work/admf.conf" 2>"$work/admf.log" &
admf_pid=$!
li_wait_file "$work/ready" 20
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "broker: Apache Kafka $LIMF_KAFKA_VERSION, single node, mutual TLS; producer acks=all, idempotent"
"$build/bin/bench_admf" "$work/pki" "$(li_ready_port "$work/ready" rest)" "$admf_pid" "$scale"
