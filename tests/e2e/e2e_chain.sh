#!/usr/bin/env bash
# End-to-end acceptance on the whole chain (issue 8): real Kafka (the CTest fixture),
# every daemon as its own process, provisioning over the REST API, SIP from sipp seen by
# limf-siptap on loopback, MSRP over TLS between test UEs through limf-msrp-relay, and
# what the reference LEMFs decoded. Checks what an agency would check:
#   - HI2: IRI-BEGIN with the INVITE, CONTINUEs (the BYE too), END with the 200 to the
#     BYE, each carrying the SIP message byte-identical to what crossed the wire (tshark
#     capture as the oracle);
#   - HI1 notifications on HI2 (no CIN): each warrant's liActivated, and liDeactivated
#     when its window ends;
#   - HI3: every MSRP message of the target's UE leg, byte-identical and in order, with
#     the right direction;
#   - one CIN for the session, and contiguous sequence numbers from 0 on each handover
#     interface (HI2 and HI3 are numbered apart, TS 102 232-1);
#   - an untasked user's session yields nothing;
#   - a second warrant on the same target from another agency reaches the second LEMF
#     independently (own LIID, own CIN space and sequence numbers);
#   - a session passed through under a certificate exception yields an HI1
#     alarms-indicator (content not available) and no CC;
#   - a warrant's end time stops delivery;
#   - each LEMF's /metrics counts exactly what it received and wrote out.
# Needs root (siptap captures on lo); skipped (77) otherwise.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: limf-siptap needs root or CAP_NET_RAW to capture on lo"
  exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
export LIMF_BUILD_DIR=${LIMF_BUILD_DIR:?run through ctest}
export STACK_SOURCED=1 STACK_KAFKA_DIR=$LIMF_KAFKA_DIR STACK_TOPIC_PREFIX=$LIMF_TOPIC_PREFIX
# shellcheck source=deploy/stack.sh
. "$here/../../deploy/stack.sh"
# shellcheck source=tests/e2e/lemf_metrics.sh
. "$here/lemf_metrics.sh"

