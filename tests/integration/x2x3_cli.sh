#!/usr/bin/env bash
# limf-x2x3: decode | encode is the identity (our PDUs and other implementations'),
# malformed input gives the reason and byte offset with exit status 1, and send delivers
# decoded PDUs to a real limf-ingest over mutual TLS, acknowledged, into Kafka.
set -euo pipefail
b=${LIMF_BUILD_DIR:?}/bin
src=${LIMF_SOURCE_DIR:?}
. "$src/deploy/lib.sh"
ref=${LIMF_REFERENCE_DIR:+$LIMF_REFERENCE_DIR/interop}
work=$(mktemp -d)
ingest_pid=
cleanup() {
  [ -n "$ingest_pid" ] && kill "$ingest_pid" 2>/dev/null && wait "$ingest_pid" || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. identity on our seeds and on the interop PDUs
cat "$src"/tests/fuzz/fuzz_x2x3_pdu/{keepalive,x2_sip,x3_msrp,variant_05_00_ts12_xml,unknown_values}.bin > "$work/ours.bin"
inputs=("$work/ours.bin")
if [ -n "$ref" ] && [ -d "$ref" ]; then
  for f in lippycat-x2_sip_invite lippycat-x3_rtp lippycat-keepalive; do
    grep -v '^#' "$ref/$f.hex" | xxd -r -p >> "$work/interop.bin"
  done
  inputs+=("$work/interop.bin")
else
  echo "reference interop/ absent: interop vectors skipped"
fi
for f in "${inputs[@]}"; do
  "$b/limf-x2x3" decode "$f" > "$work/out.json"
  "$b/limf-x2x3" encode "$work/out.json" | cmp - "$f"
  echo "identity: $(basename "$f") ($(wc -l < "$work/out.json") PDUs)"
done
grep -q '"variants":\["version_swapped","timestamp_12","target_text"\]' <("$b/limf-x2x3" decode "$work/ours.bin")
grep -q '"timestamp":"1700000000.000000005"' <("$b/limf-x2x3" decode "$work/ours.bin")
# Values of later editions decode (issue 17), flagged: format 17, direction 9, PDU type 9.
grep -q '"payload_format":17,.*"variants":\[\]' <("$b/limf-x2x3" decode "$work/ours.bin")
grep -q '"variants":\["unknown_direction","unknown_attribute"\]' <("$b/limf-x2x3" decode "$work/ours.bin")
grep -q '"pdu_type":9,.*"variants":\["unknown_pdu_type"\]' <("$b/limf-x2x3" decode "$work/ours.bin")

# 2. malformed input: reason and byte offset on stderr, status 1
{ cat "$work/ours.bin"; printf '\x00\x05\x00\x01\x00\x00\x00\x00'; head -c 32 /dev/zero; } > "$work/bad.bin"
set +e
"$b/limf-x2x3" decode "$work/bad.bin" > /dev/null 2> "$work/err.txt"
rc=$?
set -e
size=$(stat -c %s "$work/ours.bin")
[ "$rc" = 1 ] || { echo "decode of malformed input exited $rc"; exit 1; }
grep -q "malformed PDU at byte $((size + 4)): header length below 40" "$work/err.txt" \
  || { cat "$work/err.txt"; exit 1; }
echo "malformed: $(cat "$work/err.txt")"

# 3. send to a real limf-ingest
pki=${LIMF_PKI_DIR:?}
"$b/limf-ingest" -o ingest.listen=127.0.0.1:0 -o ingest.metrics.listen= \
  -o daemon.ready_file="$work/ready" -o ingest.tls.cert="$pki/ingest.pem" \
  -o ingest.tls.key="$pki/ingest.key" -o ingest.tls.ca="$pki/ca.pem" \
  -c "$LIMF_KAFKA_DIR/clients/ingest.conf" -o topics.prefix="$LIMF_TOPIC_PREFIX" -o ingest.poi_registry=off \
  -o log.level=warn &
ingest_pid=$!
li_wait_file "$work/ready" 30
port=$(li_ready_port "$work/ready" x2x3)
# The sender sends only what the standard allows: no keepalives, no unknown values.
"$b/limf-x2x3" decode "$work/ours.bin" | grep -v '"pdu_type":3' | grep -v '"unknown_' \
  > "$work/send.json"
n=$(wc -l < "$work/send.json")
"$b/limf-x2x3" send --to "127.0.0.1:$port" --cert "$pki/poi-test.pem" --key "$pki/poi-test.key" \
  --ca "$pki/ca.pem" --poi-id cli-test "$work/send.json" 2> "$work/send.txt"
cat "$work/send.txt"
grep -q "$n PDUs acknowledged, 0 dropped" "$work/send.txt"
got=$(kcat -F "$LIMF_KAFKA_DIR/clients/kafka-admin.kcat" -C -t "${LIMF_TOPIC_PREFIX}limf.xpdu" -o beginning -e -q \
      -f 'x\n' -c "$n" | wc -l)
[ "$got" = "$n" ] || { echo "Kafka holds $got records, want $n"; exit 1; }
echo "send: $n PDUs acknowledged and in Kafka"
kill -TERM "$ingest_pid"
wait "$ingest_pid"
ingest_pid=
echo "ok"
