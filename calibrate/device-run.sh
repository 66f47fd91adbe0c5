#!/usr/bin/env bash
# The one script run on the GPU machine, from the repository root, with $OUT set:
#   bash calibrate/device-run.sh            (full run)
#   QUICK=1 bash calibrate/device-run.sh    (fewer points)
#   ONLY=mla_decode,grouped_gemm bash calibrate/device-run.sh   (those stages; info and checks always run,
#                                   and copy too when ONLY names mla_decode, grouped_gemm or grouped_gemm_fp8:
#                                   they read its bandwidth for their % of copy and roofline floors; ~1-3 s)
# Stages: info checks copy gemm mla_decode mla_prefill moe grouped_gemm grouped_gemm_fp8 layers nccl;
# before them, when python3 has torch, calibrate/torch_sweep.py (TORCH_S, below).
# mla_decode: heads 128 (DeepSeek-V3, data-parallel attention: compute-bound) and 64 (TP-2 attention:
# memory-bound); each (batch, kv, heads) point also times a cuBLAS bf16 GEMM of about its FLOPs
# (gemm/cublas_dense_same_flops), and its records carry dense_same_flops_s and floor_s (the cap:
# bytes at the copy rate or FLOPs at that GEMM's rate, whichever is slower); ~1 s more than before.
# The FP8 pieces (not yet run on a GPU): checks fp8_quantize, mla_decode_fp8kv,
# grouped_gemm_fp8/{fp8_blockscaled_mma,fp8_blockscaled_wgmma}; stage grouped_gemm_fp8 (T=4096 and
# 16384, 8 of 256 experts, gate_up and down); mla_decode times the FP8-cache kernel after its bf16
# points. ONLY=mla_decode,grouped_gemm_fp8 runs just the new measurements.
# Timing: on 2026-11-28 the stages took ~20 s in all (v2 run.log: checks 6.9 s, gemm 4.9 s, the
# rest <= 3 s each) and the 16-core build ~1.5 min; the FP8 additions should add seconds (CPU
# references of ~0.5 GFLOP in checks, a 40 s soft budget for grouped_gemm_fp8). The whole script
# keeps to DEADLINE_S (default 470 s, under 8 minutes): the build gets what is left of it minus
# 2 minutes, the measuring what is left after the build (at least 60 s; so the deadline can only
# be overrun by the 60 s floors); each stage also has its own limit inside the binary.
# Writes to $OUT (at most 8 files come back): build.log, run.log, measurements.json,
# checks.json, nvidia-smi.txt, clocks.csv, torch-kernels.json, and with SUSTAIN_S measurements-sustained.json. Each stage has its own timeout and the script goes on after a
# failing stage; the summary table is printed last.
set -u
set -o pipefail
SECONDS=0
DEADLINE_S="${DEADLINE_S:-470}"
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
  BUILD_LEFT=$((DEADLINE_S - 120 - SECONDS))  # keep >= 2 min of the deadline for the measuring
  [ "$BUILD_LEFT" -lt 60 ] && BUILD_LEFT=60
  timeout "$BUILD_LEFT" cmake --build "$BUILD" -j"$JOBS"
  echo "== build exit $? $(date -u +%FT%TZ)"
  # The ptxas register/spill report is produced on the CPU machine (nvcc there), not here: device time is scarce.
} 2>&1 | tee "$OUT/build.log"
fi

BIN="$BUILD/gwsim-calibrate-device"

# SM clock, power and throttle reasons every 100 ms while measuring (torch sweep and binary) (clocks.csv): whether a kernel
# ran at boost or at the power-limited clock is part of what it measured.
CLOCKS_PID=""
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_event_reasons.active \
    --format=csv -lms 100 > "$OUT/clocks.csv" 2>&1 &
  CLOCKS_PID=$!
