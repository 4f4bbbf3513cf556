#!/usr/bin/env bash
# A real Apache Kafka 3.9 single KRaft node on 127.0.0.1 for tests and the quickstart.
#   deploy/kafka.sh fetch               download the jars from Maven Central (cached)
#   deploy/kafka.sh start DIR PKI_DIR   format and start a broker in DIR; writes DIR/env
#   deploy/kafka.sh stop DIR            stop it cleanly (SIGTERM, then wait)
#   deploy/kafka.sh restart DIR         stop and start again on the same ports and data
# The broker has no PLAINTEXT listener: clients and the controller speak mutual TLS, the
# StandardAuthorizer admits each principal (a certificate's CN) only to what
# deploy/kafka-acls.sh grants it; `kafka` (the broker) and `kafka-admin` (tests' and
# operators' inspection tools) are super users.
# DIR/env holds LIMF_KAFKA_TLS_BOOTSTRAP; DIR/clients/ROLE.conf (limf's configuration
# format), ROLE.kcat (kcat -F) and kafka-admin.properties (Kafka's own tools) configure a
# client as ROLE with its certificate from PKI_DIR.
# Kafka 4.x is deliberately not used: it refuses consumer groups to librdkafka 2.0.
set -euo pipefail

KAFKA_VERSION=3.9.1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/lib.sh
. "$here/lib.sh"
cache=${LIMF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/limf}
jars=$cache/kafka-$KAFKA_VERSION

fetch() {
  if [ -f "$jars/.complete" ]; then
    return 0
  fi
  mkdir -p "$jars"
  echo "kafka: fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $jars"
  (cd "$here/kafka" && mvn -B -q dependency:copy-dependencies \
      -DoutputDirectory="$jars" -DincludeScope=runtime) || {
    echo "kafka: cannot fetch the jars from Maven Central" >&2
    return 1
  }
  ls "$jars"/kafka_2.13-$KAFKA_VERSION.jar >/dev/null
  touch "$jars/.complete"
}

wait_ready() {
  local dir=$1 port=$2 pid=$3
  for _ in $(seq 1 240); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "kafka: broker exited; last log lines:" >&2
      tail -n 30 "$dir/kafka.log" >&2
      return 1
    fi
    if kcat -F "$dir/clients/kafka-admin.kcat" -L -m 2 2>/dev/null | grep -q "1 brokers"; then
      return 0
    fi
    sleep 0.5
  done
  echo "kafka: broker not ready after 120 s" >&2
  return 1
}

launch() {
  local dir=$1
  # shellcheck disable=SC1091
  . "$dir/env"
  # A 1 GiB heap: with 512 MiB, G1's concurrent marking alone took 15% of the
  # broker's CPU under the whole-chain load (tests/bench/bench_chain.sh).
  local java_opts=(-Xms1g -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
                   -Dlog4j.configuration="file:$dir/log4j.properties"
                   -DZstdTempFolder="$dir/tmp" -Dorg.xerial.snappy.tempdir="$dir/tmp")
  mkdir -p "$dir/tmp"
  nohup java "${java_opts[@]}" -cp "$jars/*" kafka.Kafka "$dir/server.properties" \
    >>"$dir/kafka.log" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
  wait_ready "$dir" "${LIMF_KAFKA_TLS_BOOTSTRAP##*:}" "$(cat "$dir/kafka.pid")"
  echo "kafka: Apache Kafka $LIMF_KAFKA_VERSION ready at $LIMF_KAFKA_TLS_BOOTSTRAP (mutual TLS, ACLs), pid $(cat "$dir/kafka.pid")"
}

start() {
  local dir=$1 pki=$2
  fetch
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  pki=$(cd "$pki" && pwd)
  if [ -f "$dir/kafka.pid" ] && kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null; then
    echo "kafka: already running in $dir"
    return 0
  fi
  # A port found free can be taken by another process before the broker binds it: then
  # try again with new ports.
  for attempt in 1 2 3; do
    configure "$dir" "$pki"
    if launch "$dir"; then
      return 0
    fi
    grep -qE "Address already in use|Unable to start acceptor" "$dir/kafka.log" || return 1
    li_stop_pid "$dir/kafka.pid" 10
    echo "kafka: a port was taken meanwhile (attempt $attempt); trying other ports" >&2
    mv "$dir/kafka.log" "$dir/kafka.log.$attempt"
  done
  return 1
}

