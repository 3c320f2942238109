#!/usr/bin/env bash
# Builds the release packages, one per architecture, each laid out like the Java broker's:
#   output/apache_hdfs_broker-<version>-linux-<arch>.tar.gz            apache_hdfs_broker/{bin,conf,lib}
#   output/apache_hdfs_broker-<version>-linux-<arch>-debuginfo.tar.gz  the binaries' debug info
#   output/linux-<arch>/apache_hdfs_broker/ and output/linux-<arch>/debuginfo/ (the same, unpacked)
# The broker is lib/apache_hdfs_broker (so the documented upgrade "replace bin and lib" swaps
# it), the client bin/broker_cli. Both are linked against glibc 2.17 (cargo-zigbuild with zig)
# so they start on CentOS 7 and later, and stripped; each names its debug file
# (.gnu_debuglink) and carries a build id, which is how a debugger or symbolizer pairs a
# crash report with the debug info kept in the -debuginfo tarball.
#   ./build.sh [ARCH...]     ARCH: x86_64, aarch64 (default: both)
# Installs what is missing and can be installed without root: the rustup targets, and zig
# and cargo-zigbuild from PyPI into a virtualenv ($BROKER_TOOLS, default target/release-tools).
# Says which package to install for the rest (python3, llvm-objcopy).
set -euo pipefail
cd "$(dirname "$0")"

# The oldest glibc the packages run on (CentOS 7); scripts/release_check.sh verifies it.
GLIBC_FLOOR=2.17
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(x86_64 aarch64)
for arch in "${archs[@]}"; do
  case $arch in
    x86_64 | aarch64) ;;
    *) echo "build.sh: unknown architecture '$arch' (x86_64 or aarch64)" >&2; exit 2 ;;
  esac
done

missing() {
  echo "build.sh: missing $1" >&2
  exit 1
}

# --- tools -------------------------------------------------------------------------
command -v rustup >/dev/null || missing "rustup (the release build adds cross targets with it; https://rustup.rs)"
installed_targets=$(rustup target list --installed)
for arch in "${archs[@]}"; do
  if ! grep -qx "$arch-unknown-linux-gnu" <<<"$installed_targets"; then
    echo "build.sh: adding the Rust target $arch-unknown-linux-gnu" >&2
    rustup target add "$arch-unknown-linux-gnu"
  fi
done

# zig links against the chosen glibc version; cargo-zigbuild drives cargo with it. Both come
# from PyPI (zig as `ziglang`), kept in a virtualenv of their own unless already on PATH.
tools=${BROKER_TOOLS:-$PWD/target/release-tools}
export PATH="$tools/bin:$PATH"
zig_found() { command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null; }
if ! command -v cargo-zigbuild >/dev/null || ! zig_found; then
  command -v python3 >/dev/null || missing "python3 (to install zig and cargo-zigbuild from PyPI; Debian: apt-get install python3-venv)"
  if [ ! -x "$tools/bin/pip" ]; then
    python3 -m venv "$tools" ||
      missing "python3's venv module (Debian/Ubuntu: apt-get install python3-venv)"
  fi
  echo "build.sh: installing zig (ziglang) and cargo-zigbuild from PyPI into $tools" >&2
  "$tools/bin/pip" install --quiet --disable-pip-version-check ziglang cargo-zigbuild
fi

# Splitting off the debug info needs an objcopy that reads both architectures: llvm's, or
# GNU binutils for the host plus the aarch64 cross binutils.
objcopy_for() {
  local arch=$1 tool
  for tool in llvm-objcopy llvm-objcopy-{20,19,18,17,16,15,14}; do
    command -v "$tool" >/dev/null && { echo "$tool"; return; }
  done
  if [ "$arch" = "$(uname -m)" ] && command -v objcopy >/dev/null; then
    echo objcopy
  elif command -v "$arch-linux-gnu-objcopy" >/dev/null; then
    echo "$arch-linux-gnu-objcopy"
  else
    missing "an objcopy that reads $arch binaries: llvm-objcopy (Debian/Ubuntu: apt-get install llvm) or $arch-linux-gnu-objcopy (apt-get install binutils-${arch//_/-}-linux-gnu)"
  fi
}
for arch in "${archs[@]}"; do objcopy_for "$arch" >/dev/null; done

# --- build and package ---------------------------------------------------------------
version=$(cargo pkgid | sed 's/.*[#@]//')
mkdir -p output
for arch in "${archs[@]}"; do
  triple=$arch-unknown-linux-gnu
  echo "build.sh: building $triple against glibc $GLIBC_FLOOR" >&2
  cargo zigbuild --release --locked --bins --target "$triple.$GLIBC_FLOOR"
  built=target/$triple/release
  stage=output/linux-$arch
  rm -rf "$stage"
  mkdir -p "$stage/bin" "$stage/debuginfo"
  objcopy=$(objcopy_for "$arch")
  for bin in apache_hdfs_broker broker_cli; do
    "$objcopy" --only-keep-debug "$built/$bin" "$stage/debuginfo/$bin.debug"
    "$objcopy" --strip-all --add-gnu-debuglink="$stage/debuginfo/$bin.debug" \
      "$built/$bin" "$stage/bin/$bin"
  done
  scripts/package.sh "$stage/bin/apache_hdfs_broker" "$stage" "$stage/bin/broker_cli"
  rm -r "$stage/bin"
  name=apache_hdfs_broker-$version-linux-$arch
  tar -C "$stage" -czf "output/$name.tar.gz" apache_hdfs_broker
  tar -C "$stage" -czf "output/$name-debuginfo.tar.gz" debuginfo
  echo "build.sh: built output/$name.tar.gz (+ -debuginfo.tar.gz)" >&2
done
