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
# The load generator is an intercept point like any other (no X1 server: port 9).
stack_provision_poi "$run" poi-test agw 9
xid=$(stack_provision_warrant "$run" w1 LIID-BENCH sip:alice@example.com lea1 | jq -r .xid)
# load_conf FILE SESSIONS ID: a POI configuration for limf-chain-load.
load_conf() {
  cat >"$1" <<EOF
[x2x3]
address = 127.0.0.1:$(stack_port "$run" ingest)
keepalive_s = 1
$(stack_tls_keys tls poi-test "$run")
tls.peer_name = 127.0.0.1
[load]
xid = $xid
sessions = $2
msrp = $msrp
rate = $rate
body = $body
concurrent = 200
id = $3
EOF
}
lemf=$run/state/lemf.jsonl
# wait_lemf N: until the LEMF holds N records of sessions (the warrant's HI1
# notifications left out), or nothing arrived for 30 s.
wait_lemf() {
  local n=0 prev=-1 stall=0
  while [ "$n" -lt "$1" ]; do
    sleep 1
    n=$(grep -vc '"hi1":' "$lemf")
    if [ "$n" = "$prev" ]; then
      stall=$((stall + 1))
      [ $stall -lt 30 ] || return 0
    else
      stall=0
    fi
    prev=$n
  done
}
sleep 2
# A broker just started spends its first minute compiling (the JVM's JIT): a warm-up
# load that is not measured puts it, and every daemon, in the state of a running system.
warm=$((${BENCH_WARMUP:-$sessions}))
if [ "$warm" -gt 0 ]; then
  load_conf "$run/conf/warm.conf" "$warm" warm
  echo "bench: warm-up: $warm sessions ($((warm * per_session)) records), not measured"
  "$(stack_bin limf-chain-load)" -c "$run/conf/warm.conf" >"$run/warm.json" 2>"$run/logs/warm.log"
  wait_lemf $((warm * per_session))
fi
skip=$(wc -l <"$lemf")   # every line so far, the HI1 notifications included
load_conf "$run/conf/load.conf" "$sessions" bench
# CPU time (user + system, clock ticks) of the broker and each daemon: what one record
# costs in each, independent of what else the machine runs.
cpu_procs="kafka ingest mediator handover lemf"
cpu_pid() { if [ "$1" = kafka ]; then cat "$run/kafka/kafka.pid"; else cat "$run/pids/$1.child"; fi; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(cpu_pid "$1")/stat"; }
declare -A cpu0
for d in $cpu_procs; do cpu0[$d]=$(cpu_ticks "$d"); done
echo "bench: $sessions sessions x $per_session records ($expected), MSRP body $body B, rate ${rate:-max}"
"$(stack_bin limf-chain-load)" -c "$run/conf/load.conf" >"$run/load.json" 2>"$run/logs/load.log"
echo "bench: POI sent: $(cat "$run/load.json")"
wait_lemf $((skip + expected))
declare -A cpu1
for d in $cpu_procs; do cpu1[$d]=$(cpu_ticks "$d"); done
measured=$run/measured.jsonl
tail -n +$((skip + 1)) "$lemf" >"$measured"

jq -s -r --argjson expected "$expected" --argjson sessions "$sessions" '
  def pct(p): (sort | .[((length - 1) * p | floor)]);
  (map(.rx_ns) | min) as $first | (map(.rx_ns) | max) as $last |
  (($last - $first) / 1e9) as $secs |
  map(select(.hi1 == null)) |
  (map("\(.cin)/\(.hi)/\(.seq)") | unique | length) as $distinct |
  (map((.rx_ns / 1e6) - (.timestamp | sub("Z$"; "") | split(".") as $p |
        (($p[0] + "Z" | fromdateiso8601) * 1000 + ($p[1] | tonumber) / 1000)))) as $lat |
  "bench: LEMF received \(length) PDUs, \($distinct) distinct of \($expected) expected: loss \($expected - $distinct)",
  "bench: delivered \($distinct / $secs | floor) records/s, \($sessions / $secs | floor) sessions/s over \($secs * 100 | floor / 100) s",
  "bench: latency POI -> LEMF ms: p50 \($lat | pct(0.5) | floor), p99 \($lat | pct(0.99) | floor), max \($lat | max | floor)"
' "$measured"
# Per-stage breakdown: the HI records carry the POI's, the ingest's and the mediator's
# times; the LEMF adds its receipt.
"$(stack_bin limf-hi-stages)" -c "$run/kafka/clients/kafka-admin.conf" -c "$run/conf/common.conf" >"$run/stages.jsonl"
jq -s -r '
  def pct(p): (sort | .[((length - 1) * p | floor)] | . * 100 | floor / 100);
  (map(select(.hi != null and .rx_ns != null)) | map({key: "\(.cin)/\(.hi)/\(.seq)", value: .rx_ns}) | from_entries) as $rx |
  map(select(.poi_ns != null and .ingest_ns > 0 and $rx["\(.cin)/\(.hi)/\(.seq)"] != null)) |
  map({ingest: ((.ingest_ns - .poi_ns) / 1e6), mediator: ((.mediated_ns - .ingest_ns) / 1e6),
       handover: (($rx["\(.cin)/\(.hi)/\(.seq)"] - .mediated_ns) / 1e6)}) as $s |
  "bench: per stage ms (p50 / p99): POI->ingest \($s | map(.ingest) | pct(0.5)) / \($s | map(.ingest) | pct(0.99)), ingest->mediator \($s | map(.mediator) | pct(0.5)) / \($s | map(.mediator) | pct(0.99)), mediator->LEMF \($s | map(.handover) | pct(0.5)) / \($s | map(.handover) | pct(0.99))"
' "$measured" "$run/stages.jsonl"
hz=$(getconf CLK_TCK)
total=0
line="bench: CPU us per record:"
for d in $cpu_procs; do
  t=$(( ${cpu1[$d]} - ${cpu0[$d]} ))
  total=$((total + t))
  line="$line $d $(( t * 1000000 / hz / expected ))"
done
poi_us=$(jq -r --argjson n "$expected" '.cpu_s * 1e6 / $n | floor' "$run/load.json")
total_us=$(( total * 1000000 / hz / expected + poi_us ))
echo "$line POI $poi_us; total $total_us (2 cores: at most $(( 2000000 / (total_us > 0 ? total_us : 1) )) records/s)"
for d in ingest mediator handover lemf; do
  pid=$(cat "$run/pids/$d.child")
  echo "bench: $d peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
done
