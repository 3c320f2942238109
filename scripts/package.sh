#!/usr/bin/env bash
# Lays out a broker package like the Java broker's: DEST/apache_hdfs_broker/{bin,conf,lib}
# with BINARY as lib/apache_hdfs_broker (log/ is created at start).
#   scripts/package.sh BINARY DEST
# build.sh uses it for the release package; tests use it with the test build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$1
dest=$2
pkg="$dest/apache_hdfs_broker"
mkdir -p "$pkg/bin" "$pkg/conf" "$pkg/lib"
cp "$root/bin/start_broker.sh" "$root/bin/stop_broker.sh" "$pkg/bin/"
cp "$root/conf/apache_hdfs_broker.conf" "$pkg/conf/"
cp "$binary" "$pkg/lib/apache_hdfs_broker"
