#!/usr/bin/env bash
# Starts a real HDFS (Hadoop MiniDFSCluster) for the broker's tests.
#
#   run.sh SHAPE WORKDIR [--datanodes N] [--ports P1,P2,...] [--conf KEY=VALUE]...
#          [--ticket-lifetime SECONDS] [--https] [--httpfs] [--spnego]
#
# --https (plain or ha shape): the web ports (HttpFS's too) speak HTTPS only; WORKDIR/tls (on
# the classpath, for Hadoop's ssl-server.xml) holds a certificate made at start. --httpfs
# (plain or ha shape): an HttpFS gateway beside the cluster (fact httpfs=127.0.0.1:PORT). --spnego (secure shape):
# the web ports require SPNEGO.
# SHAPE: plain | ha | federated | viewfs | secure (MiniKdc + Kerberos HDFS). Prints "Ready!"
# on stdout once the cluster is up, then answers one line ("ok" / "error: ...") per stdin command; EOF on stdin shuts it down.
# See README.md. Env: JAVA_HOME, MINICLUSTER_JAVA_OPTS (extra JVM flags),
# MINICLUSTER_LOG_LEVEL (Hadoop log level in WORKDIR/minicluster.log, default INFO).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 2 ]; then
  echo "usage: $0 plain|ha|federated|viewfs|secure WORKDIR [--datanodes N] [--ports P1,P2,...] [--conf KEY=VALUE]... [--ticket-lifetime S]" >&2
  exit 2
fi
shape=$1
mkdir -p "$2"
workdir="$(cd "$2" && pwd)"
shift 2

# Made now: a classpath folder that does not exist at JVM start is never searched.
mkdir -p "$workdir/tls"
# Cheap when up to date; builds (stderr only) otherwise.
"$here/build.sh"

java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# shellcheck disable=SC2086
exec "$java" \
  -Xms64m -Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
  -Djava.net.preferIPv4Stack=true \
  -Dminicluster.log.file="$workdir/minicluster.log" \
  -Dminicluster.log.level="${MINICLUSTER_LOG_LEVEL:-INFO}" \
  -Dtest.build.data="$workdir/data/test" \
  ${MINICLUSTER_JAVA_OPTS:-} \
  -cp "$workdir/tls:$here/target/classes:$(cat "$here/target/classpath.txt")" \
  broker.minicluster.MiniCluster "$shape" "$workdir" "$@"
