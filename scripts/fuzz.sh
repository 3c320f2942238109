#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (README "Fuzzing").
#
#   scripts/fuzz.sh [--smoke SECONDS] [--runs N] [--fast] [target...]
#
# --smoke S   run each target for S seconds (CI: --smoke 30); the default, with 30
# --runs N    run each target for N inputs (the long run: --runs 10000000)
# --fast      build without comparison tracing (fuzz/target/fast): 3-4x the inputs per
#             second for the glob and conf targets, at the cost of guidance towards
#             magic values (seeds and libFuzzer's dictionaries still supply those)
# targets     any of wire conf glob uri roots (default: all), run one after another
#
# Needs the nightly toolchain and cargo-fuzz (.ci/run installs both). Each target starts
# from its committed seeds (fuzz/corpus/<target>/, read only) plus what earlier runs
# found (fuzz/corpus-run/<target>/, not committed). Crashes land in fuzz/artifacts/.
# Prints per target the number of inputs executed; exits 1 if any target failed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

limit=(-max_total_time=30)
fast=0
targets=()
while (($#)); do
  case "$1" in
    --smoke) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    --fast) fast=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(wire conf glob uri roots)

# Per-target libFuzzer options. -timeout turns any input slower than 10 s into a failure
# (a hang); -rss_limit_mb bounds the whole process. The wire target checks the size of
# every single allocation itself (a counting allocator, exact to the byte), so the
# targets run without a sanitizer: safe Rust gains little from ASan and runs ~2x faster.
options() {
  case "$1" in
    wire) echo "-max_len=65536" ;;
    conf) echo "-max_len=16384" ;;
    glob) echo "-max_len=10000" ;;
    uri) echo "-max_len=4096" ;;
    roots) echo "-max_len=512" ;;
    *) echo "unknown target $1 (wire conf glob uri roots)" >&2; return 2 ;;
  esac
}
for t in "${targets[@]}"; do options "$t" >/dev/null; done

# -a: debug assertions and overflow checks on, so an arithmetic overflow is a crash too.
build=(-a --sanitizer none)
if ((fast)); then build+=(--no-trace-compares --target-dir "$PWD/target/fast"); fi
echo "== fuzz build"
cargo +nightly fuzz build "${build[@]}"

failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus-run/$t" "artifacts/$t"
  log="artifacts/$t/fuzz.log"
  echo "== fuzz $t (${limit[*]}) $(date -u +%FT%TZ)"
  start=$(date +%s)
  rc=0
  # shellcheck disable=SC2046
  cargo +nightly fuzz run "${build[@]}" "$t" "corpus-run/$t" "corpus/$t" -- \
    $(options "$t") -timeout=10 -rss_limit_mb=512 -print_final_stats=1 "${limit[@]}" \
    >"$log" 2>&1 || rc=$?
  secs=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [[ -n "$runs" ]] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  line="$t: ${runs:-0} inputs in ${secs}s, exit $rc"
  echo "$line"
  summary+=("$line")
  if ((rc != 0)); then
    failed+=("$t")
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written|artifact_prefix' "$log" | head -20 >&2 || true
  fi
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]} (logs and crashing inputs in fuzz/artifacts/)" >&2
  exit 1
fi
