#!/usr/bin/env bash
# Builds a release and lays it out like the Java broker's package:
#   output/apache_hdfs_broker/{bin,conf,lib}   (log/ is created at start; bin/ also holds
#                                               broker_cli, the command-line client)
#   output/apache_hdfs_broker.tar.gz
# The binary lives in lib/, so the documented upgrade "replace bin and lib" swaps it.
set -euo pipefail
cd "$(dirname "$0")"

# Both binaries: the broker (lib/) and broker_cli (bin/).
cargo build --release --locked --bins
rm -rf output
scripts/package.sh target/release/apache_hdfs_broker output target/release/broker_cli
tar -C output -czf output/apache_hdfs_broker.tar.gz apache_hdfs_broker
echo "built output/apache_hdfs_broker and output/apache_hdfs_broker.tar.gz"
