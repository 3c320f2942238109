#!/usr/bin/env bash
# Runs the whole test suite: unit tests and the wire-level integration tests, which start
# the real broker binary on loopback ports, and the storage servers the tests talk to:
# HDFS tests start Hadoop's MiniDFSCluster themselves (tests/minicluster, jars from Maven
# Central, built here first so no test waits on Maven).
# Test binaries run one after another (cargo's default); each HDFS binary starts its own
# cluster, so at most one cluster runs at a time on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/minicluster/build.sh
cargo test --locked --all-targets "$@"
