#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ with clang-14 in build-fuzz/ (ASan + UBSan +
# libFuzzer; Debian: clang-14 libfuzzer-14-dev) and runs them one after the other, each for
# FUZZ_SECONDS (default 600), seeded with the shipped files (build-fuzz/tests/fuzz/fuzz_*.seeds).
# Usage: tests/fuzz/run_fuzzers.sh [parser ...]   (default: all; e.g. scenario serving)
# Per parser: the grown corpus in build-fuzz/corpus/<parser>/, the log in build-fuzz/logs/, and any
# crash, timeout or OOM input in build-fuzz/artifacts/<parser>/: copy it to
# tests/fuzz/regressions/<parser>/ so ctest replays it (fuzz_replay_<parser>), then fix the cause.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-600}
parsers=("$@")
[ ${#parsers[@]} -eq 0 ] && parsers=(scenario serving serving_plan measurements hf_config report_reader)

if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DGWSIM_FUZZ=ON \
    -DGWSIM_BUILD_GUI=OFF -DGWSIM_BUILD_KERNELS=OFF -DGWSIM_BUILD_BENCH=OFF ${FUZZ_CMAKE_ARGS:-}
fi
cmake --build build-fuzz -j"$(nproc)" --target "${parsers[@]/#/fuzz_}"

export GWSIM_DATA_DIR=$PWD
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for p in "${parsers[@]}"; do
  mkdir -p "build-fuzz/corpus/$p" "build-fuzz/artifacts/$p" build-fuzz/logs
  # libFuzzer takes folders only: gather the seed files and folders into one.
  rm -rf "build-fuzz/seeds/$p"; mkdir -p "build-fuzz/seeds/$p"
  # (numbered: several seeds share a name, e.g. measurements.json).
  n=0
  while read -r seed; do
    while read -r f; do n=$((n + 1)); cp "$f" "build-fuzz/seeds/$p/$n-$(basename "$f")"; done \
      < <(find "$seed" -type f ! -name '.*')
  done < "build-fuzz/tests/fuzz/fuzz_$p.seeds"
  echo "== fuzz_$p for ${seconds}s (log: build-fuzz/logs/$p.log)"
  # One fuzzer at a time, niced: the machine is shared.
  if nice -n 10 "build-fuzz/tests/fuzz/fuzz_$p" "build-fuzz/corpus/$p" "build-fuzz/seeds/$p" \
      -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$p/" > "build-fuzz/logs/$p.log" 2>&1; then
    result="no crash"
  else
    result="FINDING: $(ls "build-fuzz/artifacts/$p" | tr '\n' ' ')"; status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/logs/$p.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "build-fuzz/logs/$p.log")
  echo "   execs ${execs:-?}, ${rate:-?} execs/s, corpus $(ls "build-fuzz/corpus/$p" | wc -l) files: $result"
done
exit $status
