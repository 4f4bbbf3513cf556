#!/usr/bin/env bash
# The limf quickstart: from a fresh Debian 12 machine to a visible interception.
#   1. installs the dependencies (apt) and builds limf;
#   2. starts the whole chain on 127.0.0.1 in ./run/quickstart: a test PKI, Apache Kafka
#      3.9, limf-admf, -ingest, -mediator, -handover, -msrp-relay (agw), -siptap and a
#      reference LEMF (limf-lemf);
#   3. provisions, through the ADMF's REST API, an LEA destination, the two points of
#      interception and a warrant for sip:alice@limf.test;
#   4. runs a real session: SIP from sipp on loopback (seen by limf-siptap) and MSRP over
#      TLS between two test UEs through limf-msrp-relay;
#   5. shows what the LEMF received, HI2 and HI3 decoded, correlated by CIN.
# The stack keeps running so that you can look around; stop it with
#   deploy/stack.sh down run/quickstart
# or pass --down to stop it at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
down=0
[ "${1:-}" = --down ] && down=1
run=$top/run/quickstart

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "dependencies and build"
[ "${LIMF_SKIP_DEPS:-0}" = 1 ] || deploy/deps.sh
deploy/kafka.sh fetch
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
echo "built: $(ls build/*/limf-* | xargs -n1 basename | tr '\n' ' ')"

if [ -d "$run" ]; then
  deploy/stack.sh down "$run" >/dev/null 2>&1 || true
  rm -rf "$run"
fi

say "starting the chain in $run"
deploy/stack.sh up "$run"

export STACK_SOURCED=1
# shellcheck source=deploy/stack.sh
. deploy/stack.sh

say "provisioning over the ADMF's REST API (https://127.0.0.1:$(li_ready_port "$run/state/admf.ready" rest))"
STACK_REASON="quickstart, ticket QS-1"
stack_provision_destination "$run" lea1 lemf
echo "destination lea1 -> limf-lemf on 127.0.0.1:$(li_ready_port "$run/state/lemf.ready" hi) (TLS, pinned)"
stack_provision_pois "$run"
echo "intercept points: relay-agw (IMS-AGW), siptap (SIP)"
warrant=$(stack_provision_warrant "$run" w-demo LIID-DEMO-0001 sip:alice@limf.test lea1)
echo "warrant w-demo: LIID-DEMO-0001, target sip:alice@limf.test, IRI+CC, xid $(echo "$warrant" | jq -r .xid)"
# Wait until both POIs carry the task (the ADMF pushes it over X1).
for _ in $(seq 1 50); do
  n=$(stack_rest "$run" auditor GET /v1/intercept-points | jq '[.items[] | select(.health == "ok")] | length')
  [ "$n" = 2 ] && break
  sleep 0.2
done

say "a session: alice calls bob (SIP via sipp, MSRP over TLS through the relay)"
stack_session "$run" demo alice 300 20000/4096
echo "carol calls bob too (carol is not a target)"
stack_session "$run" other carol 100

say "what the LEMF received (HI2 = IRI, HI3 = CC), by CIN"
# Delivery is asynchronous: wait until the session's records stop arriving.
prev=-1
for _ in $(seq 1 60); do
  n=$(wc -l <"$run/state/lemf.jsonl" 2>/dev/null || echo 0)
  [ "$n" -gt 0 ] && [ "$n" = "$prev" ] && break
  prev=$n
  sleep 0.5
done
jq -r '[ (.cin // "-"), .seq,
         (if .hi1 then "HI2 HI1 \(.hi1)" elif .hi == 2 then "HI2 IRI-\(.iri_type | ascii_upcase)"
          else "HI3 CC \(.direction)" end),
         ((.sip // .msrp // .alarm // "") | split("\r\n")[0]) ] | @tsv' "$run/state/lemf.jsonl" |
  awk -F'\t' 'BEGIN { printf "%-5s %-5s %-24s %s\n", "CIN", "SEQ", "RECORD", "FIRST LINE" }
              { printf "%-5s %-5s %-24s %s\n", $1, $2, $3, $4 }'
echo
echo "LIID $(jq -r .liid "$run/state/lemf.jsonl" | sort -u | paste -sd ' '), records: $(wc -l <"$run/state/lemf.jsonl")"
echo "carol's session produced nothing: she is not a target."
echo "Full JSON lines: $run/state/lemf.jsonl; raw PS-PDUs: $run/state/lemf.raw"
echo "(decode offline: build/bin/limf-lemf decode $run/state/lemf.raw)"

if [ $down = 1 ]; then
  say "stopping"
  stack_down "$run"   # stack.sh is sourced here: its command dispatch is off
else
  say "the chain is still running"
  echo "logs: $run/logs/   REST API: see docs/REST.md"
  echo "stop it with: deploy/stack.sh down run/quickstart"
fi
