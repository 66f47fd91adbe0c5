#!/usr/bin/env bash
# The one script run on the GPU machine, from the repository root, with $OUT set:
#   bash calibrate/device-run.sh            (full run)
#   QUICK=1 bash calibrate/device-run.sh    (fewer points)
#   ONLY=mla_decode,grouped_gemm bash calibrate/device-run.sh   (those stages; info and checks always run)
# The full run measured for about a minute on 2026-11-28 (v2 kernels: build ~1.5 min, stages ~1 min).
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

# A binary built on the CPU machine (same nvcc 13.0) can be carried in kernels/.prebuilt/ (git
# ignores it locally; name it in the run's carry): used when it starts here, saving the build.
PREBUILT=kernels/.prebuilt/gwsim-calibrate-device
if [ -x "$PREBUILT" ] && "$PREBUILT" --help >/dev/null 2>&1; then
  mkdir -p "$BUILD"
  cp "$PREBUILT" "$BUILD/gwsim-calibrate-device"
  { echo "== prebuilt binary $(date -u +%FT%TZ): $PREBUILT (built on the CPU machine), not rebuilt"; ldd "$BUILD/gwsim-calibrate-device"; } 2>&1 | tee "$OUT/build.log"
else
{
  echo "== configure $(date -u +%FT%TZ)"
  timeout 120 cmake -S kernels -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$NVCC"
  echo "== build (-j$JOBS)"
  timeout 420 cmake --build "$BUILD" -j"$JOBS"
  echo "== build exit $? $(date -u +%FT%TZ)"
  # The ptxas register/spill report is produced on the CPU machine (nvcc there), not here: device time is scarce.
} 2>&1 | tee "$OUT/build.log"
fi

BIN="$BUILD/gwsim-calibrate-device"
if [ ! -x "$BIN" ]; then
  echo "BUILD FAILED: $BIN missing; see $OUT/build.log" | tee "$OUT/run.log"
  exit 1
fi

ARGS=(--out "$OUT")
[ "${QUICK:-0}" = "1" ] && ARGS+=(--quick)
[ -n "${ONLY:-}" ] && ARGS+=(--only "$ONLY")
# The binary keeps per-stage limits itself; this is the outer safety net.
timeout 480 "$BIN" "${ARGS[@]}" 2>&1 | tee "$OUT/run.log"
rc=$?
echo "gwsim-calibrate-device exit $rc" | tee -a "$OUT/run.log"
# The summary table again, last, so it is in the tail of the output.
sed -n '/=== SUMMARY ===/,$p' "$OUT/run.log"
exit 0
