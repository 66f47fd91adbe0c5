#!/usr/bin/env bash
# How a discrete-event training step grows with the cluster: scenarios/gigawatt-h100.json (H100,
# TP8 PP16 DualPipe EP256, 8-plane fat tree) from 4,096 to 1,048,576 GPUs with 32 micro-batches per
# replica, plus the shipped DeepSeek-V3 and GB200 gigawatt scenarios. Each size runs in its own
# `gwsim run --backend des` process; wall time and peak RSS from /usr/bin/time, the rest from the
# report. Prints a Markdown table (bench/RESULTS.md keeps the last one).
# Usage: bench/des_step_scaling.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
gwsim="${1:-build}/cli/gwsim"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "| scenario | GPUs | sub-cluster GPUs | simulated ranks | tasks | engine events | member flows | step s (des) | vs analytical | wall s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
row() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$gwsim" run "$@" --backend des --out "$tmp/r.json" > /dev/null
  read -r wall rss < "$tmp/time"
  python3 - "$tmp/r.json" "$name" "$wall" "$rss" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); d = r["des"]
print(f"| {sys.argv[2]} | {r['cluster']['gpus']:,} | {d.get('sub_cluster_gpus', 0):,} | {d['simulated_ranks']} | "
      f"{d['tasks']:,} | {d['events']:,} | {d.get('flows', 0):.3g} | {r['training']['step_time_s']:.3f} | "
      f"{d['vs_analytical_pct']:+.1f}% | {float(sys.argv[3]):.2f} | {int(sys.argv[4]) / 1024:.0f} |")
PY
}
row "deepseek-v3-pretrain-2048xh800" scenarios/deepseek-v3-pretrain-2048xh800.json
for gpus in 4096 16384 65536 262144 1048576; do
  dp=$((gpus / 128))
  row "gigawatt-h100 scaled" scenarios/gigawatt-h100.json --set cluster.gpus=$gpus --set parallelism.dp=$dp \
      --set training.global_batch_seqs=$((dp * 32))
done
row "gigawatt-gb200-nvl72" scenarios/gigawatt-gb200-nvl72.json
