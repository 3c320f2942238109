#!/usr/bin/env bash
# Checks the release packages ./build.sh left in output/ (CI runs it after build.sh):
#   glibc    each binary's highest GLIBC symbol version, read from its ELF, is <= 2.17;
#            right machine, stripped, broker <= 25 MB, debug file paired by build id
#   version  --version names version, commit and target (aarch64 under QEMU)
#   seed     the x86_64 tarball, unpacked: start --daemon, grep thrift (first log line names
#            the version), ping, stop
#   old_kernel  the x86_64 broker on a kernel without preadv2 and openat2 (strace answers
#            ENOSYS) passes the local-files conformance tests and tries each only once
#   qemu     the aarch64 broker under user-mode QEMU passes the local-files conformance
#            tests through the wire (tests/integration conformance_file:: with BROKER_BIN)
#   scripts/release_check.sh [STEP...]    (default: all; `selftest` checks the glibc reader)
# Needs readelf (binutils), strace, qemu-aarch64 and the arm64 libc (Debian: qemu-user,
# libc6-arm64-cross); it says which one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

GLIBC_FLOOR=2.17
# The stripped broker's ceiling: a guard against size creeping in unnoticed. 25 MB until
# swebhdfs:// learnt Hadoop's PKCS12 truststores (p12-keystore and its X.509/CMS parsers
# took the x86_64 broker to 26.4 MB; thin LTO made it larger, not smaller).
MAX_BROKER_BYTES=$((28 * 1024 * 1024))
QEMU_LD_PREFIX=${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}
version=$(cargo pkgid | sed 's/.*[#@]//')
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

work=$(mktemp -d)
cleanup() {
  # A broker the seed step left running after a failure is stopped by its own script.
  local home=$work/seed/apache_hdfs_broker
  [ ! -f "$home/bin/apache_hdfs_broker.pid" ] || "$home/bin/stop_broker.sh" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "release_check: FAILED: $*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null || fail "missing $1 ($2)"; }
need readelf "Debian: apt-get install binutils"

# The highest GLIBC_x.y among the versions the file needs (.gnu.version_r), empty if none.
glibc_ceiling() {
  readelf -V -W "$1" | sed -n 's/.*Name: GLIBC_\([0-9][0-9.]*\).*/\1/p' | sort -V | tail -n 1
}
# Is $1 <= $2 as versions?
version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }
build_id() { readelf -n "$1" 2>/dev/null | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p'; }
# Greps after readelf read to the end (no -q): under pipefail, a grep -q that stops at its
# first match can kill readelf with SIGPIPE and fail a check that holds (CI saw it once).
has_section() { readelf -S -W "$1" 2>/dev/null | grep -F " $2 " >/dev/null; }

step_selftest() {
  # The reader must see a version need where there is one: a host binary linked against
  # this host's newer glibc is refused.
  local host_bin ceiling
  host_bin=$(command -v ls)
  ceiling=$(glibc_ceiling "$host_bin")
  [ -n "$ceiling" ] || fail "read no GLIBC version from $host_bin"
  if version_le "$ceiling" "$GLIBC_FLOOR"; then
    echo "  (this host's $host_bin needs only GLIBC_$ceiling: nothing to refuse)"
  else
    echo "  $host_bin needs GLIBC_$ceiling > $GLIBC_FLOOR: would be refused"
  fi
  version_le 2.17 2.17 && version_le 2.9 2.17 && ! version_le 2.34 2.17 ||
    fail "version comparison is wrong"
}

step_glibc() {
  local arch machine file ceiling size id debug extra
  for arch in x86_64 aarch64; do
    case $arch in x86_64) machine="X86-64" ;; aarch64) machine="AArch64" ;; esac
    for file in lib/apache_hdfs_broker bin/broker_cli; do
      local bin=output/linux-$arch/apache_hdfs_broker/$file
      [ -f "$bin" ] || fail "$bin not built (run ./build.sh)"
      readelf -h "$bin" | grep "Machine: *.*$machine" >/dev/null || fail "$bin is not an $arch binary"
      ceiling=$(glibc_ceiling "$bin")
      [ -n "$ceiling" ] || fail "$bin: no GLIBC version need found (not dynamically linked against glibc?)"
      version_le "$ceiling" "$GLIBC_FLOOR" || fail "$bin needs GLIBC_$ceiling, above $GLIBC_FLOOR"
      # Only glibc itself at load time: GSSAPI (Kerberos) is loaded when a request needs it.
      extra=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
        grep -Ev '^(libc|libm|libdl|libpthread|librt|libgcc_s|ld-linux-[a-z0-9-]+)\.so\.[0-9]+$' || true)
      [ -z "$extra" ] || fail "$bin needs more than glibc at load time: $extra"
      ! has_section "$bin" .debug_info && ! has_section "$bin" .symtab || fail "$bin is not stripped"
      id=$(build_id "$bin")
      debug=output/linux-$arch/debuginfo/$(basename "$bin").debug
      [ -n "$id" ] || fail "$bin has no build id"
      [ "$(build_id "$debug")" = "$id" ] || fail "$debug does not belong to $bin (build id)"
      has_section "$debug" .debug_line || fail "$debug holds no line tables"
      readelf -p .gnu_debuglink "$bin" 2>/dev/null | grep -F "$(basename "$debug")" >/dev/null || fail "$bin names no debug file"
      size=$(stat -c %s "$bin")
      echo "  $bin: GLIBC_$ceiling, $((size / 1024 / 1024)) MB, build id $id"
      if [ "$file" = lib/apache_hdfs_broker ] && [ "$size" -gt "$MAX_BROKER_BYTES" ]; then
        fail "$bin is $size bytes, above $MAX_BROKER_BYTES"
      fi
    done
  done
}

