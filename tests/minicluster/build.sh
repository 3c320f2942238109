#!/usr/bin/env bash
# Builds the MiniDFSCluster launcher: target/classes + target/classpath.txt (the runtime
# classpath, jars in ~/.m2), so that run.sh starts a cluster without Maven.
# Idempotent: does nothing when pom.xml and src/ are older than the last good build and
# every jar of the classpath is still in the local repository. All output goes to stderr.
# Env: MVN (default mvn), MVN_ARGS (extra Maven arguments, e.g. -o for offline).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
mkdir -p target
# Tests start clusters in parallel: one build at a time.
exec 9>"target/.build.lock"
flock 9

stamp=target/.build-stamp
up_to_date() {
  [ -f "$stamp" ] && [ -s target/classpath.txt ] && [ -d target/classes ] || return 1
  [ -z "$(find pom.xml src -newer "$stamp" -print -quit)" ] || return 1
  local jar
  while IFS= read -r jar; do
    [ -e "$jar" ] || return 1
  done < <(tr ':' '\n' < target/classpath.txt)
}

if up_to_date; then
  echo "minicluster: build up to date" >&2
  exit 0
fi

echo "minicluster: building (a first build fetches ~110 MB of jars from Maven Central)..." >&2
start=$(date +%s)
# shellcheck disable=SC2086
# (Maven 3.8 prints stray colour resets under -q even in batch mode: strip them.)
"${MVN:-mvn}" -q -B --no-transfer-progress -Dstyle.color=never ${MVN_ARGS:-} package 2>&1 \
  | sed $'s/\e\\[0m//g' >&2
touch "$stamp"
echo "minicluster: built in $(( $(date +%s) - start )) s" >&2
