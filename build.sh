#!/usr/bin/env bash
# Builds a release and lays it out like the Java broker's package:
#   output/apache_hdfs_broker/{bin,conf,lib}   (log/ is created at start)
#   output/apache_hdfs_broker.tar.gz
# The binary lives in lib/, so the documented upgrade "replace bin and lib" swaps it.
set -euo pipefail
cd "$(dirname "$0")"

cargo build --release --locked
rm -rf output
scripts/package.sh target/release/apache_hdfs_broker output
tar -C output -czf output/apache_hdfs_broker.tar.gz apache_hdfs_broker
echo "built output/apache_hdfs_broker and output/apache_hdfs_broker.tar.gz"