# qemu-aarch64 and the arm64 libc it loads the aarch64 binaries with.
qemu_ready() {
  need qemu-aarch64 "Debian: apt-get install qemu-user"
  [ -e "$QEMU_LD_PREFIX/lib/ld-linux-aarch64.so.1" ] ||
    fail "missing the arm64 libc in $QEMU_LD_PREFIX (Debian: apt-get install libc6-arm64-cross)"
}

step_version() {
  local arch out
  qemu_ready
  for arch in x86_64 aarch64; do
    local bin=output/linux-$arch/apache_hdfs_broker/lib/apache_hdfs_broker
    if [ "$arch" = aarch64 ]; then
      out=$(QEMU_LD_PREFIX=$QEMU_LD_PREFIX qemu-aarch64 "$bin" --version)
    else
      out=$("$bin" --version)
    fi
    echo "  $out"
    [ "$out" = "apache_hdfs_broker $version (commit $commit, target $arch-unknown-linux-gnu)" ] ||
      fail "$bin --version says '$out'"
  done
}

step_seed() {
  local dir=$work/seed home port log pid
  mkdir -p "$dir"
  tar -C "$dir" -xzf "output/apache_hdfs_broker-$version-linux-x86_64.tar.gz"
  home=$dir/apache_hdfs_broker
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # The package's conf on a free loopback port, no default metrics port.
  sed -i "s/^broker_ipc_port = 8000$/broker_ipc_port = $port/" "$home/conf/apache_hdfs_broker.conf"
  printf 'broker_bind_address = 127.0.0.1\nbroker_http_port = 0\n' >>"$home/conf/apache_hdfs_broker.conf"
  (cd "$home" && ./bin/start_broker.sh --daemon) || fail "start_broker.sh --daemon failed"
  log=$home/log/apache_hdfs_broker.log
  pid=$(cat "$home/bin/apache_hdfs_broker.pid")
  grep thrift "$log" | grep -q "$port" || fail "grep thrift finds no port $port in $log"
  head -n 1 "$log" | grep -qF "apache_hdfs_broker $version (commit $commit, target x86_64-unknown-linux-gnu) starting" ||
    fail "the first log line does not name the build: $(head -n 1 "$log")"
  (cd "$home" && ./bin/broker_cli ping) || fail "bin/broker_cli ping failed"
  (cd "$home" && ./bin/stop_broker.sh --daemon) || fail "stop_broker.sh failed"
  ! kill -0 "$pid" 2>/dev/null || fail "the broker (pid $pid) still runs after stop"
  echo "  started, grep thrift, ping, stopped: $(head -n 1 "$log" | sed 's/.*INFO //')"
}

