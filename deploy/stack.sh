#!/usr/bin/env bash
# Runs the whole limf chain on 127.0.0.1 for the quickstart and the end-to-end tests:
# a test PKI, a real Kafka 3.9 broker, limf-admf, limf-ingest, limf-mediator,
# limf-handover, two reference LEMFs (limf-lemf), limf-msrp-relay (agw mode) and
# limf-siptap (capturing SIP on lo).
#
#   deploy/stack.sh up RUN_DIR       start everything (idempotent per daemon)
#   deploy/stack.sh down RUN_DIR     stop everything cleanly (SIGTERM, Kafka last)
#   deploy/stack.sh kill NAME RUN_DIR    kill -9 one daemon (chaos tests); its supervisor
#                                        restarts it a second later, as systemd would
#   deploy/stack.sh start NAME RUN_DIR   start one daemon
#   deploy/stack.sh status RUN_DIR
#
# RUN_DIR holds pki/, kafka/, conf/, logs/, pids/ and state/ (ports, LEMF output).
# Binaries come from LIMF_BUILD_DIR (default: build/ beside this script). With
# STACK_KAFKA_DIR set (a directory of deploy/kafka.sh), the stack uses that broker and
# its PKI instead of starting its own; STACK_TOPIC_PREFIX isolates its topics.
# Sourcing this file (with STACK_SOURCED=1) gives the stack_* functions to test scripts.
set -euo pipefail

STACK_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$STACK_HERE/lib.sh"
LIMF_BUILD_DIR=${LIMF_BUILD_DIR:-$STACK_HERE/../build}
LIMF_BUILD_DIR=$(cd "$LIMF_BUILD_DIR" && pwd)

# The X2/X3 destination identifier the ADMF gives every POI over X1.
STACK_INGEST_DID=6c696d66-0000-4000-8000-000000000001

stack_bin() {
  local name=$1 path
  path=$LIMF_BUILD_DIR/bin/$name
  if [ ! -x "$path" ]; then
    echo "stack: $name not built in $LIMF_BUILD_DIR" >&2
    return 1
  fi
  echo "$path"
}

stack_conf_common() {
  local run=$1
  # shellcheck disable=SC1091
  . "$run/kafka/env"
  # Each daemon's Kafka identity is its own (kafka/clients/ROLE.conf, written by
  # kafka.sh): the broker grants each principal its role's topics only (kafka-acls.sh).
  cat >"$run/conf/common.conf" <<EOF
[topics]
prefix = ${STACK_TOPIC_PREFIX:-}
EOF
}

# stack_tls_keys PREFIX ROLE RUN: the TLS key group of one endpoint.
stack_tls_keys() {
  local prefix=$1 role=$2 run=$3
  cat <<EOF
$prefix.cert = $run/pki/$role.pem
$prefix.key = $run/pki/$role.key
$prefix.ca = $run/pki/ca.pem
EOF
}

# stack_ready_keys NAME RUN: where the daemon writes its ready file (the ports it
# listens on, li_daemon.h), which stack_start waits for.
stack_ready_keys() {
  echo "[daemon]"
  echo "ready_file = $(stack_ready_file "$1" "$2")"
}

