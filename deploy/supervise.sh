#!/usr/bin/env bash
# Keeps one daemon running, as systemd's Restart=always does in production (see
# deploy/systemd/): restarts it a second after it exits, whatever the reason (a daemon
# exits on purpose on some fatal errors, e.g. a fenced Kafka transactional producer).
# SIGTERM stops the daemon cleanly (SIGTERM, wait) and then the supervisor.
#   supervise.sh CHILD_PID_FILE LOG_FILE command args...
set -u
umask 077   # the daemon's log
pidfile=$1
log=$2
shift 2
child=
stopping=0
stop() {
  stopping=1
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  rm -f "$pidfile"
  exit 0
}
trap stop TERM INT
while :; do
  "$@" >>"$log" 2>&1 </dev/null &
  child=$!
  echo "$child" >"$pidfile"
  wait "$child"
  rc=$?
  [ $stopping = 1 ] && break
  echo "supervise: $(basename "$1") exited with status $rc; restarting in 1 s" >>"$log"
  sleep 1
done