step_qemu() {
  local wrapper=$work/apache_hdfs_broker out
  qemu_ready
  # The tests start BROKER_BIN with their own arguments; this runs it under QEMU and
  # leaves a mark, so a run that did not use it cannot pass.
  printf '#!/bin/sh\necho started >>%s\nQEMU_LD_PREFIX=%s exec qemu-aarch64 %s "$@"\n' \
    "$work/qemu-starts" "$QEMU_LD_PREFIX" \
    "$PWD/output/linux-aarch64/apache_hdfs_broker/lib/apache_hdfs_broker" >"$wrapper"
  chmod +x "$wrapper"
  if ! out=$(BROKER_BIN=$wrapper cargo test --locked --test integration conformance_file:: 2>&1); then
    echo "$out" | tail -n 40
    fail "the aarch64 broker failed the local conformance tests"
  fi
  echo "$out" | grep "test result"
  [ -s "$work/qemu-starts" ] || fail "the tests did not start the aarch64 broker"
  echo "  aarch64 broker started $(wc -l <"$work/qemu-starts") time(s) under qemu-aarch64"
}

step_old_kernel() {
  # Kernel 3.10 (CentOS 7) has no preadv2 and no openat2: strace answers ENOSYS for both,
  # as that kernel would. The x86_64 release broker must pass the local conformance tests
  # (file:// beneath broker_local_roots resolved without openat2) and try each call once,
  # not at every small read or open (unhindered, it makes dozens).
  local wrapper=$work/traced_broker out calls
  need strace "Debian: apt-get install strace"
  printf '#!/bin/sh\nexec strace -f -qq -e trace=preadv2,openat2 -e inject=preadv2:error=ENOSYS -e inject=openat2:error=ENOSYS -o %s/preadv2.$$ %s "$@"\n' \
    "$work" "$PWD/output/linux-x86_64/apache_hdfs_broker/lib/apache_hdfs_broker" >"$wrapper"
  chmod +x "$wrapper"
  if ! out=$(BROKER_BIN=$wrapper cargo test --locked --test integration conformance_file:: 2>&1); then
    echo "$out" | tail -n 40
    fail "the x86_64 broker without preadv2 failed the local conformance tests"
  fi
  echo "$out" | grep "test result"
  # One trace per broker the tests started: each tries once, then never again.
  local trace brokers=0
  for trace in "$work"/preadv2.*; do
    calls=$(grep -c 'preadv2(' "$trace" || true)
    [ "$calls" = 1 ] || fail "without preadv2 a broker tried it $calls times (want 1)"
    calls=$(grep -c 'openat2(' "$trace" || true)
    [ "$calls" = 1 ] || fail "without openat2 a broker tried it $calls times (want 1)"
    brokers=$((brokers + 1))
  done
  [ "$brokers" -gt 0 ] || fail "the tests did not start the traced broker"
  echo "  preadv2 and openat2 answered ENOSYS once in each of $brokers brokers, then never tried again"
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(selftest glibc version seed old_kernel qemu)
for step in "${steps[@]}"; do
  declare -F "step_$step" >/dev/null || fail "unknown step $step"
  start=$SECONDS
  echo "== release check: $step"
  "step_$step"
  echo "   ($step: $((SECONDS - start)) s)"
done
echo "release_check: all passed (${steps[*]})"
