#!/usr/bin/env bash
# Runs an integration test against this build's Kafka fixture:
#   with_kafka.sh TEST_NAME command args...
# Exports the broker addresses, the PKI directory and a topic prefix unique to this run.
set -euo pipefail
name=$1
shift
env_file=${LIMF_BUILD_DIR:?}/test-kafka/env
if [ ! -f "$env_file" ]; then
  echo "with_kafka: no broker ($env_file missing); run through ctest so the fixture starts it" >&2
  exit 1
fi
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
export LIMF_TOPIC_PREFIX="t-$name-$(date +%s%N | tail -c 10)-"
export LIMF_TEST_NAME=$name
exec "$@"
