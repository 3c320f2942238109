#!/usr/bin/env bash
# Builds a release and lays it out like the Java broker's package:
#   output/apache_hdfs_broker/{bin,conf,lib}   (log/ is created at start)
#   output/apache_hdfs_broker.tar.gz
# The binary lives in lib/, so the documented upgrade "replace bin and lib" swaps it.
set -euo pipefail
cd "$(dirname "$0")"

cargo build --release --locked

pkg=output/apache_hdfs_broker
rm -rf output
mkdir -p "$pkg/bin" "$pkg/conf" "$pkg/lib"
cp bin/start_broker.sh bin/stop_broker.sh "$pkg/bin/"
cp conf/apache_hdfs_broker.conf "$pkg/conf/"
cp target/release/apache_hdfs_broker "$pkg/lib/"
tar -C output -czf output/apache_hdfs_broker.tar.gz apache_hdfs_broker
echo "built $pkg and output/apache_hdfs_broker.tar.gz"
