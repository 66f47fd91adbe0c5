#!/usr/bin/env bash
# The one script run on the GPU machine, from the repository root, with $OUT set:
#   bash calibrate/device-run.sh            (full run, ~4-5 min after a ~1 min build)
#   QUICK=1 bash calibrate/device-run.sh    (about a minute of measuring)
# Writes to $OUT (at most 8 files come back): build.log, run.log, measurements.json,
# checks.json, nvidia-smi.txt. Each stage has its own timeout and the script goes on after a
# failing stage; the summary table is printed last.
set -u
set -o pipefail
OUT="${OUT:-/tmp/gwsim-out}"
mkdir -p "$OUT"
BUILD=/tmp/bk
NVCC=/usr/local/cuda/bin/nvcc
command -v nvcc >/dev/null 2>&1 && NVCC=$(command -v nvcc)
JOBS=$(nproc 2>/dev/null || echo 8)

if command -v nvidia-smi >/dev/null 2>&1; then
  timeout 60 nvidia-smi -q > "$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi -q failed" >> "$OUT/nvidia-smi.txt"
fi

{
  echo "== configure $(date -u +%FT%TZ)"
  timeout 120 cmake -S kernels -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$NVCC"
  echo "== build (-j$JOBS)"
  timeout 420 cmake --build "$BUILD" -j"$JOBS"
  echo "== build exit $?"
  # The ptxas register/spill report is produced on the CPU machine (nvcc there), not here: device time is scarce.
} 2>&1 | tee "$OUT/build.log"

BIN="$BUILD/gwsim-calibrate-device"
if [ ! -x "$BIN" ]; then
  echo "BUILD FAILED: $BIN missing; see $OUT/build.log" | tee "$OUT/run.log"
  exit 1
fi

ARGS=(--out "$OUT")
[ "${QUICK:-0}" = "1" ] && ARGS+=(--quick)
# The binary keeps per-stage limits itself; this is the outer safety net.
timeout 480 "$BIN" "${ARGS[@]}" 2>&1 | tee "$OUT/run.log"
rc=$?
echo "gwsim-calibrate-device exit $rc" | tee -a "$OUT/run.log"
# The summary table again, last, so it is in the tail of the output.
sed -n '/=== SUMMARY ===/,$p' "$OUT/run.log"
exit 0