fi
# Framework kernels through PyTorch (calibrate/torch_sweep.py: SDPA flash/cuDNN attention forward
# and backward, FP8/BF16 GEMMs at DeepGEMM's shapes, launch cost with and without CUDA graphs,
# RMSNorm, cross-entropy, AdamW) when the machine's python3 has torch: TORCH_S seconds (default
# 150; 0 skips), before the binary's stages so the clock log covers both. Its log joins run.log
# (the 8-file limit on what comes back).
TORCH_S="${TORCH_S:-150}"
if [ "$TORCH_S" -gt 0 ] && python3 -c "import torch; assert torch.cuda.is_available()" >/dev/null 2>&1; then
  echo "== torch sweep (budget ${TORCH_S} s) $(date -u +%FT%TZ)" | tee "$OUT/torch.log"
  timeout $((TORCH_S + 60)) python3 -u calibrate/torch_sweep.py --out "$OUT/torch-kernels.json" \
    --budget-s "$TORCH_S" ${TORCH_ONLY:+--only "$TORCH_ONLY"} 2>&1 | tee -a "$OUT/torch.log"
  echo "torch sweep exit $? (${SECONDS} s spent)" | tee -a "$OUT/torch.log"
fi

if [ ! -x "$BIN" ]; then  # the torch sweep above needs no build; its log is kept
  { [ -f "$OUT/torch.log" ] && cat "$OUT/torch.log"; rm -f "$OUT/torch.log"
    echo "BUILD FAILED: $BIN missing; see $OUT/build.log"; } | tee "$OUT/run.log"
  [ -n "$CLOCKS_PID" ] && kill "$CLOCKS_PID" 2>/dev/null
  exit 1
fi

ARGS=(--out "$OUT")
[ "${QUICK:-0}" = "1" ] && ARGS+=(--quick)
[ -n "${ONLY:-}" ] && ARGS+=(--only "$ONLY")
# The binary keeps per-stage limits itself; this is the outer safety net: what is left of the deadline.
LEFT=$((DEADLINE_S - SECONDS))
[ "$LEFT" -lt 60 ] && LEFT=60
{ [ -f "$OUT/torch.log" ] && cat "$OUT/torch.log"; rm -f "$OUT/torch.log"
  echo "== measuring with ${LEFT} s left of the ${DEADLINE_S} s deadline (${SECONDS} s spent)"; } | tee "$OUT/run.log"
timeout "$LEFT" "$BIN" "${ARGS[@]}" 2>&1 | tee -a "$OUT/run.log"
rc=$?
echo "gwsim-calibrate-device exit $rc" | tee -a "$OUT/run.log"
# Burst against power-limited rates (docs/calibration.md, "Burst and power-limited clocks"): the GEMM
# stage again, back to back, for SUSTAIN_S seconds (default 0: skipped), so the GPU sits at its
# power limit as a training job does; the last pass's records come back as
# measurements-sustained.json, to set beside measurements.json's (the first pass) and clocks.csv.
SUSTAIN_S="${SUSTAIN_S:-0}"
if [ "$SUSTAIN_S" -gt 0 ]; then
  SUSTAIN_END=$((SECONDS + SUSTAIN_S))
  pass=0
  while [ "$SECONDS" -lt "$SUSTAIN_END" ] && [ "$SECONDS" -lt "$DEADLINE_S" ]; do
    pass=$((pass + 1))
    rm -rf /tmp/gwsim-sustain && mkdir -p /tmp/gwsim-sustain
    timeout 120 "$BIN" --out /tmp/gwsim-sustain --only gemm > /tmp/gwsim-sustain.log 2>&1
  done
  cp /tmp/gwsim-sustain/measurements.json "$OUT/measurements-sustained.json" 2>/dev/null
  echo "sustained load: $pass gemm passes in $SUSTAIN_S s; last pass -> measurements-sustained.json" | tee -a "$OUT/run.log"
fi
[ -n "$CLOCKS_PID" ] && kill "$CLOCKS_PID" 2>/dev/null
# The summary table again, last, so it is in the tail of the output.
sed -n '/=== SUMMARY ===/,$p' "$OUT/run.log"
exit 0
