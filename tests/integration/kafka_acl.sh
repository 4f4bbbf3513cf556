#!/usr/bin/env bash
# Kafka authorizes per principal (issue: "Kafka has no authorization"). On a prefix of its
# own, outside the fixture's wide test grants, this test grants exactly what
# deploy/kafka-acls.sh grants a deployment, then acts as each principal of the PKI:
# every role may do its job, and the attacks are refused: an agency's (LEMF's)
# certificate reads neither HI nor X2/X3, a POI's or an unknown certificate reads
# nothing, the ingest cannot write the store of record or the audit trail, the mediator
# cannot write the audit trail, the handover cannot write HI or read X2/X3, the ADMF
# cannot read X2/X3. The broker has no PLAINTEXT listener.
set -euo pipefail
dir=${LIMF_KAFKA_DIR:?run through ctest}
src=${LIMF_SOURCE_DIR:?}
p="acl$(date +%s%N | tail -c 8)-"
failures=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; failures=$((failures + 1)); }

"$src/deploy/kafka-acls.sh" apply "$dir" "$p"
kc() { local role=$1; shift; timeout 20 kcat -F "$dir/clients/$role.kcat" -m 10 "$@" 2>&1; }

# produce ROLE TOPIC: 0 when the broker accepted the record.
produce() {
  local out
  out=$(echo "acl-test" | kc "$1" -P -t "$2" -X message.timeout.ms=8000) || return 1
  ! grep -qiE "fail|error|authoriz" <<<"$out"
}
# consume ROLE TOPIC: 0 when the role could read the topic (end of partition reached).
consume() {
  local out
  out=$(kc "$1" -C -t "$2" -o beginning -e -q -X fetch.wait.max.ms=100) || return 1
  ! grep -qiE "fail|error|authoriz" <<<"$out"
}
allowed() { if "$@"; then ok "allowed: $*"; else bad "refused, should be allowed: $*"; fi; }
refused() { if "$@"; then bad "ALLOWED, must be refused: $*"; else ok "refused: $*"; fi; }

# Each role's own work (also creates the topics the attacks aim at).
allowed produce ingest "${p}limf.xpdu"
allowed produce ingest "${p}limf.poi.events"
allowed produce admf "${p}limf.admin"
allowed produce admf "${p}limf.audit"
allowed produce mediator "${p}limf.hi.lea-a"
allowed produce mediator "${p}limf.mediator.state"
allowed consume mediator "${p}limf.xpdu"
allowed consume mediator "${p}limf.admin"
allowed consume handover "${p}limf.hi.lea-a"
allowed consume handover "${p}limf.admin"
allowed consume admf "${p}limf.audit"
allowed consume admf "${p}limf.poi.events"

# An agency's certificate, a POI's and one the broker knows no grant for.
for role in lemf relay-agw siptap client; do
  refused consume "$role" "${p}limf.hi.lea-a"
  refused consume "$role" "${p}limf.xpdu"
  refused produce "$role" "${p}limf.xpdu"
  refused produce "$role" "${p}limf.audit"
done
refused produce ingest "${p}limf.admin"
refused produce ingest "${p}limf.audit"
refused produce ingest "${p}limf.hi.lea-a"
refused consume ingest "${p}limf.xpdu"
refused produce mediator "${p}limf.audit"
refused produce mediator "${p}limf.admin"
refused produce handover "${p}limf.hi.lea-a"
refused consume handover "${p}limf.xpdu"
refused produce handover "${p}limf.audit"
refused consume admf "${p}limf.xpdu"
refused consume admf "${p}limf.hi.lea-a"

# Nothing speaks Kafka in the clear.
if grep -v '^#' "$dir/server.properties" | grep -q PLAINTEXT; then
  bad "the broker has a PLAINTEXT listener"
else
  ok "no PLAINTEXT listener"
fi
port=${LIMF_KAFKA_TLS_BOOTSTRAP##*:}
if timeout 10 kcat -b "127.0.0.1:$port" -L -m 3 2>/dev/null | grep -q "1 brokers"; then
  bad "a client without TLS read the metadata"
else
  ok "a client without TLS is refused"
fi

echo "$failures failed"
[ "$failures" -eq 0 ]
