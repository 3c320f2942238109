#!/usr/bin/env bash
# Regenerates src/wire/generated.rs from thrift/FileBrokerService.thrift.
#
# Needs Debian's thrift-compiler 0.17.0 (`apt-get install thrift-compiler`): the generated
# code compiles against the `thrift = "=0.17.0"` runtime pinned in Cargo.toml, so change
# both together. The output is committed; a normal build needs no Thrift compiler.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
want="0.17.0"
have=$(thrift --version 2>/dev/null | awk '{print $3}')
if [ "$have" != "$want" ]; then
  echo "thrift compiler $want needed (found '${have:-none}'): apt-get install thrift-compiler" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
thrift -out "$out" --gen rs "$here/FileBrokerService.thrift"
cp "$out/file_broker_service.rs" "$root/src/wire/generated.rs"
echo "wrote src/wire/generated.rs"