# configure DIR PKI_DIR: a fresh single-node configuration on new ports, formatted.
# Retention is bounded by size (2 GiB per partition, in 256 MiB segments): a development
# broker that runs benchmarks (tens of GB of 64 KiB MSRP) must not fill the disk.
configure() {
  local dir=$1 pki=$2
  rm -rf "$dir/data"
  local tls_port ctl_port
  tls_port=$(li_pick_port)
  ctl_port=$(li_pick_port)
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctl_port
listeners=SSL://127.0.0.1:$tls_port,CONTROLLER://127.0.0.1:$ctl_port
listener.security.protocol.map=SSL:SSL,CONTROLLER:SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=SSL
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:kafka;User:kafka-admin
# A certificate's principal is its CN ("CN=ingest,O=limf test" -> User:ingest).
ssl.principal.mapping.rules=RULE:^CN=([^,]+),.*$/\$1/,DEFAULT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
log.cleaner.backoff.ms=1000
log.segment.bytes=268435456
log.retention.bytes=2147483648
log.retention.check.interval.ms=60000
ssl.keystore.type=PEM
ssl.keystore.location=$pki/kafka-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$pki/ca.pem
ssl.client.auth=required
PROPS
  cat >"$dir/log4j.properties" <<LOG
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
LOG
  cat >"$dir/env" <<ENV
LIMF_KAFKA_TLS_BOOTSTRAP=127.0.0.1:$tls_port
LIMF_KAFKA_DIR=$dir
LIMF_PKI_DIR=$pki
LIMF_KAFKA_JARS=$jars
LIMF_KAFKA_VERSION=$(unzip -p "$jars/kafka-clients-$KAFKA_VERSION.jar" kafka/kafka-version.properties \
                     2>/dev/null | sed -n 's/^version=//p')
ENV
  write_clients "$dir" "$pki" "127.0.0.1:$tls_port"
  local id
  id=$(java -cp "$jars/*" -Dlog4j.configuration="file:$dir/log4j.properties" \
       kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  java -cp "$jars/*" -Dlog4j.configuration="file:$dir/log4j.properties" \
    kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1
}

# write_clients DIR PKI_DIR BOOTSTRAP: a client configuration per certificate of the PKI
# (0600: they name private keys). Only the daemons' principals are granted anything.
write_clients() {
  local dir=$1 pki=$2 bootstrap=$3 role cert
  mkdir -p "$dir/clients"
  for cert in "$pki"/*.pem; do
    role=$(basename "$cert" .pem)
    [ -f "$pki/$role.key" ] || continue
    (umask 077
     cat >"$dir/clients/$role.conf" <<CONF
[kafka]
bootstrap.servers = $bootstrap
security.protocol = ssl
ssl.ca.location = $pki/ca.pem
ssl.certificate.location = $pki/$role.pem
ssl.key.location = $pki/$role.key
CONF
     cat >"$dir/clients/$role.kcat" <<CONF
bootstrap.servers=$bootstrap
security.protocol=ssl
ssl.ca.location=$pki/ca.pem
ssl.certificate.location=$pki/$role.pem
ssl.key.location=$pki/$role.key
CONF
    )
  done
  (umask 077
   cat "$pki/kafka-admin.key" "$pki/kafka-admin.pem" >"$dir/clients/kafka-admin-keystore.pem"
   cat >"$dir/clients/kafka-admin.properties" <<CONF
bootstrap.servers=$bootstrap
security.protocol=SSL
ssl.truststore.type=PEM
ssl.truststore.location=$pki/ca.pem
ssl.keystore.type=PEM
ssl.keystore.location=$dir/clients/kafka-admin-keystore.pem
CONF
  )
}

stop() {
  [ -f "$1/kafka.pid" ] || return 0
  li_stop_pid "$1/kafka.pid"
  echo "kafka: stopped"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start "${2:?DIR}" "${3:?PKI_DIR}" ;;
  stop) stop "${2:?DIR}" ;;
  restart) stop "${2:?DIR}"; launch "$(cd "${2}" && pwd)" ;;
  *) echo "usage: $0 fetch | start DIR PKI_DIR | stop DIR | restart DIR" >&2; exit 2 ;;
esac
