# Shell helpers shared by deploy/ and tests/ scripts (sourced, not run).

# Everything these scripts create (keys, client configurations, the broker's data, logs,
# ready files, the LEMF's decoded output) is readable by the user that runs them only
# (docs/SECURITY.md, "Traces outside LI").
umask 077

# Prints a TCP port on 127.0.0.1 that nothing listens on.
li_pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    if ! (ss -Htln 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$p\$"); then
      echo "$p"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# li_wait_file FILE SECONDS: waits until FILE exists and is not empty.
li_wait_file() {
  local file=$1 limit=${2:-30}
  for _ in $(seq 1 $((limit * 10))); do
    [ -s "$file" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $file" >&2
  return 1
}

# li_ready_port FILE NAME: the port named NAME in a daemon's ready file
# (daemon.ready_file: {"pid":N,"ports":{"x1":40001,"metrics":40002}}); empty when the
# file does not name it.
li_ready_port() {
  sed -n 's/.*"ports":{[^}]*"'"$2"'":\([0-9]*\).*/\1/p' "$1" 2>/dev/null
}

# li_ready_socket FILE NAME: the path of the Unix socket named NAME in a daemon's ready
# file ("sockets":{"control":"/run/limf/relay.ctl"}); empty when the file does not name it.
li_ready_socket() {
  sed -n 's/.*"sockets":{[^}]*"'"$2"'":"\([^"]*\)".*/\1/p' "$1" 2>/dev/null
}

# li_wait_port PORT SECONDS: waits until something listens on 127.0.0.1:PORT.
li_wait_port() {
  local port=$1 limit=${2:-30}
  for _ in $(seq 1 $((limit * 10))); do
    ss -Htln 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$port\$" && return 0
    sleep 0.1
  done
  echo "timed out waiting for port $port" >&2
  return 1
}

# li_stop_pid FILE [SECONDS]: SIGTERM the process whose pid is in FILE, wait up to
# SECONDS (default 30), then SIGKILL.
li_stop_pid() {
  local file=$1 limit=${2:-30} pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((limit * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}
