#!/usr/bin/env bash
# Lays out a broker package like the Java broker's: DEST/apache_hdfs_broker/{bin,conf,lib}
# with BINARY as lib/apache_hdfs_broker and the client CLI (default: broker_cli beside
# BINARY, where cargo builds it) as bin/broker_cli, and an empty data/ (the shipped conf's
# broker_local_roots; log/ is created at start).
#   scripts/package.sh BINARY DEST [CLI]
# build.sh uses it for the release package; tests use it with the test build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$1
dest=$2
cli=${3:-$(dirname "$binary")/broker_cli}
pkg="$dest/apache_hdfs_broker"
mkdir -p "$pkg/bin" "$pkg/conf" "$pkg/lib" "$pkg/data"
cp "$root/bin/start_broker.sh" "$root/bin/stop_broker.sh" "$pkg/bin/"
cp "$cli" "$pkg/bin/broker_cli"
cp "$root/conf/apache_hdfs_broker.conf" "$pkg/conf/"
cp "$binary" "$pkg/lib/apache_hdfs_broker"