stack_write_confs() {
  local run=$1
  mkdir -p "$run/conf" "$run/logs" "$run/pids" "$run/state"
  stack_conf_common "$run"
  {
    stack_ready_keys admf "$run"
    echo "[rest]"
    echo "listen = 127.0.0.1:0"
    # A certificate's CN gives no role by itself (rest.cn_is_role is off): the stack's
    # operator, auditor and admin certificates are mapped one by one.
    echo "role.operator = operator"
    echo "role.auditor = auditor"
    echo "role.admin = admin"
    stack_tls_keys tls admf "$run"
    echo "[x1]"
    echo "admf_id = limf-admf"
    echo "ingest_address = 127.0.0.1:$(stack_port "$run" ingest)"
    echo "ingest_did = $STACK_INGEST_DID"
    echo "reconcile_interval_s = 60"
    echo "retry_max_s = 5"
    stack_tls_keys tls admf "$run"
    echo "[admf]"
    echo "audit_key_file = $run/conf/admf-audit.key"
  } >"$run/conf/admf.conf"
  # The audit trail's HMAC key (docs/REST.md, "Audit trail"): 32 random octets, 0600,
  # outside Kafka. Kept across restarts of the stack: a new key makes the old trail
  # unverifiable (rotation keeps the old one: admf.audit_previous_key_files).
  [ -f "$run/conf/admf-audit.key" ] ||
    (umask 077 && openssl rand -hex 32 >"$run/conf/admf-audit.key")
  {
    stack_ready_keys ingest "$run"
    echo "[ingest]"
    echo "listen = 127.0.0.1:$(stack_port "$run" ingest)"
    echo "metrics.listen = 127.0.0.1:0"
    stack_tls_keys tls ingest "$run"
  } >"$run/conf/ingest.conf"
  {
    stack_ready_keys mediator "$run"
    echo "[mediator]"
    # Group and transactional identities carry the topic prefix, so that several stacks
    # can share one broker.
    echo "group_id = ${STACK_TOPIC_PREFIX:-}limf-mediator"
    echo "instance_id = ${STACK_TOPIC_PREFIX:-}mediator-1"
    echo "partitions = 8"
    echo "session_timeout_s = 300"
    echo "x3_wait_ms = 5000"
    # The key of the Kafka key hashes (docs/MEDIATION.md): one per deployment, kept
    # across restarts (a restarted mediator must hash as before).
    [ -s "$run/conf/mediator.hashkey" ] || head -c 32 /dev/urandom >"$run/conf/mediator.hashkey"
    echo "key_file = $run/conf/mediator.hashkey"
  } >"$run/conf/mediator.conf"
  {
    stack_ready_keys handover "$run"
    echo "[handover]"
    echo "group = ${STACK_TOPIC_PREFIX:-}limf-handover"
    echo "metrics.listen = 127.0.0.1:0"
    stack_tls_keys tls handover "$run"
  } >"$run/conf/handover.conf"
  for lemf in lemf lemf2; do
    {
      stack_ready_keys "$lemf" "$run"
      echo "[lemf]"
      echo "listen = 127.0.0.1:0"
      echo "out = $run/state/$lemf.jsonl"
      echo "raw = $run/state/$lemf.raw"
      echo "summary = $run/state/$lemf.summary"
      echo "metrics.listen = 127.0.0.1:0"
      stack_tls_keys tls "$lemf" "$run"
    } >"$run/conf/$lemf.conf"
  done
  # The POIs have no x2x3.address: they send X2/X3 to the destination limf-admf creates
  # on them over X1 (x1.ingest_address above).
  {
    stack_ready_keys relay "$run"
    echo "[relay]"
    # The control API: a Unix socket served to this user only (the quickstart's
    # IMS-ALG, stack_session below, runs as the same user).
    echo "control.socket = $run/state/relay.ctl"
    echo "ue.listen_host = 127.0.0.1"
    echo "metrics.listen = 127.0.0.1:0"
    # Mutual TLS: the operator's monitoring (its certificate "monitoring") sees the series
    # that say what is tapped; siptap's below is plain HTTP and shows none of them.
    stack_tls_keys metrics.tls relay-agw "$run"
    stack_tls_keys ue.tls relay-agw "$run"
    echo "[x1]"
    echo "listen = 127.0.0.1:0"
    echo "ne_id = relay-agw"
    echo "admf_id = limf-admf"
    # Only the ADMF's certificate tasks the POI, not any other of the CA (issue 15).
    echo "allowed_clients = admf"
    stack_tls_keys tls relay-agw "$run"
    echo "[x2x3]"
    echo "poi_id = relay-agw"
    echo "keepalive_s = 1"
    stack_tls_keys tls relay-agw "$run"
    echo "tls.peer_name = 127.0.0.1"
  } >"$run/conf/relay.conf"
  {
    stack_ready_keys siptap "$run"
    echo "[siptap]"
    echo "interface = lo"
    echo "filter = udp port $(stack_port "$run" sip_uas) or udp port $(stack_port "$run" sip_uac)"
    echo "metrics.listen = 127.0.0.1:0"
    echo "[x1]"
    echo "listen = 127.0.0.1:0"
    echo "ne_id = siptap"
    echo "admf_id = limf-admf"
    echo "allowed_clients = admf"
    stack_tls_keys tls siptap "$run"
    echo "[x2x3]"
    echo "poi_id = siptap"
    echo "keepalive_s = 1"
    stack_tls_keys tls siptap "$run"
    echo "tls.peer_name = 127.0.0.1"
  } >"$run/conf/siptap.conf"
}

# stack_port RUN NAME: a port chosen once per run directory and kept across restarts,
# so that POIs reconnect to a restarted ingest at the same address.
stack_port() {
  local run=$1 name=$2 file="$1/state/port.$2"
  if [ ! -s "$file" ]; then
    li_pick_port >"$file"
  fi
  cat "$file"
}

