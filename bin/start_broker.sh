#!/usr/bin/env bash
# Starts apache_hdfs_broker, with the Java broker's contract:
#   bin/start_broker.sh [--daemon]
# BROKER_HOME is the parent of bin/, the pid file is bin/apache_hdfs_broker.pid, and
# stdout/stderr are appended to $BROKER_LOG_DIR/apache_hdfs_broker.out. Every UPPER_CASE
# `KEY = value` line of conf/apache_hdfs_broker.conf is exported to the environment
# (HADOOP_USER_NAME, KRB5_CONFIG, BROKER_LOG_DIR ...). With --daemon the broker detaches,
# and the script waits until it listens (or says why it could not start).
set -u

curdir=$(cd "$(dirname "$0")" && pwd)
export BROKER_HOME=$(cd "$curdir/.." && pwd)
export PID_DIR="$curdir"

run_daemon=0
for arg in "$@"; do
  case "$arg" in
    --daemon) run_daemon=1 ;;
    -h|--help) echo "usage: $0 [--daemon]"; exit 0 ;;
    *) echo "unknown option: $arg (usage: $0 [--daemon])" >&2; exit 1 ;;
  esac
done

conf="$BROKER_HOME/conf/apache_hdfs_broker.conf"
if [ ! -f "$conf" ]; then
  echo "ERROR: $conf not found" >&2
  exit 1
fi

export BROKER_LOG_DIR="$BROKER_HOME/log"
# UPPER_CASE settings become environment variables; ${VAR} in them is expanded.
while IFS= read -r line || [ -n "$line" ]; do
  if [[ "$line" =~ ^[[:blank:]]*([A-Z][A-Z0-9_]*)[[:blank:]]*[=:][[:blank:]]*(.*)$ ]]; then
    key="${BASH_REMATCH[1]}"
    value="${BASH_REMATCH[2]}"
    value="${value%"${value##*[![:blank:]]}"}"
    value=$(eval "printf '%s' \"$value\"" 2>/dev/null) || value="${BASH_REMATCH[2]}"
    export "$key=$value"
  fi
done < "$conf"

binary="${BROKER_BIN:-$BROKER_HOME/lib/apache_hdfs_broker}"
if [ ! -x "$binary" ]; then
  echo "ERROR: broker binary $binary not found (build the package with ./build.sh)" >&2
  exit 1
fi

mkdir -p "$BROKER_LOG_DIR"
out="$BROKER_LOG_DIR/apache_hdfs_broker.out"
pidfile="$PID_DIR/apache_hdfs_broker.pid"

if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
      && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q apache_hdfs_broker; then
    echo "Broker running as process $pid. Stop it first." >&2
    exit 1
  fi
  rm -f "$pidfile"
fi

echo "==== $(date '+%Y-%m-%d %H:%M:%S %Z') starting apache_hdfs_broker (pid file $pidfile) ====" >> "$out"

if [ "$run_daemon" -eq 0 ]; then
  # Foreground: output goes to .out like the Java broker's; signals reach the broker.
  "$binary" --conf "$conf" >> "$out" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$pidfile"
  trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
  while kill -0 "$pid" 2>/dev/null; do
    wait "$pid"
    rc=$?
  done
  rm -f "$pidfile"
  exit "${rc:-0}"
fi

offset=$(stat -c %s "$out")
nohup "$binary" --conf "$conf" >> "$out" 2>&1 < /dev/null &
pid=$!
echo "$pid" > "$pidfile"

# Readiness: the broker prints one line naming `thrift` and its port once it listens.
wait_s="${BROKER_START_WAIT_SECONDS:-30}"
deadline=$((SECONDS + wait_s))
while [ "$SECONDS" -lt "$deadline" ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pidfile"
    echo "ERROR: apache_hdfs_broker failed to start:" >&2
    tail -c +"$((offset + 1))" "$out" | grep -v '^====' >&2
    exit 1
  fi
  if tail -c +"$((offset + 1))" "$out" | grep -q "thrift server listening"; then
    echo "apache_hdfs_broker started, pid $pid"
    exit 0
  fi
  sleep 0.1
done
echo "WARNING: apache_hdfs_broker (pid $pid) is not listening after ${wait_s}s; see $out and the log" >&2
exit 0
