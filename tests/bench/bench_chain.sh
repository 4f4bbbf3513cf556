#!/usr/bin/env bash
# Whole-chain benchmark: POI -> limf-ingest -> Kafka -> limf-mediator -> Kafka ->
# limf-handover -> limf-lemf, every hop a real process over mutual TLS, on one machine
# with its Kafka broker. A POI (limf-chain-load) sends complete MSRP sessions (5 SIP
# messages as X2, N MSRP messages as X3) as fast as the chain takes them, or at a rate.
# Prints: records/s and sessions/s delivered at the LEMF, end-to-end latency
# percentiles (POI timestamp -> LEMF receipt), loss (every (CIN, seq) must arrive), and
# peak RSS of every daemon.
#   tests/bench/bench_chain.sh [SESSIONS] [MSRP_PER_SESSION] [RATE] [BODY_BYTES]
# Environment: LIMF_BUILD_DIR (default build/), BENCH_DIR (default /tmp/limf-bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LIMF_BUILD_DIR=${LIMF_BUILD_DIR:-$here/../../build}
export STACK_SOURCED=1
# shellcheck source=deploy/stack.sh
. "$here/../../deploy/stack.sh"

sessions=${1:-6000}
msrp=${2:-10}
rate=${3:-0}
body=${4:-200}
per_session=$((5 + msrp))
expected=$((sessions * per_session))
run=${BENCH_DIR:-/tmp/limf-bench}
deploy_down() { stack_down "$run" >/dev/null 2>&1 || true; }
deploy_down
rm -rf "$run"
trap deploy_down EXIT

stack_up "$run" >/dev/null
STACK_REASON="benchmark"
stack_provision_destination "$run" lea1 lemf
xid=$(stack_provision_warrant "$run" w1 LIID-BENCH sip:alice@example.com lea1 | jq -r .xid)
cat >"$run/conf/load.conf" <<EOF
[x2x3]
address = 127.0.0.1:$(stack_port "$run" ingest)
keepalive_s = 1
$(stack_tls_keys tls poi-test "$run")
tls.peer_name = 127.0.0.1
[load]
xid = $xid
sessions = $sessions
msrp = $msrp
rate = $rate
body = $body
concurrent = 200
id = bench
EOF
sleep 2
echo "bench: $sessions sessions x $per_session records ($expected), MSRP body $body B, rate ${rate:-max}"
"$(stack_bin limf-chain-load)" -c "$run/conf/load.conf" >"$run/load.json" 2>"$run/logs/load.log"
echo "bench: POI sent: $(cat "$run/load.json")"

lemf=$run/state/lemf.jsonl
n=0
prev=-1
stall=0
while [ "$n" -lt "$expected" ]; do
  sleep 1
  n=$(wc -l <"$lemf")
  if [ "$n" = "$prev" ]; then
    stall=$((stall + 1))
    [ $stall -lt 30 ] || break
  else
    stall=0
  fi
  prev=$n
done

jq -s -r --argjson expected "$expected" --argjson sessions "$sessions" '
  def pct(p): (sort | .[((length - 1) * p | floor)]);
  (map(.rx_ns) | min) as $first | (map(.rx_ns) | max) as $last |
  (($last - $first) / 1e9) as $secs |
  (map("\(.cin)/\(.seq)") | unique | length) as $distinct |
  (map((.rx_ns / 1e6) - (.timestamp | sub("Z$"; "") | split(".") as $p |
        (($p[0] + "Z" | fromdateiso8601) * 1000 + ($p[1] | tonumber) / 1000)))) as $lat |
  "bench: LEMF received \(length) PDUs, \($distinct) distinct of \($expected) expected: loss \($expected - $distinct)",
  "bench: delivered \($distinct / $secs | floor) records/s, \($sessions / $secs | floor) sessions/s over \($secs * 100 | floor / 100) s",
  "bench: latency POI -> LEMF ms: p50 \($lat | pct(0.5) | floor), p99 \($lat | pct(0.99) | floor), max \($lat | max | floor)"
' "$lemf"
# Per-stage breakdown: the HI records carry the POI's, the ingest's and the mediator's
# times; the LEMF adds its receipt.
"$(stack_bin limf-hi-stages)" -c "$run/conf/common.conf" >"$run/stages.jsonl"
jq -s -r '
  def pct(p): (sort | .[((length - 1) * p | floor)] | . * 100 | floor / 100);
  (map(select(.hi != null)) | map({key: "\(.cin)/\(.seq)", value: .rx_ns}) | from_entries) as $rx |
  map(select(.poi_ns != null and .ingest_ns > 0 and $rx["\(.cin)/\(.seq)"] != null)) |
  map({ingest: ((.ingest_ns - .poi_ns) / 1e6), mediator: ((.mediated_ns - .ingest_ns) / 1e6),
       handover: (($rx["\(.cin)/\(.seq)"] - .mediated_ns) / 1e6)}) as $s |
  "bench: per stage ms (p50 / p99): POI->ingest \($s | map(.ingest) | pct(0.5)) / \($s | map(.ingest) | pct(0.99)), ingest->mediator \($s | map(.mediator) | pct(0.5)) / \($s | map(.mediator) | pct(0.99)), mediator->LEMF \($s | map(.handover) | pct(0.5)) / \($s | map(.handover) | pct(0.99))"
' "$lemf" "$run/stages.jsonl"
for d in ingest mediator handover lemf; do
  pid=$(cat "$run/pids/$d.child")
  echo "bench: $d peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
done
