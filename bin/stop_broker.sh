#!/usr/bin/env bash
# Stops apache_hdfs_broker: SIGTERM (calls in flight finish, open writers are aborted),
# a bounded wait, then SIGKILL as a last resort. `--daemon` is accepted and ignored (the
# StarRocks docs pass it). Only the process named by bin/apache_hdfs_broker.pid is ever
# signalled, and only after checking that it is our broker.
set -u

curdir=$(cd "$(dirname "$0")" && pwd)
export BROKER_HOME=$(cd "$curdir/.." && pwd)
pidfile="$curdir/apache_hdfs_broker.pid"
wait_s="${BROKER_STOP_WAIT_SECONDS:-30}"

for arg in "$@"; do
  case "$arg" in
    --daemon) ;;
    -h|--help) echo "usage: $0 [--daemon]"; exit 0 ;;
    *) echo "unknown option: $arg (usage: $0 [--daemon])" >&2; exit 1 ;;
  esac
done

if [ ! -f "$pidfile" ]; then
  echo "no broker is running: $pidfile does not exist" >&2
  exit 1
fi
pid=$(cat "$pidfile" 2>/dev/null)
if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
  echo "no broker is running (stale pid file $pidfile removed)" >&2
  rm -f "$pidfile"
  exit 1
fi
if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q apache_hdfs_broker; then
  echo "ERROR: process $pid named by $pidfile is not apache_hdfs_broker; not signalling it" >&2
  exit 1
fi

kill -TERM "$pid"
deadline=$((SECONDS + wait_s))
while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  echo "broker $pid did not stop within ${wait_s}s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null
  sleep 0.2
fi
rm -f "$pidfile"
echo "stopped apache_hdfs_broker (pid $pid)"
exit 0
