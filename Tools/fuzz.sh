#!/usr/bin/env bash
# Fuzzes every decoder that reads the shared folder (changeset files, head
# files, samhand.json, the schema JSON, checkpoints and their signature
# files, pack files, and of encrypted folders the key files keys/*.keys,
# group key files, and changesets and checkpoints sealed with a group key)
# with libFuzzer and AddressSanitizer, for a bounded time.
#
# Usage: Tools/fuzz.sh [SECONDS]        (default 600)
#
# Builds the separate package Tools/Fuzz (the first build compiles the
# dependencies with sanitizers: a few minutes), seeds a corpus from the
# golden folder Fixtures/golden/v1/folder (its changesets and samhand.json,
# heads made from them), the checkpoint in the newest
# Fixtures/golden/layout-<N>/, the pack in Fixtures/golden/pack-1/,
# Fixtures/schema.json, key files and those changesets and checkpoints
# sealed with the harness's group key, and fuzzes. libFuzzer
# runs in fork mode so that one finding does not end the run; each input
# that crashes, hangs (-timeout) or allocates too much (-rss_limit_mb,
# -malloc_limit_mb) is copied to Fixtures/fuzz-regressions/ twice: as the
# fuzzer input (NAME.fuzz, which replays with the fuzzer binary) and as the
# file the decoder read (NAME.changeset, NAME.head.json, NAME.keys, ...), which
# FuzzRegressionTests feeds to every decoder.
#
# Prints the number of executions. Exits 1 when anything was found, 0 when
# nothing was, 64 on a usage error.
#
# Environment: SAMHAND_FUZZ_JOBS (parallel fuzzing processes, default 1),
# SAMHAND_FUZZ_MAX_LEN (largest input in bytes, default 8192).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: Tools/fuzz.sh [SECONDS]" >&2
  exit 64
fi
jobs=${SAMHAND_FUZZ_JOBS:-1}
max_len=${SAMHAND_FUZZ_MAX_LEN:-8192}

package=Tools/Fuzz
work=$package/.build/fuzz # ignored by git, kept between runs
corpus=$work/corpus
artifacts=$work/artifacts-$(date +%Y%m%d-%H%M%S)
regressions=Fixtures/fuzz-regressions
log=$work/last-run.log

# Both sanitizer flags are needed: `--sanitize=fuzzer` alone gives no
# AddressSanitizer, and `--sanitize=address --sanitize=fuzzer` passes only the
# last one to the compiler. The target has no @main: libFuzzer provides main.
# lld instead of gold: gold warns about every `__asan_` symbol.
build=(swift build --package-path "$package" --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address)
if command -v ld.lld >/dev/null 2>&1 || [ -x "$(dirname "$(command -v swift)")/ld.lld" ]; then
  build+=(-Xswiftc -use-ld=lld)
fi
echo "fuzz: building $package (the first build compiles the dependencies with sanitizers: a few minutes)"
"${build[@]}"
fuzzer="$("${build[@]}" --show-bin-path)/samhand-fuzz"

# Without it Swift's crash handler trips a false ASan report and leaves a
# swift-backtrace process behind.
export SWIFT_BACKTRACE=enable=no

mkdir -p "$corpus" "$artifacts" "$regressions"
SAMHAND_FUZZ_TOOL=seeds SAMHAND_FUZZ_GOLDEN=Fixtures/golden/v1/folder SAMHAND_FUZZ_SCHEMA=Fixtures/schema.json \
  SAMHAND_FUZZ_OUT="$corpus" "$fuzzer"
# Earlier findings seed the corpus too: fixed ones keep it near old bugs.
shopt -s nullglob
for input in "$regressions"/*.fuzz; do cp "$input" "$corpus/"; done

echo "fuzz: fuzzing for $seconds s with $jobs process(es); log in $log"
started=$(date +%s)
set +e
"$fuzzer" "$corpus" \
  -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
  -max_len="$max_len" -dict="$package/samhand.dict" -artifact_prefix="$artifacts/" \
  -print_final_stats=1 >"$log" 2>&1
status=$?
set -e
elapsed=$(($(date +%s) - started))

# Fork mode reports progress as "#EXECUTIONS: cov: ...", the last one at the end.
executions=$(grep -oE '^#[0-9]+:' "$log" | tail -1 | tr -d '#:')
if [ -z "$executions" ]; then
  executions=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
fi
echo "fuzz: ${executions:-unknown} executions in $elapsed s (libFuzzer exit status $status)"
grep -E '^#[0-9]+:' "$log" | tail -1 || true

# Replays a finding alone, for its cause and stack (fork mode keeps neither).
replay() {
  local input=$1 replay_log=$2
  "$fuzzer" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 "$input" >"$replay_log" 2>&1 || true
  echo "      cause: $(grep -m1 -E '^SUMMARY|^Fatal error' "$replay_log" || echo 'did not fail when replayed alone')"
  echo "      where: $(grep -m1 -E ' in .*/Sources/Samhand/' "$replay_log" | sed -E 's/^ *#[0-9]+ 0x[0-9a-f]+ in //' || true)"
  echo "      stack: $replay_log"
}

found=0
for artifact in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/leak-*; do
  name=$(basename "$artifact")
  found=$((found + 1))
  if [ -e "$regressions/$name.fuzz" ]; then
    echo "fuzz: found again (already in $regressions): $name"
  else
    cp "$artifact" "$regressions/$name.fuzz"
    decoded=$(SAMHAND_FUZZ_TOOL=materialize SAMHAND_FUZZ_IN="$artifact" SAMHAND_FUZZ_OUT="$regressions/$name" "$fuzzer")
    echo "fuzz: NEW FINDING $name -> $regressions/$name.fuzz and $decoded"
  fi
  replay "$artifact" "$work/$name.log"
  echo "      replay: SWIFT_BACKTRACE=enable=no $fuzzer $regressions/$name.fuzz"
done

if [ "$found" -gt 0 ]; then
  echo "fuzz: $found finding(s)"
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "fuzz: libFuzzer failed without leaving an input; see $log" >&2
  tail -20 "$log" >&2
  exit 1
fi
echo "fuzz: no findings"