# stack_daemon_cmd NAME RUN: the command line of one daemon.
stack_daemon_cmd() {
  local name=$1 run=$2
  case $name in
    admf) echo "$(stack_bin limf-admf) -c $run/kafka/clients/admf.conf -c $run/conf/common.conf -c $run/conf/admf.conf" ;;
    ingest) echo "$(stack_bin limf-ingest) -c $run/kafka/clients/ingest.conf -c $run/conf/common.conf -c $run/conf/ingest.conf" ;;
    mediator) echo "$(stack_bin limf-mediator) -c $run/kafka/clients/mediator.conf -c $run/conf/common.conf -c $run/conf/mediator.conf" ;;
    handover) echo "$(stack_bin limf-handover) -c $run/kafka/clients/handover.conf -c $run/conf/common.conf -c $run/conf/handover.conf" ;;
    lemf | lemf2) echo "$(stack_bin limf-lemf) -c $run/conf/$name.conf" ;;
    relay) echo "$(stack_bin limf-msrp-relay) -c $run/conf/relay.conf" ;;
    siptap) echo "$(stack_bin limf-siptap) -c $run/conf/siptap.conf" ;;
    *) echo "stack: unknown daemon $name" >&2; return 1 ;;
  esac
}

# The file a daemon writes once it serves, which start waits for.
stack_ready_file() {
  echo "$2/state/$1.ready"
}

stack_start() {
  local name=$1 run=$2 pidfile="$2/pids/$1.pid" cmd ready
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    return 0
  fi
  cmd=$(stack_daemon_cmd "$name" "$run")
  ready=$(stack_ready_file "$name" "$run")
  rm -f "$ready"
  # Each daemon runs under a supervisor that restarts it, as systemd would.
  # shellcheck disable=SC2086
  nohup "$STACK_HERE/supervise.sh" "$run/pids/$name.child" "$run/logs/$name.log" $cmd \
    >/dev/null 2>&1 </dev/null &
  echo $! >"$pidfile"
  if ! li_wait_file "$ready" 60; then
    echo "stack: $name did not start; its log:" >&2
    tail -n 20 "$run/logs/$name.log" >&2
    return 1
  fi
  sleep 0.2
  if grep -q "supervise: .* exited" "$run/logs/$name.log" 2>/dev/null; then
    echo "stack: $name exited; its log:" >&2
    tail -n 20 "$run/logs/$name.log" >&2
    return 1
  fi
}

# stack_kill9 NAME RUN: kill -9 the daemon (not its supervisor, which restarts it).
stack_kill9() {
  local child="$2/pids/$1.child"
  [ -f "$child" ] || return 0
  kill -KILL "$(cat "$child")" 2>/dev/null || true
}

STACK_DAEMONS=(lemf lemf2 ingest mediator handover admf relay siptap)

stack_up() {
  local run=$1
  mkdir -p "$run"
  run=$(cd "$run" && pwd)
  mkdir -p "$run/state" "$run/conf" "$run/logs" "$run/pids"
  if [ -n "${STACK_KAFKA_DIR:-}" ]; then
    # A broker someone else runs (the test fixture): use it and its PKI.
    ln -sfn "$STACK_KAFKA_DIR" "$run/kafka"
    ln -sfn "$(. "$STACK_KAFKA_DIR/env" && echo "$LIMF_PKI_DIR")" "$run/pki"
  else
    "$STACK_HERE/pki.sh" "$run/pki" >/dev/null
    "$STACK_HERE/kafka.sh" start "$run/kafka" "$run/pki"
    "$STACK_HERE/kafka-acls.sh" apply "$run/kafka" "${STACK_TOPIC_PREFIX:-}"
  fi
  stack_write_confs "$run"
  for d in "${STACK_DAEMONS[@]}"; do
    stack_start "$d" "$run"
    echo "stack: $d running (pid $(cat "$run/pids/$d.child"), log $run/logs/$d.log)"
  done
}

