#!/usr/bin/env bash
# The Kafka ACLs of limf: each daemon's principal may do what its role needs and nothing
# else (docs/SECURITY.md, "Kafka"). One table, two uses:
#   deploy/kafka-acls.sh print [PREFIX]
#       the kafka-acls.sh commands for an operator's cluster (run them with
#       --bootstrap-server and --command-config of an administrator added)
#   deploy/kafka-acls.sh apply KAFKA_DIR [PREFIX] [--wide]
#       grants them on a broker of deploy/kafka.sh, as its kafka-admin super user
# Readers may create the topics they read (with the settings limf gives them), so that
# daemons can start in any order; creating is not writing. limf-handover deletes the topic
# and group of a destination that is removed or re-pointed (docs/SECURITY.md, "Agencies").
# PREFIX is the deployment's topics.prefix (the same prefix names groups and
# transactional ids). Each grant names exact topics, except limf.hi.*, whose topics are
# created per destination. --wide grants every topic, group and transactional id that
# starts with PREFIX instead: for the test fixture, where each test picks its own prefix
# (tests/integration/kafka_acl checks the exact grants on a prefix of its own).
# Principals are certificate CNs (kafka.sh maps "CN=ingest,O=..." to User:ingest);
# LIMF_ACL_<ROLE>=NAME overrides one, e.g. LIMF_ACL_INGEST=ingest.mf1.example.net.
set -euo pipefail
umask 077   # the ACL listings name every daemon's principal

principal() {
  local var="LIMF_ACL_${1^^}"
  echo "User:${!var:-$1}"
}

# rules PREFIX: one grant a line: ROLE RESOURCE PATTERN NAME OPERATION...
# (Create on limf.xpdu for the mediator too: it ensures its input topic with its own
# partition count at start, which Kafka authorizes as Create even when the topic exists.)
rules() {
  local p=$1
  cat <<RULES
ingest topic literal ${p}limf.xpdu Write Describe Create
ingest topic literal ${p}limf.poi.events Write Describe Create
ingest topic literal ${p}limf.pois Read Describe Create
ingest group literal ${p}limf.pois.reader Read Describe
mediator topic literal ${p}limf.xpdu Read Describe Create
mediator topic literal ${p}limf.poi.events Read Describe
mediator topic literal ${p}limf.admin Read Describe Create
mediator topic literal ${p}limf.mediator.state Read Write Describe Create
mediator topic prefixed ${p}limf.hi. Write Describe Create
mediator group prefixed ${p}limf-mediator Read Describe
mediator transactional-id prefixed ${p}limf-mediator Write Describe
handover topic literal ${p}limf.admin Read Describe Create
handover topic prefixed ${p}limf.hi. Read Describe Create Delete
handover group prefixed ${p}limf-handover Read Describe Delete
admf topic literal ${p}limf.admin Read Write Describe Create DescribeConfigs
admf topic literal ${p}limf.audit Read Write Describe Create DescribeConfigs AlterConfigs
admf topic literal ${p}limf.poi.events Read Describe
admf topic literal ${p}limf.pois Write Describe Create
admf group prefixed ${p}limf Read Describe
RULES
}

# wide PREFIX: the same roles and operations over everything under PREFIX.
wide() {
  local p=$1
  rules "$p" | awk -v p="$p" '{ $3 = "prefixed"; $4 = p; print }'
}

# batches: the grants as few AclCommand runs: first the operations on one name united,
# then the names that get the same operations joined: ROLE RESOURCE PATTERN OP,... NAME...
batches() {
  awk '{ key = $1 " " $2 " " $3 " " $4
         for (i = 5; i <= NF; i++) if (!((key, $i) in seen)) {
           seen[key, $i] = 1
           if (key in ops) ops[key] = ops[key] "," $i; else ops[key] = $i }
         if (!(key in order)) { order[key] = ++n; keys[n] = key } }
       END { for (i = 1; i <= n; i++) { split(keys[i], k, " ")
               print k[1], k[2], k[3], ops[keys[i]], k[4] } }' |
    awk '{ key = $1 " " $2 " " $3 " " $4
           if (!(key in names)) { keys[++n] = key; names[key] = $5 } else names[key] = names[key] " " $5 }
         END { for (i = 1; i <= n; i++) print keys[i], names[keys[i]] }'
}

# args ROLE RESOURCE PATTERN OPS NAME...: kafka-acls.sh arguments of one batch.
args() {
  local role=$1 resource=$2 pattern=$3 ops=$4 name op
  shift 4
  printf -- '--add --allow-principal %s --resource-pattern-type %s' "$(principal "$role")" "$pattern"
  for name in "$@"; do printf -- ' --%s %s' "$resource" "$name"; done
  for op in ${ops//,/ }; do printf -- ' --operation %s' "$op"; done
  echo
}

print_cmds() {
  local line
  rules "${1:-}" | batches | while read -r line; do
    # shellcheck disable=SC2086
    echo "kafka-acls.sh --bootstrap-server BROKER:9093 --command-config admin.properties $(args $line)"
  done
}

apply() {
  local dir=${1:?KAFKA_DIR} prefix=${2:-} mode=${3:-} line
  # shellcheck disable=SC1091
  . "$dir/env"
  local list=rules
  [ "$mode" = --wide ] && list=wide
  # One JVM a batch, up to four at a time (each spends most of its time starting).
  local n=0 failed=0 pids=() pid
  while read -r line; do
    # shellcheck disable=SC2046,SC2086
    java -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$LIMF_KAFKA_JARS/*" \
      kafka.admin.AclCommand --bootstrap-server "$LIMF_KAFKA_TLS_BOOTSTRAP" \
      --command-config "$dir/clients/kafka-admin.properties" $(args $line) \
      >>"$dir/acls.log" 2>&1 &
    pids+=($!)
    n=$((n + 1))
    if [ "${#pids[@]}" -ge 4 ]; then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}")
    fi
  done < <("$list" "$prefix" | batches)
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if [ "$failed" != 0 ]; then
    echo "kafka-acls: a grant failed (see $dir/acls.log)" >&2
    return 1
  fi
  echo "kafka-acls: $n grants for prefix '$prefix'${mode:+ ($mode)}"
}

case "${1:-}" in
  print) print_cmds "${2:-}" ;;
  apply) shift; apply "$@" ;;
  rules) rules "${2:-}" ;;
  *) echo "usage: $0 print [PREFIX] | apply KAFKA_DIR [PREFIX] [--wide] | rules [PREFIX]" >&2; exit 2 ;;
esac
