#!/usr/bin/env bash
# Hadoop's own shell (FsShell, i.e. `hdfs dfs`) against a cluster started by run.sh: an
# independent client for tests to set up or check files the broker reads or writes.
#
#   fs.sh WORKDIR -ls /            HADOOP_USER_NAME=alice fs.sh WORKDIR -mkdir /tmp/a
#
# Reads WORKDIR/conf (so hdfs://ns1/..., viewfs://cluster/... and relative paths work).
# Each call starts a JVM (~1 s). Needs a prior build.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 2 ]; then
  echo "usage: $0 WORKDIR FSSHELL-ARGS..." >&2
  exit 2
fi
workdir="$(cd "$1" && pwd)"
shift
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$java" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
  -Djava.net.preferIPv4Stack=true \
  -Dminicluster.log.file="$workdir/fs.log" -Dminicluster.log.level=WARN \
  -cp "$workdir/conf:$here/target/classes:$(cat "$here/target/classpath.txt")" \
  org.apache.hadoop.fs.FsShell "$@"
