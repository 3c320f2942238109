#!/usr/bin/env bash
# Runs the whole test suite: unit tests and the wire-level integration tests, which start
# the real broker binary on loopback ports. Storage servers the tests need (MiniDFSCluster,
# SeaweedFS, MiniKdc) are started here as their backends land.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --all-targets "$@"