stack_down() {
  local run=$1
  local i
  for ((i = ${#STACK_DAEMONS[@]} - 1; i >= 0; i--)); do
    li_stop_pid "$run/pids/${STACK_DAEMONS[$i]}.pid" 30
  done
  [ -L "$run/kafka" ] || "$STACK_HERE/kafka.sh" stop "$run/kafka"
}

# stack_rest RUN ROLE METHOD PATH [BODY]: one call to the ADMF's REST API with the
# client certificate of ROLE (operator, auditor, admin) and the ticket STACK_REASON
# (every change needs one). Prints the body; fails on 4xx/5xx.
stack_rest() {
  local run=$1 role=$2 method=$3 path=$4 body=${5:-}
  local args=(-sS --fail-with-body --cacert "$run/pki/ca.pem" --cert "$run/pki/$role.pem"
              --key "$run/pki/$role.key" -X "$method"
              -H "X-Reason: ${STACK_REASON:-limf demo, ticket DEMO-1}"
              "https://127.0.0.1:$(li_ready_port "$run/state/admf.ready" rest)$path")
  if [ -n "$body" ]; then
    args+=(-H 'Content-Type: application/json' --data "$body")
  fi
  curl "${args[@]}"
}

# stack_cert_sha256 PEM: the certificate's SHA-256 fingerprint as hex pairs.
stack_cert_sha256() {
  openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

# stack_provision_poi RUN ID ROLE X1_PORT: registers an intercept point whose certificate
# (X1 and X2/X3) is pki/ID.pem: the ADMF tasks it, the ingest and the mediator accept
# its X2/X3 only then.
stack_provision_poi() {
  local run=$1 id=$2 role=$3 x1_port=$4
  stack_rest "$run" operator POST /v1/intercept-points "{\"id\":\"$id\",\"role\":\"$role\",
    \"x1_url\":\"https://127.0.0.1:$x1_port/X1/NE\",
    \"cert_sha256\":\"$(stack_cert_sha256 "$run/pki/$id.pem")\"}" >/dev/null
}

# stack_provision_pois RUN: registers the relay and the SIP tap as intercept points.
stack_provision_pois() {
  local run=$1 x1_relay x1_siptap
  x1_relay=$(li_ready_port "$run/state/relay.ready" x1)
  x1_siptap=$(li_ready_port "$run/state/siptap.ready" x1)
  stack_provision_poi "$run" relay-agw agw "$x1_relay"
  stack_provision_poi "$run" siptap sip "$x1_siptap"
}

# stack_provision_destination RUN ID LEMF: an LEA destination served by one of the LEMFs.
stack_provision_destination() {
  local run=$1 id=$2 lemf=$3 port
  port=$(li_ready_port "$run/state/$lemf.ready" hi)
  stack_rest "$run" operator POST /v1/destinations "{\"id\":\"$id\",\"name\":\"LEA $id\",
    \"hi2_address\":\"127.0.0.1:$port\",\"hi3_address\":\"127.0.0.1:$port\",
    \"transport\":\"tls\",\"pinned_sha256\":[\"$(stack_cert_sha256 "$run/pki/$lemf.pem")\"],
    \"operator_id\":\"LIMF-OP\",\"network_element_id\":\"limf-demo\",
    \"delivery_country\":\"DE\",\"keepalive_interval_s\":2,\"keepalive_timeout_s\":5}" >/dev/null
}

# stack_provision_warrant RUN ID LIID TARGET DESTINATION [END_OFFSET_S]: a warrant for one
# SIP URI target, IRI and CC, valid from now for END_OFFSET_S seconds (default 1 day).
# Prints the warrant's JSON.
stack_provision_warrant() {
  local run=$1 id=$2 liid=$3 target=$4 dest=$5 end_s=${6:-86400}
  local start end
  start=$(date -u -d '-5 seconds' +%Y-%m-%dT%H:%M:%SZ)
  end=$(date -u -d "+$end_s seconds" +%Y-%m-%dT%H:%M:%SZ)
  stack_rest "$run" operator POST /v1/warrants "{\"id\":\"$id\",\"liid\":\"$liid\",
    \"auth_country\":\"DE\",\"legal_reference\":\"demo order $id\",
    \"targets\":[{\"type\":\"sip-uri\",\"value\":\"$target\"}],\"delivery\":\"iri+cc\",
    \"destination_ids\":[\"$dest\"],\"start\":\"$start\",\"end\":\"$end\"}"
}

# stack_session RUN TAG CALLER [SEND...]: one e2m MSRP session between CALLER and bob,
# with real parts: SIP over UDP on loopback from sipp (INVITE with the MSRP SDP offer,
# 200 with the answer, ACK, BYE, 200), seen by limf-siptap; MSRP over TLS from a test UE
# through limf-msrp-relay (agw mode) to a second test UE on the network side over TCP.
# SEND arguments are limf-test-ue --send specs for the calling UE (default: two
# messages, one of them chunked); the called UE answers each and sends one back.
# Leaves the exchanged bytes in RUN/sessions/TAG/ (ue.sent, ue.recv, net.sent, net.recv:
# raw MSRP; sip-*.log: sipp's logs).
stack_session() {
  local run=$1 tag=$2 caller=$3
  shift 3
  local sends=("$@")
  [ ${#sends[@]} -gt 0 ] || sends=(300 20000/4096)
  local dir="$run/sessions/$tag" ue_bin ctl net_port uas_port uac_port
  mkdir -p "$dir"
  ue_bin=$(stack_bin limf-test-ue)
  ctl=$(li_ready_socket "$run/state/relay.ready" control)
  net_port=$(li_pick_port)
  uas_port=$(stack_port "$run" sip_uas)
  uac_port=$(stack_port "$run" sip_uac)
  local ue_path="msrps://127.0.0.1:7394/${tag}ue;tcp"
  local net_path="msrp://127.0.0.1:$net_port/${tag}net;tcp"
  local ue_fp
  ue_fp=$("$ue_bin" --gen-cert "$dir/ue" | tail -n 1)

  # The called side: network leg of the relay, plain TCP (agw mode).
  "$ue_bin" --listen "127.0.0.1:$net_port" --tcp --path "$net_path" --to auto \
    --send 700 --expect "${#sends[@]}" --recv-log "$dir/net.recv" --sent-log "$dir/net.sent" \
    --timeout-ms 30000 --linger-ms 300 >"$dir/net.out" 2>&1 &
  local net_pid=$!

  # The IMS-ALG's reservation at the IMS access gateway.
  local resp
  resp=$(curl -sS --fail-with-body --unix-socket "$ctl" -X POST "http://localhost/v1/sessions" \
    -H 'Content-Type: application/json' --data "{\"mode\":\"agw\",
      \"ue\":{\"transport\":\"tls\",\"fingerprint\":\"$ue_fp\",\"setup\":\"active\",
              \"path\":\"$ue_path\"},
      \"network\":{\"next_hop\":\"$net_path\"},\"target\":\"sip:$caller@limf.test\"}")
  echo "$resp" >"$dir/reservation.json"

  # SIP: the called UE answers, the caller invites and hangs up after the MSRP exchange.
  (cd "$dir" && exec sipp -sf "$STACK_HERE/demo/uas.xml" -i 127.0.0.1 -p "$uas_port" \
     -key path "$net_path" -m 1 -timeout 30 -timeout_error -trace_err \
     >"$dir/sip-uas.out" 2>&1 </dev/null) &
  local uas_pid=$!
  (cd "$dir" && exec sipp -sf "$STACK_HERE/demo/uac.xml" -i 127.0.0.1 -p "$uac_port" \
     -key caller "$caller" -key callee bob -key path "$ue_path" \
     -key fingerprint "${ue_fp/sha-256/SHA-256}" -d 2500 -m 1 -timeout 30 \
     -timeout_error -trace_err "127.0.0.1:$uas_port" >"$dir/sip-uac.out" 2>&1 </dev/null) &
  local uac_pid=$!
  sleep 1

  # MSRP over TLS through the relay, while the dialog is up.
  local send_args=()
  for s in "${sends[@]}"; do send_args+=(--send "$s"); done
  "$ue_bin" --connect "127.0.0.1:$(echo "$resp" | jq -r .ue_port)" \
    --cert "$dir/ue.pem" --key "$dir/ue.key" \
    --peer-fingerprint "$(echo "$resp" | jq -r .fingerprint)" \
    --path "$ue_path" --to "$(echo "$resp" | jq -r .ue_path)" "${send_args[@]}" \
    --expect 1 --recv-log "$dir/ue.recv" --sent-log "$dir/ue.sent" \
    --timeout-ms 30000 --linger-ms 300 >"$dir/ue.out" 2>&1
  local rc=0
  wait "$net_pid" || rc=1
  wait "$uac_pid" || rc=1
  wait "$uas_pid" || rc=1
  curl -sS --unix-socket "$ctl" -X DELETE \
    "http://localhost/v1/sessions/$(echo "$resp" | jq -r .session)" \
    >/dev/null || true
  [ $rc = 0 ] || echo "stack: session $tag failed: see $dir" >&2
  return $rc
}

# stack_passthrough_session RUN TAG CALLER: CALLER's UE talks MSRP over TLS to a
# third-party peer (a conference server with a self-signed certificate) through the relay
# in AS mode. The operator first records a certificate exception for that peer over the
# REST API, so the relay passes the TLS bytes through without terminating them (and, as
# CALLER is tasked, reports it over X2). Leaves the bytes in RUN/sessions/TAG/.
stack_passthrough_session() {
  local run=$1 tag=$2 caller=$3
  local dir="$run/sessions/$tag" ue_bin ctl peer_port ue_fp peer_fp
  mkdir -p "$dir"
  ue_bin=$(stack_bin limf-test-ue)
  ctl=$(li_ready_socket "$run/state/relay.ready" control)
  peer_port=$(li_pick_port)
  ue_fp=$("$ue_bin" --gen-cert "$dir/ue" | tail -n 1)
  peer_fp=$("$ue_bin" --gen-cert "$dir/peer" | tail -n 1)
  stack_rest "$run" operator POST /v1/cert-exceptions "{\"id\":\"exc-$tag\",
    \"fingerprint_sha256\":\"${peer_fp#sha-256 }\",\"peer\":\"127.0.0.1\",\"scope\":\"peer\",
    \"reason\":\"third-party conference server\",\"approver\":\"duty officer\",
    \"expires\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"}" >/dev/null
  sleep 2 # the ADMF pushes the exception to the relay over X1
  "$ue_bin" --listen "127.0.0.1:$peer_port" --cert "$dir/peer.pem" --key "$dir/peer.key" \
    --peer-fingerprint "$ue_fp" --path "msrps://127.0.0.1:$peer_port/${tag}conf;tcp" \
    --to auto --send 900 --expect 1 --recv-log "$dir/peer.recv" --timeout-ms 30000 \
    --linger-ms 300 >"$dir/peer.out" 2>&1 &
  local peer_pid=$!
  local resp
  resp=$(curl -sS --fail-with-body --unix-socket "$ctl" -X POST "http://localhost/v1/sessions" \
    -H 'Content-Type: application/json' --data "{\"mode\":\"as\",
      \"ue\":{\"transport\":\"tls\",\"fingerprint\":\"$ue_fp\",
              \"path\":\"msrps://127.0.0.1:7394/${tag}ue;tcp\"},
      \"network\":{\"next_hop\":\"msrps://127.0.0.1:$peer_port/${tag}conf;tcp\",
                   \"fingerprint\":\"$peer_fp\"},\"target\":\"sip:$caller@limf.test\"}")
  echo "$resp" >"$dir/reservation.json"
  local rc=0
  "$ue_bin" --connect "127.0.0.1:$(echo "$resp" | jq -r .ue_port)" \
    --cert "$dir/ue.pem" --key "$dir/ue.key" \
    --peer-fingerprint "$(echo "$resp" | jq -r .fingerprint)" \
    --path "msrps://127.0.0.1:7394/${tag}ue;tcp" --to "$(echo "$resp" | jq -r .ue_path)" \
    --send 400 --expect 1 --sent-log "$dir/ue.sent" --timeout-ms 30000 --linger-ms 300 \
    >"$dir/ue.out" 2>&1 || rc=1
  wait "$peer_pid" || rc=1
  curl -sS --unix-socket "$ctl" -X DELETE \
    "http://localhost/v1/sessions/$(echo "$resp" | jq -r .session)" \
    >/dev/null || true
  [ $rc = 0 ] || echo "stack: passthrough session $tag failed: see $dir" >&2
  return $rc
}

if [ "${STACK_SOURCED:-0}" != 1 ]; then
  case "${1:-}" in
    up) stack_up "${2:?RUN_DIR}" ;;
    down) stack_down "${2:?RUN_DIR}" ;;
    kill) stack_kill9 "${2:?NAME}" "${3:?RUN_DIR}" ;;
    start) stack_start "${2:?NAME}" "$(cd "${3:?RUN_DIR}" && pwd)" ;;
    status)
      for d in "${STACK_DAEMONS[@]}"; do
        if [ -f "$2/pids/$d.child" ] && kill -0 "$(cat "$2/pids/$d.child")" 2>/dev/null; then
          echo "$d: running (pid $(cat "$2/pids/$d.child"))"
        else
          echo "$d: stopped"
        fi
      done ;;
    *) echo "usage: $0 up|down|status RUN_DIR | kill|start NAME RUN_DIR" >&2; exit 2 ;;
  esac
fi