run=$LIMF_BUILD_DIR/e2e/$LIMF_TEST_NAME
rm -rf "$run"
mkdir -p "$run"
failures=0
check() {
  local what=$1
  shift
  if "$@"; then
    echo "ok   - $what"
  else
    echo "FAIL - $what"
    failures=$((failures + 1))
  fi
}
cleanup() {
  stack_down "$run" >/dev/null 2>&1 || true
  if [ $failures -ne 0 ]; then
    for f in "$run"/logs/*.log; do echo "--- $f"; tail -n 15 "$f"; done
  fi
}
trap cleanup EXIT

stack_up "$run"
STACK_REASON="e2e acceptance, ticket E2E-1"
stack_provision_destination "$run" lea1 lemf
stack_provision_destination "$run" lea2 lemf2
stack_provision_pois "$run"
stack_provision_warrant "$run" w1 LIID-E2E-1 sip:alice@limf.test lea1 >/dev/null
stack_provision_warrant "$run" w2 LIID-E2E-2 sip:alice@limf.test lea2 >/dev/null
# A warrant on dave that ends 25 seconds from now.
stack_provision_warrant "$run" w3 LIID-E2E-3 sip:dave@limf.test lea1 25 >/dev/null
w3_end=$(($(date +%s) + 25))
sleep 2

# The oracle for the SIP bytes: what crossed loopback, captured by tshark.
tshark -q -i lo -f "udp port $(stack_port "$run" sip_uas)" -w "$run/sip.pcap" 2>/dev/null &
tshark_pid=$!
sleep 1
stack_session "$run" dave1 dave 200
stack_session "$run" alice alice 300 20000/4096 1048576/16384 1000000
stack_session "$run" carol carol 500
sleep 1
kill -INT $tshark_pid
wait $tshark_pid || true

# Wait until both LEMFs stop receiving.
wait_quiet() {
  local file=$1 prev=-1 n
  for _ in $(seq 1 120); do
    n=$(cat "$file" 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] && [ "$n" = "$prev" ] && return 0
    prev=$n
    sleep 0.5
  done
}
wait_quiet "$run/state/lemf.jsonl"
wait_quiet "$run/state/lemf2.jsonl"

lemf1=$run/state/lemf.jsonl
lemf2=$run/state/lemf2.jsonl
# The session's records (HI1 notifications of the warrant carry no CIN).
alice=$(jq -c 'select(.liid == "LIID-E2E-1" and .cin != null)' "$lemf1")
notes() { jq -r --arg l "$2" 'select(.liid == $l and .hi1 != null and .cin == null) | .hi1' "$1"; }

# --- HI2 ---
cins=$(echo "$alice" | jq -r .cin | sort -u)
check "one CIN for alice's session at LEA 1" [ "$(echo "$cins" | wc -l)" = 1 ]
seq_ok() { jq -s --argjson h "$1" '[.[] | select(.hi == $h) | .seq] | sort == [range(0; length)]'; }
check "HI2 sequence numbers 0..n-1, no gap, no duplicate" [ "$(echo "$alice" | seq_ok 2)" = true ]
check "HI3 sequence numbers 0..n-1 of their own" [ "$(echo "$alice" | seq_ok 3)" = true ]
check "LEA 1 was told of w1's activation (liActivated, HI1 without CIN, seq 0)" \
  [ "$(notes "$lemf1" LIID-E2E-1 | head -n 1)" = liActivated ]
first=$(echo "$alice" | jq -s -c 'sort_by(.seq) | .[0]')
check "IRI-BEGIN first, with the INVITE" \
  [ "$(echo "$first" | jq -r '"\(.hi) \(.iri_type) \(.sip | split(" ")[0])"')" = "2 begin INVITE" ]
check "IRI-CONTINUE for the 200 and the ACK" \
  [ "$(echo "$alice" | jq -s '[.[] | select(.iri_type == "continue")] | length >= 2')" = true ]
check "the BYE is an IRI-CONTINUE" \
  [ "$(echo "$alice" | jq -s '[.[] | select(.iri_type == "continue") | .sip | split(" ")[0]] | index("BYE") != null')" = true ]
check "IRI-END with the 200 to the BYE" \
  [ "$(echo "$alice" | jq -s -r '[.[] | select(.iri_type == "end")] | .[0].sip | startswith("SIP/2.0 200 ") and test("CSeq: *[0-9]+ BYE")')" = true ]

# Every SIP message of alice's dialog as it crossed the wire, in order, is an IRI.
tshark -r "$run/sip.pcap" -d "udp.port==$(stack_port "$run" sip_uas),sip" \
  -Y "sip.Call-ID && sip.from.user == \"alice\"" -T fields \
  -e udp.payload 2>/dev/null | tr -d ':' | sort -u >"$run/wire.hex"
echo "$alice" | jq -s -r 'sort_by(.seq) | .[] | select(.hi == 2 and .sip != null) | .sip | @base64' |
  while read -r b; do echo "$b" | base64 -d | od -An -v -tx1 | tr -d ' \n'; echo; done |
  sort -u >"$run/hi2.hex"
check "every IRI carries a SIP message byte-identical to the wire (tshark)" \
  bash -c "[ -s '$run/hi2.hex' ] && ! comm -23 '$run/hi2.hex' '$run/wire.hex' | grep -q ."
check "every SIP message of the dialog on the wire was delivered" \
  bash -c "[ -s '$run/wire.hex' ] && ! comm -13 '$run/hi2.hex' '$run/wire.hex' | grep -q ."

# --- HI3 ---
cc_bytes() {
  echo "$alice" | jq -s -r --arg d "$1" \
    'sort_by(.seq) | .[] | select(.hi == 3 and .direction == $d) | .msrp | @base64' |
    while read -r b; do echo "$b" | base64 -d; done
}
cc_bytes fromTarget >"$run/cc.from"
cc_bytes toTarget >"$run/cc.to"
check "HI3 fromTarget = every MSRP byte alice's UE sent, in order" \
  cmp -s "$run/cc.from" "$run/sessions/alice/ue.sent"
check "HI3 toTarget = every MSRP byte alice's UE received, in order" \
  cmp -s "$run/cc.to" "$run/sessions/alice/ue.recv"
check "the 1 MB messages (chunked and whole) are in HI3" [ "$(stat -c %s "$run/cc.from")" -gt 2048576 ]

# --- POI metrics: what is tapped only over mutual TLS to the operator's monitoring ---
relay_metrics() {   # CURL-ARGS...: the relay's /metrics over HTTPS
  curl -s -m 10 --cacert "$run/pki/ca.pem" "$@" \
    "https://127.0.0.1:$(li_ready_port "$run/state/relay.ready" metrics)/metrics"
}
relay_tapped() {
  relay_metrics --cert "$run/pki/monitoring.pem" --key "$run/pki/monitoring.key" |
    awk '/^limf_relay_messages_tapped_total/ { print $2 }'
}
check "limf-msrp-relay counts the tapped messages at /metrics over mutual TLS" \
  [ "$(relay_tapped)" -gt 0 ]
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=monitoring -keyout "$run/rogue.key" -out "$run/rogue.pem" 2>/dev/null
check "the relay's /metrics refuses a certificate the CA did not sign" \
  bash -c "[ -z \"\$(curl -s -m 10 -k --cert '$run/rogue.pem' --key '$run/rogue.key' \
    https://127.0.0.1:$(li_ready_port "$run/state/relay.ready" metrics)/metrics)\" ]"
check "the relay's /metrics refuses a scraper without a certificate" \
  [ -z "$(relay_metrics)" ]
check "the relay's /metrics is not served over plain HTTP" \
  bash -c "! curl -s -m 10 http://127.0.0.1:$(li_ready_port "$run/state/relay.ready" metrics)/metrics | grep -q limf_"
curl -s -m 10 "http://127.0.0.1:$(li_ready_port "$run/state/siptap.ready" metrics)/metrics" \
  >"$run/siptap.metrics"
check "limf-siptap's plain /metrics counts SIP while alice is tasked" \
  grep -q '^limf_siptap_sip_messages_total [1-9]' "$run/siptap.metrics"
check "and says nothing of matches, tasks or X2 (nothing tells that someone is tapped)" \
  bash -c "! grep -qE '^limf_siptap_(matched|exported|dialogs|tasks|x2)' '$run/siptap.metrics'"

# --- untasked user ---
check "carol's session (no warrant) yields nothing at either LEMF" \
  bash -c "! grep -q carol '$lemf1' '$lemf2'"

# --- a second agency ---
alice2=$(jq -c 'select(.liid == "LIID-E2E-2" and .cin != null)' "$lemf2")
check "LEA 2 received the same session under its own LIID" \
  [ "$(echo "$alice2" | jq -s 'length')" = "$(echo "$alice" | jq -s 'length')" ]
lea2_seqs_ok() { [ "$(echo "$alice2" | seq_ok 2)" = true ] && [ "$(echo "$alice2" | seq_ok 3)" = true ]; }
check "LEA 2's sequence numbers run from 0 on their own (HI2 and HI3)" lea2_seqs_ok
check "LEA 1 never sees LIID-E2E-2, LEA 2 never sees LIID-E2E-1" \
  bash -c "! grep -q LIID-E2E-2 '$lemf1' && ! grep -q LIID-E2E-1 '$lemf2'"

# --- certificate exception: passthrough ---
before=$(jq -c 'select(.liid == "LIID-E2E-1")' "$lemf1" | wc -l)
stack_passthrough_session "$run" pass alice
sleep 2
wait_quiet "$lemf1"
pass=$(jq -c 'select(.liid == "LIID-E2E-1")' "$lemf1" | tail -n +$((before + 1)))
check "a passthrough under an exception yields an HI1 alarm naming it" \
  [ "$(echo "$pass" | jq -s '[.[] | select(.hi1 == "alarms-indicator" and ((.alarm // "") | test("exception|passthrough|not.available")))] | length > 0')" = true ]
check "and no CC: the content was never decrypted" \
  [ "$(echo "$pass" | jq -s '[.[] | select(.hi == 3)] | length')" = 0 ]
audit_names_exception() {
  stack_rest "$run" auditor GET "/v1/audit?object=exception/exc-pass" | grep -q exc-pass
}
check "the audit trail records the exception" audit_names_exception

# --- warrant end time ---
dave_before=$(jq -c 'select(.liid == "LIID-E2E-3" and .cin != null)' "$lemf1" | wc -l)
check "dave's session inside the warrant's window was delivered" [ "$dave_before" -gt 0 ]
now=$(date +%s)
[ "$now" -gt $((w3_end + 1)) ] || sleep $((w3_end + 2 - now))
stack_session "$run" dave2 dave 200
sleep 3
wait_quiet "$lemf1"
dave_after=$(jq -c 'select(.liid == "LIID-E2E-3" and .cin != null)' "$lemf1" | wc -l)
check "after the warrant's end time nothing more is delivered" [ "$dave_after" = "$dave_before" ]
check "and the end of w3's window is notified (liActivated, then liDeactivated)" \
  [ "$(notes "$lemf1" LIID-E2E-3 | tr '\n' ' ')" = "liActivated liDeactivated " ]
state=$(stack_rest "$run" operator GET /v1/warrants/w3 2>/dev/null | jq -r .state || echo "?")
check "the ADMF reports warrant w3 as expired (state: $state)" [ "$state" = expired ]

# --- the LEMFs' /metrics against what they wrote ---
check "limf-lemf's /metrics counts what LEMF 1 received and wrote" \
  e2e_lemf_metrics_agree "$run" lemf
check "limf-lemf's /metrics counts what LEMF 2 received and wrote" \
  e2e_lemf_metrics_agree "$run" lemf2
accepted=$(e2e_lemf_metric "$run" lemf 'limf_lemf_connections_total{result="accepted"}')
check "LEMF 1 counts the connections it served ($accepted)" [ "${accepted:-0}" -gt 0 ]
last=$(e2e_lemf_metric "$run" lemf limf_lemf_last_receipt_seconds)
check "LEMF 1's last receipt is recent ($last)" \
  awk -v t="${last:-0}" -v now="$(date +%s)" 'BEGIN { exit !(t > now - 60 && t <= now + 1) }'

# --- traces outside LI (docs/SECURITY.md) ---
# Every target, LIID, Call-ID and piece of content this run used: none may appear in a
# daemon's log (only in the LEMFs' output files).
{
  printf '%s\n' alice@limf.test dave@limf.test LIID-E2E-1 LIID-E2E-2 LIID-E2E-3
  tshark -r "$run/sip.pcap" -d "udp.port==$(stack_port "$run" sip_uas),sip" -T fields \
    -e sip.Call-ID 2>/dev/null | sort -u | awk 'length > 0' 
  # Runs of message bodies (test_ue's bodies: printable runs between CRLFs and dashes).
  tr -d '\r' <"$run/sessions/alice/ue.sent" |
    grep -avE '^(MSRP |To-Path:|From-Path:|Message-ID:|Byte-Range:|Content-Type:|Success-Report:|Failure-Report:|Status:|-------)' |
    tr -c '[:alnum:]' '\n' | awk 'length >= 12' | sort -u | awk 'n++ < 200' 
} >"$run/secrets"
check "the secrets list holds the run's Call-IDs and content ($(wc -l <"$run/secrets") lines)" \
  [ "$(wc -l <"$run/secrets")" -gt 10 ]
check "the grep finds them where they belong: the LEMF's output" \
  grep -q -F -f "$run/secrets" "$lemf1"
leaks=$(grep -F -l -f "$run/secrets" "$run"/logs/*.log || true)
check "no target, LIID, Call-ID or content in any daemon's log${leaks:+ (in: $leaks)}" [ -z "$leaks" ]

# Files that hold keys, content or decoded HI: the user's only (umask 077 in the scripts
# and li_daemon). No group/other access to keys and content, no group/other write anywhere
# but on the relay's control socket, which its IMS-ALG's group may use (mode 0660,
# SO_PEERCRED decides: docs/SECURITY.md, "The relay"); others get nothing there either.
bad_modes=$(find "$run/pki" -name '*.key' -perm /077; find "$run/state" -name 'lemf*' -perm /077
            find "$run/state" "$run/logs" "$run/conf" ! -type s -perm /022
            find "$run/state" -type s -perm /007
            find "$LIMF_KAFKA_DIR" -path '*data*' -perm /077 2>/dev/null | head -n 5)
check "keys, LEMF output, ready files and broker data are not readable or writable by others${bad_modes:+: $bad_modes}" \
  [ -z "$bad_modes" ]
# No core dumps: every daemon has a core limit of 0.
dumps=
for ready in "$run"/state/*.ready; do
  pid=$(jq -r .pid "$ready")
  limit=$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$pid/limits" 2>/dev/null)
  [ "$limit" = "0 0" ] || dumps="$dumps $(basename "$ready" .ready)=$limit"
done
check "every daemon runs with a core file size limit of 0${dumps:+:$dumps}" [ -z "$dumps" ]
# Non-dumpable: /proc/PID of a process that is not dumpable belongs to root whatever its
# user (proc(5)); seen on a limf-lemf run as nobody.
nb=$(mktemp -d)
cp "$(stack_bin limf-lemf)" "$nb/" && chmod 755 "$nb" "$nb/limf-lemf" && chown nobody "$nb"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$nb/limf-lemf" \
  -o lemf.listen=127.0.0.1:0 -o lemf.transport=tcp -o "lemf.out=$nb/out.jsonl" \
  -o "daemon.ready_file=$nb/ready" 2>"$nb/log" &
nobody_pid=$!
li_wait_file "$nb/ready" 10 || true
check "a daemon run as nobody is not dumpable (/proc/PID owned by root, not by nobody)" \
  [ "$(ps -o user= -p "$nobody_pid")/$(stat -c %U "/proc/$nobody_pid/status" 2>/dev/null)" = nobody/root ]
kill "$nobody_pid" 2>/dev/null; wait "$nobody_pid" 2>/dev/null || true
rm -rf "$nb"

echo "$failures failure(s)"
[ $failures = 0 ]
